"""
Title: Speed of SmoothedClassifier.certify relative to the forward pass alone
Author: kerasrobust contributors
Date created: 2026/11/21
Last modified: 2026/11/21
Description: Seconds per image of CERTIFY (n0 = 100, n = 10,000) against the base model's forward pass over the same number of images, for the small CNN and ResNet-110, in one run.
Accelerator: None (CPU)

## What it measures

Certifying one image with randomized smoothing runs the base model on
`n0 + n` noisy copies of it. However the sampling is organized, that many
forward passes is the floor. This script measures how close
`kerasrobust.smoothing.SmoothedClassifier.certify` comes to it. For each
model (untrained, built with seeded weights: only the timing matters) and
each repeat, three blocks handle the same `--images` real CIFAR-10 test
images:

- `certify`: `SmoothedClassifier(model, 10, sigma=0.25).certify(x, n0=100,
  n=10000, alpha=0.001, batch_size=B)`: noise, forward passes and counting
  in the compiled sampling function, then the Clopper-Pearson bounds;
- `forward`: the base model alone (`model(batch, training=False)` in a
  `tf.function`) on `images x (n0 + n)` images, as fixed pre-made batches
  of `B` copies of the clean images (no noise), the result read back after
  every batch;
- `forward_noise`: the same batches with Gaussian noise added in the graph
  (`tf.random.stateless_normal`) before the forward pass: the cost of the
  noise alone, without the in-graph loop and the counting.

The ratio `certify / forward` is computed within each repeat from blocks run
back to back in a shuffled order (the machine may be shared: interleaving
keeps the ratio fair when the load changes), and reported as mean +- std
over seeds x repeats. The same ratio of the process's CPU time
(`time.process_time`, all threads) is reported next to it: it measures the
work done and is much less sensitive to other processes competing for the
cores than wall time (the 1-minute load average before every block is
recorded). Targets (issue): `certify <= 1.20 x forward`; the
Gaussian sampling itself was expected at about 0.16 x. (ART's smoothing,
which draws the noise with NumPy on the host, was quoted at about 5 x; it is
not measured here.)

ResNet-110 runs at about 5-8 ms per image on 2 CPU cores, so one image with
n = 10,000 costs about a minute per block: the default certifies 1 image per
block for it (3 repeats) and 2 images for the small CNN (4 repeats). The
default run takes about 12-15 minutes on a 2-core CPU.

## How to run

From the repository root:

```
python benchmarks/certify_speed.py
python benchmarks/certify_speed.py --models small_cnn --repeats 2 --n 2000
```

Flags (defaults in brackets): `--models` (`small_cnn,cifar_resnet110`),
`--images` (`small_cnn=2,cifar_resnet110=1`), `--repeats`
(`small_cnn=4,cifar_resnet110=3`), `--seeds` (`0`), `--n0` (100), `--n`
(10000), `--batch-size` (1000), `--sigma` (0.25), `--data-dir`,
`--output`. `--images` and `--repeats` take one integer for every model or
`model=value` pairs separated by commas.

The data folder is `--data-dir`, else `$KERASROBUST_DATA_DIR`, else
`../shared/data` relative to the repository root: the CIFAR-10 subset
`.npz` file or a folder holding it.

The JSON (`benchmarks/results/certify_speed.json`, written atomically)
holds the command, the machine with the load average at the start and end
and before every block, the wall time, every block's timing and the
summary.
"""

import argparse
import datetime
import gc
import os
import random
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Benchmark the checkout this script lives in.
    sys.path.insert(0, str(REPO_ROOT))

MEASURES = ("certify", "forward", "forward_noise")
TARGET_RATIO = 1.20
ALPHA = 0.001
from _common import DATA_DIR_ENV  # noqa: E402
from _common import find_data_dir  # noqa: E402
from _common import load_average as _load_average  # noqa: E402
from _common import machine_info  # noqa: E402
from _common import positive_int as _positive_int  # noqa: E402
from _common import stats as _stats  # noqa: E402
from _common import choices_list  # noqa: E402
from _common import per_model  # noqa: E402
from _common import per_model_values  # noqa: E402
from _common import seed_list  # noqa: E402
SUPPORTED_MODELS = ("small_cnn", "cifar_resnet110", "preact_resnet18",
                    "vgg16")
DEFAULT_MODELS = ("small_cnn", "cifar_resnet110")
DEFAULT_IMAGES = {"small_cnn": 2, "cifar_resnet110": 1}
DEFAULT_REPEATS = {"small_cnn": 4, "cifar_resnet110": 3}
FALLBACK_IMAGES = 1
FALLBACK_REPEATS = 3
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / "certify_speed.json"


