"""
Title: ADRE Table 1 and Figures 1-2 (randomized smoothing) on real data, models trained to a validation plateau
Author: kerasrobust contributors
Date created: 2026/11/22
Last modified: 2026/11/30
Description: Basic vs ADRE_REG and SmoothAdv vs ADRE_ADV at sigma 0.25/0.5/1.0, certified at n = 100,000 with CERTIFY and T-CERTIFY on the same counts, paired differences and which paper claims reproduce.
Accelerator: None (CPU); a GPU makes the default run practical

## What it measures

The experiments of the ADRE / T-CERTIFY paper (Feng et al.,
`adre-tcertify-randomized-smoothing.md`), for every sigma of `--sigmas`
(default 0.25, 0.5, 1.0):

- Table 1: approximate certified top-1 accuracy at the paper's L2 radii 0,
  0.25, ..., 3.0 and the average certified radius (ACR) of smoothed
  classifiers whose base model was trained with Basic (Gaussian
  augmentation, k = 1; Cohen et al.) or ADRE_REG with lambda in `--lams`
  (default 0.1, 0.2), k = `--num-noise` (8, the paper's) and
  `single_draw_per=True` (the paper's CIFAR-10 variant: the only
  difference to Basic is the ADRE regularizer);
- Figure 1: SmoothAdv vs ADRE_ADV (lambda `--adv-lam`), k =
  `--adv-num-noise`, `--adv-steps`-step L2 PGD of radius `--adv-epsilon`,
  epsilon warmed up over `--warmup-epochs`;
- Figure 2: T-CERTIFY vs CERTIFY on the *same* noisy samples: per image the
  selection counts (n0) and the estimation counts (n) are drawn once
  (`SmoothedClassifier.sample_counts`) and given to
  `certify_counts_batch(..., method="cohen")` and `(..., method="tight")`:
  the library's T-CERTIFY (alpha' chosen from the selection counts, so
  Theorem 1's guarantee holds) and the paper's literal grid maximum on the
  estimation counts (`alpha_prime="grid"`, no proved guarantee; kept to
  reproduce the paper's figure).

Paired differences (ADRE - baseline, T-CERTIFY - CERTIFY) are computed per
seed (same initial weights, data order and certification noise) with
95 % Student-t intervals over seeds (`_common.t_interval`); the Markdown
states for each claim (Table 1: ADRE_REG >= Basic; Fig. 1: ADRE_ADV >=
SmoothAdv; Fig. 2: T-CERTIFY >= CERTIFY) whether it reproduces (every
ACR difference a significant win), partly, not at all (a significant
loss), or is not resolved (intervals contain 0). T-CERTIFY - CERTIFY is
also paired by image (`per_image_difference`: each image's ACR term on
the same counts, averaged over the seeds, which certify the same images;
95 % t-interval over images, whose mean is the ACR difference, and an
exact sign test): with one seed it is the only
interval, and it speaks for these models and images, not for the spread
between training runs. The Fig. 2 claim's verdict is taken from it
(the paper's Figure 2 certifies "one representative base classifier",
so its images are the sampling unit); Table 1 and Fig. 1 compare
training methods and stay paired by seed.

## Converged models

Every model is trained with SGD (momentum 0.9, lr 0.1, coupled weight
decay 1e-4, batch 128) until the plateau rule of `alps_tables.py` stops
it (`_common.plateau_callback`: lr / 10 after `--patience` epochs
without improvement, at most `--max-decays` times, then stop at the next
plateau; best epoch kept). A `--patience` of at least the epoch cap
gives one fixed schedule instead (the rule cannot fire: lr 0.1 for every
epoch, best epoch kept), and the results' title and training line say so
(`_common.fixed_by_the_cap`). The validation error is the base model's
error on 10 % of the training images (held out, never the test set)
under one fixed Gaussian draw at the model's sigma per image: the
quantity that the certified accuracy at radius 0 follows. Learning
curves are in the JSON and `_curves.png`.

## Certification

`--certify-limit` test images (default 100; every `len(test) // limit`-th,
Cohen et al.'s `--skip`), n0 = 100, n = `--n` (default 100,000, the
papers'), alpha = 0.001. With `--sequential`, the certified-accuracy
columns come from `SmoothedClassifier.certify_sequential` (n_max = `--n`;
radius 0 is asked as 1e-6 because it needs radii > 0) when this checkout
has it (`hasattr` at run time; otherwise a warning and fixed n), and the
fixed-n counts, needed for the radius itself (ACR, Figure 2), are drawn on
the first `--fixed-n-limit` images. The sequential decisions are recorded
per image, and the results set them against fixed-n CERTIFY on the images
certified both ways (`sequential_agreement`: draws, time, and the (image,
radius) decisions that agree).

## How it differs from the paper

- Model: `--arch-cifar resnet20` (0.27M parameters) by default instead of
  ResNet-110 (1.7M, about 5.5x the compute): see BENCHMARKS.md for the
  measured cost; `--arch-cifar resnet110` where there is a GPU.
- Data: the CIFAR-10 subset (4,577 training images after the hold-out,
  1,017 test) instead of 50,000 / 10,000; 100 certified images instead of
  500.
- Batch 128 instead of 400; SmoothAdv/ADRE_ADV k = 2 by default instead of
  8 (`--adv-num-noise 8` for the paper's).
- No sigma = 0.12 and no lambda = 0.3 by default (`--sigmas`, `--lams`).

## How to run

From the repository root:

```
python benchmarks/adre_tables.py --estimate-budget     # time one epoch
python benchmarks/adre_tables.py                       # the planned run
python benchmarks/adre_tables.py --smoke --out-dir /tmp/adre_smoke
```

A killed run goes on where it stopped with the same command and
`--resume`: the models of the JSON in `--out-dir` are taken, not
retrained. `--reuse JSON` takes models from any earlier run in the same
way, e.g. a Basic model shared by two comparisons. Either takes a model
only where every setting that decides it is equal (CELL_SETTINGS,
`arch`, `max_epochs`, the method's TRAINER_FLAGS; else an error naming
the setting, before any training): a seed fixes a model bit for bit on
one machine, so the taken model is the one this run would train there
(another CPU's float kernels give another model of the same procedure;
each JSON records `machine.cpu`). Each names its run in
the JSON (`reused_from`) and the tables. `--resume` refuses a plan that
leaves out a model of that JSON (rewriting it would lose the model), and
writes the recorded models not reached yet with every new one, so a run
stopped again loses none.

Outputs in `--out-dir` (written after every finished model, each
atomically, so a killed run keeps what it finished):
`adre_tables_converged.json` (command, commit, machine, load, wall time,
settings, per-seed raw numbers including every certified image's label,
top-2 counts, predictions and radii under each certifier, learning
curves, summary and paired differences), `.md` (tables, paper's Table 1,
differences with intervals, which claims reproduce), `.png` (certified
accuracy vs radius per sigma: Table 1, Figure 1, Figure 2 panels) and
`_curves.png`. The earlier short-run results (`adre_tables.json`) stay as
recorded.
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
import alps_tables as common  # noqa: E402  (data loading, plateau records)
from _common import arch_name  # noqa: E402
from _common import build_base  # noqa: E402
from _common import choices_list  # noqa: E402
from _common import commit_line  # noqa: E402
from _common import git_commit  # noqa: E402
from _common import holdout_split  # noqa: E402
from _common import in_order  # noqa: E402
from _common import load_average  # noqa: E402
from _common import machine_info  # noqa: E402
from _common import mean_std  # noqa: E402
from _common import origin_text  # noqa: E402
from _common import paper_sgd  # noqa: E402
from _common import plateau_callback  # noqa: E402
from _common import plateau_rule  # noqa: E402
from _common import plot_learning_curves  # noqa: E402
from _common import positive_int  # noqa: E402
from _common import read_results_json  # noqa: E402
from _common import rerender_json  # noqa: E402
from _common import reuse_origin  # noqa: E402
from _common import seed_list  # noqa: E402
from _common import t_interval  # noqa: E402
from _common import trained_how  # noqa: E402
from _common import training_line  # noqa: E402
from _common import typed_list  # noqa: E402
from _common import verdict  # noqa: E402
from _common import refuse_resume_that_drops  # noqa: E402
from _common import with_later  # noqa: E402
from _common import write_json_markdown_plot  # noqa: E402

REPO_ROOT = common.REPO_ROOT
DATASETS = common.DATASETS
DEFAULT_ARCH = {"mnist": "small_cnn", "cifar10": "resnet20"}
DEFAULT_MAX_EPOCHS = {"mnist": 40, "cifar10": 80}
#: The validation error `plateau_callback` watches (`noisy_validation`).
VALIDATION_MEASURED = ("the base model's error on held-out training images "
                       "under one fixed Gaussian draw at the model's sigma")
DEFAULT_OUT_DIR = REPO_ROOT / "benchmarks" / "results"
STEM = "adre_tables_converged"
ALPHA = 0.001
#: Table 1's radii (0 to 3 in steps of 0.25).
RADII = tuple(0.25 * i for i in range(13))
#: (key, title, certify_counts_batch kwargs). "tight" is the library's
#: T-CERTIFY (alpha' from the selection counts, Theorem 1 holds);
#: "tight_grid" the paper's literal maximum over the grid on the
#: estimation counts (no proved guarantee; reproduces the paper's Fig. 2).
CERT_METHODS = (("cohen", "CERTIFY", {"method": "cohen"}),
                ("tight", "T-CERTIFY", {"method": "tight"}),
                ("tight_grid", "T-CERTIFY (paper's grid)",
                 {"method": "tight", "alpha_prime": "grid"}))
#: The methods of each `--families` choice, in table order.
FAMILY_METHODS = {"reg": ("gaussian", "adre"),
                  "adv": ("smoothadv", "adre_adv")}
FAMILIES = tuple(FAMILY_METHODS)
NAMES = {"gaussian": "Basic", "adre": "ADRE_REG", "smoothadv": "SmoothAdv",
         "adre_adv": "ADRE_ADV"}
BASELINE = {"adre": "gaussian", "adre_adv": "smoothadv"}
#: Per method, the trainer's keyword arguments taken from flags (trainer
#: keyword -> flag), besides sigma, lambda, weight decay and seed: `build`
#: passes them and `--reuse` compares them.
TRAINER_FLAGS = {"gaussian": {}, "adre": {"num_noise": "num_noise"}}
TRAINER_FLAGS["smoothadv"] = TRAINER_FLAGS["adre_adv"] = {
    "num_noise": "adv_num_noise", "adv_epsilon": "adv_epsilon",
    "adv_steps": "adv_steps", "warmup_epochs": "warmup_epochs"}
#: The run settings that decide every trained and certified model (with
#: the dataset's `arch` and `max_epochs`, and the method's TRAINER_FLAGS):
#: `--reuse` takes a recorded cell only where all of them are equal.
CELL_SETTINGS = ("smoke", "patience", "max_decays", "batch_size", "width",
                 "limit_train", "single_draw_per", "n0", "n", "alpha",
                 "certify_limit", "fixed_n_limit", "certify_batch_size",
                 "radii", "table_source")
#: The paper's Table 1 (CIFAR-10, ResNet-110, CERTIFY, n = 100,000):
#: certified accuracy at RADII, keyed by (method, sigma, lambda).
PAPER_TABLE1 = {
    ("gaussian", 0.25, None): (0.75, 0.60, 0.43, 0.27) + (0.0,) * 9,
    ("gaussian", 0.5, None): (0.65, 0.55, 0.41, 0.32, 0.23, 0.15, 0.09,
                              0.05) + (0.0,) * 5,
    ("gaussian", 1.0, None): (0.47, 0.39, 0.34, 0.28, 0.22, 0.17, 0.14,
                              0.12, 0.10, 0.08, 0.05, 0.04, 0.02),
    ("adre", 0.25, 0.1): (0.78, 0.64, 0.50, 0.34) + (0.0,) * 9,
    ("adre", 0.25, 0.2): (0.74, 0.60, 0.48, 0.35) + (0.0,) * 9,
    ("adre", 0.5, 0.1): (0.67, 0.57, 0.48, 0.38, 0.30, 0.23, 0.17,
                         0.11) + (0.0,) * 5,
    ("adre", 0.5, 0.2): (0.65, 0.57, 0.47, 0.35, 0.27, 0.20, 0.13,
                         0.09) + (0.0,) * 5,
    ("adre", 1.0, 0.1): (0.49, 0.43, 0.36, 0.29, 0.22, 0.19, 0.15, 0.13,
                         0.11, 0.08, 0.05, 0.03, 0.02),
    ("adre", 1.0, 0.2): (0.48, 0.41, 0.35, 0.28, 0.22, 0.18, 0.16, 0.14,
                         0.11, 0.09, 0.06, 0.05, 0.02),
}


def model_specs(args):
    """key -> (method, sigma, lambda) of the models to train, in table
    order: per sigma Basic, ADRE_REG per lambda, SmoothAdv, ADRE_ADV."""
    specs = {}
    keep = {m for family in args.families for m in FAMILY_METHODS[family]}
    keep &= set(args.methods)
    for sigma in args.sigmas:
        specs[f"basic_{sigma:g}"] = ("gaussian", sigma, None)
        for lam in args.lams:
            specs[f"adre_{sigma:g}_{lam:g}"] = ("adre", sigma, lam)
        specs[f"smoothadv_{sigma:g}"] = ("smoothadv", sigma, None)
        specs[f"adre_adv_{sigma:g}_{args.adv_lam:g}"] = (
            "adre_adv", sigma, args.adv_lam)
    return in_table_order({k: v for k, v in specs.items() if v[0] in keep})


def in_table_order(specs):
    """`specs` in the order of the paper's tables: sigma ascending, then
    Basic, ADRE_REG by lambda, SmoothAdv, ADRE_ADV."""
    return dict(sorted(specs.items(), key=lambda item: (
        item[1][1], list(NAMES).index(item[1][0]), item[1][2] or 0.0)))


def in_render_order(results):
    """`results` (a shallow copy) with its datasets in DATASETS order and
    its models, summary rows and paired rows in `in_table_order`: tables,
    plots and claims follow the paper's order for a fresh run and for a
    reloaded JSON alike (whose keys are sorted: ADRE_REG before Basic)."""
    specs = in_table_order(results["specs"])

    def rows(table):
        return dict(in_order(table, specs))

    return dict(
        results, specs=specs,
        summary={d: rows(r) for d, r in in_order(results.get("summary", {}),
                                                  DATASETS)},
        paired={d: {part: rows(t) for part, t in p.items()}
                for d, p in in_order(results.get("paired", {}), DATASETS)})


def label_of(spec):
    method, sigma, lam = spec
    text = f"{NAMES[method]} σ = {sigma:g}"
    return text + (f", λ = {lam:g}" if lam is not None else "")


def baseline_key(spec):
    method, sigma, _ = spec
    if method == "adre":
        return f"basic_{sigma:g}"
    if method == "adre_adv":
        return f"smoothadv_{sigma:g}"
    return None


def float_list(text):
    values = typed_list(text, float, "numbers")
    if not values or min(values) <= 0 or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(
            f"give distinct numbers > 0 separated by commas, got {text!r}.")
    return values


# ------------------------------------------------------------------ flags
def build_parser():
    p = argparse.ArgumentParser(
        description="ADRE paper Table 1 / Figures 1-2: Basic vs ADRE_REG and "
                    "SmoothAdv vs ADRE_ADV trained to a validation plateau, "
                    "certified with CERTIFY and T-CERTIFY on the same "
                    "counts, on real CIFAR-10 (and MNIST) data.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--datasets", type=choices_list(
        DATASETS, canonical_order=True),
                   default=["cifar10"], help="comma-separated datasets")
    p.add_argument("--sigmas", type=float_list, default=[0.25, 0.5, 1.0],
                   help="noise levels")
    p.add_argument("--lams", type=float_list, default=[0.1, 0.2],
                   help="ADRE_REG lambdas")
    p.add_argument("--adv-lam", type=float, default=0.1,
                   help="ADRE_ADV lambda")
    p.add_argument("--families", type=choices_list(
        FAMILIES, canonical_order=True), default=list(FAMILIES),
                   help="reg: Basic + ADRE_REG (Table 1); adv: SmoothAdv + "
                        "ADRE_ADV (Figure 1)")
    p.add_argument("--methods", type=choices_list(
        tuple(NAMES), canonical_order=True), default=list(NAMES),
                   help="train only these methods (e.g. 'gaussian' for a "
                        "Figure-2-only run)")
    p.add_argument("--seeds", type=seed_list, default=[0, 1, 2],
                   help="comma-separated seeds (weights, data order, noise)")
    p.add_argument("--arch-mnist", type=arch_name,
                   default=DEFAULT_ARCH["mnist"], help="base model on MNIST")
    p.add_argument("--arch-cifar", type=arch_name,
                   default=DEFAULT_ARCH["cifar10"],
                   help="base model on the CIFAR-10 subset (the paper: "
                        "resnet110)")
    p.add_argument("--max-epochs-mnist", type=positive_int,
                   default=DEFAULT_MAX_EPOCHS["mnist"],
                   help="cap on training epochs on MNIST")
    p.add_argument("--max-epochs-cifar", type=positive_int,
                   default=DEFAULT_MAX_EPOCHS["cifar10"],
                   help="cap on training epochs on the CIFAR-10 subset")
    p.add_argument("--patience", type=positive_int, default=5,
                   help="plateau rule (see alps_tables.py): epochs without "
                        "improvement of the noisy validation error before "
                        "the lr decays / training stops; at least the "
                        "epoch cap: one fixed schedule at lr 0.1")
    p.add_argument("--max-decays", type=int, default=2,
                   help="plateau rule: learning-rate decays before stopping")
    p.add_argument("--batch-size", type=positive_int, default=128,
                   help="training batch size (the paper: 400)")
    p.add_argument("--num-noise", type=positive_int, default=8,
                   help="k, Gaussian draws per example for ADRE_REG (the "
                        "paper: 8)")
    p.add_argument("--adv-num-noise", type=positive_int, default=2,
                   help="k for SmoothAdv and ADRE_ADV (the paper: 8)")
    p.add_argument("--adv-steps", type=positive_int, default=2,
                   help="PGD steps of SmoothAdv / ADRE_ADV (the paper: 2)")
    p.add_argument("--adv-epsilon", type=float, default=0.25,
                   help="L2 attack radius of SmoothAdv / ADRE_ADV")
    p.add_argument("--warmup-epochs", type=int, default=2,
                   help="epsilon warm-up epochs (<= the epoch caps)")
    p.add_argument("--n0", type=positive_int, default=100,
                   help="selection samples per certified image")
    p.add_argument("--n", type=positive_int, default=100_000,
                   help="estimation samples per certified image (fixed-n "
                        "CERTIFY / T-CERTIFY; n_max of --sequential)")
    p.add_argument("--certify-limit", type=positive_int, default=100,
                   help="certified test images (every len(test)//limit-th)")
    p.add_argument("--sequential", action="store_true",
                   help="certified-accuracy columns from "
                        "SmoothedClassifier.certify_sequential (n_max = "
                        "--n) where this checkout has it; ACR and the "
                        "T-CERTIFY comparison stay at fixed n on the first "
                        "--fixed-n-limit certified images")
    p.add_argument("--fixed-n-limit", type=positive_int, default=None,
                   help="with --sequential: images certified at fixed n "
                        "(default: all certified images)")
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
    common.add_reuse_flag(p, "the cells (trained and certified models) "
                             "whose model, seed and dataset this run plans")
    p.add_argument("--resume", action="store_true",
                   help="--reuse the results JSON in --out-dir, if there "
                        "is one: a killed run goes on after its last "
                        "finished model")
    p.add_argument("--rerender", type=Path, default=None, metavar="JSON",
                   help="only recompute the statistics, tables and plot of "
                        "an earlier run's results JSON with this checkout's "
                        "code, and rewrite it and its .md/.png in place")
    p.add_argument("--smoke", action="store_true",
                   help="check the script end to end (~2 minutes on a "
                        "quiet 2-core machine): seeds 0,1, sigma 0.5, "
                        "lambda 0.1 (4 models per seed), small_cnn width 8, "
                        "128 training images, 1 epoch, k = 2, 1 PGD step, "
                        "4 certified images at n = 1,000 (overrides those "
                        "flags)")
    p.add_argument("--estimate-budget", action="store_true",
                   help="only time one epoch of each kind of model and the "
                        "certification of one image at full size, and "
                        "print the estimated wall time of these settings "
                        "(assuming --assumed-epochs per model)")
    p.add_argument("--assumed-epochs", type=positive_int, default=30,
                   help="epochs per model assumed by --estimate-budget")
    return p


def apply_smoke(args):
    if args.smoke:
        args.seeds = args.seeds[:2] if len(args.seeds) > 1 else [0, 1]
        args.sigmas, args.lams = [0.5], [0.1]
        args.arch_mnist = args.arch_cifar = "small_cnn"
        args.width = 8
        args.max_epochs_mnist = args.max_epochs_cifar = 1
        args.patience, args.max_decays = 1, 0
        args.warmup_epochs = 1
        args.num_noise = args.adv_num_noise = 2
        args.adv_steps = 1
        args.limit_train = 128
        args.certify_limit = 4
        args.n = 1000
    if args.warmup_epochs < 0 or args.warmup_epochs > min(
            args.max_epochs_mnist if "mnist" in args.datasets else 10**9,
            args.max_epochs_cifar if "cifar10" in args.datasets else 10**9):
        sys.exit("error: --warmup-epochs must be between 0 and the epoch "
                 "caps.")
    if args.max_decays < 0:
        sys.exit(f"error: --max-decays must be >= 0, got {args.max_decays}.")
    return args


# ------------------------------------------------------------------ steps
def build(spec, arch, data, seed, args):
    import keras

    from kerasrobust.training import PAPER_WEIGHT_DECAY
    from kerasrobust.training import make_trainer

    method, sigma, lam = spec
    keras.utils.set_random_seed(seed)  # same initial weights per seed
    base = build_base(arch, data, width=args.width)
    kwargs = dict(sigma=sigma, weight_decay=PAPER_WEIGHT_DECAY, seed=seed)
    kwargs.update({kw: getattr(args, flag)
                   for kw, flag in TRAINER_FLAGS[method].items()})
    if method == "gaussian":
        kwargs["num_noise"] = 1
    if method == "adre":
        kwargs["single_draw_per"] = True
    if lam is not None:
        kwargs["lam"] = lam
    model = make_trainer(method, base, **kwargs)
    # The papers' SGD; plateau_callback decays its rate at measured plateaus.
    model.compile(optimizer=paper_sgd(),
                  metrics=["accuracy"], jit_compile=False)
    return base, model


def noisy_validation(val, sigma, seed=2024):
    """`error(model)`: top-1 error (%) of the base model on the held-out
    images under ONE fixed Gaussian draw of std `sigma` per image (the
    base classifier's accuracy under the smoothing noise, which certified
    accuracy at radius 0 follows)."""
    import numpy as np

    from kerasrobust.evaluate import error_percent

    x_val, y_val = val
    noise = np.random.default_rng(seed).normal(
        0.0, sigma, size=x_val.shape).astype(np.float32)
    x_noisy = x_val + noise
    return lambda model: error_percent(model, x_noisy, y_val)


def train(spec, arch, data, val, seed, max_epochs, args):
    base, model = build(spec, arch, data, seed, args)
    plateau = plateau_callback(noisy_validation(val, spec[1]),
                               args.patience, args.max_decays)
    start = time.time()
    model.fit(data.train_dataset(args.batch_size, seed=seed),
              epochs=max_epochs, verbose=0, callbacks=[plateau])
    return base, time.time() - start, plateau


def certify_subset(data, args):
    import numpy as np

    n_test = len(data.x_test)
    skip = max(1, n_test // args.certify_limit)
    index = np.arange(0, n_test, skip)[:args.certify_limit]
    return index, skip


#: What `--reuse` / `--resume` need of an earlier run's results JSON.
REUSE_NEEDS = ("cells", "specs", "settings", "datasets")


def read_reuse(path, flag):
    """`(path, results)`: the results JSON at `path`, read once for `flag`
    (`--reuse` or `--resume`) and checked to hold what `reusable_cells`
    needs."""
    return path, read_results_json(path, flag, REUSE_NEEDS)


def reusable_cells(runs, settings, specs):
    """`{(dataset, seed, model): (cell, its certified test indices, the
    path it was read from)}`: the cells of the results JSONs `runs`
    (`(path, results)` pairs, read once by `read_reuse`) that this run, of
    `settings` and `specs`, would train and certify again. A cell is taken
    only where its model has the same (method, sigma, lambda) and its run
    every setting that decides the model and its certification
    (CELL_SETTINGS, the dataset's `arch` and `max_epochs`, the method's
    TRAINER_FLAGS); a difference ends the run with a message naming it,
    before any training. A run's seed fixes its models bit for bit on
    one machine, so a taken cell is the one this run would compute
    there. Each keeps
    `reused_from`: the file, commit, start and machine of the run that
    computed it (`reuse_origin`)."""
    found = {}
    for path, old in runs:
        origin = reuse_origin(path, old)
        for cell in old["cells"]:
            where = (cell["dataset"], cell["seed"], cell["model"])
            if (cell["model"] not in specs
                    or cell["dataset"] not in settings["datasets"]
                    or cell["seed"] not in settings["seeds"]):
                continue
            label = (f"error: --reuse {path}: its {cell['model']} "
                     f"(seed {cell['seed']}, {cell['dataset']})")
            if list(old["specs"][cell["model"]]) != list(specs[cell["model"]]):
                sys.exit(f"{label} is (method, sigma, lambda) = "
                         f"{old['specs'][cell['model']]}, this run's "
                         f"{list(specs[cell['model']])}.")
            names = [(k, None) for k in CELL_SETTINGS] + [
                (k, cell["dataset"]) for k in ("arch", "max_epochs")] + [
                (k, None) for k in TRAINER_FLAGS[cell["method"]].values()]
            for name, dataset in names:
                theirs = old["settings"].get(name, "not recorded")
                ours = settings[name]
                if dataset is not None:
                    theirs = (theirs.get(dataset, "not recorded")
                              if isinstance(theirs, dict) else theirs)
                    ours = ours[dataset]
                if theirs != ours:
                    sys.exit(f"{label} was run with {name} = {theirs!r}; "
                             f"this run has {name} = {ours!r}. Reuse only "
                             "cells of equal settings, or leave --reuse "
                             "out to train it again.")
            # A cell merged in by hand before --reuse existed names its
            # run in `basic_cell_from`.
            merged = old.get("basic_cell_from", {})
            first = cell.get("reused_from") or (
                dict(merged, started_utc=None)
                if merged.get("model") == cell["model"] else origin)
            found[where] = (
                dict(cell, reused_from=first),
                old["datasets"][cell["dataset"]]["certified_index"], path)
    return found


def sequential_available():
    from kerasrobust.smoothing import SmoothedClassifier

    return hasattr(SmoothedClassifier, "certify_sequential")


def certify_model(base, data, index, sigma, seed, args):
    """Fixed-n CERTIFY and T-CERTIFY on the SAME selection and estimation
    counts (the paper's Figure 2 protocol), and with `--sequential` the
    certified-accuracy columns from sequential certification."""
    import numpy as np

    from kerasrobust.smoothing import SmoothedClassifier
    from kerasrobust.smoothing import average_certified_radius
    from kerasrobust.smoothing import certified_accuracy
    from kerasrobust.smoothing import certify_counts_batch

    smoothed = SmoothedClassifier(base, data.num_classes, sigma, seed=seed)
    use_sequential = args.sequential and sequential_available()
    fixed = index
    if use_sequential and args.fixed_n_limit:
        fixed = index[:args.fixed_n_limit]
    x, y = data.x_test[fixed], data.y_test[fixed]
    start = time.time()
    counts0 = smoothed.sample_counts(x, args.n0, args.certify_batch_size)
    counts = smoothed.sample_counts(x, args.n, args.certify_batch_size)
    sample_s = time.time() - start
    out = {"fixed_n_images": len(fixed),
           "fixed_n_seconds": round(sample_s, 2),
           "fixed_n_samples_per_second": round(
               len(fixed) * (args.n0 + args.n) / max(sample_s, 1e-9)),
           "label": [int(v) for v in y],
           "counts_top2": np.sort(counts, axis=1)[:, -2:][:, ::-1].tolist()}
    for key, _, kwargs in CERT_METHODS:
        labels, radii = certify_counts_batch(counts0, counts, sigma, ALPHA,
                                             **kwargs)
        columns = {"predict": labels, "label": y, "radius": radii,
                   "correct": labels == y}
        out[key] = {
            "certified_accuracy": [float(v) for v in
                                   certified_accuracy(columns, RADII)],
            "acr": average_certified_radius(columns),
            "predict": [int(v) for v in labels],
            "radius": [float(v) for v in radii],
        }
    out["table_source"] = "fixed_n"
    if use_sequential:
        xs, ys = data.x_test[index], data.y_test[index]
        # certify_sequential needs radii > 0; radius 0 (accuracy of the
        # certifier: p_A lower bound > 1/2) is asked as 1e-6.
        radii = [max(r, 1e-6) for r in RADII]
        t0 = time.time()
        res = smoothed.certify_sequential(
            xs, radii, n_max=args.n, alpha=ALPHA, n0=args.n0,
            batch_size=args.certify_batch_size, verbose=0)
        correct = np.asarray(res.label) == np.asarray(ys)[:, None]
        out["sequential"] = {
            "certified_accuracy": [float(v) for v in correct.mean(axis=0)],
            "seconds": round(time.time() - t0, 2),
            "mean_samples": float(np.mean(res.num_samples)),
            # Per image, so that the columns can be recomputed and set
            # against fixed n on the images certified both ways.
            "images": len(index),
            "label": np.asarray(res.label).tolist(),
            "true_label": [int(v) for v in ys],
            "num_samples": [int(v) for v in res.num_samples],
        }
        out["table_source"] = "sequential"
    elif args.sequential:
        out["table_source"] = ("fixed_n (SmoothedClassifier."
                               "certify_sequential not in this checkout)")
    return out


def sequential_agreement(cell):
    """Sequential against fixed-n CERTIFY on the images certified both ways
    (the first `fixed_n_images` certified images): for each (image,
    radius), "certified correct at r" by each method, i.e. CERTIFY's
    ``predict == label and radius >= r`` against the sequential run's
    ``label == true label`` at r. Returns the number of decisions, how
    many agree, and the counts certified by one method only."""
    import numpy as np

    from kerasrobust.smoothing import certified_correct

    seq = cell["sequential"]
    k = cell["fixed_n_images"]
    fixed = certified_correct({"predict": cell["cohen"]["predict"],
                               "label": cell["label"],
                               "radius": cell["cohen"]["radius"]}, RADII)
    sequential = np.asarray(seq["label"])[:k] == np.asarray(
        cell["label"])[:, None]
    return {"decisions": int(fixed.size),
            "agree": int((fixed == sequential).sum()),
            "fixed_only": int((fixed & ~sequential).sum()),
            "sequential_only": int((sequential & ~fixed).sum())}


def sequential_lines(results, dataset):
    """The cost and agreement of sequential certification, per model run
    with per-image records (runs since 2026-12-07); [] otherwise."""
    rows = [c for c in results["cells"] if c["dataset"] == dataset
            and "label" in c.get("sequential", {})]
    if not rows:
        return []
    n, n0 = results["settings"]["n"], results["settings"]["n0"]
    lines = ["", "### Sequential certification (table columns) against "
             f"fixed n = {n:,} (ACR, Figure 2)", "",
             "| Model | seed | images | estimation draws per image, "
             "mean (fixed: n) | s per image, sequential / fixed n | "
             "decisions equal on the images certified both ways | "
             "certified only by fixed n / only sequentially |",
             "|---|---|---|---|---|---|---|"]
    for c in rows:
        seq, a = c["sequential"], sequential_agreement(c)
        lines.append("| " + " | ".join([
            label_of(results["specs"][c["model"]]), str(c["seed"]),
            str(seq["images"]),
            f"{seq['mean_samples']:,.0f} ({n / seq['mean_samples']:.1f}x "
            "fewer)",
            f"{seq['seconds'] / seq['images']:.1f} / "
            f"{c['fixed_n_seconds'] / c['fixed_n_images']:.1f}",
            f"{a['agree']} of {a['decisions']} ({c['fixed_n_images']} "
            f"images x {len(RADII)} radii)",
            f"{a['fixed_only']} / {a['sequential_only']}"]) + " |")
    lines += ["", f"Both use n0 = {n0} selection draws on top; the two "
              "runs draw independent noise, so an image can be decided "
              "differently where its radius is near an asked one or "
              "where the two selections pick different classes; each "
              "decision is wrong with probability at most alpha."]
    return lines


def table_accuracy(cell):
    """The certified-accuracy columns of a cell: sequential where run,
    else fixed-n CERTIFY."""
    if "sequential" in cell:
        return cell["sequential"]["certified_accuracy"]
    return cell["cohen"]["certified_accuracy"]


# ------------------------------------------------------------ budget
def estimate_budget(args, root, specs):
    """Times one full-size epoch of Basic, ADRE_REG and SmoothAdv and the
    fixed-n certification of 2 images; prints the extrapolated wall time."""
    import keras

    from kerasrobust.smoothing import SmoothedClassifier

    per = {}
    for dataset in args.datasets:
        data = common.load(dataset, root, args.limit_train, None)
        train_data, _ = holdout_split(data)
        arch = args.arch_mnist if dataset == "mnist" else args.arch_cifar
        per[dataset] = {"arch": arch}
        sigma = args.sigmas[0]
        for kind, spec in (("gaussian", ("gaussian", sigma, None)),
                           ("adre", ("adre", sigma, 0.1)),
                           ("adv", ("adre_adv", sigma, 0.1))):
            keras.backend.clear_session()
            base, model = build(spec, arch, train_data, 0, args)
            batches = list(train_data.train_dataset(args.batch_size,
                                                    seed=0).take(3))
            model.train_on_batch(*batches[0])  # trace
            t0 = time.time()
            for xb, yb in batches[1:]:
                model.train_on_batch(xb, yb)
            step_s = (time.time() - t0) / (len(batches) - 1)
            steps = math.ceil(len(train_data.x_train) / args.batch_size)
            per[dataset][f"epoch_{kind}_s"] = step_s * steps
        smoothed = SmoothedClassifier(base, data.num_classes, sigma, seed=0)
        x = data.x_test[:2]
        smoothed.sample_counts(x, args.certify_batch_size,
                               args.certify_batch_size)  # trace
        t0 = time.time()
        smoothed.sample_counts(x, args.n0, args.certify_batch_size)
        smoothed.sample_counts(x, min(args.n, 20_000),
                               args.certify_batch_size)
        per_sample = (time.time() - t0) / (len(x) * (args.n0 + min(
            args.n, 20_000)))
        per[dataset]["certify_image_s"] = per_sample * (args.n0 + args.n)
        t = per[dataset]
        train_s = sum(
            t["epoch_" + {"gaussian": "gaussian", "adre": "adre"}.get(
                m, "adv") + "_s"] * args.assumed_epochs
            for m, _, _ in specs.values())
        cert_s = t["certify_image_s"] * args.certify_limit * len(specs)
        t.update(per_seed_train_s=train_s, per_seed_certify_s=cert_s,
                 estimate_s=(train_s + cert_s) * len(args.seeds))
        print(f"budget {dataset} ({arch}): one epoch Basic "
              f"{t['epoch_gaussian_s']:.1f} s, ADRE_REG (k={args.num_noise})"
              f" {t['epoch_adre_s']:.1f} s, SmoothAdv/ADRE_ADV "
              f"(k={args.adv_num_noise}, {args.adv_steps} steps) "
              f"{t['epoch_adv_s']:.1f} s; certify one image at n0 {args.n0}"
              f" + n {args.n}: {t['certify_image_s']:.1f} s; per seed "
              f"({len(specs)} models x {args.assumed_epochs} epochs): train "
              f"{train_s / 60:.1f} min + certify {cert_s / 60:.1f} min; "
              f"{len(args.seeds)} seeds: {t['estimate_s'] / 60:.1f} min "
              f"(load average {load_average()})", flush=True)
    return per


# ----------------------------------------------------------------- report
def summarize(cells, datasets, specs):
    summary = {}
    for dataset in datasets:
        for key in specs:
            rows = [c for c in cells
                    if c["dataset"] == dataset and c["model"] == key]
            if not rows:
                continue
            entry = {"seeds": [c["seed"] for c in rows],
                     "epochs_run": mean_std([c["epochs_run"] for c in rows]),
                     "table": [mean_std([table_accuracy(c)[i] for c in rows])
                               for i in range(len(RADII))]}
            for method, _, _ in CERT_METHODS:
                entry[method] = {
                    "certified_accuracy": [
                        mean_std([c[method]["certified_accuracy"][i]
                                  for c in rows])
                        for i in range(len(RADII))],
                    "acr": mean_std([c[method]["acr"] for c in rows]),
                }
            summary.setdefault(dataset, {})[key] = entry
    return summary


def paired(cells, datasets, specs):
    """Per dataset: ADRE - baseline (table columns and CERTIFY ACR) and
    T-CERTIFY - CERTIFY (same counts), paired by seed, 95% t-intervals."""
    out = {}
    for dataset in datasets:
        by = {(c["model"], c["seed"]): c for c in cells
              if c["dataset"] == dataset}
        adre, tight = {}, {}
        for key, spec in specs.items():
            seeds = sorted(s for (m, s) in by if m == key)
            if not seeds:
                continue
            for cert in ("tight", "tight_grid"):
                t = {"acr": t_interval([by[(key, s)][cert]["acr"]
                                        - by[(key, s)]["cohen"]["acr"]
                                        for s in seeds])}
                t["accuracy"] = [t_interval(
                    [by[(key, s)][cert]["certified_accuracy"][i]
                     - by[(key, s)]["cohen"]["certified_accuracy"][i]
                     for s in seeds]) for i in range(len(RADII))]
                radius_t = [r for s in seeds for r in by[(key, s)][cert][
                    "radius"]]
                radius_c = [r for s in seeds for r in by[(key, s)]["cohen"][
                    "radius"]]
                t["images_larger"] = sum(a > b for a, b in zip(radius_t,
                                                               radius_c))
                t["images_smaller"] = sum(a < b for a, b in zip(radius_t,
                                                                radius_c))
                t["images"] = len(radius_t)
                t["acr"]["verdict"] = verdict(t["acr"], False)
                t["per_image"] = per_image_difference(
                    [acr_terms(by[(key, s)], cert) for s in seeds],
                    [acr_terms(by[(key, s)], "cohen") for s in seeds])
                tight.setdefault(key, {})[cert] = t
            base = baseline_key(spec)
            bseeds = [s for s in seeds if (base, s) in by]
            if base is None or not bseeds:
                continue
            d = {"baseline": base, "seeds": bseeds,
                 "acr": t_interval([by[(key, s)]["cohen"]["acr"]
                                    - by[(base, s)]["cohen"]["acr"]
                                    for s in bseeds]),
                 "accuracy": [t_interval(
                     [table_accuracy(by[(key, s)])[i]
                      - table_accuracy(by[(base, s)])[i] for s in bseeds])
                     for i in range(len(RADII))]}
            d["acr"]["verdict"] = verdict(d["acr"], False)
            d["per_image"] = per_image_difference(
                [acr_terms(by[(key, s)], "cohen") for s in bseeds],
                [acr_terms(by[(base, s)], "cohen") for s in bseeds])
            for a in d["accuracy"]:
                a["verdict"] = verdict(a, False)
            adre[key] = d
        out[dataset] = {"adre_minus_baseline": adre,
                        "tcertify_minus_certify": tight}
    return out


def acr_terms(cell, cert):
    """Each certified image's term of the ACR: its radius where the
    prediction is correct, else 0 (abstentions and wrong classes)."""
    return [r if p == y else 0.0 for r, p, y in zip(
        cell[cert]["radius"], cell[cert]["predict"], cell["label"])]


def per_image_difference(terms_ours, terms_theirs):
    """ACR terms (`acr_terms`, one list per seed, every seed on the same
    images in the same order) on the same counts, paired by image: a 95 %
    t-interval of the mean difference over images (whose mean is the ACR
    difference) with its verdict, and the two-sided exact sign test (scipy
    `binomtest`) of images with a larger against a smaller term, ties
    dropped.

    The image is the sampling unit. With several seeds each image's
    difference is first averaged over the seeds, and the interval and the
    sign test are over those per-image means: the seeds' terms of one
    image are repeated measures of the same image (an image hard for one
    seed's model tends to be hard for the next), so pooling them as
    independent would narrow the interval. With one seed this is the only
    interval there is; it speaks for these models and images, not for the
    spread between training runs."""
    import numpy as np
    from scipy import stats as scipy_stats

    if len({len(t) for t in list(terms_ours) + list(terms_theirs)}) != 1:
        raise ValueError(
            "per_image_difference: every seed's ACR terms must cover the "
            "same images; got lists of lengths "
            f"{[len(t) for t in terms_ours]} and "
            f"{[len(t) for t in terms_theirs]}")
    diff = (np.asarray(terms_ours, dtype=float)
            - np.asarray(terms_theirs, dtype=float)).mean(axis=0)
    out = t_interval(diff)
    out["verdict"] = verdict(out, False)
    out["seeds"] = len(terms_ours)
    larger = out["larger"] = int((diff > 0).sum())
    smaller = out["smaller"] = int((diff < 0).sum())
    out["sign_test_p"] = (float(scipy_stats.binomtest(
        larger, larger + smaller).pvalue) if larger + smaller else None)
    return out


def claims(results):
    """One line per paper claim and dataset: reproduced / not / unresolved."""
    results = in_render_order(results)
    lines = []
    for dataset, d in results.get("paired", {}).items():
        for family, claim in (("adre", "Table 1: ADRE_REG ≥ Basic"),
                              ("adre_adv", "Fig. 1: ADRE_ADV ≥ SmoothAdv")):
            rows = {k: v for k, v in d["adre_minus_baseline"].items()
                    if results["specs"][k][0] == family}
            if not rows:
                continue
            # By seed where there are seeds to pair; with one seed the
            # by-image pairing is the only interval (it speaks for these
            # two trained models, not for the spread between runs).
            by_seed = all(len(v["seeds"]) >= 2 for v in rows.values())
            basis = "seed" if by_seed else "image (one seed)"
            verdicts = [v["acr" if by_seed else "per_image"]["verdict"]
                        for v in rows.values()]
            text = ", ".join(
                f"{label_of(results['specs'][k])}: ACR "
                f"{v['acr']['mean']:+.3f} ("
                + (f"{v['acr']['verdict']} by seed; " if by_seed else "")
                + f"by image {_by_image_claim(v['per_image'], 3)})"
                for k, v in rows.items())
            status = ("reproduces" if all(v == "win" for v in verdicts) else
                      "does not reproduce" if any(v == "loss"
                                                  for v in verdicts) else
                      "partly reproduces" if "win" in verdicts else
                      "not resolved (differences within the intervals)")
            lines.append(f"- {dataset}, {claim} (CERTIFY ACR, paired by "
                         f"{basis}): {status}. {text}.")
        rows = d["tcertify_minus_certify"]
        if rows:
            parts, verdicts = [], []
            cells = [c for c in results["cells"] if c["dataset"] == dataset]
            unanimous = sum(top2[1] == 0 for c in cells
                            for top2 in c["counts_top2"])
            total = sum(len(c["counts_top2"]) for c in cells)
            for k, v in rows.items():
                t = v["tight"]
                verdicts.append(t["per_image"]["verdict"])
                # A by-seed verdict only where there are seeds to pair.
                seed_verdict = (f"{t['acr']['verdict']} by seed; "
                                if t["acr"]["n"] >= 2 else "")
                parts.append(
                    f"{label_of(results['specs'][k])}: ACR "
                    f"{t['acr']['mean']:+.4f} ({seed_verdict}"
                    f"larger radius on {t['images_larger']}, smaller "
                    f"on {t['images_smaller']} of {t['images']} images; "
                    f"paired by image {_by_image_claim(t['per_image'], 4)})")
            status = ("reproduces" if all(v == "win" for v in verdicts) else
                      "does not reproduce" if any(v == "loss"
                                                  for v in verdicts) else
                      "partly reproduces" if "win" in verdicts else
                      "not resolved")
            lines.append(f"- {dataset}, Fig. 2: T-CERTIFY ≥ CERTIFY (same "
                         f"counts, library T-CERTIFY, ACR paired by image): "
                         f"{status}. "
                         + "; ".join(parts) + f". In {unanimous} of "
                         f"{total} certified (model, seed, image) cases all "
                         "n estimation votes went to one class: there the "
                         "runner-up bound cannot help and T-CERTIFY, which "
                         "spends part of alpha on it, is at most CERTIFY's "
                         "radius by construction.")
    return lines


def _p(value):
    return "n/a" if value is None else f"{value:.2g}"


def _by_image_claim(d, digits):
    """A by-image pairing (`per_image_difference`) as the claim lines
    write it."""
    return (f"{_ci(d, digits)} {d['verdict']}, {_images(d)} with a "
            f"larger / smaller ACR term{_over_seeds(d)}, sign test p = "
            f"{_p(d['sign_test_p'])}")


def _by_image_cell(d, digits):
    """A by-image pairing (`per_image_difference`) as a table cell."""
    return (f"{_ci(d, digits)} {d['verdict']} (images larger / smaller "
            f"{d['larger']} / {d['smaller']}{_over_seeds(d)}, sign test p = "
            f"{_p(d['sign_test_p'])})")


def _images(d):
    return f"{d['larger']} / {d['smaller']} of {d['n']} images"


def _over_seeds(d):
    """How a by-image pairing's terms were formed, where seeds were
    averaged."""
    seeds = d.get("seeds", 1)
    return f" (mean over {seeds} seeds)" if seeds > 1 else ""


def _fmt(stat, digits=2):
    if stat["std"] is None:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _ci(d, digits=3):
    if d["low"] is None:
        return f"{d['mean']:+.{digits}f}"
    return (f"{d['mean']:+.{digits}f} [{d['low']:+.{digits}f}, "
            f"{d['high']:+.{digits}f}]")


def reused_lines(results):
    """The header line naming the models taken from earlier runs
    (`--reuse` / `--resume`), with the run that computed each."""
    machine = results.get("machine", {}).get("summary")
    taken = [f"{c['model']} seed {c['seed']} "
             f"({origin_text(c['reused_from'], machine)})"
             for c in results["cells"] if "reused_from" in c]
    return ([f"- Reused, not retrained here (--reuse / --resume; same "
             f"settings): {'; '.join(taken)}"] if taken else [])


def recipe_line(s, methods):
    """The header line with the noise draws (and PGD) of the families
    among `methods`: a run of one family names only its own settings."""
    parts = []
    if "gaussian" in methods:
        parts.append("Basic: k = 1.")
    if "adre" in methods:
        parts.append(f"ADRE_REG: k = {s['num_noise']}, single_draw_per "
                     "(the paper's CIFAR-10 variant).")
    if methods & set(FAMILY_METHODS["adv"]):
        parts.append(
            f"SmoothAdv / ADRE_ADV: k = {s['adv_num_noise']}, "
            f"{s['adv_steps']}-step L2 PGD, epsilon {s['adv_epsilon']}, "
            f"warm-up {s['warmup_epochs']} epoch(s).")
    return "- " + " ".join(parts)


def markdown(results):
    results = in_render_order(results)
    s = results["settings"]
    specs = results["specs"]
    radii_head = [f"{r:.2f}" for r in RADII]
    lines = [
        "# ADRE Table 1 and Figures 1-2 on real data, models trained "
        + trained_how(s),
        "",
        f"- Command: `{results['command']}`",
        commit_line(results),
        f"- Machine: {results['machine']['summary']}; load average at "
        f"start {results['machine'].get('load_average_start')}",
        f"- Started {results['started_utc']}; "
        + (f"wall time {results['wall_seconds']:.0f} s "
           f"({results['wall_seconds'] / 60:.1f} min)"
           if results.get("finished") else
           f"in progress: {results['wall_seconds']:.0f} s so far"),
        "- Models: " + ", ".join(f"{d} {a}" for d, a in s["arch"].items())
        + f"; batch {s['batch_size']}; seeds "
        f"{', '.join(map(str, s['seeds']))}"
        + (f"; first {s['limit_train']} training images only"
           if s["limit_train"] else "") + ".",
        training_line(s),
    ] + reused_lines(results) + [
        recipe_line(s, {spec[0] for spec in specs.values()}),
        f"- Certification: n0 = {s['n0']}, n = {s['n']}, alpha = "
        f"{s['alpha']}; table columns from {s['table_source']}; ACR and "
        "the T-CERTIFY comparison from fixed n, CERTIFY and T-CERTIFY on "
        "the same counts. Approximate certified accuracy (abstentions are "
        "wrong); mean ± sample std over seeds; intervals are 95 % "
        "t-intervals of differences paired by seed; those paired by "
        "image are over the certified images, each image's difference "
        "averaged over the seeds.",
        "",
    ]
    claim_lines = claims(results)
    if claim_lines:
        lines += ["## Which paper claims reproduce here", ""] + claim_lines
        lines += [""]
    for dataset, rows in results["summary"].items():
        info = results["datasets"][dataset]
        lines += [f"## {dataset}: {info['split_note']}", "",
                  f"Certified: {info['n_certified']} test images (every "
                  f"{info['skip']}-th).", "",
                  "### Certified accuracy (table columns) and CERTIFY ACR",
                  "", "| Model | epochs | " + " | ".join(radii_head)
                  + " | ACR |", "|" + "---|" * (len(RADII) + 3)]
        for key, e in rows.items():
            lines.append("| " + " | ".join(
                [label_of(specs[key]), f"{e['epochs_run']['mean']:.0f}"]
                + [_fmt(v) for v in e["table"]]
                + [_fmt(e["cohen"]["acr"], 3)]) + " |")
        lines += sequential_lines(results, dataset)
        paper_rows = [(k, PAPER_TABLE1.get(tuple(specs[k])))
                      for k in rows if tuple(specs[k]) in PAPER_TABLE1]
        if dataset == "cifar10" and paper_rows:
            lines += ["", "The paper's Table 1 (full CIFAR-10, ResNet-110, "
                      "150 epochs, 500 images):", "",
                      "| Model | " + " | ".join(radii_head) + " |",
                      "|" + "---|" * (len(RADII) + 1)]
            for k, vals in paper_rows:
                lines.append("| " + " | ".join(
                    [label_of(specs[k])] + [f"{v:.2f}" for v in vals])
                    + " |")
        d = results["paired"].get(dataset, {})
        if d.get("adre_minus_baseline"):
            lines += ["", "### ADRE − its baseline (CERTIFY; paired by "
                      "seed, and ACR also paired by image; 95 % "
                      "t-intervals)", "",
                      "| Model − baseline | ACR | ACR, paired by image | "
                      + " | ".join(radii_head) + " |",
                      "|" + "---|" * (len(RADII) + 3)]
            for key, v in d["adre_minus_baseline"].items():
                lines.append("| " + " | ".join(
                    [f"{label_of(specs[key])} − "
                     f"{NAMES[specs[v['baseline']][0]]}",
                     f"{_ci(v['acr'])} {v['acr']['verdict']}",
                     _by_image_cell(v["per_image"], 3)]
                    + [f"{_ci(a, 2)} {a['verdict']}"
                       for a in v["accuracy"]]) + " |")
        if d.get("tcertify_minus_certify"):
            lines += ["", "### T-CERTIFY − CERTIFY on the same counts "
                      "(Figure 2)", "",
                      "| Model | T-CERTIFY | ACR (paired by seed) | "
                      "ACR, paired by image (95 % t-interval) | images "
                      "with larger / smaller radius | "
                      "certified accuracy at " + ", ".join(radii_head)
                      + " |", "|---|---|---|---|---|---|"]
            for key, v in d["tcertify_minus_certify"].items():
                for cert, title in (("tight", "library (α' from "
                                              "selection)"),
                                    ("tight_grid", "paper's grid")):
                    t = v[cert]
                    lines.append("| " + " | ".join(
                        [label_of(specs[key]), title, _ci(t["acr"], 4),
                         _by_image_cell(t["per_image"], 4),
                         f"{t['images_larger']} / {t['images_smaller']} of "
                         f"{t['images']}",
                         ", ".join(f"{a['mean']:+.2f}"
                                   for a in t["accuracy"])]) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasrobust._io import atomic_path

    results = in_render_order(results)
    summary, specs = results["summary"], results["specs"]
    if not summary:
        return
    sigmas = sorted({specs[k][1] for rows in summary.values()
                     for k in rows})
    # One row of panels per comparison that has a trained model: a run of
    # one family leaves out the other's (empty) row.
    trained = {specs[k][0] for rows in summary.values() for k in rows}
    groups = [(title, methods) for title, methods in (
        ("Basic vs ADRE_REG (Table 1)", FAMILY_METHODS["reg"]),
        ("SmoothAdv vs ADRE_ADV (Fig. 1)", FAMILY_METHODS["adv"]))
        if trained & set(methods)]
    groups.append(("T-CERTIFY (solid) vs CERTIFY (dashed), Fig. 2", None))
    panels = [(f"σ = {sg:g}: {title}", methods, sg)
              for title, methods in groups for sg in sigmas]
    ncol, nrow = len(sigmas), len(groups)
    fig, axes = plt.subplots(nrow * len(summary), ncol, squeeze=False,
                             figsize=(4.4 * ncol,
                                      3.3 * nrow * len(summary)))
    for d_i, (dataset, rows) in enumerate(summary.items()):
        for p_i, (title, methods, sigma) in enumerate(panels):
            ax = axes[nrow * d_i + p_i // ncol][p_i % ncol]
            for key, entry in rows.items():
                method, sg, _ = specs[key]
                if sg != sigma:
                    continue
                color = f"C{list(specs).index(key) % 10}"
                if methods is None:
                    for cert, style in (("tight", "-"), ("cohen", "--")):
                        ax.plot(RADII, [v["mean"] for v in entry[cert][
                            "certified_accuracy"]], style, color=color,
                            label=label_of(specs[key]) if cert == "tight"
                            else None)
                    continue
                if method not in methods:
                    continue
                ax.errorbar(RADII, [v["mean"] for v in entry["table"]],
                            yerr=[v["std"] or 0.0 for v in entry["table"]],
                            fmt="--" if method in BASELINE.values() else "-",
                            capsize=2, color=color,
                            label=label_of(specs[key]))
            ax.set_title(f"{dataset}, {title}", fontsize=7)
            ax.set_xlabel("L2 radius")
            ax.set_ylabel("certified accuracy")
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=6)
    fig.suptitle("Approximate certified accuracy, mean ± std over seeds",
                 fontsize=9)
    fig.tight_layout()
    with atomic_path(path, ".tmp.png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    curves = {}
    for c in results["cells"]:
        curves.setdefault(c["dataset"], {})[
            f"{c['model']} s{c['seed']}"] = c["curve"]
    plot_learning_curves(
        curves, Path(path).with_name(Path(path).stem + "_curves.png"),
        "Noisy validation error per epoch (held-out training images, one "
        "Gaussian draw at the model's sigma)")


def write_outputs(results, out_dir):
    write_json_markdown_plot(out_dir / f"{STEM}.json", results, markdown,
                             plot)


# ------------------------------------------------------------------- main
def rerender(path):
    """Recomputes the statistics, tables and plot of a results JSON with
    this checkout's code (no training or certification) and rewrites the
    JSON, .md and .png beside it."""
    def recompute(results):
        datasets = list(results["datasets"])
        results["summary"] = summarize(results["cells"], datasets,
                                       results["specs"])
        results["paired"] = paired(results["cells"], datasets,
                                   results["specs"])

    rerender_json(path, recompute, markdown, plot, needs=("cells", "specs"))


def train_and_certify(key, spec, dataset, seed, arch, data, train_data, val,
                      index, max_epochs, args):
    """One cell: the model `key` of `spec` trained on `train_data` by the
    plateau rule on `val`, certified on the test images `index`."""
    import keras

    keras.backend.clear_session()
    t0 = time.time()
    base, train_s, plateau = train(spec, arch, train_data, val, seed,
                                   max_epochs, args)
    t1 = time.time()
    cell = certify_model(base, data, index, spec[1], seed, args)
    cell.update(dataset=dataset, seed=seed, model=key, method=spec[0],
                sigma=spec[1], lam=spec[2], arch=arch,
                certify_seconds=round(time.time() - t1, 1),
                cell_seconds=round(time.time() - t0, 1),
                **common.plateau_record(plateau, train_s))
    return cell


def main(argv=None):
    args = apply_smoke(build_parser().parse_args(argv))
    if args.rerender:
        rerender(args.rerender)
        return 0
    root = common.resolve_data_dir(args.data_dir)
    specs = model_specs(args)
    if args.estimate_budget:
        estimate_budget(args, root, specs)
        return 0
    start = time.time()
    max_epochs = {"mnist": args.max_epochs_mnist,
                  "cifar10": args.max_epochs_cifar}
    arch = {"mnist": args.arch_mnist, "cifar10": args.arch_cifar}
    argv_list = sys.argv[1:] if argv is None else list(argv)
    seq = args.sequential and sequential_available()
    results = {
        "command": shlex.join(["python", "benchmarks/adre_tables.py"]
                              + argv_list),
        "commit": git_commit(),
        "started_utc": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        "machine": dict(machine_info(),
                        load_average_start=load_average()),
        "specs": {k: list(v) for k, v in specs.items()},
        "settings": {
            "datasets": args.datasets, "seeds": args.seeds,
            "smoke": args.smoke,
            "arch": {d: arch[d] for d in args.datasets},
            "max_epochs": {d: max_epochs[d] for d in args.datasets},
            "patience": args.patience, "max_decays": args.max_decays,
            "plateau_rule": plateau_rule(
                VALIDATION_MEASURED,
                {d: max_epochs[d] for d in args.datasets}, args.patience,
                args.max_decays),
            "batch_size": args.batch_size, "width": args.width,
            "limit_train": args.limit_train,
            "num_noise": args.num_noise, "single_draw_per": True,
            "adv_num_noise": args.adv_num_noise,
            "adv_steps": args.adv_steps, "adv_epsilon": args.adv_epsilon,
            "adv_lam": args.adv_lam, "warmup_epochs": args.warmup_epochs,
            "n0": args.n0, "n": args.n, "alpha": ALPHA,
            "certify_limit": args.certify_limit,
            "fixed_n_limit": args.fixed_n_limit,
            "certify_batch_size": args.certify_batch_size,
            "radii": list(RADII),
            "sequential_requested": args.sequential,
            "table_source": (
                f"sequential certification (n_max = {args.n})" if seq else
                "fixed-n CERTIFY" + (
                    " (--sequential asked, but SmoothedClassifier."
                    "certify_sequential is not in this checkout)"
                    if args.sequential else "")),
        },
        "datasets": {}, "cells": [], "summary": {}, "paired": {},
        "finished": False, "wall_seconds": 0.0,
    }
    if args.sequential and not seq:
        print("warning: --sequential: SmoothedClassifier.certify_sequential "
              "is not in this checkout; using fixed n.", flush=True)
    out_dir = args.out_dir
    runs = [read_reuse(path, "--reuse") for path in args.reuse]
    own = out_dir / f"{STEM}.json"
    if args.resume and own.exists():
        runs.append(read_reuse(own, "--resume"))
        refuse_resume_that_drops(
            own, runs[-1][1]["cells"], "model", specs, results["settings"],
            "--datasets / --seeds / --methods / --sigmas / --lams",
            "write to another --out-dir and take them with --reuse")
    elif args.resume:
        print(f"--resume: no {out_dir}/{STEM}.json yet; starting afresh",
              flush=True)
    reuse = [path for path, _ in runs]
    reused = reusable_cells(runs, results["settings"], specs)
    # With --resume its recorded models not reached yet are written after
    # every model too: stopped again, the run loses none of them.
    later = [cell for cell, _, path in reused.values()
             if args.resume and path == own]
    results["reused"] = [str(p) for p in reuse]
    print(f"writing {out_dir}/{STEM}.json (+ .md, .png, _curves.png) after "
          "every model; " + (f"{len(reused)} model(s) reused from "
                             f"{', '.join(map(str, reuse))}" if reuse else
                             "no model reused"), flush=True)
    for dataset in args.datasets:
        data = common.load(dataset, root, args.limit_train, None)
        train_data, val = holdout_split(data)
        index, skip = certify_subset(data, args)
        results["datasets"][dataset] = {
            "split_note": train_data.split_note,
            "n_train": len(train_data.x_train), "n_val": len(val[0]),
            "n_test": len(data.x_test), "n_certified": len(index),
            "skip": skip, "certified_index": index.tolist()}
        for (where, (_, old_index, path)) in reused.items():
            if where[0] == dataset and old_index != index.tolist():
                sys.exit(f"error: --reuse {path}: its {where[2]} (seed "
                         f"{where[1]}) was certified on other {dataset} "
                         "test images than this run's (other data); leave "
                         "--reuse out.")
        for seed in args.seeds:
            for key, spec in specs.items():
                if (dataset, seed, key) in reused:
                    cell = reused[(dataset, seed, key)][0]
                else:
                    cell = train_and_certify(key, spec, dataset, seed,
                                             arch[dataset], data, train_data,
                                             val, index, max_epochs[dataset],
                                             args)
                results["cells"].append(cell)
                now = dict(results, cells=with_later(
                    results["cells"], later,
                    lambda c: (c["dataset"], c["seed"], c["model"])))
                results["summary"] = now["summary"] = summarize(
                    now["cells"], args.datasets, specs)
                results["paired"] = now["paired"] = paired(
                    now["cells"], args.datasets, specs)
                results["wall_seconds"] = round(time.time() - start, 1)
                results["machine"]["load_average_now"] = load_average()
                write_outputs(now, out_dir)
                print(f"[{results['wall_seconds']:7.0f}s] {dataset} seed "
                      f"{seed} {key:18s} ACR CERTIFY "
                      f"{cell['cohen']['acr']:.3f} T-CERTIFY "
                      f"{cell['tight']['acr']:.3f} acc@0 "
                      f"{table_accuracy(cell)[0]:.2f} (epochs "
                      f"{cell['epochs_run']}, train "
                      f"{cell['train_seconds']:.0f}s, certify "
                      f"{cell['certify_seconds']:.0f}s"
                      + (f"; reused from {cell['reused_from']['file']}"
                         if "reused_from" in cell else "") + ")", flush=True)
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
