"""
Title: ALPS Tables 2, 5 and 6 on real MNIST and CIFAR-10 data, models trained to a validation plateau
Author: kerasrobust contributors
Date created: 2026/11/21
Last modified: 2026/12/01
Description: ERM, Dropout, label smoothing, MixUp and ALPS trained until validation error plateaus, under FGSM and PGD (white-box, and black-box from a separately trained ERM source) and the unbounded-PGD sanity check, with paired differences and a reading against the paper.
Accelerator: None (CPU)

## What it measures

Sections 5.2-5.3 of the ALPS paper (Guo et al.): the top-1 test error of
models trained with ERM, Dropout, label smoothing, MixUp and ALPS

- on clean test images (Table 2),
- under white-box FGSM (Table 5: L-inf, eps = 4/255) and PGD (Table 6:
  L-inf, 10 steps of 1/255, eps = 4/255, no random start), crafted on each
  model itself,
- under black-box FGSM and PGD crafted on a SEPARATELY trained source: ERM
  trained from seed s + 1000 (other initial weights and data order; the
  same architecture unless `--source-arch`), so the ERM row's black-box
  figure is a real transfer figure (the paper's ERM black-box errors,
  12.41 % vs 39.02 % white-box for FGSM on CIFAR-10, imply the same),

(`--epsilon` runs both attacks at another L-inf radius, PGD keeping 10
steps of epsilon / 4: on MNIST the paper's 4/255 barely attacks a
trained model, and eps = 0.1-0.3 is the customary range there), and the
accuracy left by the sanity check for gradient masking: unbounded
PGD (200 iterations of step 0.01, box [0, 1] only) on `--sanity-size`
fixed test images, for every method.

## Converged models: the plateau rule

Every model (the sources too) is trained with the paper's optimizer (SGD,
momentum 0.9, learning rate 0.1, step-wise decay by 10, coupled weight
decay 1e-4, batch 128), but the decays are triggered by measurement
instead of fixed epochs (`_common.plateau_callback`): 10 % of the
training images (fixed, `_common.holdout_split`; never the test set) are
held out; after every epoch the error on them is measured; after
`--patience` epochs without improvement the learning rate is divided by
10, after `--max-decays` decays the next plateau stops training, and the
weights of the best validation epoch are kept. `--max-epochs-*` only caps
runaway runs (hitting it is recorded as `stop_reason = "max_epochs"`).
`--decay-epochs` replaces the rule by a fixed step schedule, the same for
every model (the paper's own protocol): the learning rate is divided by
10 after the given epochs and every model trains to the cap, keeping its
best validation epoch. Measured on the CIFAR-10 subset (2026-11-30): with
508 held-out images (binomial standard error about 2.2 points at 45 %
error) and patience 2, the rule fired on noise, so models of the same
method stopped anywhere from epoch 9 to the cap of 20, and the stopping
epoch, not the method, drove the spread of clean error; pick the
schedule's epochs from such curves.
The JSON keeps every model's learning curve (learning rate, training loss
and validation error per epoch) and `_curves.png` plots them.

All methods of one seed start from the same initial weights (the seed is
set before each base model is built) and see the same data order and
augmentation. Baselines as in the paper: Dropout = ERM with dropout 0.5 on
the penultimate features; label smoothing 0.1; MixUp alpha = 1; ALPS with
the library defaults (epsilon 0.2, Beta mode 0.9, concentration 10).

## Models

- CIFAR-10: `--arch-cifar resnet20` by default: the CIFAR ResNet-20 of He
  et al. (0.27M parameters, 19 conv layers with identity shortcuts), a
  ResNet-class model like the paper's PreActResNet18 (11.2M) but about 40x
  fewer multiply-adds; PreActResNet18 trains at ~100 s per epoch of the
  CIFAR subset on the 2 CPU cores here, which with ~40-80 epochs per model
  to a plateau, 6 models per seed and 3 seeds would take days.
  `--arch-cifar preact_resnet18` runs the paper's model where there is time.
- MNIST: `small_cnn` (0.29M parameters); the paper has no MNIST experiment
  and compares on SVHN, whose columns are used as the (indicative)
  reference here.

## Statistics and the reading against the paper

Mean ± sample standard deviation (ddof = 1) over `--seeds` (>= 3 for the
recorded run). Paired differences ALPS - baseline are computed per seed
(same initial weights and data order) with a two-sided 95 % Student-t
interval over seeds (`_common.t_interval`); a difference is a win (loss)
for ALPS when the whole interval is below (above) 0, else a tie. The
paper's verdict is the sign of its mean difference (PreActResNet18,
CIFAR-10 columns of Tables 2, 5, 6; SVHN columns for MNIST); the Markdown
lists both and counts agreements.

Data (real images, from `--data-dir`, else `$KERASROBUST_DATA_DIR`, else
`../shared/data` relative to the repository root): `mnist` = the official
MNIST test set, first 8,000 train / last 2,000 test; `cifar10` = the
CIFAR-10 subset, 5,085 train / 1,017 test; 10 % of each training split is
held out for the plateau rule. Absolute errors are far above the paper's
(a tenth of CIFAR-10's training set); compare methods within a dataset.

## How to run

From the repository root:

```
python benchmarks/alps_tables.py                 # the planned converged run
python benchmarks/alps_tables.py --smoke --out /tmp/alps_smoke.json
```

Outputs (written after every finished model, each atomically, so a killed
run keeps the models it finished): `--out` (JSON: command, commit,
machine, load, wall time, settings, per-seed raw numbers with learning
curves, the sources, the summary and the paired differences), the Markdown
tables next to it (`.md`), a bar plot (`.png`) and the learning curves
(`_curves.png`). The default output is `alps_tables_converged.json`; the
earlier short-run results (`alps_tables.json`) stay as recorded.
`--rerender JSON` recomputes the summary, the paired differences, the
tables and the plots of a recorded run with this checkout's code (no
training, no attack); the tables list the methods in the order above
whatever the key order of the JSON.

A killed run goes on where it stopped with the same command and
`--resume`: the models recorded in `--out` are taken, not retrained,
where every setting that decides them is equal (CELL_SETTINGS and the
dataset's `arch` and `max_epochs`; the data the same size and the same
sanity images), else an error naming the setting, before any training; a
plan that leaves out a recorded model is refused (rewriting the JSON
would lose it), and the recorded models not reached yet are written with
every new one, so a run stopped again loses none. Each black-box source
keeps its examples and record beside `--out`
(`<stem>_source_<dataset>_seed<s>.npz`, 6-25 MB, written atomically,
with a fingerprint of the settings that decide the source), so a resumed
seed meets the very examples its recorded models met; where that file is
gone or of other settings (runs recorded before it existed, or an
earlier run into the same `--out`) the source is
retrained from its seed, which fixes it bit for bit on one machine, and
a clean error other than the recorded one (another CPU: see
`machine.cpu` in the JSON) ends the run.

`--reuse JSON` (repeatable) takes whole seeds from any earlier run, so
that seeds trained in separate runs make one table (e.g. `--seeds
0,1,2,3 --reuse three_seeds.json` trains only seed 3): a seed is taken
where that file holds its black-box source and every model this run
plans for it, with the same settings and data as for `--resume` (else an
error naming the first that differs, before any training); a seed the
file holds only in part is trained here whole, its own source included,
and a seed `--resume` already holds is not taken. Each reused model and
source keeps `reused_from` (the file, commit and start of the run that
computed it), and the tables name them.
"""

