"""
Title: ADRE Table 1 and Figures 1-2 (randomized smoothing) on real MNIST and CIFAR-10 data
Author: kerasrobust contributors
Date created: 2026/11/22
Last modified: 2026/11/22
Description: Basic vs ADRE_REG and SmoothAdv vs ADRE_ADV, certified with CERTIFY and T-CERTIFY on the same noise.
Accelerator: None (CPU)

## What it measures

The experiments of the ADRE / T-CERTIFY paper (Feng et al.,
`adre-tcertify-randomized-smoothing.md`):

- Table 1: approximate certified top-1 accuracy at L2 radii 0, 0.25, ...,
  1.5 and the average certified radius (ACR) of smoothed classifiers whose
  base model was trained with Basic (Gaussian augmentation, k = 1; Cohen et
  al.) at sigma in {0.25, 0.5}, or with ADRE_REG at (sigma, lambda) in
  {0.25, 0.5} x {0.1, 0.2}, k = `--num-noise` draws and `single_draw_per=True`
  (the paper's CIFAR-10 variant: l_per from one draw, so the only difference
  to Basic is the ADRE regularizer);
- Figure 1: SmoothAdv vs ADRE_ADV (lambda 0.1) at sigma 0.25, k =
  `--adv-num-noise`, `--adv-steps`-step L2 PGD of radius `--adv-epsilon`,
  epsilon warmed up over `--warmup-epochs`;
- Figure 2: T-CERTIFY vs CERTIFY on the *same* noisy samples: for each
  certified image we draw the selection counts (n0) and the estimation
  counts (n) once (`SmoothedClassifier.sample_counts`) and give both to
  `certify_counts_batch(..., method="cohen")` and `(..., method="tight")`.
  T-CERTIFY uses the library default `alpha_prime="selection"` (alpha'
  chosen from the selection counts, so Theorem 1's guarantee holds); the
  paper maximizes over a grid of alpha' on the estimation counts.

All models of one (dataset, seed) start from the same initial weights (the
seed is set before each base model is built), see the same data order and
augmentation, and use the same recipe: `small_cnn`, `paper_optimizer` (SGD,
momentum 0.9, learning rate 0.1 divided by 10 at 50% and 75% of the
epochs), coupled weight decay `PAPER_WEIGHT_DECAY` = 1e-4, the same batch
size and epochs. alpha = 0.001 throughout.

Data (real images, from `--data-dir`, else `$KERASROBUST_DATA_DIR`, else
`../shared/data` relative to the repository root), loaded with
`alps_tables.load`:

- `mnist`: the official MNIST test set, first 8,000 images train / last
  2,000 test. The paper has no MNIST experiment.
- `cifar10`: the CIFAR-10 subset, 5,085 train / 1,017 test.

Certified images: `--certify-limit` images of the test split, every
`len(test) // limit`-th one (Cohen et al.'s `--skip`), the same for every
model and seed.

## How it differs from the paper

- Model: `small_cnn` (0.29M parameters) instead of ResNet-110.
- Budget: a few epochs instead of 150, on ~10% of CIFAR-10's training set
  and on a split of the MNIST test set; k = 4 instead of 8 for ADRE_REG,
  k = 2 and 1-step PGD instead of k = 8 and 2 steps for SmoothAdv/ADRE_ADV.
- Certification: n = 1,000 (default) instead of 100,000, on 50 test images
  (default) instead of 500 (CIFAR-10, skip 20). With n = 1,000 and alpha
  = 0.001 the largest radius CERTIFY can return is sigma * Phi^-1(0.9931)
  = 2.46 sigma (0.62 at sigma 0.25), so the tables stop at 1.5 and the
  high-radius columns of sigma = 0.25 are 0 by construction.
- Fewer sigma and lambda values (no 0.12, 1.0, or lambda = 0.3).
- Mean ± sample standard deviation (ddof = 1) over `--seeds`.

Absolute numbers are far below the paper's; compare rows with each other,
inside one dataset and one sigma.

## Budget (measured on this 2-core CPU, shared with other jobs)

`python benchmarks/adre_tables.py --smoke --estimate-budget --out-dir /tmp/x`
times, after a warm-up step, training steps of Basic (k = 1), ADRE (k = 4)
and SmoothAdv (k = 2, 1 step) and the certification of images at n0 + n, and
prints the extrapolated wall time of the default run. Measured 2026/11/22
(load average ~2-3):

| | MNIST (8,000 train) | CIFAR-10 subset (5,085 train) |
|---|---|---|
| one epoch, Basic (k = 1) | 17-18 s | 13-15 s |
| one epoch, ADRE (k = 4) | 42-70 s | 36-65 s |
| one epoch, SmoothAdv / ADRE_ADV (k = 2, 1 step) | 39-56 s | 25-47 s |
| certify one image, n0 = 100 + n = 1,000 | 0.6 s | 0.5 s |

Two runs, 5 timed steps each, varied by up to 1.7x with the shared load.
Estimated wall time of the defaults (3 seeds, MNIST 1 epoch, CIFAR 2
epochs, 8 models, 50 certified images at n = 1,000, both datasets): about
65 min (second measurement; the first, whose certification timing still
included a retrace, said 112 min with 100 images). With 200 certified
images (the brief's first choice) it would be about 2 h, hence
`--certify-limit 50` (every 40th MNIST / every 20th CIFAR test image):
certified accuracies move in steps of 0.02.

## How to run

From the repository root:

```
python benchmarks/adre_tables.py                       # the recorded run
python benchmarks/adre_tables.py --smoke --out-dir /tmp/adre_smoke  # ~2 min
```

Outputs in `--out-dir` (written after every finished model, each atomically,
so a killed run keeps what it finished): `adre_tables.json` (command,
machine, wall time, settings, per-seed raw numbers including every
certified image's label, prediction and radius under both methods, and the
summary), `adre_tables.md` (Table-1-style tables for CERTIFY and T-CERTIFY,
ADRE-vs-baseline and T-CERTIFY-vs-CERTIFY differences, including where ADRE
does not win) and `adre_tables.png` (certified accuracy vs radius).
"""