# ------------------------------------------------------------------ flags
def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number, got {text!r}.") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}.")
    return value


def build_parser():
    def show(defaults):
        return ",".join(f"{m}={v}" for m, v in defaults.items())

    parser = argparse.ArgumentParser(
        description="Seconds per image of SmoothedClassifier.certify versus "
                    "the forward pass alone over the same number of images "
                    "(interleaved repeats).")
    parser.add_argument(
        "--models", type=choices_list(SUPPORTED_MODELS),
        default=list(DEFAULT_MODELS),
        help=f"comma-separated models (default: {','.join(DEFAULT_MODELS)};"
             f" choices: {', '.join(SUPPORTED_MODELS)}).")
    parser.add_argument(
        "--images", type=per_model_values(SUPPORTED_MODELS),
        default=dict(DEFAULT_IMAGES),
        help="test images per block: N or model=N,... (default: "
             f"{show(DEFAULT_IMAGES)}; others {FALLBACK_IMAGES}).")
    parser.add_argument(
        "--repeats", type=per_model_values(SUPPORTED_MODELS),
        default=dict(DEFAULT_REPEATS),
        help="interleaved repeats: N or model=N,... (default: "
             f"{show(DEFAULT_REPEATS)}; others {FALLBACK_REPEATS}).")
    parser.add_argument(
        "--seeds", type=seed_list, default=[0],
        help="comma-separated seeds of the weights and the noise "
             "(default: 0).")
    parser.add_argument("--n0", type=_positive_int, default=100,
                        help="selection draws per image (default: 100).")
    parser.add_argument("--n", type=_positive_int, default=10000,
                        help="estimation draws per image (default: 10000).")
    parser.add_argument("--batch-size", type=_positive_int, default=1000,
                        help="noisy images per forward pass (default: "
                             "1000, Cohen et al.'s).")
    parser.add_argument("--sigma", type=_positive_float, default=0.25,
                        help="noise level (default: 0.25).")
    parser.add_argument(
        "--data-dir", default=None,
        help=f"CIFAR-10 subset .npz or a folder holding it (default: "
             f"${DATA_DIR_ENV}, else ../shared/data from the repo root).")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT,
        help="JSON results file (default: "
             "benchmarks/results/certify_speed.json).")
    return parser


# ------------------------------------------------------------------- data
def load_data(flag_value):
    """`(ImageDataset, source)`; exits with a clear message if missing."""
    path, source = find_data_dir(
        flag_value, "the real CIFAR-10 subset (cifar10_subset.npz)",
        "the .npz or its folder")
    from kerasrobust.data import load_dataset

    try:
        return load_dataset("npz", data_dir=str(path)), source
    except (FileNotFoundError, KeyError, ValueError) as error:
        sys.exit(f"error: cannot load the CIFAR-10 subset from {path}: "
                 f"{error}")


# ----------------------------------------------------------------- timing
class Timers:
    """The three timed blocks of one model and seed, built and warmed up."""

    def __init__(self, model_name, seed, data, mean, std, x, args):
        import keras
        import numpy as np
        import tensorflow as tf

        from kerasrobust.models import get_model
        from kerasrobust.smoothing import SmoothedClassifier

        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        self.model = get_model(model_name, input_shape=data.input_shape,
                               num_classes=data.num_classes, mean=mean,
                               std=std)
        self.num_params = int(self.model.count_params())
        self.x = x
        self.args = args
        self.smoothed = SmoothedClassifier(
            self.model, data.num_classes, args.sigma, seed=seed)
        sigma = tf.constant(args.sigma, tf.float32)
        model = self.model

        @tf.function
        def forward(batch):
            return model(batch, training=False)

        @tf.function
        def forward_noise(batch, noise_seed):
            noise = tf.random.stateless_normal(tf.shape(batch), noise_seed)
            return model(batch + sigma * noise, training=False)

        self.forward_fn, self.forward_noise_fn = forward, forward_noise
        # Pre-made batches: copies of the clean images, the same number of
        # images as certify's n0 + n per image, in batches of batch_size.
        total = len(x) * (args.n0 + args.n)
        full, rest = divmod(total, args.batch_size)
        tiled = tf.constant(
            x[np.arange(args.batch_size) % len(x)])
        self.batches = [tiled] * full
        if rest:
            self.batches.append(tiled[:rest])
        self.total_images = total
        self.seed_offset = seed * 1_000_003

        start = time.perf_counter()
        # Trace every shape the timed blocks use.
        self.smoothed.certify(x, args.n0, args.n, ALPHA,
                              batch_size=args.batch_size, verbose=0)
        for batch in {int(b.shape[0]): b for b in self.batches}.values():
            forward(batch).numpy()
            forward_noise(batch, tf.constant([seed, 0])).numpy()
        self.warmup_s = time.perf_counter() - start
        self.calls = 0

    def certify(self):
        result = self.smoothed.certify(
            self.x, self.args.n0, self.args.n, ALPHA,
            batch_size=self.args.batch_size, verbose=0)
        return {"abstained": int((result.label == -1).sum()),
                "mean_radius": float(result.radius.mean())}

    def forward(self):
        for batch in self.batches:
            self.forward_fn(batch).numpy()
        return {}

    def forward_noise(self):
        import tensorflow as tf

        for batch in self.batches:
            self.calls += 1
            seed = tf.constant([self.seed_offset + self.calls, 1])
            self.forward_noise_fn(batch, seed).numpy()
        return {}