import argparse
import datetime
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Benchmark the checkout this script lives in.
    sys.path.insert(0, str(REPO_ROOT))

from _common import DATA_DIR_ENV  # noqa: E402
from _common import add_reuse_flag  # noqa: E402
from _common import arch_name  # noqa: E402
from _common import build_base  # noqa: E402
from _common import find_data_dir  # noqa: E402
from _common import git_commit  # noqa: E402
from _common import holdout_split  # noqa: E402
from _common import in_order  # noqa: E402
from _common import positive_int as _positive_int  # noqa: E402
from _common import choices_list  # noqa: E402
from _common import commit_line  # noqa: E402
from _common import typed_list  # noqa: E402
from _common import with_later  # noqa: E402
from _common import load_average  # noqa: E402
from _common import machine_info  # noqa: E402
from _common import mean_std  # noqa: E402
from _common import origin_text  # noqa: E402
from _common import paper_sgd  # noqa: E402
from _common import plateau_callback  # noqa: E402
from _common import plateau_rule  # noqa: E402
from _common import plot_learning_curves  # noqa: E402
from _common import read_results_json  # noqa: E402
from _common import refuse_resume_that_drops  # noqa: E402
from _common import rerender_json  # noqa: E402
from _common import reuse_origin  # noqa: E402
from _common import t_interval  # noqa: E402
from _common import trained_how  # noqa: E402
from _common import training_line  # noqa: E402
from _common import verdict  # noqa: E402
from _common import write_json_markdown_plot  # noqa: E402
from _common import seed_list  # noqa: E402
DATASETS = ("mnist", "cifar10")
METHODS = ("erm", "dropout", "label_smoothing", "mixup", "alps")
METHOD_NAMES = {"erm": "ERM", "dropout": "Dropout",
                "label_smoothing": "Label Smoothing", "mixup": "MixUp",
                "alps": "ALPS"}
#: The black-box source is ERM trained from seed + SOURCE_SEED_OFFSET:
#: other initial weights and data order than every evaluated model.
SOURCE_SEED_OFFSET = 1000
DEFAULT_ARCH = {"mnist": "small_cnn", "cifar10": "resnet20"}
DEFAULT_MAX_EPOCHS = {"mnist": 60, "cifar10": 120}
#: The validation error `plateau_callback` watches.
VALIDATION_MEASURED = "the error on held-out training images"
DEFAULT_OUT = (REPO_ROOT / "benchmarks" / "results"
               / "alps_tables_converged.json")
SANITY_SUBSET_SEED = 1234
#: The settings that decide a trained and evaluated model (with the
#: dataset's `arch` and `max_epochs`): `--resume` takes a recorded model
#: only where all are equal.
CELL_SETTINGS = ("smoke", "width", "batch_size", "patience", "max_decays",
                 "min_delta", "decay_epochs", "sanity_size", "attacks",
                 "black_box_source")
#: Settings added after some runs were recorded, with the value every
#: run before them had.
UNRECORDED = {"decay_epochs": None}
#: What a run records of its data per dataset; `--resume` needs it equal.
DATA_KEYS = ("n_train", "n_val", "n_test", "sanity_index")
#: (key, column title, higher is better) in the order of the tables.
COLUMNS = (
    ("clean_error", "clean error", False),
    ("fgsm_white_box", "FGSM white-box", False),
    ("pgd_white_box", "PGD white-box", False),
    ("fgsm_black_box", "FGSM black-box", False),
    ("pgd_black_box", "PGD black-box", False),
    ("unbounded_pgd_accuracy", "unbounded-PGD accuracy", None),
)
#: The paper's PreActResNet18 means (test error %): Table 2 (clean,
#: CIFAR-10), Tables 5/6 (FGSM/PGD white- and black-box, CIFAR-10 and
#: SVHN). MNIST is compared with SVHN, the paper's digit dataset; the paper
#: has no MNIST experiment, so that reading is indicative only.
PAPER = {
    "cifar10": {
        "clean_error": {"erm": 6.13, "dropout": 5.91,
                        "label_smoothing": 5.66, "mixup": 4.22,
                        "alps": 4.15},
        "fgsm_white_box": {"erm": 39.02, "dropout": 38.41,
                           "label_smoothing": 27.38, "mixup": 31.96,
                           "alps": 24.00},
        "pgd_white_box": {"erm": 58.33, "dropout": 59.19,
                          "label_smoothing": 42.78, "mixup": 71.02,
                          "alps": 44.55},
        "fgsm_black_box": {"erm": 12.41, "dropout": 12.20,
                           "label_smoothing": 10.86, "mixup": 9.79,
                           "alps": 7.91},
        "pgd_black_box": {"erm": 15.98, "dropout": 16.17,
                          "label_smoothing": 13.80, "mixup": 12.78,
                          "alps": 8.55},
    },
    "mnist": {  # SVHN columns (Table 1 clean, Tables 5/6)
        "clean_error": {"erm": 4.06, "dropout": 3.80,
                        "label_smoothing": 3.31, "mixup": 3.35,
                        "alps": 3.05},
        "fgsm_white_box": {"erm": 34.70, "dropout": 34.23,
                           "label_smoothing": 19.28, "mixup": 27.60,
                           "alps": 15.85},
        "pgd_white_box": {"erm": 54.34, "dropout": 55.46,
                          "label_smoothing": 34.20, "mixup": 84.80,
                          "alps": 28.53},
        "fgsm_black_box": {"erm": 10.37, "dropout": 9.94,
                           "label_smoothing": 9.11, "mixup": 7.92,
                           "alps": 6.46},
        "pgd_black_box": {"erm": 14.14, "dropout": 12.67,
                          "label_smoothing": 11.82, "mixup": 11.27,
                          "alps": 7.29},
    },
}
PAPER_SOURCE = {"cifar10": "CIFAR-10 (Tables 2, 5, 6)",
                "mnist": "SVHN (Tables 1, 5, 6; no MNIST in the paper)"}


# ------------------------------------------------------------------ flags
def _epsilon(text):
    """argparse type: an L-inf radius in (0, 1], as a number or a fraction
    such as `8/255`."""
    num, _, den = text.partition("/")
    try:
        value = float(num) / (float(den) if den else 1.0)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"expected a number or a fraction such as 8/255, got {text!r}."
        ) from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(
            f"must be in (0, 1] (pixel units), got {text} = {value:g}.")
    return value