import argparse
import datetime
import math
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))
import alps_tables as common  # noqa: E402  (data loading, ...)
from _common import choices_list  # noqa: E402
from _common import load_average  # noqa: E402
from _common import machine_info  # noqa: E402
from _common import mean_std  # noqa: E402
from _common import write_json_markdown_plot  # noqa: E402
from _common import positive_int  # noqa: E402
from _common import seed_list  # noqa: E402

REPO_ROOT = common.REPO_ROOT
DATASETS = common.DATASETS
DEFAULT_EPOCHS = {"mnist": 1, "cifar10": 2}
DEFAULT_OUT_DIR = REPO_ROOT / "benchmarks" / "results"
STEM = "adre_tables"
ALPHA = 0.001
RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
CERT_METHODS = (("cohen", "CERTIFY"), ("tight", "T-CERTIFY"))

#: key -> (trainer method, sigma, lambda, family). "family" pairs a model
#: with its baseline: ADRE_REG rows compare with Basic at the same sigma,
#: ADRE_ADV with SmoothAdv.
MODELS = {
    "basic_0.25": ("gaussian", 0.25, None, "reg"),
    "basic_0.5": ("gaussian", 0.5, None, "reg"),
    "adre_0.25_0.1": ("adre", 0.25, 0.1, "reg"),
    "adre_0.25_0.2": ("adre", 0.25, 0.2, "reg"),
    "adre_0.5_0.1": ("adre", 0.5, 0.1, "reg"),
    "adre_0.5_0.2": ("adre", 0.5, 0.2, "reg"),
    "smoothadv_0.25": ("smoothadv", 0.25, None, "adv"),
    "adre_adv_0.25_0.1": ("adre_adv", 0.25, 0.1, "adv"),
}
BASELINE = {"gaussian": "Basic", "smoothadv": "SmoothAdv"}


