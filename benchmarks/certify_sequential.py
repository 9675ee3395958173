"""
Title: Sequential CERTIFY against fixed-n CERTIFY at n = 100,000
Author: kerasrobust contributors
Date created: 2026/11/30
Last modified: 2026/11/30
Description: Estimation draws, wall time per image and certified accuracy of SmoothedClassifier.certify_sequential vs SmoothedClassifier.certify (n = 100,000) on real models, side by side in one run; plus the simulated comparison of confidence-sequence schemes behind the default.
Accelerator: None (CPU)

## What it measures

Part `simulate` (pure NumPy, `kerasrobust.smoothing.certify_sequential.
simulate_sequential`): for each confidence-sequence scheme (`union` with
the `final_half`, `uniform` and `pi2` alpha splits, and the beta-binomial
`mixture`), `--sim-inputs` simulated inputs per case, n_max = 100,000,
alpha = 0.001: the mean estimation draws and the certified fraction on
easy inputs (true radius 4r), inputs at 2r, and inputs near the threshold
(true radius uniform in [0.9r, 1.1r]), next to fixed-n CERTIFY at n = n_max
on the same p_A (its certified fraction from one Binomial(n_max, p_A) draw
per input). Radii r = sigma/4, sigma/2, sigma.

Part `models`: for each dataset and noise level sigma, a base model is
trained briefly with Gaussian noise augmentation (`make_trainer("gaussian",
...)`, Cohen et al.'s training) inside the script: on MNIST (first 8,000
test images train, last 2,000 test) the small CNN (`small_cnn`, width
`--width`), on the CIFAR-10 subset a small ResNet (`cifar_resnet`, depth
`--resnet-depth`). The same test images are then certified twice, back to
back, with the same model and seed:

- fixed-n CERTIFY: `certify(x, n0=100, n=100000, alpha=0.001)`;
- sequential: `certify_sequential(x, radius=RADII, n_max=100000,
  alpha=0.001, n0=100)` (one confidence sequence for all radii).

Wall times include the tracing of the compiled sampling function (a fresh
`SmoothedClassifier` each: 2 traces for fixed-n, about 7 for the sequential
run, whose blocks have different sizes; about 1.2 s each on the loaded
machine), and the process CPU time is recorded next to them.

Reported per configuration: mean estimation draws per image, wall seconds
per image (selection included) and their ratios, and the certified accuracy
(correct label and certified) at each radius for both. `--models-grid full`
runs both models on both datasets (4 x the time).

Fixed-n CERTIFY at n = 100,000 costs 100,100 forward passes per image
(about 100 s for the small CNN on MNIST and 6 minutes for ResNet-8 on
CIFAR on a loaded 2-core CPU), so the default certifies few images: the
certified-accuracy figures are small-sample; the draws and the time per
image are the point.

## How to run

```
python benchmarks/certify_sequential.py            # 29 min, 2 loaded cores
python benchmarks/certify_sequential.py --smoke    # ~3 min: n = 2,000
python benchmarks/certify_sequential.py --part simulate          # ~3 min
python benchmarks/certify_sequential.py --part models --n-max 10000 \
    --images mnist=16,cifar10=6 --out benchmarks/results/certify_sequential_n10000.json
```

The data folder is `--data-dir`, else `$KERASROBUST_DATA_DIR`, else
`../shared/data` (holding `mnist/` and `cifar10-subset/`). Results go to
`benchmarks/results/certify_sequential.json` (or `--out`), written
atomically after every configuration.
"""

import argparse
import datetime
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))
if str(BENCH_DIR.parent) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR.parent))
import alps_tables as data_common  # noqa: E402  (data loading)
from _common import load_average  # noqa: E402
from _common import machine_info  # noqa: E402
from _common import positive_int  # noqa: E402

DEFAULT_OUT = BENCH_DIR / "results" / "certify_sequential.json"
ALPHA = 0.001
N0 = 100
RADII = (0.25, 0.5)
SIGMAS = (0.25, 0.5)
MODEL_FOR = {"mnist": "small_cnn", "cifar10": "resnet"}
SIM_SCHEMES = {
    "union/final_half": {"scheme": "union", "split": "final_half"},
    "union/uniform": {"scheme": "union", "split": "uniform"},
    "union/pi2": {"scheme": "union", "split": "pi2"},
    "mixture": {"scheme": "mixture"},
}