def _epoch_list(text):
    """argparse type: increasing epochs >= 1 separated by commas."""
    epochs = typed_list(text, int, "epochs")
    if not epochs or min(epochs) < 1 or epochs != sorted(set(epochs)):
        raise argparse.ArgumentTypeError(
            f"give increasing epochs >= 1, e.g. 10,15; got {text!r}.")
    return epochs


def build_parser():
    p = argparse.ArgumentParser(
        description="ALPS paper Tables 2/5/6 (clean, FGSM/PGD white- and "
                    "black-box error, unbounded-PGD sanity check) for ERM, "
                    "Dropout, label smoothing, MixUp and ALPS on real MNIST "
                    "and CIFAR-10 data, each model trained until its "
                    "validation error plateaus.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--datasets", type=choices_list(
        DATASETS, canonical_order=True),
                   default=list(DATASETS),
                   help="comma-separated datasets")
    p.add_argument("--methods", type=choices_list(
        METHODS, canonical_order=True),
                   default=list(METHODS),
                   help="comma-separated methods")
    p.add_argument("--seeds", type=seed_list, default=[0, 1, 2],
                   help="comma-separated seeds (weights, data order, "
                        "augmentation, the methods' random draws); the "
                        f"black-box source of seed s is ERM of seed s + "
                        f"{SOURCE_SEED_OFFSET}")
    p.add_argument("--arch-mnist", type=arch_name,
                   default=DEFAULT_ARCH["mnist"],
                   help="base model on MNIST (small_cnn, preact_resnet18, "
                        "resnet<6n+2>)")
    p.add_argument("--arch-cifar", type=arch_name,
                   default=DEFAULT_ARCH["cifar10"],
                   help="base model on the CIFAR-10 subset")
    p.add_argument("--source-arch", type=arch_name, default=None,
                   help="architecture of the black-box source model "
                        "(default: the dataset's --arch-*)")
    p.add_argument("--max-epochs-mnist", type=_positive_int,
                   default=DEFAULT_MAX_EPOCHS["mnist"],
                   help="cap on training epochs on MNIST (the plateau rule "
                        "usually stops earlier)")
    p.add_argument("--max-epochs-cifar", type=_positive_int,
                   default=DEFAULT_MAX_EPOCHS["cifar10"],
                   help="cap on training epochs on the CIFAR-10 subset")
    p.add_argument("--patience", type=_positive_int, default=5,
                   help="plateau rule: epochs without a validation "
                        "improvement before the learning rate is divided by "
                        "10 (or, after --max-decays decays, training stops)")
    p.add_argument("--max-decays", type=int, default=2,
                   help="plateau rule: learning-rate decays before the next "
                        "plateau stops training (the paper's schedule "
                        "decays twice)")
    p.add_argument("--min-delta", type=float, default=0.0,
                   help="plateau rule: smallest validation-error decrease "
                        "(percentage points) that counts as improvement")
    p.add_argument("--decay-epochs", type=_epoch_list, default=None,
                   help="a fixed step schedule instead of the plateau rule, "
                        "the same for every model: divide the lr by 10 after "
                        "these epochs (e.g. 10 or 10,15) and train every "
                        "model to the cap, keeping the best validation "
                        "epoch; --patience and --max-decays are then unused")
    p.add_argument("--batch-size", type=_positive_int, default=128,
                   help="training batch size")
    p.add_argument("--attack-batch-size", type=_positive_int, default=512,
                   help="images per compiled attack call")
    p.add_argument("--epsilon", type=_epsilon, default=None,
                   help="L-inf radius of FGSM and PGD in pixel units "
                        "(images in [0, 1]); PGD keeps 10 steps of "
                        "epsilon / 4 (default: the paper's 4/255)")
    p.add_argument("--sanity-size", type=_positive_int, default=100,
                   help="fixed test images for the unbounded-PGD check")
    p.add_argument("--width", type=_positive_int, default=32,
                   help="small_cnn width (filters of the first block)")
    p.add_argument("--limit-train", type=_positive_int, default=None,
                   help="train on the first N training images (dry runs)")
    p.add_argument("--limit-test", type=_positive_int, default=None,
                   help="evaluate on the first N test images (dry runs)")
    p.add_argument("--data-dir", default=None,
                   help=f"folder holding mnist/ and cifar10-subset/ "
                        f"(default: ${DATA_DIR_ENV}, else ../shared/data "
                        "from the repository root)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="JSON results; the .md tables, the .png plot and "
                        "the _curves.png learning curves are written next "
                        "to it with the same stem")
    p.add_argument("--resume", action="store_true",
                   help="take the models recorded in --out (a killed run "
                        "goes on after its last finished model), where "
                        "every setting that decides them is equal (else an "
                        "error naming it, before any training); the "
                        "black-box examples come from the source files "
                        "kept beside --out, or a source retrained bit for "
                        "bit")
    add_reuse_flag(p, "whole seeds (the black-box source and every planned "
                      "model; a seed it holds only in part is trained here)")
    p.add_argument("--rerender", type=Path, default=None, metavar="JSON",
                   help="only recompute the summary, paired differences, "
                        "tables and plots of an earlier run's results JSON "
                        "with this checkout's code, and rewrite it and its "
                        ".md/.png/_curves.png in place")
    p.add_argument("--estimate-budget", action="store_true",
                   help="only time a few full-size training steps of every "
                        "method and the attacks on a few test images, and "
                        "print the estimated wall time of these settings "
                        "(assuming --assumed-epochs per model)")
    p.add_argument("--assumed-epochs", type=_positive_int, default=30,
                   help="epochs per model assumed by --estimate-budget")
    p.add_argument("--smoke", action="store_true",
                   help="check the script end to end in ~1-3 minutes: the "
                        "first of --datasets only, ERM and ALPS, seeds 0,1, "
                        "small_cnn width 8, 256 train / 64 test images, at "
                        "most 2 epochs, patience 1, 8 sanity images "
                        "(overrides those flags)")
    return p


def apply_smoke(args):
    if args.smoke:
        args.datasets = args.datasets[:1]
        args.methods = ["erm", "alps"]
        args.seeds = args.seeds[:2] if len(args.seeds) > 1 else [0, 1]
        args.arch_mnist = args.arch_cifar = "small_cnn"
        args.source_arch = None
        args.width = 8
        args.limit_train, args.limit_test = 256, 64
        args.max_epochs_mnist = args.max_epochs_cifar = 2
        args.patience, args.max_decays = 1, 1
        args.sanity_size = 8
    if args.max_decays < 0:
        sys.exit(f"error: --max-decays must be >= 0, got {args.max_decays}.")
    return args


# ------------------------------------------------------------------- data
def resolve_data_dir(flag_value):
    return find_data_dir(flag_value, "the folders mnist/ and cifar10-subset/",
                         "folder with mnist/ and cifar10-subset/",
                         folder=True)[0]


