"""
Title: Certification at scale: replicas, shard processes and 16-bit sampling
Author: kerasrobust contributors
Date created: 2026/11/30
Last modified: 2026/11/30
Description: Samples/s of SmoothedClassifier.certify with 1 and 2 replicas (tf.distribute.MirroredStrategy) and with 2 shard processes, against the forward pass alone; and certify with mixed_bfloat16 / mixed_float16 sampling against float32 (speed and vote agreement).
Accelerator: None (CPU; two logical CPU devices)

## What it measures

Part `scaling` (issue 10, item 7), on real MNIST test images (the last
2,000 of the official test set) and the 2-conv `small_cnn` (untrained,
seeded weights: only the timing matters):

- `forward`: the base model alone in a `tf.function` on pre-made batches of
  `--batch-size` clean images, `images x (n0 + n)` images in all;
- `certify_1`: `SmoothedClassifier.certify` on one device;
- `certify_2`: the same inside a `MirroredStrategy` over two logical CPU
  devices (the forward passes are dealt out to both replicas; each replica
  runs passes of `--batch-size` images);
- `shards_2`: two processes (`--worker` mode of this script), each
  certifying half of the images (shard 1/2 and 2/2 of the same image list,
  per-image noise), timed from the earliest start to the latest end of their
  certify calls (imports and the warm-up call excluded).

Each figure is samples/s = images x (n0 + n) / seconds, and the ratios to
`certify_1` (scaling efficiency: 1.0 = no slower than one device; linear
for 2 devices is 2.0) and `certify_1 / forward` are reported. On a 2-core
CPU the two logical devices and the two processes share the same two cores,
so the target here is "no slower than one device"; on a multi-GPU machine
linear scaling is the target.

Part `precision` (issue 12, item 5): `certify` with
`sampling_precision="float32"`, `"mixed_bfloat16"`, `"mixed_float16"` on the
same images and seed, after a short Gaussian-noise training of the small CNN
(a trained model, so that votes are not coin flips): wall and CPU seconds,
labels and radii versus float32, and the exact vote agreement: the fraction
of identical argmax votes of the float32 model and its 16-bit copy on the
same noisy images.

## How to run

```
python benchmarks/certify_scaling.py
python benchmarks/certify_scaling.py --parts scaling --images 8 --n 4000 --repeats 3
```

Flags: `--parts` (`scaling,precision`), `--images` (4), `--n0` (100), `--n`
(2000), `--batch-size` (500), `--repeats` (2), `--data-dir` (default
`$KERASROBUST_DATA_DIR` or `../shared/data`), `--output`
(`benchmarks/results/certify_scaling.json`).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def _two_cpus(tf):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


def _data(data_dir, images):
    from kerasrobust.data import load_dataset

    data = load_dataset("mnist_idx", data_dir=data_dir)
    return data.x_test[:images], data.y_test[:images]


def _model(seed=0):
    import kerasrobust

    model = kerasrobust.models.small_cnn(input_shape=(28, 28, 1),
                                         num_classes=10)
    model(__import__("numpy").zeros((1, 28, 28, 1), "float32"))
    return model


def _certify_seconds(smoothed, x, args, indices):
    began, cpu = time.perf_counter(), time.process_time()
    result = smoothed.certify(x, args.n0, args.n, 0.001,
                              batch_size=args.batch_size, verbose=0,
                              indices=indices, seed=1)
    return time.perf_counter() - began, time.process_time() - cpu, result


def worker(args):
    """One shard process: certifies shard `args.worker` of the images and
    prints its start and end times (after a warm-up) as JSON."""
    import keras
    import numpy as np

    from kerasrobust.smoothing import SmoothedClassifier
    from kerasrobust.smoothing.logs import shard_indices

    keras.utils.set_random_seed(0)
    x, _ = _data(args.data_dir, args.images)
    index, count = map(int, args.worker.split("/"))
    mine = shard_indices(np.arange(len(x)), (index, count))
    smoothed = SmoothedClassifier(_model(), 10, 0.25, seed=0)
    smoothed.certify(x[:1], 10, 100, 0.001, verbose=0)     # warm-up
    # Start together: wait for the go file the parent writes.
    go = Path(args.go)
    while not go.exists():
        time.sleep(0.01)
    start = time.time()
    _, _, result = _certify_seconds(smoothed, x[mine], args, mine)
    print(json.dumps({"start": start, "end": time.time(),
                      "images": len(mine),
                      "counts": result.counts_estimation.tolist()}))


def scaling(args, tf, np, machine):
    import keras

    from kerasrobust.smoothing import SmoothedClassifier

    keras.utils.set_random_seed(0)
    x, _ = _data(args.data_dir, args.images)
    indices = np.arange(len(x))
    draws = len(x) * (args.n0 + args.n)
    model = _model()
    forward = tf.function(lambda z: model(z, training=False))
    batch = tf.constant(np.repeat(x[:1], args.batch_size, axis=0))
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    one = SmoothedClassifier(model, 10, 0.25, seed=0)
    with strategy.scope():
        two = SmoothedClassifier(model, 10, 0.25, seed=0)
    for smoothed in (one, two):             # warm-up: tracing
        smoothed.certify(x[:2], 10, 100, 0.001, verbose=0)
    forward(batch).numpy()
    rows = []
    reference = None
    for repeat in range(args.repeats):
        row = {"repeat": repeat, "load_before": os.getloadavg()[0]}
        began = time.perf_counter()
        for _ in range(-(-draws // args.batch_size)):
            forward(batch).numpy()
        row["forward"] = draws / (time.perf_counter() - began)
        for name, smoothed in (("certify_1", one), ("certify_2", two)):
            seconds, _, result = _certify_seconds(smoothed, x, args, indices)
            row[name] = draws / seconds
            if reference is None:
                reference = result.counts_estimation
            row[f"{name}_same_counts"] = bool(np.array_equal(
                result.counts_estimation, reference))
        row["replica_draws"] = two.last_replica_draws.tolist()
        row["shards_2"], same = _shards(args, draws, reference)
        row["shards_2_same_counts"] = same
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {}
    for key in ("forward", "certify_1", "certify_2", "shards_2"):
        values = [r[key] for r in rows]
        summary[key] = {"mean": float(np.mean(values)),
                        "min": float(np.min(values)),
                        "max": float(np.max(values))}
    ratios = {
        "certify_1 / forward": [r["certify_1"] / r["forward"] for r in rows],
        "certify_2 / certify_1": [r["certify_2"] / r["certify_1"]
                                  for r in rows],
        "shards_2 / certify_1": [r["shards_2"] / r["certify_1"]
                                 for r in rows],
    }
    return {"rows": rows, "samples_per_s": summary,
            "ratios": {k: {"mean": float(np.mean(v)), "values": v}
                       for k, v in ratios.items()}}


def _shards(args, draws, reference):
    import tempfile

    import numpy as np

    go = Path(tempfile.mkdtemp()) / "go"
    cmd = [sys.executable, __file__, "--images", str(args.images), "--n0",
           str(args.n0), "--n", str(args.n), "--batch-size",
           str(args.batch_size), "--go", str(go)]
    if args.data_dir:
        cmd += ["--data-dir", str(args.data_dir)]
    procs = [subprocess.Popen(cmd + ["--worker", f"{i}/2"],
                              stdout=subprocess.PIPE, text=True)
             for i in (1, 2)]
    # Give both time to load and warm up, then start them together.
    time.sleep(args.worker_startup)
    go.write_text("go")
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1])
            for p in procs]
    seconds = max(o["end"] for o in outs) - min(o["start"] for o in outs)
    counts = np.zeros_like(reference)
    counts[0::2] = outs[0]["counts"]
    counts[1::2] = outs[1]["counts"]
    return draws / seconds, bool(np.array_equal(counts, reference))


def precision(args, tf, np, machine):
    import keras

    import kerasrobust
    from kerasrobust.smoothing import SmoothedClassifier
    from kerasrobust.smoothing import sampling
    from kerasrobust.data import load_dataset

    keras.utils.set_random_seed(0)
    data = load_dataset("mnist_idx", data_dir=args.data_dir)
    model = _model()
    trainer = kerasrobust.training.GaussianAugment(model, sigma=0.25, seed=0)
    trainer.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                    metrics=["accuracy"])
    began = time.perf_counter()
    trainer.fit(data.x_train[:4000], data.y_train[:4000], batch_size=64,
                epochs=1, verbose=0)
    train_seconds = time.perf_counter() - began
    x = data.x_test[:args.images]
    out = {"train_seconds": train_seconds, "runs": {}}
    base = None
    for name in sampling.PRECISIONS:
        smoothed = SmoothedClassifier(model, 10, 0.25, seed=0,
                                      sampling_precision=name)
        smoothed.certify(x[:1], 10, 100, 0.001, verbose=0)   # warm-up
        wall, cpu, result = _certify_seconds(smoothed, x, args,
                                             np.arange(len(x)))
        run = {"wall_s": wall, "cpu_s": cpu,
               "samples_per_s": len(x) * (args.n0 + args.n) / wall,
               "label": result.label.tolist(),
               "radius": result.radius.tolist()}
        # Exact vote agreement on the same noisy images (1,000 per image).
        copy = smoothed._sampling_model()
        noise = tf.random.stateless_normal((len(x), 1000) + x.shape[1:],
                                           seed=[7, 7])
        noisy = tf.reshape(x[:, None] + 0.25 * noise, (-1,) + x.shape[1:])
        votes16 = np.argmax(np.asarray(copy.predict(noisy, verbose=0,
                                                    batch_size=1000),
                                       np.float32), 1)
        votes32 = np.argmax(model.predict(noisy, verbose=0,
                                          batch_size=1000), 1)
        run["vote_agreement"] = float(np.mean(votes16 == votes32))
        if base is None:
            base = result
        run["labels_equal_float32"] = bool(np.array_equal(result.label,
                                                          base.label))
        run["max_radius_diff"] = float(np.max(np.abs(result.radius
                                                     - base.radius)))
        run["ratio_wall_vs_float32"] = (
            wall / out["runs"]["float32"]["wall_s"] if out["runs"] else 1.0)
        run["ratio_cpu_vs_float32"] = (
            cpu / out["runs"]["float32"]["cpu_s"] if out["runs"] else 1.0)
        out["runs"][name] = run
        print(name, json.dumps({k: v for k, v in run.items()
                                if k not in ("label", "radius")}), flush=True)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", default="scaling,precision")
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--n0", type=int, default=100)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--worker-startup", type=float, default=60.0,
                   help="seconds the shard processes get to start")
    p.add_argument("--output",
                   default=str(HERE / "results" / "certify_scaling.json"))
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--go", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.data_dir is None:
        from _common import find_data_dir
        args.data_dir = str(find_data_dir(None, "mnist", "MNIST IDX files",
                                          folder=True)[0])

    import numpy as np
    import tensorflow as tf

    if args.worker:
        return worker(args)
    _two_cpus(tf)
    from _common import machine_info

    began = time.time()
    results = {"command": " ".join(sys.argv), "machine": machine_info(),
               "load_start": os.getloadavg(), "settings": {
                   k: getattr(args, k) for k in ("images", "n0", "n",
                                                 "batch_size", "repeats")}}
    for part in args.parts.split(","):
        results[part] = {"scaling": scaling, "precision": precision}[part](
            args, tf, np, results["machine"])
    results["load_end"] = os.getloadavg()
    results["wall_s"] = time.time() - began
    from kerasrobust._io import atomic_write_json

    atomic_write_json(args.output, results)
    print(json.dumps({k: results[k] for k in ("load_start", "load_end",
                                              "wall_s")}))
    if "scaling" in results:
        print(json.dumps(results["scaling"]["ratios"], indent=1))


if __name__ == "__main__":
    main()