def benchmark_model(model_name, seed, data, mean, std, images, repeats,
                    args):
    x = data.x_test[:images]
    timers = Timers(model_name, seed, data, mean, std, x, args)
    order_rng = random.Random(f"{model_name}-{seed}")
    blocks = []
    for repeat in range(repeats):
        order = list(MEASURES)
        order_rng.shuffle(order)
        seconds, cpu_seconds, extra, load = {}, {}, {}, {}
        for measure in order:
            gc.collect()
            load[measure] = _load_average()
            start, cpu_start = time.perf_counter(), time.process_time()
            extra[measure] = getattr(timers, measure)()
            seconds[measure] = time.perf_counter() - start
            cpu_seconds[measure] = time.process_time() - cpu_start
        per_image = {m: seconds[m] / images for m in MEASURES}
        blocks.append({
            "repeat": repeat,
            "order": order,
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "seconds_per_image": per_image,
            "ratio_to_forward": {
                m: seconds[m] / seconds["forward"] for m in MEASURES},
            "cpu_ratio_to_forward": {
                m: cpu_seconds[m] / cpu_seconds["forward"] for m in MEASURES},
            "certify_over_forward_noise":
                seconds["certify"] / seconds["forward_noise"],
            "load_average_before": load,
            "certify_result": extra["certify"],
        })
        wall_ratio = blocks[-1]["ratio_to_forward"]["certify"]
        cpu_ratio = blocks[-1]["cpu_ratio_to_forward"]["certify"]
        print(f"  {model_name} seed {seed} repeat {repeat}: " + ", ".join(
            f"{m} {per_image[m]:.3f} s/img" for m in MEASURES)
            + f"; certify/forward {wall_ratio:.3f} (CPU time "
            f"{cpu_ratio:.3f}); load {(_load_average() or [0])[0]:.1f}",
            flush=True)
    return {
        "model": model_name,
        "seed": seed,
        "images_per_block": images,
        "noisy_images_per_image": args.n0 + args.n,
        "num_params": timers.num_params,
        "max_forward_batch": timers.smoothed.max_forward_batch,
        "warmup_s": timers.warmup_s,
        "blocks": blocks,
    }


# ---------------------------------------------------------------- summary
def summarize(runs, models, args):
    summary = []
    for model_name in models:
        blocks = [b for r in runs if r["model"] == model_name
                  for b in r["blocks"]]
        if not blocks:
            continue
        first = next(r for r in runs if r["model"] == model_name)
        row = {
            "model": model_name,
            "num_params": first["num_params"],
            "images_per_block": first["images_per_block"],
            "noisy_images_per_image": first["noisy_images_per_image"],
            "seconds_per_image": {
                m: _stats([b["seconds_per_image"][m] for b in blocks])
                for m in MEASURES},
            "ratio_to_forward": {
                m: _stats([b["ratio_to_forward"][m] for b in blocks])
                for m in MEASURES if m != "forward"},
            "certify_over_forward_noise": _stats(
                [b["certify_over_forward_noise"] for b in blocks]),
            "cpu_ratio_to_forward": {
                m: _stats([b["cpu_ratio_to_forward"][m] for b in blocks])
                for m in MEASURES if m != "forward"},
            "load_average_1min": _stats(
                [v[0] for b in blocks
                 for v in b["load_average_before"].values()
                 if v is not None] or [float("nan")]),
        }
        mean_ratio = row["ratio_to_forward"]["certify"]["mean"]
        row["target"] = {
            "max_ratio": TARGET_RATIO,
            "met_by_mean": mean_ratio <= TARGET_RATIO,
            "fraction_of_blocks_within": sum(
                b["ratio_to_forward"]["certify"] <= TARGET_RATIO
                for b in blocks) / len(blocks),
        }
        summary.append(row)
    return summary