def load(name, root, limit_train, limit_test):
    import dataclasses

    from kerasrobust.data import load_dataset

    try:
        if name == "mnist":
            folder = root / "mnist" if (root / "mnist").is_dir() else root
            data = load_dataset("mnist_idx", data_dir=str(folder))
        else:
            folder = (root / "cifar10-subset"
                      if (root / "cifar10-subset").is_dir() else root)
            data = load_dataset("npz", data_dir=str(folder))
    except (FileNotFoundError, ValueError, KeyError) as error:
        sys.exit(f"error: cannot load {name} from {root}: {error}")
    if limit_train or limit_test:
        data = dataclasses.replace(
            data, x_train=data.x_train[:limit_train],
            y_train=data.y_train[:limit_train],
            x_test=data.x_test[:limit_test], y_test=data.y_test[:limit_test],
            split_note=data.split_note + (
                f" (limited: {limit_train} train / {limit_test} test)"))
    return data


# ------------------------------------------------------------------ steps
def train(method, arch, train_data, val, seed, max_epochs, args):
    """Trains `method` until the plateau rule stops it (see
    `_common.plateau_callback`); returns (model, seconds, plateau)."""
    import keras

    from kerasrobust.evaluate import error_percent
    from kerasrobust.training import PAPER_WEIGHT_DECAY
    from kerasrobust.training import make_trainer
    from kerasrobust.training.factory import PAPER_DROPOUT

    keras.utils.set_random_seed(seed)  # same initial weights per seed
    base = build_base(arch, train_data,
                      dropout=PAPER_DROPOUT if method == "dropout" else 0.0,
                      width=args.width)
    model = make_trainer(method, base, weight_decay=PAPER_WEIGHT_DECAY,
                         seed=seed)
    # The paper's optimizer with the decays triggered by the measured
    # plateau (or at `--decay-epochs`).
    model.compile(optimizer=paper_sgd(),
                  metrics=["accuracy"], jit_compile=False)
    x_val, y_val = val
    plateau = plateau_callback(
        lambda m: error_percent(m, x_val, y_val), args.patience,
        args.max_decays, min_delta=args.min_delta,
        decay_epochs=args.decay_epochs)
    start = time.time()
    model.fit(train_data.train_dataset(args.batch_size, seed=seed),
              epochs=max_epochs, verbose=0, callbacks=[plateau])
    return model, time.time() - start, plateau


def attack_note(settings):
    """The attacks of a run in words, from its recorded settings."""
    fgsm, pgd = settings["attacks"]["fgsm"], settings["attacks"]["pgd"]
    paper = "" if fgsm["epsilon"] == 4 / 255 else " (the paper's: 4/255)"
    return (f"FGSM L-inf eps = {fgsm['epsilon'] * 255:.4g}/255{paper}; PGD "
            f"L-inf {pgd['steps']} steps of {pgd['step_size'] * 255:.4g}/255, "
            f"eps = {pgd['epsilon'] * 255:.4g}/255, no random start")


def attacks(epsilon=None):
    """The paper's FGSM and PGD (`kerasrobust.evaluate.PAPER_FGSM` /
    `PAPER_PGD`), or both at another L-inf radius `epsilon` with the
    paper's PGD shape kept (10 steps of epsilon / 4)."""
    import dataclasses

    from kerasrobust.evaluate import PAPER_FGSM
    from kerasrobust.evaluate import PAPER_PGD

    if epsilon is None:
        return {"fgsm": PAPER_FGSM, "pgd": PAPER_PGD}
    step = epsilon * PAPER_PGD.step_size / PAPER_PGD.epsilon
    return {"fgsm": dataclasses.replace(PAPER_FGSM, epsilon=epsilon),
            "pgd": dataclasses.replace(PAPER_PGD, epsilon=epsilon,
                                       step_size=step)}


def evaluate_cell(model, data, black_box, sanity_index, attack_batch_size,
                  configs):
    """Clean, white-box and black-box errors under the attack `configs`
    (`attacks(...)`) and the unbounded-PGD accuracy of one model."""
    from kerasrobust.evaluate import SANITY_PGD
    from kerasrobust.evaluate import craft
    from kerasrobust.evaluate import error_percent

    x, y = data.x_test, data.y_test
    out = {"clean_error": error_percent(model, x, y)}
    for name, attack in configs.items():
        x_adv = craft(model, x, y, attack, batch_size=attack_batch_size)
        out[f"{name}_white_box"] = error_percent(model, x_adv, y)
        out[f"{name}_black_box"] = error_percent(model, black_box[name], y)
    xs, ys = x[sanity_index], y[sanity_index]
    x_adv = craft(model, xs, ys, SANITY_PGD, batch_size=attack_batch_size)
    out["unbounded_pgd_accuracy"] = 100.0 - error_percent(model, x_adv, ys)
    return out


def plateau_record(plateau, train_s):
    return {"epochs_run": len(plateau.curve),
            "best_epoch": plateau.best_epoch,
            "best_val_error": plateau.best,
            "stop_reason": plateau.stop_reason,
            "lr_decays": plateau.decays,
            "train_seconds": round(train_s, 1),
            "seconds_per_epoch": round(train_s / max(len(plateau.curve), 1),
                                       2),
            "curve": plateau.curve}


def source_path(out, dataset, source_seed):
    """The file beside `out` that keeps a black-box source's examples and
    record, so that `--resume` needs no retraining."""
    out = Path(out)
    return out.with_name(f"{out.stem}_source_{dataset}_seed{source_seed}"
                         ".npz")


def source_black_box(dataset, seed, source_arch, data, train_data, val,
                     max_epochs, configs, args, path, reuse_file,
                     fingerprint):
    """`(black_box, record, read)`: the examples of every attack in
    `configs` crafted on the test set by the black-box source of `seed`
    (ERM from seed + SOURCE_SEED_OFFSET), its record for
    `results["sources"]`, and whether they were read from the file at
    `path`. They are read where `reuse_file` is set and that file was
    written with the same `fingerprint` (the settings that decide the
    source); otherwise the source is trained and all three are written
    there (atomically)."""
    import json

    import keras
    import numpy as np

    from kerasrobust._io import atomic_path
    from kerasrobust.evaluate import craft
    from kerasrobust.evaluate import error_percent

    path = Path(path)
    if reuse_file and path.exists():
        with np.load(path) as kept:
            if ("fingerprint" in kept.files
                    and str(kept["fingerprint"]) == fingerprint):
                return ({name: kept[name] for name in configs},
                        json.loads(str(kept["record"])), True)
    keras.backend.clear_session()
    source_seed = seed + SOURCE_SEED_OFFSET
    source, train_s, plateau = train("erm", source_arch, train_data, val,
                                     source_seed, max_epochs, args)
    black_box = {name: craft(source, data.x_test, data.y_test, config,
                             batch_size=args.attack_batch_size)
                 for name, config in configs.items()}
    record = dict(dataset=dataset, seed=source_seed, method="source_erm",
                  arch=source_arch,
                  clean_error=error_percent(source, data.x_test, data.y_test),
                  **plateau_record(plateau, train_s))
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, record=json.dumps(record), fingerprint=fingerprint,
                     **black_box)
    return black_box, record, False


