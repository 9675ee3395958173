"""
Title: Per-worker input work of the sharded pipeline
Author: kerasrobust contributors
Date created: 2026/11/30
Last modified: 2026/11/30
Description: Seconds per epoch of one worker's pipeline (gather, crop, flip, uint8 to float32 of its rows only) for 1, 2 and 4 workers, against the global pipeline every worker ran before.
Accelerator: None (CPU)

## What it measures

Under a strategy the wrappers' `fit` gives each worker its own pipeline
(`kerasrobust.data.distribute_dataset`): it walks the shuffled indices and
batch seeds of every global batch but gathers, augments and converts only
its replicas' rows. Before, every worker ran the whole global pipeline and
kept its rows (`AutoShardPolicy.DATA`). This script times, in one process,
one epoch of

- `global`: the `make_dataset` pipeline itself (what each worker ran
  before, whatever the number of workers),
- `worker0/W`: worker 0's pipeline among W workers with one replica each
  (`make_dataset(...)._kerasrobust_per_worker` with an input context of W
  pipelines, as `distribute_datasets_from_function` builds it),

on the CIFAR-10 subset's training images (5,085, uint8, crop with padding
4 + flip, global batch `--batch-size`). The versions run in a shuffled order
per repeat; the ratio to `global` is taken within each repeat and reported
as the median over `--repeats`. Each worker's share of the rows is 1/W;
the index walk (a shuffle of 5,085 integers and one seed per batch) is the
part every worker still repeats.

## How to run

```
python benchmarks/pipeline_sharding.py
```

Flags: `--data-dir`, `--batch-size` (128), `--workers` (`1,2,4`),
`--repeats` (7), `--out` (`benchmarks/results/pipeline_sharding.json`).
"""

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT  # noqa: E402
from _common import comma_list  # noqa: E402
from _common import find_cifar10_subset  # noqa: E402
from _common import load_average  # noqa: E402
from _common import machine_info  # noqa: E402
from _common import positive_int  # noqa: E402


class InputContext:
    """The fields of `tf.distribute.InputContext` the pipeline reads."""

    def __init__(self, workers, index):
        self.num_input_pipelines = workers
        self.input_pipeline_id = index
        self.num_replicas_in_sync = workers


def epoch_seconds(dataset):
    start = time.perf_counter()
    rows = 0
    for images, _ in dataset:
        rows += int(images.shape[0])
    return time.perf_counter() - start, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[2])
    parser.add_argument("--data-dir")
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--workers", type=comma_list, default=["1", "2", "4"])
    parser.add_argument("--repeats", type=positive_int, default=7)
    parser.add_argument("--out", default=str(
        REPO_ROOT / "benchmarks" / "results" / "pipeline_sharding.json"))
    args = parser.parse_args(argv)
    path, source = find_cifar10_subset(args.data_dir)
    from kerasrobust.data import load_dataset
    from kerasrobust.data import make_dataset

    start = time.time()
    data = load_dataset("npz", data_dir=str(path))
    ds = make_dataset(data.stored_images("train"), data.y_train,
                      args.batch_size, training=True,
                      augmentation=data.augmentation,
                      crop_padding=data.crop_padding, seed=0)
    versions = {"global": ds}
    for w in (int(v) for v in args.workers):
        versions[f"worker0/{w}"] = ds._kerasrobust_per_worker(
            InputContext(w, 0))
    for dataset in versions.values():  # warm-up: tracing, thread pools
        epoch_seconds(dataset)
    times = {name: [] for name in versions}
    rows = {}
    rng = random.Random(0)
    for _ in range(args.repeats):
        order = list(versions)
        rng.shuffle(order)
        for name in order:
            seconds, rows[name] = epoch_seconds(versions[name])
            times[name].append(seconds)
    results = {}
    for name in versions:
        ratios = [t / g for t, g in zip(times[name], times["global"])]
        results[name] = {
            "rows_per_epoch": rows[name],
            "seconds_median": statistics.median(times[name]),
            "seconds": times[name],
            "ratio_to_global_median": statistics.median(ratios),
        }
        print(f"{name:10s} rows {rows[name]:5d}  "
              f"{statistics.median(times[name]) * 1000:7.1f} ms/epoch  "
              f"x{statistics.median(ratios):.2f} of global")
    record = {
        "command": " ".join([Path(sys.executable).name] + sys.argv),
        "data": f"{path} ({source})",
        "batch_size": args.batch_size,
        "machine": machine_info(),
        "load_average": load_average(),
        "wall_seconds": round(time.time() - start, 1),
        "results": results,
    }
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