def model_label(key):
    method, sigma, lam, _ = MODELS[key]
    name = {"gaussian": "Basic", "adre": "ADRE_REG",
            "smoothadv": "SmoothAdv", "adre_adv": "ADRE_ADV"}[method]
    text = f"{name} σ = {sigma:.2f}"
    return text + (f", λ = {lam}" if lam is not None else "")


def baseline_of(key):
    method, sigma, _, _ = MODELS[key]
    if method == "adre":
        return f"basic_{sigma:g}"
    if method == "adre_adv":
        return f"smoothadv_{sigma:g}"
    return None


# ------------------------------------------------------------------ flags
def build_parser():
    p = argparse.ArgumentParser(
        description="ADRE paper Table 1 / Figures 1-2: Basic vs ADRE_REG and "
                    "SmoothAdv vs ADRE_ADV, certified with CERTIFY and "
                    "T-CERTIFY on real MNIST and CIFAR-10 data.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--datasets", type=choices_list(
        DATASETS, canonical_order=True),
                   default=list(DATASETS), help="comma-separated datasets")
    p.add_argument("--models", type=choices_list(
        tuple(MODELS), canonical_order=True),
                   default=list(MODELS),
                   help="comma-separated models: " + ", ".join(MODELS))
    p.add_argument("--seeds", type=seed_list, default=[0, 1, 2],
                   help="comma-separated seeds (weights, data order, noise)")
    p.add_argument("--epochs-mnist", type=positive_int,
                   default=DEFAULT_EPOCHS["mnist"],
                   help="training epochs on MNIST (8,000 images)")
    p.add_argument("--epochs-cifar", type=positive_int,
                   default=DEFAULT_EPOCHS["cifar10"],
                   help="training epochs on the CIFAR-10 subset")
    p.add_argument("--batch-size", type=positive_int, default=128,
                   help="training batch size")
    p.add_argument("--num-noise", type=positive_int, default=4,
                   help="k, Gaussian draws per example for ADRE_REG")
    p.add_argument("--adv-num-noise", type=positive_int, default=2,
                   help="k for SmoothAdv and ADRE_ADV")
    p.add_argument("--adv-steps", type=positive_int, default=1,
                   help="PGD steps of SmoothAdv / ADRE_ADV")
    p.add_argument("--adv-epsilon", type=float, default=0.25,
                   help="L2 attack radius of SmoothAdv / ADRE_ADV")
    p.add_argument("--warmup-epochs", type=int, default=1,
                   help="epsilon warm-up epochs (<= the training epochs)")
    p.add_argument("--n0", type=positive_int, default=100,
                   help="selection samples per certified image")
    p.add_argument("--n", type=positive_int, default=1000,
                   help="estimation samples per certified image")
    p.add_argument("--certify-limit", type=positive_int, default=50,
                   help="certified test images (every len(test)//limit-th)")
    p.add_argument("--certify-batch-size", type=positive_int,
                   default=1000, help="noisy images per forward pass")
    p.add_argument("--limit-train", type=positive_int, default=None,
                   help="train on the first N training images (dry runs)")
    p.add_argument("--width", type=positive_int, default=32,
                   help="small_cnn width")
    p.add_argument("--data-dir", default=None,
                   help=f"folder holding mnist/ and cifar10-subset/ "
                        f"(default: ${common.DATA_DIR_ENV}, else "
                        "../shared/data from the repository root)")
    p.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR,
                   help=f"where {STEM}.json/.md/.png are written")
    p.add_argument("--smoke", action="store_true",
                   help="tiny check that the script works: 1 seed, 1 epoch, "
                        "64 training images, 10 certified images, n = 100 "
                        "(overrides those flags)")
    p.add_argument("--estimate-budget", action="store_true",
                   help="first time full-size training steps and "
                        "certification per dataset and print the estimated "
                        "wall time of the given settings without --smoke")
    return p