def train_and_evaluate(method, dataset, seed, arch, data, train_data, val,
                       black_box, sanity_index, max_epochs, configs, args):
    """One cell of the tables: `method` trained by the plateau rule and
    evaluated clean, white-box, black-box and by unbounded PGD."""
    import keras

    keras.backend.clear_session()
    t0 = time.time()
    model, train_s, plateau = train(method, arch, train_data, val, seed,
                                    max_epochs, args)
    t1 = time.time()
    cell = evaluate_cell(model, data, black_box, sanity_index,
                         args.attack_batch_size, configs)
    cell.update(dataset=dataset, seed=seed, method=method, arch=arch,
                eval_seconds=round(time.time() - t1, 1),
                cell_seconds=round(time.time() - t0, 1),
                **plateau_record(plateau, train_s))
    return cell


#: What `--resume` and `--reuse` need of an earlier run's results JSON.
RECORDED_NEEDS = ("cells", "sources", "settings", "datasets")
#: What to do instead when `--resume` / `--reuse` refuses a recorded run.
INSTEAD = {"--resume": "Resume with the recorded settings, or write to "
                       "another --out.",
           "--reuse": "Reuse only runs of equal settings, or leave --reuse "
                      "out to train them here."}


def refuse_other_settings(flag, path, old, settings, datasets):
    """End the run, before any training, where a setting that decides the
    models of `datasets` in the run `old` recorded at `path` (CELL_SETTINGS,
    each dataset's `arch` and `max_epochs`) differs from this run's
    `settings`; the message names it and `flag`."""
    theirs_all = old["settings"]
    for dataset in datasets:
        for name in CELL_SETTINGS + ("arch", "max_epochs"):
            theirs = theirs_all.get(name, UNRECORDED.get(name,
                                                         "not recorded"))
            ours = settings[name]
            if name in ("arch", "max_epochs"):
                theirs, ours = theirs.get(dataset, "not recorded"), (
                    ours[dataset])
            if theirs != ours:
                sys.exit(f"error: {flag} {path}: its {dataset} models "
                         f"were run with {name} = {theirs!r}; this run has "
                         f"{name} = {ours!r}. {INSTEAD[flag]}")


def refuse_other_data(flag, path, old, dataset, info):
    """End the run where the run `old` recorded at `path` evaluated its
    `dataset` models on other data than this run's `info` (DATA_KEYS)."""
    theirs = old["datasets"].get(dataset)
    if theirs and any(theirs.get(k) != info[k] for k in DATA_KEYS):
        sys.exit(f"error: {flag} {path}: its {dataset} models were "
                 f"run on other data ({', '.join(DATA_KEYS)} differ: "
                 "--limit-train / --limit-test or the data files). "
                 f"{INSTEAD[flag]}")


def read_resume(path, settings):
    """The run recorded at `path` (`--resume`), checked before any
    training: it must hold no model this run's plan leaves out (rewriting
    it would lose them), and every setting that decides its models must
    equal this run's (`refuse_other_settings`)."""
    old = read_results_json(path, "--resume", RECORDED_NEEDS)
    refuse_resume_that_drops(path, old["cells"], "method",
                             settings["methods"], settings,
                             "--datasets / --seeds / --methods",
                             "write to another --out")
    refuse_other_settings("--resume", path, old, settings,
                          sorted({c["dataset"] for c in old["cells"]}))
    return old


def read_reuse(path, settings):
    """The run recorded at `path` (`--reuse`), checked before any
    training: every setting that decides its models of this run's
    datasets must equal this run's (`refuse_other_settings`). Its cells
    and sources carry `reused_from` (`reuse_origin`: the run that computed
    them and its machine; kept where they were reused there already)."""
    old = read_results_json(path, "--reuse", RECORDED_NEEDS)
    refuse_other_settings("--reuse", path, old, settings, sorted(
        {c["dataset"] for c in old["cells"]} & set(settings["datasets"])))
    origin = reuse_origin(path, old)
    for key in ("cells", "sources"):
        old[key] = [dict(c, reused_from=c.get("reused_from", origin))
                    for c in old[key]]
    return old


def reused_seed(runs, dataset, seed, methods):
    """`(path, models by method, source)` of the first `--reuse` run in
    `runs` (`(path, results)` pairs) holding the black-box source of
    `seed` and every model of `methods` for it on `dataset`; None if no
    run holds the whole seed."""
    source_seed = seed + SOURCE_SEED_OFFSET
    for path, old in runs:
        models = {c["method"]: c for c in old["cells"]
                  if (c["dataset"], c["seed"]) == (dataset, seed)}
        source = [c for c in old["sources"]
                  if (c["dataset"], c["seed"]) == (dataset, source_seed)]
        if source and all(m in models for m in methods):
            return path, {m: models[m] for m in methods}, source[0]
    return None


def estimate_budget(args, root, configs):
    """Times 3 training steps per method (after tracing) and the attack
    `configs` (`attacks(...)`) on 32 test images (unbounded PGD on 4), at
    full size; prints the extrapolated wall time of `args` with
    `--assumed-epochs` per model."""
    import math

    import keras

    from kerasrobust.evaluate import SANITY_PGD
    from kerasrobust.evaluate import craft
    from kerasrobust.training import PAPER_WEIGHT_DECAY
    from kerasrobust.training import make_trainer
    from kerasrobust.training.factory import PAPER_DROPOUT

    total, per = 0.0, {}
    for dataset in args.datasets:
        data = load(dataset, root, args.limit_train, args.limit_test)
        train_data, _ = holdout_split(data)
        arch = args.arch_mnist if dataset == "mnist" else args.arch_cifar
        steps = math.ceil(len(train_data.x_train) / args.batch_size)
        batches = list(train_data.train_dataset(args.batch_size,
                                                seed=0).take(4))
        t = per[dataset] = {"arch": arch, "epoch_s": {}}
        for method in ["erm"] + [m for m in args.methods if m != "erm"]:
            keras.backend.clear_session()
            keras.utils.set_random_seed(0)
            base = build_base(arch, train_data, width=args.width, dropout=(
                PAPER_DROPOUT if method == "dropout" else 0.0))
            model = make_trainer(method, base,
                                 weight_decay=PAPER_WEIGHT_DECAY, seed=0)
            model.compile(optimizer=paper_sgd(), jit_compile=False)
            model.train_on_batch(*batches[0])  # trace
            t0 = time.time()
            for xb, yb in batches[1:]:
                model.train_on_batch(xb, yb)
            t["epoch_s"][method] = (time.time() - t0) / 3 * steps
        x, y = data.x_test[:32], data.y_test[:32]
        for attack in configs.values():
            craft(base, x[:2], y[:2], attack)  # trace
        craft(base, x[:2], y[:2], SANITY_PGD)
        t0 = time.time()
        for attack in configs.values():
            craft(base, x, y, attack)
        attack_s = (time.time() - t0) / len(x) * len(data.x_test)
        t0 = time.time()
        craft(base, x[:4], y[:4], SANITY_PGD)
        sanity_s = (time.time() - t0) / 4 * min(args.sanity_size,
                                                len(data.x_test))
        t["eval_s_per_model"] = attack_s + sanity_s
        n_models = len(args.methods) + 1  # + the black-box source
        train_s = args.assumed_epochs * (
            sum(t["epoch_s"][m] for m in args.methods) + t["epoch_s"]["erm"])
        t["per_seed_s"] = train_s + n_models * t["eval_s_per_model"]
        t["estimate_s"] = t["per_seed_s"] * len(args.seeds)
        total += t["estimate_s"]
        print(f"budget {dataset} ({arch}): one epoch "
              + ", ".join(f"{m} {v:.1f} s" for m, v in t["epoch_s"].items())
              + f"; attacks + sanity per model {t['eval_s_per_model']:.0f} "
              f"s; per seed ({n_models} models x {args.assumed_epochs} "
              f"epochs) {t['per_seed_s'] / 60:.1f} min; {len(args.seeds)} "
              f"seeds {t['estimate_s'] / 60:.1f} min (load average "
              f"{load_average()})", flush=True)
    print(f"budget: estimated wall time {total / 60:.1f} min", flush=True)
    return per