def build_parser():
    p = argparse.ArgumentParser(
        description="Sequential vs fixed-n CERTIFY (issue 12).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--part", choices=("all", "simulate", "models"),
                   default="all")
    p.add_argument("--datasets", default="mnist,cifar10",
                   help="comma-separated: mnist, cifar10")
    p.add_argument("--models-grid", choices=("paired", "full"),
                   default="paired",
                   help="paired: small CNN on MNIST, ResNet on CIFAR; "
                        "full: both models on both datasets")
    p.add_argument("--images", default="mnist=3,cifar10=1",
                   help="test images certified per configuration, "
                        "dataset=count pairs")
    p.add_argument("--n-max", type=positive_int, default=100_000,
                   help="n of fixed-n CERTIFY and n_max of the sequential")
    p.add_argument("--epochs", type=positive_int, default=1)
    p.add_argument("--limit-train", type=positive_int, default=None)
    p.add_argument("--width", type=positive_int, default=8,
                   help="small CNN width")
    p.add_argument("--resnet-depth", type=positive_int, default=8)
    p.add_argument("--batch-size", type=positive_int, default=1000,
                   help="noisy images per forward pass")
    p.add_argument("--sim-inputs", type=positive_int, default=20_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--smoke", action="store_true",
                   help="CI-speed run: n = 2,000, 2 images, 512 training "
                        "images, 2,000 simulated inputs")
    return p


def parse_images(text):
    out = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        out[name.strip()] = int(value)
    return out


# ------------------------------------------------------------- simulation
def simulate(args):
    import numpy as np
    from scipy import special

    from kerasrobust.smoothing import certify_sequential as cs
    from kerasrobust.smoothing.bounds import clopper_pearson_lower

    rng = np.random.default_rng(args.seed)
    n_max, n = args.n_max, args.sim_inputs
    rows = []
    for r_over_sigma in (0.25, 0.5, 1.0):
        t = float(special.ndtr(r_over_sigma))
        cases = {
            "easy (4r)": np.full(n, special.ndtr(4 * r_over_sigma)),
            "2r": np.full(n, special.ndtr(2 * r_over_sigma)),
            "near (0.9r-1.1r)": special.ndtr(
                rng.uniform(0.9, 1.1, n) * r_over_sigma),
        }
        for case, p in cases.items():
            s = rng.binomial(n_max, p)
            row = {"r_over_sigma": r_over_sigma, "case": case,
                   "fixed_n_certified": float(np.mean(
                       clopper_pearson_lower(s, n_max, ALPHA) >= t))}
            for name, kw in SIM_SCHEMES.items():
                out = cs.simulate_sequential(p, [t], n_max, ALPHA, rng, **kw)
                row[name] = {
                    "certified": float(np.mean(out["decision"][:, 0] == 1)),
                    "mean_samples": float(np.mean(out["num_samples"])),
                }
            rows.append(row)
            print(f"simulate r={r_over_sigma}sigma {case:17s} fixed-n "
                  f"{row['fixed_n_certified']:.4f} | " + " | ".join(
                      f"{k}: {v['certified']:.4f} @ {v['mean_samples']:.0f}"
                      for k, v in row.items() if isinstance(v, dict)),
                  flush=True)
    return {"n_max": n_max, "alpha": ALPHA, "inputs_per_case": n,
            "first_look": 100, "growth": 2.0, "rows": rows}