def apply_smoke(args):
    args.full = argparse.Namespace(**vars(args))  # for --estimate-budget
    if args.smoke:
        args.seeds = args.seeds[:1]
        args.epochs_mnist = args.epochs_cifar = 1
        args.warmup_epochs = min(args.warmup_epochs, 1)
        args.limit_train = 64
        args.certify_limit = 10
        args.n = 100
    if args.warmup_epochs < 0 or args.warmup_epochs > min(
            args.epochs_mnist if "mnist" in args.datasets else 10**9,
            args.epochs_cifar if "cifar10" in args.datasets else 10**9):
        sys.exit("error: --warmup-epochs must be between 0 and the number "
                 "of training epochs.")
    return args


# ------------------------------------------------------------------ steps
def build(key, data, seed, args, steps_per_epoch, epochs):
    import keras

    from kerasrobust.models import channel_stats
    from kerasrobust.models import small_cnn
    from kerasrobust.training import PAPER_WEIGHT_DECAY
    from kerasrobust.training import make_trainer
    from kerasrobust.training import paper_optimizer

    method, sigma, lam, family = MODELS[key]
    mean, std = channel_stats(data.x_train)
    keras.utils.set_random_seed(seed)  # same initial weights per seed
    base = small_cnn(data.input_shape, data.num_classes, mean=mean, std=std,
                     width=args.width)
    kwargs = dict(sigma=sigma, weight_decay=PAPER_WEIGHT_DECAY, seed=seed)
    if method == "gaussian":
        kwargs["num_noise"] = 1
    elif method == "adre":
        kwargs.update(num_noise=args.num_noise, lam=lam,
                      single_draw_per=True)
    else:
        kwargs.update(num_noise=args.adv_num_noise,
                      adv_epsilon=args.adv_epsilon, adv_steps=args.adv_steps,
                      warmup_epochs=args.warmup_epochs)
        if method == "adre_adv":
            kwargs["lam"] = lam
    model = make_trainer(method, base, **kwargs)
    model.compile(optimizer=paper_optimizer(steps_per_epoch, epochs),
                  metrics=["accuracy"], jit_compile=False)
    return base, model


def train(key, data, seed, epochs, args):
    steps = math.ceil(len(data.x_train) / args.batch_size)
    base, model = build(key, data, seed, args, steps, epochs)
    start = time.time()
    history = model.fit(data.train_dataset(args.batch_size, seed=seed),
                        epochs=epochs, verbose=0)
    return base, time.time() - start, float(history.history["loss"][-1])