# ----------------------------------------------------------------- report
def summarize(cells, datasets, methods):
    """Mean ± std per (dataset, method) and paired differences ALPS -
    baseline per seed with 95% t-intervals and a win/tie/loss verdict."""
    summary = {}
    for dataset in datasets:
        for method in methods:
            rows = [c for c in cells
                    if c["dataset"] == dataset and c["method"] == method]
            if not rows:
                continue
            entry = {"seeds": [c["seed"] for c in rows],
                     "epochs_run": mean_std([c["epochs_run"] for c in rows]),
                     "best_epoch": mean_std([c["best_epoch"] for c in rows])}
            for key, _, _ in COLUMNS:
                entry[key] = mean_std([c[key] for c in rows])
            summary.setdefault(dataset, {})[method] = entry
    return summary


def paired_differences(cells, datasets, methods):
    out = {}
    for dataset in datasets:
        by = {(c["method"], c["seed"]): c for c in cells
              if c["dataset"] == dataset}
        for base in methods:
            if base == "alps":
                continue
            seeds = sorted(s for (m, s) in by if m == "alps"
                           and ("alps", s) in by and (base, s) in by)
            if not seeds:
                continue
            entry = {"seeds": seeds}
            for key, _, higher in COLUMNS:
                if higher is None:
                    continue
                diffs = [by[("alps", s)][key] - by[(base, s)][key]
                         for s in seeds]
                interval = t_interval(diffs)
                interval["verdict"] = verdict(interval, lower_is_better=True)
                paper = PAPER.get(dataset, {}).get(key)
                if paper:
                    d = paper["alps"] - paper[base]
                    interval["paper_difference"] = round(d, 2)
                    interval["paper_verdict"] = (
                        "win" if d < 0 else "loss" if d > 0 else "tie")
                    interval["agrees_with_paper"] = (
                        interval["verdict"] == interval["paper_verdict"])
                entry[key] = interval
            out.setdefault(dataset, {})[base] = entry
    return out


def _interval_text(d):
    if d["low"] is None:
        return f"{d['mean']:+.2f} (n=1)"
    return f"{d['mean']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}]"


def reused_lines(results):
    """The tables' line naming the seeds taken from earlier runs
    (`--reuse`), with the run that computed each."""
    taken = {}
    machine = results.get("machine", {}).get("summary")
    for c in results["sources"]:
        if "reused_from" in c:
            taken[(c["dataset"], c["seed"] - SOURCE_SEED_OFFSET)] = (
                origin_text(c["reused_from"], machine))
    return (["- Reused, not retrained here (--reuse; the source and every "
             "model of the seed): " + "; ".join(
                 f"{dataset} seed {seed} ({origin})"
                 for (dataset, seed), origin in sorted(taken.items())) + "."]
            if taken else [])


