"""
Title: Resident memory of the input pipeline (uint8 storage)
Author: kerasrobust contributors
Date created: 2026/11/30
Last modified: 2026/11/30
Description: Resident memory of loading the CIFAR-10 subset and running one epoch of its training and test pipelines, for the current code and an earlier commit, each in a fresh process.
Accelerator: None (CPU)

## What it measures

`ImageDataset` used to hold every dataset as float32 in [0, 1], and
`make_dataset` built its `tf.data` pipeline from those arrays with
`from_tensor_slices` (a second, TensorFlow-owned float32 copy). Now byte
datasets stay `uint8` (`keep_uint8`) and the pipeline divides each batch by
255. For each code version this script starts a fresh Python process that

1. imports TensorFlow and `kerasrobust.data` (the baseline: `VmRSS` here is
   subtracted from the figures below),
2. `load_dataset("npz", data_dir=<cifar10-subset>)`: 5,085 train and 1,017
   test 32x32x3 images,
3. builds `train_dataset(batch_size=--batch-size, seed=0)` (shuffled, random
   crop and flip) and `test_dataset(batch_size=256)`,
4. reads one epoch of each,

and records `VmRSS` (resident memory) after steps 2, 3 and 4 and `VmHWM`
(the process's peak resident memory) at the end, from `/proc/self/status`.
The code versions are the working tree (`current`) and, with
`--baseline-commit`, the `kerasrobust/` package of that commit extracted
with `git archive` (`baseline`). The CIFAR-10 arrays themselves are 62.5 MB
(train, float32) + 12.5 MB (test) as float32 and a quarter of that as
uint8; a full CIFAR-10 (50,000 + 10,000 images) is 737 MB as float32 and
184 MB as uint8, held about twice (NumPy array and the pipeline's tensor).

## How to run

```
python benchmarks/pipeline_memory.py --baseline-commit 0b1db75
```

Flags: `--data-dir` (the folder holding `cifar10-subset/`, or the `.npz`),
`--batch-size` (128), `--baseline-commit` (none), `--repeats` (3: fresh
processes per version; the median is reported), `--out`
(`benchmarks/results/pipeline_memory.json`).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT  # noqa: E402
from _common import find_cifar10_subset  # noqa: E402
from _common import load_average  # noqa: E402
from _common import positive_int  # noqa: E402

MB = 1024 * 1024


def _status(field):
    """`field` of /proc/self/status in bytes (`VmRSS`, `VmHWM`)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(data_dir, batch_size):
    """Runs the four steps in this process; prints one JSON line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf  # noqa: F401

    from kerasrobust import data as krdata

    rss = {"import": _status("VmRSS")}
    ds = krdata.load_dataset("npz", data_dir=str(data_dir))
    rss["loaded"] = _status("VmRSS")
    train = ds.train_dataset(batch_size=batch_size, seed=0)
    test = ds.test_dataset(batch_size=256)
    rss["built"] = _status("VmRSS")
    n = sum(int(tf.shape(y)[0]) for _, y in train)
    n += sum(int(tf.shape(y)[0]) for _, y in test)
    rss["epoch"] = _status("VmRSS")
    stored = getattr(ds, "stored_images", None)
    print(json.dumps({
        "rss_bytes": rss, "peak_bytes": _status("VmHWM"), "examples": n,
        "stored_dtype": str((stored("train") if stored else ds.x_train)
                            .dtype),
    }))


def run_version(tree, data_dir, batch_size):
    env = dict(os.environ, PYTHONPATH=str(tree), TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--data-dir", str(data_dir),
         "--batch-size", str(batch_size)],
        env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarize(runs):
    """Median over runs of each figure, in MB above the import baseline."""
    def med(values):
        return round(statistics.median(values) / MB, 1)

    base = [r["rss_bytes"]["import"] for r in runs]
    out = {f"rss_after_{k}_mb": med([r["rss_bytes"][k] - b
                                     for r, b in zip(runs, base)])
           for k in ("loaded", "built", "epoch")}
    out["peak_mb"] = med([r["peak_bytes"] - b for r, b in zip(runs, base)])
    out["import_baseline_mb"] = med(base)
    out["stored_dtype"] = runs[0]["stored_dtype"]
    out["runs"] = runs
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[2])
    parser.add_argument("--data-dir")
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--baseline-commit")
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--out", default=str(
        REPO_ROOT / "benchmarks" / "results" / "pipeline_memory.json"))
    parser.add_argument("--child", action="store_true",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    path, source = find_cifar10_subset(args.data_dir)
    if args.child:
        child(path, args.batch_size)
        return
    start = time.time()
    trees = {"current": REPO_ROOT}
    tmp = None
    if args.baseline_commit:
        tmp = tempfile.TemporaryDirectory()
        archive = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "archive", args.baseline_commit,
             "kerasrobust"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp.name], input=archive,
                       check=True)
        trees["baseline"] = Path(tmp.name)
    results = {}
    for _ in range(args.repeats):  # interleaved: same load for both
        for name, tree in trees.items():
            results.setdefault(name, []).append(
                run_version(tree, path, args.batch_size))
    summary = {name: summarize(runs) for name, runs in results.items()}
    record = {
        "command": " ".join([Path(sys.executable).name] + sys.argv),
        "data": f"{path} ({source})",
        "batch_size": args.batch_size,
        "baseline_commit": args.baseline_commit,
        "load_average": load_average(),
        "wall_seconds": round(time.time() - start, 1),
        "results": summary,
    }
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    for name, s in summary.items():
        print(f"{name:9s} stored {s['stored_dtype']:8s} MB above import: "
              f"loaded {s['rss_after_loaded_mb']:6.1f}  built "
              f"{s['rss_after_built_mb']:6.1f}  after one epoch "
              f"{s['rss_after_epoch_mb']:6.1f}  peak {s['peak_mb']:6.1f}")
    print(f"wrote {args.out}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