def format_table(summary):
    header = (f"{'model':<16} {'imgs':>4} {'blocks':>6} "
              f"{'certify s/img':>14} {'forward s/img':>14} "
              f"{'certify/forward':>16} {'noise+fwd/forward':>17} "
              f"{'CPU-time certify/fwd':>20} {'load':>4}  target")
    lines = [header, "-" * len(header)]
    for row in summary:
        s, r = row["seconds_per_image"], row["ratio_to_forward"]
        c = row["cpu_ratio_to_forward"]["certify"]
        ok = "yes" if row["target"]["met_by_mean"] else "NO"
        lines.append(
            f"{row['model']:<16} {row['images_per_block']:>4} "
            f"{r['certify']['n']:>6} "
            f"{s['certify']['mean']:>14.3f} {s['forward']['mean']:>14.3f} "
            f"{r['certify']['mean']:>7.3f} +- {r['certify']['std']:<5.3f} "
            f"{r['forward_noise']['mean']:>8.3f} +- "
            f"{r['forward_noise']['std']:<5.3f} "
            f"{c['mean']:>11.3f} +- {c['std']:<5.3f} "
            f"{row['load_average_1min']['mean']:>4.1f}  "
            f"<= {TARGET_RATIO:.2f}x: {ok}")
    return "\n".join(lines)


# ------------------------------------------------------------------- main
def main(argv=None):
    args = build_parser().parse_args(argv)
    command = shlex.join(["python"] + sys.argv if argv is None
                         else ["python", sys.argv[0]] + list(argv))
    started = datetime.datetime.now(datetime.timezone.utc)
    wall_start = time.perf_counter()
    load_start = _load_average()
    data, data_source = load_data(args.data_dir)

    from kerasrobust._io import atomic_write_json
    from kerasrobust.models import channel_stats

    mean, std = channel_stats(data.x_train)
    plan = {
        m: {"images": per_model(args.images, m, DEFAULT_IMAGES,
                                FALLBACK_IMAGES),
            "repeats": per_model(args.repeats, m, DEFAULT_REPEATS,
                                 FALLBACK_REPEATS)}
        for m in args.models
    }
    print(f"command: {command}")
    print(f"data: {data.split_note} ({data_source})")
    print("plan: " + "; ".join(
        f"{m} {p['images']} image(s) x {p['repeats']} repeats"
        for m, p in plan.items())
        + f"; seeds {args.seeds}; n0={args.n0}, n={args.n}, batch "
        f"{args.batch_size}, sigma={args.sigma}", flush=True)

    runs = []
    for model_name in args.models:
        for seed in args.seeds:
            runs.append(benchmark_model(
                model_name, seed, data, mean, std,
                plan[model_name]["images"], plan[model_name]["repeats"],
                args))
    summary = summarize(runs, args.models, args)
    wall_s = time.perf_counter() - wall_start
    finished = datetime.datetime.now(datetime.timezone.utc)

    print()
    print(format_table(summary))
    print("\nratios within each repeat (blocks back to back, shuffled "
          "order), mean +- std over seeds x repeats; s/img: wall seconds "
          f"per certified image ({args.n0} + {args.n} noisy copies); CPU-time"
          " ratio: the same ratio of this process's CPU time (less "
          "sensitive to other processes' load); load: mean 1-minute load "
          "average before the blocks.")
    print(f"wall time: {wall_s:.0f} s")

    machine = machine_info()
    machine["load_average_start"] = load_start
    machine["load_average_end"] = _load_average()
    result = {
        "benchmark": "certify_speed",
        "command": command,
        "cwd": os.getcwd(),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": finished.isoformat(timespec="seconds"),
        "wall_time_s": wall_s,
        "machine": machine,
        "config": {
            "models": args.models,
            "plan": plan,
            "seeds": args.seeds,
            "n0": args.n0,
            "n": args.n,
            "alpha": ALPHA,
            "sigma": args.sigma,
            "batch_size": args.batch_size,
            "method": "cohen",
            "data": data.split_note,
            "data_source": data_source,
            "images": "the first images of x_test",
            "weights": "untrained, seeded (timing only)",
            "measures": {
                "certify": "SmoothedClassifier.certify(x, n0, n, alpha, "
                           "batch_size), statistics included",
                "forward": "tf.function(model(batch, training=False)) over "
                           "images x (n0 + n) images in pre-made batches of "
                           "batch_size clean copies, read back per batch",
                "forward_noise": "the same with stateless Gaussian noise "
                                 "added in the graph before the forward",
            },
        },
        "target": {"max_ratio_certify_to_forward": TARGET_RATIO},
        "summary": summary,
        "runs": runs,
    }
    atomic_write_json(args.output, result)
    print(f"wrote {args.output}")
    return result


if __name__ == "__main__":
    main()