def markdown(results):
    settings = results["settings"]
    trained = trained_how(settings)
    lines = [
        "# ALPS Tables 2, 5 and 6 on real MNIST and CIFAR-10 data "
        f"(models trained {trained})",
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
    ] + [
        f"- Resumed (--resume) from the run of commit {r['commit']}, "
        f"started {r['started_utc']}, holding {r['models']} model(s), "
        "taken as recorded; the wall time is this run's."
        for r in results.get("resumed", [])
    ] + reused_lines(results) + [
        "- Models: " + ", ".join(f"{d} {a}" for d, a in
                                 settings["arch"].items())
        + f"; batch {settings['batch_size']}; seeds "
        f"{', '.join(map(str, settings['seeds']))}.",
        training_line(settings),
        f"- Attacks (pixel units, images in [0, 1]): {attack_note(settings)}; "
        f"black-box = crafted on {settings['black_box_source']}; unbounded "
        f"PGD = 200 steps of 0.01, box only, on {settings['sanity_size']} "
        "fixed test images.",
        "- Figures: top-1 test error in % (lower is better) and, last "
        "column, accuracy in % left by unbounded PGD (should be about 0); "
        "mean ± sample std over seeds; best mean per column in bold.",
        "",
    ]
    for dataset, rows in in_order(results["summary"], DATASETS):
        rows = dict(in_order(rows, METHODS))
        info = results["datasets"][dataset]
        lines += [f"## {dataset}: {info['split_note']}", ""]
        header = (["Method", "epochs (best)"]
                  + [title for _, title, _ in COLUMNS])
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        best = {}
        for key, _, higher in COLUMNS:
            if higher is None:
                continue
            means = [r[key]["mean"] for r in rows.values()]
            best[key] = max(means) if higher else min(means)
        for method, entry in rows.items():
            cells = [METHOD_NAMES[method],
                     f"{entry['epochs_run']['mean']:.0f} "
                     f"({entry['best_epoch']['mean']:.0f})"]
            for key, _, _ in COLUMNS:
                mean, std = entry[key]["mean"], entry[key]["std"]
                text = f"{mean:.2f} ± {std:.2f}" if std is not None else (
                    f"{mean:.2f}")
                if key in best and len(rows) > 1 and mean == best[key]:
                    text = f"**{text}**"
                cells.append(text)
            n = len(entry["seeds"])
            cells[0] += f" (n={n})" if n != len(settings["seeds"]) else ""
            lines.append("| " + " | ".join(cells) + " |")
        source = info.get("source")
        if source:
            lines += ["", f"Black-box source ({source['arch']}, ERM, seeds "
                      f"{', '.join(map(str, source['seeds']))}): clean "
                      f"error {source['clean_error']['mean']:.2f} %."]
        diffs = dict(in_order(
            results.get("differences", {}).get(dataset, {}), METHODS))
        if diffs:
            keys = [(k, t) for k, t, h in COLUMNS if h is not None]
            lines += ["", "### ALPS − baseline, paired by seed: mean "
                      "[95 % t-interval], percentage points (negative = "
                      "ALPS better)", "",
                      "| ALPS − | " + " | ".join(t for _, t in keys) + " |",
                      "|" + "---|" * (len(keys) + 1)]
            for base, entry in diffs.items():
                lines.append("| " + METHOD_NAMES[base] + " | " + " | ".join(
                    f"{_interval_text(entry[k])} {entry[k]['verdict']}"
                    for k, _ in keys) + " |")
            lines += ["", f"### Reading against the paper's "
                      f"{PAPER_SOURCE[dataset]}", "",
                      "win/loss: the 95 % interval excludes 0; tie: it "
                      "does not. The paper's verdict is the sign of its "
                      "mean difference (it gives no intervals).", "",
                      "| ALPS vs | " + " | ".join(t for _, t in keys) + " |",
                      "|" + "---|" * (len(keys) + 1)]
            counts = {"win": 0, "tie": 0, "loss": 0, "agree": 0, "all": 0,
                      "same_sign": 0}
            for base, entry in diffs.items():
                row = []
                for k, _ in keys:
                    d = entry[k]
                    counts[d["verdict"]] += 1
                    counts["all"] += 1
                    if "paper_verdict" in d:
                        counts["agree"] += d["agrees_with_paper"]
                        counts["same_sign"] += (
                            d["mean"] * d["paper_difference"] > 0)
                        row.append(f"here {d['verdict']}, paper "
                                   f"{d['paper_verdict']} "
                                   f"({d['paper_difference']:+.2f})")
                    else:
                        row.append(f"here {d['verdict']}")
                lines.append(f"| {METHOD_NAMES[base]} | "
                             + " | ".join(row) + " |")
            lines += ["", f"ALPS here: {counts['win']} wins, "
                      f"{counts['tie']} ties, {counts['loss']} losses of "
                      f"{counts['all']} comparisons; the verdict equals the "
                      f"paper's in {counts['agree']} of {counts['all']}; "
                      f"the mean difference has the paper's sign in "
                      f"{counts['same_sign']} of {counts['all']}."]
        lines.append("")
    return "\n".join(lines) + "\n"


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = results["summary"]
    if not summary:
        return
    fig, axes = plt.subplots(1, len(summary), squeeze=False,
                             figsize=(7 * len(summary), 4.5))
    for ax, (dataset, rows) in zip(axes[0], in_order(summary, DATASETS)):
        rows = dict(in_order(rows, METHODS))
        methods = list(rows)
        width = 0.8 / max(len(methods), 1)
        for i, method in enumerate(methods):
            means = [rows[method][k]["mean"] for k, _, _ in COLUMNS]
            stds = [rows[method][k]["std"] or 0.0 for k, _, _ in COLUMNS]
            xs = [j + (i - (len(methods) - 1) / 2) * width
                  for j in range(len(COLUMNS))]
            ax.bar(xs, means, width, yerr=stds, capsize=2,
                   label=METHOD_NAMES[method])
        ax.set_xticks(range(len(COLUMNS)))
        ax.set_xticklabels([t.replace(" ", "\n", 1) for _, t, _ in COLUMNS],
                           fontsize=8)
        ax.set_ylabel("% (error; last group: accuracy)")
        ax.set_title(f"{dataset}, {results['settings']['arch'][dataset]} "
                     f"({results['datasets'][dataset]['n_test']} test "
                     "images)")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Adversarial robustness, models trained "
                 f"{trained_how(results['settings'])}, mean ± std over seeds",
                 fontsize=10)
    fig.tight_layout()
    from kerasrobust._io import atomic_path

    with atomic_path(path, ".tmp.png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    curves = {}
    for c in results["cells"] + results.get("sources", []):
        curves.setdefault(c["dataset"], {})[
            f"{c['method']} s{c['seed']}"] = c["curve"]
    plot_learning_curves(
        curves, Path(path).with_name(Path(path).stem + "_curves.png"),
        "Validation error per epoch (held-out training images); models "
        f"trained {trained_how(results['settings'])}, the best epoch kept")


def write_outputs(results, out):
    write_json_markdown_plot(out, results, markdown, plot)


# ------------------------------------------------------------------- main
def rerender(path):
    """Recomputes the summary, paired differences, tables and plots of a
    results JSON with this checkout's code (no training, no attack) and
    rewrites the JSON, .md, .png and _curves.png beside it."""
    def recompute(results):
        datasets = [d for d in DATASETS if d in results["datasets"]]
        methods = [m for m in METHODS
                   if m in results["settings"]["methods"]]
        results["summary"] = summarize(results["cells"], datasets, methods)
        results["differences"] = paired_differences(results["cells"],
                                                    datasets, methods)

    rerender_json(path, recompute, markdown, plot)


def main(argv=None):
    parser = build_parser()
    args = apply_smoke(parser.parse_args(argv))
    if args.rerender:
        rerender(args.rerender)
        return 0
    max_epochs = {"mnist": args.max_epochs_mnist,
                  "cifar10": args.max_epochs_cifar}
    for dataset in args.datasets:
        cap = max_epochs[dataset]
        if args.decay_epochs and max(args.decay_epochs) >= cap:
            parser.error(f"--decay-epochs {args.decay_epochs}: every decay "
                         f"must come before the {dataset} epoch cap {cap}.")
    root = resolve_data_dir(args.data_dir)
    configs = attacks(args.epsilon)
    if args.estimate_budget:
        estimate_budget(args, root, configs)
        return 0
    import json

    import numpy as np

    methods = args.methods
    start = time.time()
    arch = {"mnist": args.arch_mnist, "cifar10": args.arch_cifar}
    argv_list = sys.argv[1:] if argv is None else list(argv)
    results = {
        "command": shlex.join(["python", "benchmarks/alps_tables.py"]
                              + argv_list),
        "commit": git_commit(),
        "started_utc": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        "machine": dict(machine_info(),
                        load_average_start=load_average()),
        "settings": {
            "datasets": args.datasets, "methods": methods,
            "seeds": args.seeds, "smoke": args.smoke,
            "arch": {d: arch[d] for d in args.datasets},
            "max_epochs": {d: max_epochs[d] for d in args.datasets},
            "patience": args.patience, "max_decays": args.max_decays,
            "min_delta": args.min_delta, "decay_epochs": args.decay_epochs,
            "plateau_rule": plateau_rule(
                VALIDATION_MEASURED,
                {d: e for d, e in max_epochs.items() if d in args.datasets},
                args.patience, args.max_decays, args.decay_epochs),
            "batch_size": args.batch_size, "width": args.width,
            "sanity_size": args.sanity_size,
            "attack_batch_size": args.attack_batch_size,
            "attacks": {"fgsm": configs["fgsm"].to_dict(),
                        "pgd": configs["pgd"].to_dict(),
                        "unbounded_pgd": {"attack": "pgd",
                                          "epsilon": "inf",
                                          "step_size": 0.01, "steps": 200}},
            "black_box_source": (
                f"a separately trained ERM model (seed + "
                f"{SOURCE_SEED_OFFSET}, "
                + (f"{args.source_arch})" if args.source_arch else
                   "same architecture)")),
        },
        "datasets": {}, "cells": [], "sources": [], "summary": {},
        "differences": {}, "finished": False, "wall_seconds": 0.0,
    }
    out = args.out
    recorded = None
    if args.resume and Path(out).exists():
        recorded = read_resume(out, results["settings"])
        results["resumed"] = recorded.get("resumed", []) + [
            {"commit": recorded.get("commit"),
             "started_utc": recorded.get("started_utc"),
             "models": len(recorded["cells"])}]
    elif args.resume:
        print(f"--resume: no {out} yet; starting afresh", flush=True)
    old = recorded or {"cells": [], "sources": [], "datasets": {}}
    runs = [(path, read_reuse(path, results["settings"]))
            for path in args.reuse]
    results["reused"] = [str(path) for path in args.reuse]
    print(f"writing {out} (+ .md, .png, _curves.png) after every model"
          + (f"; {len(old['cells'])} model(s) taken from it"
             if recorded else "")
          + (f"; whole seeds reused from {', '.join(map(str, args.reuse))}"
             if runs else ""), flush=True)
    for dataset in args.datasets:
        data = load(dataset, root, args.limit_train, args.limit_test)
        train_data, val = holdout_split(data)
        sanity_size = min(args.sanity_size, len(data.x_test))
        sanity_index = np.sort(np.random.default_rng(
            SANITY_SUBSET_SEED).choice(len(data.x_test), sanity_size,
                                       replace=False))
        source_arch = args.source_arch or arch[dataset]
        info = results["datasets"][dataset] = {
            "split_note": train_data.split_note,
            "n_train": len(train_data.x_train), "n_val": len(val[0]),
            "n_test": len(data.x_test), "sanity_size": sanity_size,
            "sanity_index": sanity_index.tolist(),
            "source": {"arch": source_arch, "seeds": []}}
        refuse_other_data("--resume", out, old, dataset, info)
        for path, run in runs:
            if any(c["dataset"] == dataset for c in run["cells"]):
                refuse_other_data("--reuse", path, run, dataset, info)
        # What decides a source and its examples: a kept source file of
        # other settings (an earlier run into the same --out) is not read.
        source_fingerprint = json.dumps(
            [{k: results["settings"][k] for k in CELL_SETTINGS},
             source_arch, max_epochs[dataset], dataset,
             {k: info[k] for k in DATA_KEYS}], sort_keys=True)
        source_errors = []
        for seed in args.seeds:
            source_seed = seed + SOURCE_SEED_OFFSET
            taken = {c["method"]: c for c in old["cells"]
                     if (c["dataset"], c["seed"]) == (dataset, seed)}
            old_source = [c for c in old["sources"]
                          if (c["dataset"], c["seed"]) == (dataset,
                                                           source_seed)]
            black_box, kept = None, source_path(out, dataset, source_seed)
            model_note = "recorded"
            whole = (None if taken or old_source else
                     reused_seed(runs, dataset, seed, methods))
            if old_source and all(m in taken for m in methods):
                source, how = old_source[0], "recorded"
            elif whole:
                taken, source = whole[1], whole[2]
                how = model_note = f"reused from {Path(whole[0]).name}"
            else:
                black_box, source, read = source_black_box(
                    dataset, seed, source_arch, data, train_data, val,
                    max_epochs[dataset], configs, args, kept,
                    reuse_file=recorded is not None,
                    fingerprint=source_fingerprint)
                how = f"examples read from {kept.name}" if read else "trained"
                if old_source and (source["clean_error"]
                                   != old_source[0]["clean_error"]):
                    sys.exit(
                        f"error: --resume {out}: the {dataset} black-box "
                        f"source of seed {seed}, trained again, has clean "
                        f"error {source['clean_error']} where the recorded "
                        f"one had {old_source[0]['clean_error']}, so its "
                        "examples would differ from those the recorded "
                        f"models met (was {kept.name} removed, or the code "
                        "changed?); write to another --out.")
            source_errors.append(source["clean_error"])
            results["sources"].append(source)
            info["source"]["seeds"].append(source_seed)
            info["source"]["clean_error"] = mean_std(source_errors)
            print(f"[{time.time() - start:7.0f}s] {dataset} source ERM seed "
                  f"{source_seed}: clean {source['clean_error']:.2f} after "
                  f"{source['epochs_run']} epochs (best "
                  f"{source['best_epoch']}, {source['train_seconds']:.0f}s;"
                  f" {how})", flush=True)
            for method in methods:
                cell = taken.get(method) or train_and_evaluate(
                    method, dataset, seed, arch[dataset], data, train_data,
                    val, black_box, sanity_index, max_epochs[dataset],
                    configs, args)
                results["cells"].append(cell)
                # With --resume the recorded models not reached yet are
                # written too: stopped again, the run loses none of them.
                now = dict(results, **{
                    key: with_later(results[key], old[key],
                                    lambda c: (c["dataset"], c["seed"],
                                               c["method"]))
                    for key in ("cells", "sources")})
                results["summary"] = now["summary"] = summarize(
                    now["cells"], args.datasets, methods)
                results["differences"] = now["differences"] = (
                    paired_differences(now["cells"], args.datasets, methods))
                results["wall_seconds"] = round(time.time() - start, 1)
                results["machine"]["load_average_now"] = load_average()
                write_outputs(now, out)
                print(f"[{results['wall_seconds']:7.0f}s] {dataset} seed "
                      f"{seed} {method:16s} clean {cell['clean_error']:.2f}"
                      f" fgsm {cell['fgsm_white_box']:.2f}/"
                      f"{cell['fgsm_black_box']:.2f} pgd "
                      f"{cell['pgd_white_box']:.2f}/"
                      f"{cell['pgd_black_box']:.2f} unbounded-acc "
                      f"{cell['unbounded_pgd_accuracy']:.2f} (epochs "
                      f"{cell['epochs_run']}, best {cell['best_epoch']}, "
                      f"train {cell['train_seconds']:.0f}s, eval "
                      f"{cell['eval_seconds']:.0f}s"
                      + (f"; {model_note}" if method in taken else "")
                      + ")",
                      flush=True)
    results["finished"] = True
    results["wall_seconds"] = round(time.time() - start, 1)
    results["machine"]["load_average_end"] = load_average()
    results["finished_utc"] = datetime.datetime.now(
        datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    write_outputs(results, out)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
