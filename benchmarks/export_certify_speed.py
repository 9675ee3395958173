"""
Title: Speed of the exported `certify` signature relative to SmoothedClassifier.certify
Author: kerasrobust contributors
Date created: 2026/11/21
Last modified: 2026/11/21
Description: Seconds per image of CERTIFY and T-CERTIFY served from a SavedModel (everything in the graph) against the Python path (compiled sampling + the same statistics run eagerly), and of the statistics alone.
Accelerator: None (CPU)

## What it measures

`kerasrobust.export_saved_model` moves the whole certification into the
graph: the sampling (the same compiled counter as `SmoothedClassifier`) and
the statistics (the one implementation of `kerasrobust.smoothing.certify`,
float64 TensorFlow ops, traced into the signature; the Python API runs the
same ops eagerly). This script times, for the same model and images:

- `python`: `SmoothedClassifier(model, 10, sigma).certify(x, n0, n, alpha,
  method)`;
- `export`: the `certify` signature of the exported model, loaded with
  `tf.saved_model.load` in this process;

for `method` in cohen (CERTIFY) and tight (T-CERTIFY), in blocks run back
to back in a shuffled order within each repeat, and reports the ratio
`export / python` per repeat (mean +- std over repeats). It also times the
statistics alone on the counts of one `python` block
(`certify_counts_batch`, all images in one call) and their share of the
`python` block.

Model: `small_cnn` with seeded, untrained weights (only time matters; its
votes are spread over the classes, which is the slow case for T-CERTIFY's
runner-up bound). Images: real CIFAR-10 subset test images.

## How to run

From the repository root:

```
python benchmarks/export_certify_speed.py
python benchmarks/export_certify_speed.py --images 2 --repeats 2 --n 1000
```

Writes `benchmarks/results/export_certify_speed.json`.
"""

import argparse
import datetime
import os
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _common import REPO_ROOT  # noqa: E402
from _common import find_data_dir  # noqa: E402
from _common import load_average  # noqa: E402
from _common import machine_info  # noqa: E402
from _common import positive_int  # noqa: E402
from _common import stats  # noqa: E402

DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / (
    "export_certify_speed.json")
METHODS = ("cohen", "tight")


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[2])
    p.add_argument("--images", type=positive_int, default=4,
                   help="test images per block (default: 4)")
    p.add_argument("--repeats", type=positive_int, default=5,
                   help="repeats of every block (default: 5)")
    p.add_argument("--n0", type=positive_int, default=100)
    p.add_argument("--n", type=positive_int, default=2000)
    p.add_argument("--alpha", type=float, default=0.001)
    p.add_argument("--sigma", type=float, default=0.25)
    p.add_argument("--batch-size", type=positive_int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None,
                   help="folder of cifar10_subset.npz (default: "
                        "$KERASROBUST_DATA_DIR, else ../shared/data)")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return p


def timed(fn):
    """`(wall seconds, CPU seconds)` of `fn()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None):
    args = build_parser().parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    path, source = find_data_dir(
        args.data_dir, "the real CIFAR-10 subset (cifar10_subset.npz)",
        "the .npz or its folder")

    import keras
    import tensorflow as tf

    import kerasrobust
    from kerasrobust.data import load_dataset
    from kerasrobust.smoothing import certify_counts_batch

    data = load_dataset("npz", data_dir=str(path))
    x = data.x_test[:args.images]
    keras.utils.set_random_seed(args.seed)
    mean, std = kerasrobust.models.channel_stats(data.x_train)
    model = kerasrobust.models.small_cnn(
        input_shape=data.input_shape, num_classes=data.num_classes,
        mean=mean, std=std)
    smoothed = kerasrobust.SmoothedClassifier(
        model, data.num_classes, sigma=args.sigma, seed=args.seed)
    export_dir = Path(tempfile.mkdtemp()) / "export"
    kerasrobust.export_saved_model(smoothed, export_dir,
                                   batch_size=args.batch_size,
                                   seed=args.seed)
    served = tf.saved_model.load(str(export_dir))
    alpha64 = tf.constant(args.alpha, tf.float64)
    x_tensor = tf.constant(x)

    def python_block(method):
        return lambda: smoothed.certify(
            x, args.n0, args.n, args.alpha, batch_size=args.batch_size,
            method=method, verbose=0)

    def export_block(method):
        return lambda: served.certify(
            x_tensor, args.n0, args.n, alpha64, method)["radius"].numpy()

    blocks = {(path_, m): (python_block if path_ == "python"
                           else export_block)(m)
              for path_ in ("python", "export") for m in METHODS}
    for fn in blocks.values():  # warm-up: traces, first calls
        fn()

    # Statistics alone, on the counts of one python block.
    result = smoothed.certify(x, args.n0, args.n, args.alpha,
                              batch_size=args.batch_size, verbose=0)
    cs = result.counts_selection
    ce = result.counts_estimation
    stats_blocks = {}
    for m in METHODS:
        stats_blocks[("stats", m)] = (
            lambda m=m: certify_counts_batch(cs, ce, args.sigma, args.alpha,
                                             method=m))
        stats_blocks[("stats", m)]()  # trace

    rng = random.Random(args.seed)
    raw = []
    for repeat in range(args.repeats):
        order = list(blocks) + list(stats_blocks)
        rng.shuffle(order)
        row = {"repeat": repeat, "load_average": load_average()}
        for key in order:
            fn = blocks.get(key) or stats_blocks[key]
            wall, cpu = timed(fn)
            row[f"{key[0]}_{key[1]}"] = {"wall": wall, "cpu": cpu}
        raw.append(row)
        print(f"repeat {repeat}: " + ", ".join(
            f"{k} {v['wall'] / len(x):.3f} s/image" for k, v in row.items()
            if isinstance(v, dict)), flush=True)

    summary = {}
    for m in METHODS:
        for name, num, den in (("export / python", "export", "python"),
                               ("statistics / python", "stats",
                                "python")):
            for clock in ("wall", "cpu"):
                ratios = [r[f"{num}_{m}"][clock] / r[f"{den}_{m}"][clock]
                          for r in raw]
                summary[f"{m}: {name} ({clock})"] = stats(ratios)
        for key in ("python", "export", "stats"):
            summary[f"{m}: {key} seconds per image (wall)"] = stats(
                [r[f"{key}_{m}"]["wall"] / len(x) for r in raw])
    for key, value in summary.items():
        print(f"{key:45} {value['mean']:.4g} ± {value['std']:.3g} "
              f"(median {value['median']:.4g}, n={value['n']})")

    finished = datetime.datetime.now(datetime.timezone.utc)
    from kerasrobust._io import atomic_write_json

    atomic_write_json(args.output, {
        "command": "python " + " ".join(
            shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
        "machine": machine_info(),
        "data": f"{path} ({source})",
        "settings": vars(args) | {"output": str(args.output)},
        "started_utc": started.isoformat(),
        "wall_seconds": (finished - started).total_seconds(),
        "raw": raw,
        "summary": summary,
    })
    print(f"wall time {(finished - started).total_seconds():.0f} s; "
          f"saved {args.output}")


if __name__ == "__main__":
    main()
