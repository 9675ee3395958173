"""
Title: ALPS Tables 5 and 6 (adversarial robustness) on real MNIST and CIFAR-10 data
Author: kerasrobust contributors
Date created: 2026/11/21
Last modified: 2026/11/21
Description: ERM, Dropout, label smoothing, MixUp and ALPS side by side under FGSM, PGD (white- and black-box) and the unbounded-PGD sanity check.
Accelerator: None (CPU)

## What it measures

Section 5.3 of the ALPS paper (Guo et al., 2020): the top-1 test error of
models trained with ERM, Dropout, label smoothing, MixUp and ALPS

- on clean test images,
- under white-box FGSM (Table 5: L-inf, eps = 4/255) and PGD (Table 6:
  L-inf, 10 steps of 1/255, eps = 4/255, no random start), crafted on each
  model itself,
- under black-box FGSM and PGD: the same attacks crafted on the ERM model
  of the same seed (the "source"), evaluated on each method's model, so the
  ERM row's black-box figures equal its white-box ones,

and the accuracy left after the sanity check for gradient masking: unbounded
PGD (200 iterations of step 0.01, box [0, 1] only) on a fixed subset of test
images, for every method (the paper ran it on MixUp and ALPS only).

All methods of one seed start from the same initial weights (the seed is set
before each base model is built), see the same data order and augmentation,
and use the paper's optimizer recipe (`paper_optimizer`: SGD, momentum 0.9,
learning rate 0.1 divided by 10 at 50% and 75% of the epochs) with coupled
weight decay `PAPER_WEIGHT_DECAY` = 1e-4 and batch 128. Baselines as in the
paper: Dropout = ERM on a base model with `dropout=0.5`; label smoothing 0.1;
MixUp alpha = 1; ALPS with the library defaults (epsilon 0.2, Beta mode 0.9,
concentration 10).

Data (real images, from `--data-dir`, else `$KERASROBUST_DATA_DIR`, else
`../shared/data` relative to the repository root):

- `mnist`: the official MNIST test set (`mnist/t10k-*`), first 8,000 images
  train / last 2,000 test (`load_dataset("mnist_idx")`). The paper has no
  MNIST experiment; we apply its CIFAR attack settings unchanged.
- `cifar10`: the CIFAR-10 subset (`cifar10-subset/cifar10_subset.npz`),
  5,085 train / 1,017 test (`load_dataset("npz")`).

## How it differs from the paper

- Model: `kerasrobust.models.small_cnn` (0.29M parameters) instead of
  PreActResNet18 (11.2M), which trains at about 50 images/s on the 2 CPU
  cores here (100 s per epoch of the CIFAR subset); the small CNN trains at
  500-800 images/s.
- Budget: a few epochs (`--epochs-mnist`, `--epochs-cifar`) instead of 200,
  on ~10% of CIFAR-10's training set and on a split of the MNIST test set,
  so absolute errors are far above the paper's. Compare the methods with
  each other, inside one dataset.
- The unbounded-PGD check runs on `--sanity-size` fixed test images (the
  same for every method and seed), not the whole test set: 200 gradient
  steps per image are the most expensive part of the run.
- Mean ± sample standard deviation (ddof = 1) over `--seeds`; the paper
  does not say which deviation it reports.

## How to run

From the repository root:

```
python benchmarks/alps_tables.py                      # the recorded run
python benchmarks/alps_tables.py --datasets mnist --methods erm,alps \
    --seeds 0 --epochs-mnist 1 --limit-train 512 --limit-test 256 \
    --sanity-size 32 --out /tmp/alps_tables_dry.json   # a 1-minute dry run
```

Outputs (written after every finished cell, each atomically, so a killed run
keeps the cells it finished): `--out` (JSON: command, machine, wall time,
settings, per-seed raw numbers and the summary), the Markdown tables next to
it (`.md`, rows = methods, columns as in Tables 5/6) and a plot (`.png`:
grouped bars with standard-deviation error bars, one panel per dataset).
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

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Benchmark the checkout this script lives in.
    sys.path.insert(0, str(REPO_ROOT))

from _common import DATA_DIR_ENV  # noqa: E402
from _common import find_data_dir  # noqa: E402
from _common import positive_int as _positive_int  # noqa: E402
from _common import choices_list  # noqa: E402
from _common import load_average  # noqa: E402
from _common import machine_info  # noqa: E402
from _common import mean_std  # noqa: E402
from _common import write_json_markdown_plot  # noqa: E402
from _common import seed_list  # noqa: E402
DATASETS = ("mnist", "cifar10")
METHODS = ("erm", "dropout", "label_smoothing", "mixup", "alps")
METHOD_NAMES = {"erm": "ERM", "dropout": "Dropout",
                "label_smoothing": "Label Smoothing", "mixup": "MixUp",
                "alps": "ALPS"}
SOURCE_METHOD = "erm"
DEFAULT_EPOCHS = {"mnist": 2, "cifar10": 4}
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "alps_tables.json"
SANITY_SUBSET_SEED = 1234
#: (key, column title, higher is better) in the order of the tables.
COLUMNS = (
    ("clean_error", "clean error", False),
    ("fgsm_white_box", "FGSM white-box", False),
    ("pgd_white_box", "PGD white-box", False),
    ("fgsm_black_box", "FGSM black-box", False),
    ("pgd_black_box", "PGD black-box", False),
    ("unbounded_pgd_accuracy", "unbounded-PGD accuracy", None),
)


# ------------------------------------------------------------------ flags
def build_parser():
    p = argparse.ArgumentParser(
        description="ALPS paper Tables 5/6 (FGSM/PGD white- and black-box "
                    "error, unbounded-PGD sanity check) for ERM, Dropout, "
                    "label smoothing, MixUp and ALPS on real MNIST and "
                    "CIFAR-10 data.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--datasets", type=choices_list(
        DATASETS, canonical_order=True),
                   default=list(DATASETS),
                   help="comma-separated datasets")
    p.add_argument("--methods", type=choices_list(
        METHODS, canonical_order=True),
                   default=list(METHODS),
                   help="comma-separated methods; 'erm' is always trained "
                        "(it crafts the black-box examples)")
    p.add_argument("--seeds", type=seed_list, default=[0, 1, 2],
                   help="comma-separated seeds (weights, data order, "
                        "augmentation, the methods' random draws)")
    p.add_argument("--epochs-mnist", type=_positive_int,
                   default=DEFAULT_EPOCHS["mnist"],
                   help="training epochs on MNIST (8,000 images)")
    p.add_argument("--epochs-cifar", type=_positive_int,
                   default=DEFAULT_EPOCHS["cifar10"],
                   help="training epochs on the CIFAR-10 subset (5,085 "
                        "images)")
    p.add_argument("--batch-size", type=_positive_int, default=128,
                   help="training batch size")
    p.add_argument("--attack-batch-size", type=_positive_int, default=512,
                   help="images per compiled attack call")
    p.add_argument("--sanity-size", type=_positive_int, default=64,
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
                   help="JSON results; the .md tables and .png plot are "
                        "written next to it with the same stem")
    return p


# ------------------------------------------------------------------- data
def resolve_data_dir(flag_value):
    return find_data_dir(flag_value, "the folders mnist/ and cifar10-subset/",
                         "folder with mnist/ and cifar10-subset/",
                         folder=True)[0]


def load(name, root, limit_train, limit_test):
    from kerasrobust.data import ImageDataset
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
        data = ImageDataset(
            name=data.name, x_train=data.x_train[:limit_train],
            y_train=data.y_train[:limit_train],
            x_test=data.x_test[:limit_test], y_test=data.y_test[:limit_test],
            num_classes=data.num_classes, augmentation=data.augmentation,
            crop_padding=data.crop_padding, class_names=data.class_names,
            split_note=data.split_note + (
                f" (limited: {limit_train} train / {limit_test} test)"))
    return data


# ------------------------------------------------------------------ steps
def train(method, data, seed, epochs, batch_size, width):
    import keras

    from kerasrobust.models import channel_stats
    from kerasrobust.models import small_cnn
    from kerasrobust.training import PAPER_WEIGHT_DECAY
    from kerasrobust.training import make_trainer
    from kerasrobust.training import paper_optimizer
    from kerasrobust.training.factory import PAPER_DROPOUT

    mean, std = channel_stats(data.x_train)
    keras.utils.set_random_seed(seed)  # same initial weights per seed
    base = small_cnn(data.input_shape, data.num_classes, mean=mean, std=std,
                     dropout=PAPER_DROPOUT if method == "dropout" else 0.0,
                     width=width)
    model = make_trainer(method, base, weight_decay=PAPER_WEIGHT_DECAY,
                         seed=seed)
    steps = math.ceil(len(data.x_train) / batch_size)
    model.compile(optimizer=paper_optimizer(steps, epochs),
                  metrics=["accuracy"], jit_compile=False)
    start = time.time()
    history = model.fit(data.train_dataset(batch_size, seed=seed),
                        epochs=epochs, verbose=0)
    return model, time.time() - start, float(history.history["loss"][-1])


def evaluate_cell(model, data, black_box, sanity_index, attack_batch_size):
    from kerasrobust.evaluate import PAPER_FGSM
    from kerasrobust.evaluate import PAPER_PGD
    from kerasrobust.evaluate import SANITY_PGD
    from kerasrobust.evaluate import craft
    from kerasrobust.evaluate import error_percent

    x, y = data.x_test, data.y_test
    out = {"clean_error": error_percent(model, x, y)}
    for name, attack in (("fgsm", PAPER_FGSM), ("pgd", PAPER_PGD)):
        x_adv = craft(model, x, y, attack, batch_size=attack_batch_size)
        out[f"{name}_white_box"] = error_percent(model, x_adv, y)
        out[f"{name}_black_box"] = error_percent(model, black_box[name], y)
    xs, ys = x[sanity_index], y[sanity_index]
    x_adv = craft(model, xs, ys, SANITY_PGD, batch_size=attack_batch_size)
    out["unbounded_pgd_accuracy"] = 100.0 - error_percent(model, x_adv, ys)
    return out


# ----------------------------------------------------------------- report
def summarize(cells, datasets, methods):
    summary = {}
    for dataset in datasets:
        for method in methods:
            rows = [c for c in cells
                    if c["dataset"] == dataset and c["method"] == method]
            if not rows:
                continue
            entry = {"seeds": [c["seed"] for c in rows]}
            for key, _, _ in COLUMNS:
                entry[key] = mean_std([c[key] for c in rows])
            summary.setdefault(dataset, {})[method] = entry
    return summary


def markdown(results):
    settings = results["settings"]
    lines = [
        "# ALPS Tables 5 and 6 on real MNIST and CIFAR-10 data",
        "",
        f"- Command: `{results['command']}`",
        f"- Machine: {results['machine']['summary']}",
        f"- Started {results['started_utc']}; "
        + (f"wall time {results['wall_seconds']:.0f} s "
           f"({results['wall_seconds'] / 60:.1f} min)"
           if results.get("finished") else
           f"in progress: {results['wall_seconds']:.0f} s so far"),
        f"- Model: small_cnn (width {settings['width']}); epochs: "
        + ", ".join(f"{d} {e}" for d, e in settings["epochs"].items())
        + f"; batch {settings['batch_size']}; seeds "
        f"{', '.join(map(str, settings['seeds']))}.",
        "- Attacks (pixel units, images in [0, 1]): FGSM L-inf eps = "
        "4/255; PGD L-inf 10 steps of 1/255, eps = 4/255, no random start; "
        "black-box = crafted on the ERM model of the same seed; unbounded "
        f"PGD = 200 steps of 0.01, box only, on {settings['sanity_size']} "
        "fixed test images.",
        "- Figures: top-1 error in % (lower is better) and, last column, "
        "accuracy in % left by unbounded PGD (should be about 0); "
        "mean ± sample std over seeds; best mean per column in bold.",
        "",
    ]
    for dataset, rows in results["summary"].items():
        info = results["datasets"][dataset]
        lines += [f"## {dataset}: {info['split_note']}", ""]
        header = ["Method"] + [title for _, title, _ in COLUMNS]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        best = {}
        for key, _, higher in COLUMNS:
            if higher is None:
                continue
            means = [r[key]["mean"] for r in rows.values()]
            best[key] = max(means) if higher else min(means)
        for method, entry in rows.items():
            cells = [METHOD_NAMES[method]]
            for key, _, _ in COLUMNS:
                mean, std = entry[key]["mean"], entry[key]["std"]
                text = f"{mean:.2f} ± {std:.2f}" if std is not None else (
                    f"{mean:.2f}")
                if key in best and len(rows) > 1 and mean == best[key]:
                    text = f"**{text}**"
                if method == SOURCE_METHOD and key.endswith("black_box"):
                    text += " †"
                cells.append(text)
            n = len(entry["seeds"])
            cells[0] += f" (n={n})" if n != len(settings["seeds"]) else ""
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", "† ERM is the black-box source model, so its "
                      "black-box figures are its white-box ones.", ""]
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
    for ax, (dataset, rows) in zip(axes[0], summary.items()):
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
        ax.set_title(f"{dataset} ({results['datasets'][dataset]['n_test']} "
                     "test images)")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Adversarial robustness, small_cnn, mean ± std over seeds",
                 fontsize=10)
    fig.tight_layout()
    from kerasrobust._io import atomic_path

    with atomic_path(path, ".tmp.png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def write_outputs(results, out):
    write_json_markdown_plot(out, results, markdown, plot)


# ------------------------------------------------------------------- main
def main(argv=None):
    args = build_parser().parse_args(argv)
    root = resolve_data_dir(args.data_dir)
    import numpy as np

    from kerasrobust.evaluate import PAPER_FGSM
    from kerasrobust.evaluate import PAPER_PGD
    from kerasrobust.evaluate import craft

    methods = [SOURCE_METHOD] + [m for m in args.methods
                                 if m != SOURCE_METHOD]
    start = time.time()
    epochs = {"mnist": args.epochs_mnist, "cifar10": args.epochs_cifar}
    results = {
        "command": shlex.join(["python", "benchmarks/alps_tables.py"]
                              + sys.argv[1:] if argv is None else
                              ["python", "benchmarks/alps_tables.py"]
                              + list(argv)),
        "started_utc": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        "machine": dict(machine_info(),
                        load_average_start=load_average()),
        "settings": {
            "datasets": args.datasets, "methods": methods,
            "seeds": args.seeds,
            "epochs": {d: epochs[d] for d in args.datasets},
            "batch_size": args.batch_size, "width": args.width,
            "sanity_size": args.sanity_size,
            "attack_batch_size": args.attack_batch_size,
            "attacks": {"fgsm": PAPER_FGSM.to_dict(),
                        "pgd": PAPER_PGD.to_dict(),
                        "unbounded_pgd": {"attack": "pgd",
                                          "epsilon": "inf",
                                          "step_size": 0.01, "steps": 200}},
            "black_box_source": "the ERM model of the same seed",
            "optimizer": "paper_optimizer (SGD momentum 0.9, lr 0.1, /10 at "
                         "50% and 75% of the epochs), coupled weight decay "
                         "1e-4",
        },
        "datasets": {}, "cells": [], "summary": {}, "finished": False,
        "wall_seconds": 0.0,
    }
    out = args.out
    print(f"writing {out} (+ .md, .png) after every cell", flush=True)
    for dataset in args.datasets:
        data = load(dataset, root, args.limit_train, args.limit_test)
        sanity_size = min(args.sanity_size, len(data.x_test))
        sanity_index = np.sort(np.random.default_rng(
            SANITY_SUBSET_SEED).choice(len(data.x_test), sanity_size,
                                       replace=False))
        results["datasets"][dataset] = {
            "split_note": data.split_note, "n_train": len(data.x_train),
            "n_test": len(data.x_test), "sanity_size": sanity_size,
            "sanity_index": sanity_index.tolist()}
        for seed in args.seeds:
            black_box = None
            for method in methods:
                import keras
                keras.backend.clear_session()
                t0 = time.time()
                model, train_s, loss = train(method, data, seed,
                                             epochs[dataset],
                                             args.batch_size, args.width)
                t1 = time.time()
                if method == SOURCE_METHOD:
                    black_box = {
                        name: craft(model, data.x_test, data.y_test, attack,
                                    batch_size=args.attack_batch_size)
                        for name, attack in (("fgsm", PAPER_FGSM),
                                             ("pgd", PAPER_PGD))}
                cell = evaluate_cell(model, data, black_box, sanity_index,
                                     args.attack_batch_size)
                cell.update(dataset=dataset, seed=seed, method=method,
                            epochs=epochs[dataset],
                            final_train_loss=loss,
                            train_seconds=round(train_s, 1),
                            eval_seconds=round(time.time() - t1, 1),
                            cell_seconds=round(time.time() - t0, 1))
                results["cells"].append(cell)
                results["summary"] = summarize(results["cells"],
                                               args.datasets, methods)
                results["wall_seconds"] = round(time.time() - start, 1)
                write_outputs(results, out)
                print(f"[{results['wall_seconds']:7.0f}s] {dataset} seed "
                      f"{seed} {method:16s} clean {cell['clean_error']:.2f}"
                      f" fgsm {cell['fgsm_white_box']:.2f}/"
                      f"{cell['fgsm_black_box']:.2f} pgd "
                      f"{cell['pgd_white_box']:.2f}/"
                      f"{cell['pgd_black_box']:.2f} unbounded-acc "
                      f"{cell['unbounded_pgd_accuracy']:.2f} (train "
                      f"{train_s:.0f}s, eval {cell['eval_seconds']:.0f}s)",
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
