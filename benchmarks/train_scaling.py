"""
Title: Per-step time and peak memory of training under 1 and 2 replicas
Author: kerasrobust contributors
Date created: 2026/11/30
Last modified: 2026/11/30
Description: Train-step time and peak memory for ERM, MixUp/ALPS (global and replica-local partners) and Gaussian augmentation, on 1 and 2 replicas.
Accelerator: None (CPU; GPUs are used when present)

## What it measures

Each configuration (method, partner mode, replicas) runs in a fresh Python
process, so its peak memory is its own. On a CPU machine the process splits
its CPU into `--replicas` logical devices and trains under
`tf.distribute.MirroredStrategy` over them (1 replica: no strategy); with
GPUs it uses that many GPUs. The model is `small_cnn` on 32x32x3 images,
global batch `--batch-size` (split over the replicas), built by
`kerasrobust.training.make_trainer` with `seed=0`,
`weight_decay=PAPER_WEIGHT_DECAY` (1e-4) and `_common.paper_sgd()` (SGD,
lr 0.1, momentum 0.9), `jit_compile=False`. Images are uniform random
pixels in [0, 1]: step time and memory do not depend on pixel values.

After `fit(steps_per_epoch=2)` (build, trace) and `--warmup` steps, the
compiled `train_function` runs `--steps` times; the per-step time is the
median of those steps, each synchronized by reading the loss back. Peak
memory is the process' maximum resident set size (`ru_maxrss`) on CPU
(both replicas live in one process, so it is the sum over replicas plus
TensorFlow's baseline, reported by the `erm` row), and
`tf.config.experimental.get_memory_info(...)["peak"]` per GPU.

Methods: `erm`; `mixup` and `alps` with `partners="global"` (exact global
partner draw, the default: the batch is all-gathered onto every replica)
and `partners="replica"` (partners from the replica's own rows);
`gaussian` with `--num-noise` draws (each replica generates only its rows'
noise); and, for comparison, `gaussian/global-noise`: the former scheme,
where every replica drew the whole global batch's noise and kept its rows
(emulated here by replacing `draw_noise`).

## How to run

```
python benchmarks/train_scaling.py
python benchmarks/train_scaling.py --replicas 1,2 --steps 10 --batch-size 256
```

The table is printed and written, with the command, machine and load
average, to `benchmarks/results/train_scaling.json` (atomically).
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from _common import comma_list  # noqa: E402
from _common import load_average  # noqa: E402
from _common import machine_info  # noqa: E402
from _common import paper_sgd  # noqa: E402
from _common import positive_int  # noqa: E402

CONFIGS = (("erm", None), ("mixup", "global"), ("mixup", "replica"),
           ("alps", "global"), ("alps", "replica"), ("gaussian", None),
           ("gaussian", "global-noise"))
IMAGE_SHAPE = (32, 32, 3)


def child(config):
    """Runs one configuration; prints one JSON line."""
    import resource

    import tensorflow as tf

    replicas = config["replicas"]
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        devices = [f"/gpu:{i}" for i in range(replicas)]
    else:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
        devices = [f"/cpu:{i}" for i in range(replicas)]
    import numpy as np

    from kerasrobust.models import get_model
    from kerasrobust.training import PAPER_WEIGHT_DECAY
    from kerasrobust.training import make_trainer

    strategy = (tf.distribute.MirroredStrategy(devices) if replicas > 1
                else tf.distribute.get_strategy())
    extra = {}
    if config["method"] == "gaussian":
        extra["num_noise"] = config["num_noise"]
    elif config["partners"]:
        extra["partners"] = config["partners"]
    with strategy.scope():
        base = get_model("small_cnn", input_shape=IMAGE_SHAPE,
                         num_classes=10)
        model = make_trainer(config["method"], base, seed=0,
                             weight_decay=PAPER_WEIGHT_DECAY, **extra)
        if config["partners"] == "global-noise":
            model.draw_noise = _global_noise_draw(model)
        model.compile(optimizer=paper_sgd(), jit_compile=False)
    rng = np.random.default_rng(0)
    n = config["batch_size"]
    x = rng.random((n,) + IMAGE_SHAPE, dtype=np.float32)
    y = rng.integers(0, 10, size=n)
    ds = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)
    iterator = iter(strategy.experimental_distribute_dataset(ds))
    for _ in range(config["warmup"]):
        float(model.train_function(iterator)["loss"])
    times = []
    for _ in range(config["steps"]):
        start = time.perf_counter()
        float(model.train_function(iterator)["loss"])
        times.append(time.perf_counter() - start)
    result = dict(config, step_seconds=statistics.median(times),
                  step_seconds_all=times,
                  peak_rss_mb=resource.getrusage(
                      resource.RUSAGE_SELF).ru_maxrss / 1024)
    if gpus:
        result["gpu_peak_mb"] = [
            tf.config.experimental.get_memory_info(
                f"GPU:{i}")["peak"] / 2**20 for i in range(replicas)]
    print("RESULT " + json.dumps(result), flush=True)


def _global_noise_draw(model):
    """The former scheme, for comparison: every replica draws the noise of
    the whole global batch and keeps its rows."""
    import keras
    from keras import ops

    from kerasrobust.training._distribute import row_layout

    def draw_noise(x):
        local_size = ops.shape(x)[0]
        global_size, first = row_layout(local_size)
        shape = (model.num_noise, global_size) + tuple(x.shape[1:])
        noise = keras.random.normal(shape, stddev=model.sigma, dtype=x.dtype,
                                    seed=model.seed_generator)
        return noise[:, first:first + local_size]

    return draw_noise


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("##")[0],
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--replicas", type=comma_list, default=["1", "2"])
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--num-noise", type=positive_int, default=4)
    p.add_argument("--steps", type=positive_int, default=10)
    p.add_argument("--warmup", type=positive_int, default=2)
    p.add_argument("--methods", type=comma_list,
                   default=sorted({m for m, _ in CONFIGS}),
                   help="run only these methods' rows (erm, mixup, alps, "
                        "gaussian); default: all")
    p.add_argument("--output", default=str(
        REPO_ROOT / "benchmarks" / "results" / "train_scaling.json"))
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = set(args.methods) - {m for m, _ in CONFIGS}
    if unknown:
        p.error(f"--methods: unknown {sorted(unknown)}; allowed: "
                f"{sorted({m for m, _ in CONFIGS})}")
    if args.child:
        return child(json.loads(args.child))

    start = time.time()
    load_before = load_average()
    rows = []
    # Each configuration on every replica count back to back, so that the
    # rows compared with each other ran close in time (shared machine).
    for method, partners in CONFIGS:
        if method not in args.methods:
            continue
        for replicas in (int(r) for r in args.replicas):
            config = dict(method=method, partners=partners,
                          replicas=replicas, batch_size=args.batch_size,
                          num_noise=args.num_noise, steps=args.steps,
                          warmup=args.warmup)
            out = subprocess.run(
                [sys.executable, __file__, "--child", json.dumps(config)],
                capture_output=True, text=True, check=False)
            lines = [line for line in out.stdout.splitlines()
                     if line.startswith("RESULT ")]
            if out.returncode or not lines:
                sys.exit(f"configuration {config} failed:\n"
                         f"{out.stderr[-3000:]}")
            row = json.loads(lines[-1][len("RESULT "):])
            rows.append(row)
            print(_format(row), flush=True)
            _write(args, argv, rows, start, load_before)  # partial results
    _write(args, argv, rows, start, load_before, done=True)
    return 0


def _write(args, argv, rows, start, load_before, done=False):
    results = {
        "command": " ".join(shlex.quote(a) for a in [
            "python", "benchmarks/train_scaling.py", *(argv or sys.argv[1:])]),
        "machine": machine_info(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "wall_seconds": round(time.time() - start, 1),
        "complete": done,
        "rows": rows,
    }
    from kerasrobust._io import atomic_write_json

    atomic_write_json(args.output, results)
    if done:
        print(f"wrote {args.output} ({results['wall_seconds']} s; load "
              f"{load_before} -> {results['load_average_after']})")


def _format(row):
    name = row["method"] + (f"/{row['partners']}" if row["partners"] else "")
    name = name.replace("gaussian/global-noise", "gaussian/global")
    if row["method"] == "gaussian":
        name += f" k={row['num_noise']}"  # noqa: E501
    gpu = (f"  gpu peak {max(row['gpu_peak_mb']):.0f} MB"
           if "gpu_peak_mb" in row else "")
    return (f"replicas={row['replicas']}  {name:<16} "
            f"{1000 * row['step_seconds']:8.1f} ms/step  "
            f"peak rss {row['peak_rss_mb']:7.0f} MB{gpu}")


if __name__ == "__main__":
    sys.exit(main())