# ---------------------------------------------------------------- models
def train(dataset, model_name, data, sigma, args):
    import keras

    from kerasrobust.models import channel_stats
    from kerasrobust.models import cifar_resnet
    from kerasrobust.models import small_cnn
    from kerasrobust.training import make_trainer

    keras.utils.set_random_seed(args.seed)
    mean, std = channel_stats(data.x_train)
    if model_name == "small_cnn":
        base = small_cnn(data.input_shape, data.num_classes, mean=mean,
                         std=std, width=args.width)
    else:
        base = cifar_resnet(args.resnet_depth, data.input_shape,
                            data.num_classes, mean=mean, std=std)
    model = make_trainer("gaussian", base, sigma=sigma, seed=args.seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  metrics=["accuracy"], jit_compile=False)
    began = time.time()
    history = model.fit(data.train_dataset(64, seed=args.seed),
                        epochs=args.epochs, verbose=0)
    return base, time.time() - began, float(history.history["accuracy"][-1])


def certify_pair(base, data, sigma, count, args):
    import numpy as np

    from kerasrobust.smoothing import SmoothedClassifier

    n_test = len(data.x_test)
    index = np.arange(0, n_test, max(1, n_test // count))[:count]
    x, y = data.x_test[index], data.y_test[index]
    out = {"index": index.tolist(), "label": y.tolist()}

    smoothed = SmoothedClassifier(base, data.num_classes, sigma,
                                  seed=args.seed)
    load_before = load_average()
    began, cpu = time.time(), time.process_time()
    fixed = smoothed.certify(x, n0=N0, n=args.n_max, alpha=ALPHA,
                             batch_size=args.batch_size, verbose=0)
    fixed_wall, fixed_cpu = time.time() - began, time.process_time() - cpu

    smoothed = SmoothedClassifier(base, data.num_classes, sigma,
                                  seed=args.seed + 1)
    load_mid = load_average()
    began, cpu = time.time(), time.process_time()
    seq = smoothed.certify_sequential(
        x, list(RADII), n_max=args.n_max, alpha=ALPHA, n0=N0,
        batch_size=args.batch_size, verbose=0)
    seq_wall, seq_cpu = time.time() - began, time.process_time() - cpu

    out["fixed"] = {
        "wall_per_image": fixed_wall / len(x),
        "cpu_per_image": fixed_cpu / len(x),
        "samples_per_image": float(args.n_max),
        "certified_accuracy": {
            f"{r:g}": float(np.mean((fixed.label == y) & (fixed.radius >= r)))
            for r in RADII},
        "predict": fixed.label.tolist(), "radius": fixed.radius.tolist(),
    }
    out["sequential"] = {
        "wall_per_image": seq_wall / len(x),
        "cpu_per_image": seq_cpu / len(x),
        "samples_per_image": float(np.mean(seq.num_samples)),
        "num_samples": seq.num_samples.tolist(),
        "certified_accuracy": {
            f"{r:g}": float(np.mean(seq.label[:, j] == y))
            for j, r in enumerate(RADII)},
        "label": seq.label.tolist(),
        "radius_lower": seq.radius_lower.tolist(),
    }
    out["samples_ratio"] = args.n_max / max(
        out["sequential"]["samples_per_image"], 1.0)
    out["wall_ratio"] = fixed_wall / seq_wall
    out["load_average"] = {"before_fixed": load_before,
                           "before_sequential": load_mid,
                           "after": load_average()}
    return out


def models_part(args, results, write):
    import keras

    root = data_common.resolve_data_dir(args.data_dir)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    images = parse_images(args.images)
    for dataset in datasets:
        data = data_common.load(dataset, root, args.limit_train, None)
        names = ([MODEL_FOR[dataset]] if args.models_grid == "paired"
                 else ["small_cnn", "resnet"])
        for model_name in names:
            for sigma in SIGMAS:
                keras.backend.clear_session()
                base, train_s, train_acc = train(dataset, model_name, data,
                                                 sigma, args)
                cell = {"dataset": dataset, "model": model_name,
                        "sigma": sigma, "train_seconds": train_s,
                        "train_noisy_accuracy": train_acc,
                        "params": int(base.count_params())}
                cell.update(certify_pair(base, data, sigma,
                                         images.get(dataset, 1), args))
                results["cells"].append(cell)
                f, s = cell["fixed"], cell["sequential"]
                print(f"{dataset} {model_name} sigma={sigma}: samples "
                      f"{f['samples_per_image']:.0f} vs "
                      f"{s['samples_per_image']:.0f} "
                      f"({cell['samples_ratio']:.1f}x), wall/image "
                      f"{f['wall_per_image']:.1f} s vs "
                      f"{s['wall_per_image']:.2f} s "
                      f"({cell['wall_ratio']:.1f}x); cert acc "
                      f"{f['certified_accuracy']} vs "
                      f"{s['certified_accuracy']}", flush=True)
                write()


def markdown(results):
    """The BENCHMARKS.md tables of a results dict."""
    lines = []
    sim = results.get("simulation")
    if sim:
        names = list(SIM_SCHEMES)
        lines += [
            f"Simulated ({sim['inputs_per_case']:,} inputs per row, n_max = "
            f"{sim['n_max']:,}, alpha = {sim['alpha']:g}): certified "
            "fraction / mean estimation draws.", "",
            "| r | inputs | fixed-n CERTIFY | " + " | ".join(names) + " |",
            "|---" * (3 + len(names)) + "|"]
        for row in sim["rows"]:
            lines.append(
                f"| {row['r_over_sigma']:g} sigma | {row['case']} | "
                f"{100 * row['fixed_n_certified']:.1f} % | " + " | ".join(
                    f"{100 * row[k]['certified']:.1f} % / "
                    f"{row[k]['mean_samples']:,.0f}" for k in names) + " |")
        lines.append("")
    if results["cells"]:
        radii = [f"{r:g}" for r in results["settings"]["radii"]]
        lines += [
            "| dataset | model | sigma | images | draws/image fixed-n | "
            "draws/image sequential | draws ratio | s/image fixed-n | "
            "s/image sequential | time ratio | " + " | ".join(
                f"cert. acc. {r} fixed-n / seq." for r in radii) + " |",
            "|---" * (10 + len(radii)) + "|"]
        for c in results["cells"]:
            f, q = c["fixed"], c["sequential"]
            lines.append(
                f"| {c['dataset']} | {c['model']} | {c['sigma']:g} | "
                f"{len(c['index'])} | {f['samples_per_image']:,.0f} | "
                f"{q['samples_per_image']:,.0f} | {c['samples_ratio']:.1f}x | "
                f"{f['wall_per_image']:.1f} | {q['wall_per_image']:.2f} | "
                f"{c['wall_ratio']:.1f}x | " + " | ".join(
                    f"{f['certified_accuracy'][r]:.2f} / "
                    f"{q['certified_accuracy'][r]:.2f}" for r in radii)
                + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.smoke:
        args.n_max = min(args.n_max, 2000)
        args.images = "mnist=2,cifar10=2"
        args.limit_train = args.limit_train or 512
        args.sim_inputs = min(args.sim_inputs, 2000)
    from kerasrobust._io import atomic_write_json
    from kerasrobust._io import atomic_write_text

    argv_list = sys.argv[1:] if argv is None else list(argv)
    start = time.time()
    results = {
        "command": shlex.join(["python", "benchmarks/certify_sequential.py"]
                              + argv_list),
        "started_utc": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        "machine": dict(machine_info(), load_average_start=load_average()),
        "settings": {"n_max": args.n_max, "n0": N0, "alpha": ALPHA,
                     "radii": list(RADII), "sigmas": list(SIGMAS),
                     "images": args.images, "epochs": args.epochs,
                     "width": args.width, "resnet_depth": args.resnet_depth,
                     "batch_size": args.batch_size, "smoke": args.smoke,
                     "models_grid": args.models_grid,
                     "sequential_defaults": "scheme='union', "
                     "split='final_half', first=100, growth=2"},
        "cells": [], "finished": False,
    }

    def write():
        results["wall_seconds"] = time.time() - start
        results["machine"]["load_average_now"] = load_average()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(args.out, results)
        atomic_write_text(args.out.with_suffix(".md"), markdown(results))

    if args.part in ("all", "simulate"):
        results["simulation"] = simulate(args)
        write()
    if args.part in ("all", "models"):
        models_part(args, results, write)
    results["finished"] = True
    write()
    print(f"wall time {time.time() - start:.0f} s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