def certify_subset(data, args):
    import numpy as np

    n_test = len(data.x_test)
    skip = max(1, n_test // args.certify_limit)
    index = np.arange(0, n_test, skip)[:args.certify_limit]
    return index, skip


def certify_both(base, data, index, sigma, seed, args):
    """CERTIFY and T-CERTIFY on the same selection and estimation counts."""
    from kerasrobust.smoothing import SmoothedClassifier
    from kerasrobust.smoothing import average_certified_radius
    from kerasrobust.smoothing import certified_accuracy
    from kerasrobust.smoothing import certify_counts_batch

    x, y = data.x_test[index], data.y_test[index]
    smoothed = SmoothedClassifier(base, data.num_classes, sigma, seed=seed)
    start = time.time()
    counts0 = smoothed.sample_counts(x, args.n0, args.certify_batch_size)
    counts = smoothed.sample_counts(x, args.n, args.certify_batch_size)
    sample_s = time.time() - start
    out = {"certify_sample_seconds": round(sample_s, 2)}
    for method, _ in CERT_METHODS:
        labels, radii = certify_counts_batch(counts0, counts, sigma, ALPHA,
                                             method=method)
        columns = {"predict": labels, "label": y, "radius": radii,
                   "correct": labels == y}
        out[method] = {
            "certified_accuracy": [float(v) for v in
                                   certified_accuracy(columns, RADII)],
            "acr": average_certified_radius(columns),
            "predict": [int(v) for v in labels],
            "radius": [float(v) for v in radii],
        }
    out["label"] = [int(v) for v in y]
    return out


# ------------------------------------------------------------ budget
def estimate_budget(args, root):
    """Time full-size training steps and certification; extrapolate."""
    full = args.full
    timed_steps = 5
    per = {}
    for dataset in full.datasets:
        data = common.load(dataset, root, None, None)
        steps_epoch = math.ceil(len(data.x_train) / full.batch_size)
        per[dataset] = {}
        for key, label in (("basic_0.25", "basic"), ("adre_0.25_0.1", "adre"),
                           ("adre_adv_0.25_0.1", "adv")):
            import keras
            keras.backend.clear_session()
            base, model = build(key, data, 0, full, steps_epoch, 1)
            ds = data.train_dataset(full.batch_size, seed=0)
            batches = list(ds.take(timed_steps + 1))
            model.train_on_batch(*batches[0])  # trace
            t0 = time.time()
            for xb, yb in batches[1:]:
                model.train_on_batch(xb, yb)
            step_s = (time.time() - t0) / timed_steps
            per[dataset][f"epoch_{label}_s"] = step_s * steps_epoch
        from kerasrobust.smoothing import SmoothedClassifier
        smoothed = SmoothedClassifier(base, data.num_classes, 0.25, seed=0)
        x = data.x_test[:3]
        smoothed.sample_counts(x, full.n0, full.certify_batch_size)  # trace
        smoothed.sample_counts(x, full.n, full.certify_batch_size)
        t0 = time.time()
        smoothed.sample_counts(x, full.n0, full.certify_batch_size)
        smoothed.sample_counts(x, full.n, full.certify_batch_size)
        per[dataset]["certify_image_s"] = (time.time() - t0) / len(x)
        per[dataset]["n_train"] = len(data.x_train)
    total = 0.0
    for dataset, t in per.items():
        epochs = full.epochs_mnist if dataset == "mnist" else full.epochs_cifar
        train_s = 0.0
        for key in full.models:
            method = MODELS[key][0]
            kind = {"gaussian": "basic", "adre": "adre"}.get(method, "adv")
            train_s += t[f"epoch_{kind}_s"] * epochs
        cert_s = t["certify_image_s"] * full.certify_limit * len(full.models)
        t["per_seed_train_s"] = train_s
        t["per_seed_certify_s"] = cert_s
        t["estimate_s"] = (train_s + cert_s) * len(full.seeds)
        total += t["estimate_s"]
        print(f"budget {dataset}: epoch Basic {t['epoch_basic_s']:.1f} s, "
              f"ADRE(k={full.num_noise}) {t['epoch_adre_s']:.1f} s, "
              f"ADV(k={full.adv_num_noise}, {full.adv_steps} step) "
              f"{t['epoch_adv_s']:.1f} s; certify one image at n0 "
              f"{full.n0} + n {full.n}: {t['certify_image_s']:.2f} s; "
              f"per seed train {train_s:.0f} s + certify {cert_s:.0f} s; "
              f"{len(full.seeds)} seeds: {t['estimate_s'] / 60:.1f} min",
              flush=True)
    print(f"budget: estimated wall time of these settings without --smoke: "
          f"{total / 60:.1f} min", flush=True)
    return {"per_dataset": per, "estimate_s": total}


# ----------------------------------------------------------------- report
def summarize(cells, datasets, models):
    summary = {}
    for dataset in datasets:
        for key in models:
            rows = [c for c in cells
                    if c["dataset"] == dataset and c["model"] == key]
            if not rows:
                continue
            entry = {"seeds": [c["seed"] for c in rows]}
            for method, _ in CERT_METHODS:
                entry[method] = {
                    "certified_accuracy": [
                        mean_std([c[method]["certified_accuracy"][i]
                                   for c in rows])
                        for i in range(len(RADII))],
                    "acr": mean_std([c[method]["acr"] for c in rows]),
                }
            summary.setdefault(dataset, {})[key] = entry
    return summary


def _fmt(stat, digits=2):
    if stat["std"] is None:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _table(rows, method):
    header = (["Method"] + [f"{r:.2f}" for r in RADII] + ["ACR"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, entry in rows.items():
        cells = [model_label(key)]
        cells += [_fmt(s) for s in entry[method]["certified_accuracy"]]
        cells.append(_fmt(entry[method]["acr"], 3))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _differences(rows, method):
    """ADRE minus its baseline, per radius and ACR (means over seeds)."""
    lines, losses = [], []
    header = ["ADRE model − baseline"] + [f"{r:.2f}" for r in RADII] + [
        "ACR"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, entry in rows.items():
        base = baseline_of(key)
        if base is None or base not in rows:
            continue
        ours = entry[method]["certified_accuracy"]
        theirs = rows[base][method]["certified_accuracy"]
        diffs = [a["mean"] - b["mean"] for a, b in zip(ours, theirs)]
        acr = entry[method]["acr"]["mean"] - rows[base][method]["acr"]["mean"]
        lines.append("| " + " | ".join(
            [f"{model_label(key)} − {BASELINE[MODELS[base][0]]}"]
            + [f"{d:+.3f}" for d in diffs] + [f"{acr:+.3f}"]) + " |")
        lost = [f"{r:.2f}" for r, d, a, b in zip(RADII, diffs, ours, theirs)
                if d < 0 or (d == 0 and a["mean"] > 0)]
        if acr <= 0 or lost:
            losses.append(
                f"- {model_label(key)} does not beat "
                f"{BASELINE[MODELS[base][0]]} "
                + (f"at radii {', '.join(lost)}" if lost else "")
                + (" and " if lost and acr <= 0 else "")
                + (f"in ACR ({acr:+.3f})" if acr <= 0 else "") + ".")
    return lines, losses


def markdown(results):
    s = results["settings"]
    lines = [
        "# ADRE Table 1 and Figures 1-2 on real MNIST and CIFAR-10 data",
        "",
        f"- Command: `{results['command']}`",
        f"- Machine: {results['machine']['summary']}",
        f"- Started {results['started_utc']}; "
        + (f"wall time {results['wall_seconds']:.0f} s "
           f"({results['wall_seconds'] / 60:.1f} min)"
           if results.get("finished") else
           f"in progress: {results['wall_seconds']:.0f} s so far"),
        f"- Model: small_cnn (width {s['width']}), same initial weights, "
        f"data order and recipe per seed; epochs: "
        + ", ".join(f"{d} {e}" for d, e in s["epochs"].items())
        + f"; batch {s['batch_size']}; seeds "
        f"{', '.join(map(str, s['seeds']))}"
        + (f"; first {s['limit_train']} training images only"
           if s["limit_train"] else "") + ".",
        f"- Basic: k = 1. ADRE_REG: k = {s['num_noise']}, "
        "single_draw_per (l_per from one draw). SmoothAdv / ADRE_ADV: "
        f"k = {s['adv_num_noise']}, {s['adv_steps']}-step L2 PGD, "
        f"epsilon {s['adv_epsilon']}, warm-up {s['warmup_epochs']} epoch(s).",
        f"- Certification: n0 = {s['n0']}, n = {s['n']}, alpha = "
        f"{s['alpha']}, CERTIFY and T-CERTIFY (alpha' from the selection "
        "counts) on the same noisy samples; approximate certified accuracy "
        "(abstentions are wrong) and ACR; mean ± sample std over seeds.",
        "",
    ]
    for dataset, rows in results["summary"].items():
        info = results["datasets"][dataset]
        lines += [f"## {dataset}: {info['split_note']}", "",
                  f"Certified: {info['n_certified']} test images (every "
                  f"{info['skip']}-th).", ""]
        for method, title in CERT_METHODS:
            lines += [f"### {title}", ""] + _table(rows, method) + [""]
        lines += ["### ADRE minus its baseline (CERTIFY, means)", ""]
        diff_lines, losses = _differences(rows, "cohen")
        lines += diff_lines + [""]
        lines += ["Where ADRE does not win (CERTIFY; ties at a nonzero "
                  "accuracy count as not winning):", ""]
        lines += losses or ["- ADRE wins at every radius and in ACR here."]
        lines += ["", "### T-CERTIFY minus CERTIFY (same counts, means)", ""]
        header = ["Model"] + [f"{r:.2f}" for r in RADII] + ["ACR"]
        lines += ["| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]
        for key, entry in rows.items():
            t, c = entry["tight"], entry["cohen"]
            lines.append("| " + " | ".join(
                [model_label(key)]
                + [f"{a['mean'] - b['mean']:+.3f}" for a, b in zip(
                    t["certified_accuracy"], c["certified_accuracy"])]
                + [f"{t['acr']['mean'] - c['acr']['mean']:+.3f}"]) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = results["summary"]
    if not summary:
        return
    panels = (("σ = 0.25: Basic vs ADRE_REG", ("gaussian", "adre"), 0.25),
              ("σ = 0.5: Basic vs ADRE_REG", ("gaussian", "adre"), 0.5),
              ("σ = 0.25: SmoothAdv vs ADRE_ADV", ("smoothadv", "adre_adv"),
               0.25),
              ("T-CERTIFY (solid) vs CERTIFY (dashed)", None, None))
    fig, axes = plt.subplots(len(summary), len(panels), squeeze=False,
                             figsize=(4.2 * len(panels), 3.4 * len(summary)))
    for row, (dataset, rows) in zip(axes, summary.items()):
        for ax, (title, methods, sigma) in zip(row, panels):
            for key, entry in rows.items():
                method, sig, _, _ = MODELS[key]
                if methods is None:
                    # Figure 2: every sigma-0.5 model, both certifiers.
                    if sig != 0.5:
                        continue
                    for cert, style in (("tight", "-"), ("cohen", "--")):
                        means = [v["mean"] for v in
                                 entry[cert]["certified_accuracy"]]
                        ax.plot(RADII, means, style, label=(
                            model_label(key) if cert == "tight" else None),
                            color=f"C{list(MODELS).index(key)}")
                    continue
                if method not in methods or sig != sigma:
                    continue
                means = [v["mean"]
                         for v in entry["cohen"]["certified_accuracy"]]
                stds = [v["std"] or 0.0
                        for v in entry["cohen"]["certified_accuracy"]]
                style = "--" if method in BASELINE else "-"
                ax.errorbar(RADII, means, yerr=stds, fmt=style, capsize=2,
                            label=model_label(key),
                            color=f"C{list(MODELS).index(key)}")
            ax.set_title(f"{dataset}, {title}", fontsize=8)
            ax.set_xlabel("L2 radius")
            ax.set_ylabel("certified accuracy")
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=6)
    fig.suptitle("Approximate certified accuracy (CERTIFY unless noted), "
                 "small_cnn, mean ± std over seeds", fontsize=9)
    fig.tight_layout()
    from kerasrobust._io import atomic_path

    with atomic_path(path, ".tmp.png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def write_outputs(results, out_dir):
    write_json_markdown_plot(out_dir / f"{STEM}.json", results, markdown,
                             plot)


# ------------------------------------------------------------------- main
def main(argv=None):
    args = apply_smoke(build_parser().parse_args(argv))
    root = common.resolve_data_dir(args.data_dir)
    start = time.time()
    epochs = {"mnist": args.epochs_mnist, "cifar10": args.epochs_cifar}
    argv_list = sys.argv[1:] if argv is None else list(argv)
    results = {
        "command": shlex.join(["python", "benchmarks/adre_tables.py"]
                              + argv_list),
        "started_utc": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        "machine": dict(machine_info(),
                        load_average_start=load_average()),
        "settings": {
            "datasets": args.datasets, "models": args.models,
            "seeds": args.seeds, "smoke": args.smoke,
            "epochs": {d: epochs[d] for d in args.datasets},
            "batch_size": args.batch_size, "width": args.width,
            "limit_train": args.limit_train,
            "num_noise": args.num_noise, "single_draw_per": True,
            "adv_num_noise": args.adv_num_noise,
            "adv_steps": args.adv_steps, "adv_epsilon": args.adv_epsilon,
            "warmup_epochs": args.warmup_epochs,
            "n0": args.n0, "n": args.n, "alpha": ALPHA,
            "certify_limit": args.certify_limit,
            "certify_batch_size": args.certify_batch_size,
            "radii": list(RADII),
            "t_certify": "certify_counts_batch(method='tight'), "
                         "alpha_prime='selection' (library default)",
            "models_spec": {k: {"method": m, "sigma": s, "lam": lam}
                            for k, (m, s, lam, _) in MODELS.items()
                            if k in args.models},
            "optimizer": "paper_optimizer (SGD momentum 0.9, lr 0.1, /10 at "
                         "50% and 75% of the epochs), coupled weight decay "
                         "1e-4",
        },
        "datasets": {}, "cells": [], "summary": {}, "finished": False,
        "wall_seconds": 0.0,
    }
    if args.estimate_budget:
        results["budget_estimate"] = estimate_budget(args, root)
    out_dir = args.out_dir
    print(f"writing {out_dir}/{STEM}.json (+ .md, .png) after every model",
          flush=True)
    for dataset in args.datasets:
        data = common.load(dataset, root, args.limit_train, None)
        index, skip = certify_subset(data, args)
        results["datasets"][dataset] = {
            "split_note": data.split_note, "n_train": len(data.x_train),
            "n_test": len(data.x_test), "n_certified": len(index),
            "skip": skip, "certified_index": index.tolist()}
        for seed in args.seeds:
            for key in args.models:
                import keras
                keras.backend.clear_session()
                t0 = time.time()
                base, train_s, loss = train(key, data, seed, epochs[dataset],
                                            args)
                t1 = time.time()
                cell = certify_both(base, data, index, MODELS[key][1], seed,
                                    args)
                cell.update(dataset=dataset, seed=seed, model=key,
                            method=MODELS[key][0], sigma=MODELS[key][1],
                            lam=MODELS[key][2], epochs=epochs[dataset],
                            final_train_loss=loss,
                            train_seconds=round(train_s, 1),
                            certify_seconds=round(time.time() - t1, 1),
                            cell_seconds=round(time.time() - t0, 1))
                results["cells"].append(cell)
                results["summary"] = summarize(results["cells"],
                                               args.datasets, args.models)
                results["wall_seconds"] = round(time.time() - start, 1)
                write_outputs(results, out_dir)
                print(f"[{results['wall_seconds']:7.0f}s] {dataset} seed "
                      f"{seed} {key:18s} ACR CERTIFY "
                      f"{cell['cohen']['acr']:.3f} T-CERTIFY "
                      f"{cell['tight']['acr']:.3f} acc@0 "
                      f"{cell['cohen']['certified_accuracy'][0]:.2f} (train "
                      f"{train_s:.0f}s, certify {cell['certify_seconds']:.0f}"
                      "s)", flush=True)
    results["finished"] = True
    results["wall_seconds"] = round(time.time() - start, 1)
    results["machine"]["load_average_end"] = load_average()
    results["finished_utc"] = datetime.datetime.now(
        datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    write_outputs(results, out_dir)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
