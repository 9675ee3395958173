"""
Title: Paper-scale randomized smoothing on one accelerator in 10 minutes
Author: kerasrobust contributors
Date created: 2026/11/30
Last modified: 2026/11/30
Description: ResNet-110 trained with Gaussian augmentation and ADRE on the CIFAR-10 subset, then CERTIFY and T-CERTIFY at n = 100,000, with samples/s against Cohen et al. and the forward-pass limit.
Accelerator: GPU (one); runs on CPU with --smoke

## What it measures

Within a wall-time budget (`--budget-s`, default 600 s, enforced inside the
script from its start, data loading and tracing included):

1. trains a CIFAR ResNet (`--depth`, default 110: Cohen et al.'s and the
   ADRE paper's base classifier) on the CIFAR-10 subset (5,085 images)
   with Basic Gaussian augmentation (k = 1, Cohen et al.) and with ADRE_REG
   (Feng et al., Algorithm 1 with the paper's CIFAR-10 single-draw l_per,
   k = `--num-noise`, lambda = `--lam`), each for `--train-fraction / 2`
   of the budget (SGD momentum 0.9, lr 0.1 divided by 10 after 75 % of
   its time slice; training stops at the end of its slice, mid-epoch if
   need be);
2. measures the forward-pass limit: the base model alone on batches of
   `--certify-batch-size` noisy images (noise added in the graph, argmax
   taken), in samples/s, on the same device;
3. certifies test images (every `len(test) // --images`-th) of the ADRE
   model, then (time allowing) of the Basic model, at n0 = `--n0`, n =
   `--n`, alpha = 0.001, with CERTIFY and T-CERTIFY (library rule: alpha'
   from the selection counts) on the SAME counts, chunk by chunk until the
   budget would be exceeded; records certification samples/s (n0 + n per
   image over the wall time of sampling) and compares with Cohen et al.'s
   published figure (about 15 s per CIFAR-10 image at n = 100,000 with
   ResNet-110 on one RTX 2080 Ti, i.e. about 6.7k samples/s) and with the
   forward-pass limit.

Certified accuracy and ACR are reported for what was certified; with a
few minutes of training on 5,085 images they are far below the paper's
(150 epochs on 50,000 images): this script measures throughput and checks
the whole pipeline at paper scale, not the papers' accuracy.

## How to run

```
python benchmarks/paper_scale.py                 # on a GPU, <= 10 minutes
python benchmarks/paper_scale.py --smoke         # CPU check, <= 150 s budget
```

Outputs: `--out` (JSON, default benchmarks/results/paper_scale.json) and
the Markdown summary next to it (`.md`), written atomically after every
phase, so a run cut short keeps what it finished.
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
import alps_tables as common  # noqa: E402  (data loading)
from _common import build_base  # noqa: E402
from _common import git_commit  # noqa: E402
from _common import load_average  # noqa: E402
from _common import machine_info  # noqa: E402
from _common import paper_sgd  # noqa: E402
from _common import positive_int  # noqa: E402

ALPHA = 0.001
#: Cohen et al. (2019), Section 4 / Appendix: ~15 s per CIFAR-10 image at
#: n0 = 100, n = 100,000 with ResNet-110 on one RTX 2080 Ti.
COHEN_SAMPLES_PER_SECOND = 100_100 / 15.0
RADII = (0.0, 0.25, 0.5, 0.75, 1.0)
DEFAULT_OUT = BENCH_DIR / "results" / "paper_scale.json"


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number, got {text!r}.") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}.")
    return value


def build_parser():
    p = argparse.ArgumentParser(
        description="Train a CIFAR ResNet with Gaussian augmentation and "
                    "ADRE, certify at n = 100,000 with CERTIFY and "
                    "T-CERTIFY, within a wall-time budget; samples/s vs "
                    "Cohen et al. and the forward-pass limit.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--budget-s", type=positive_float, default=600.0,
                   help="wall-time budget of the whole run, from its start")
    p.add_argument("--train-fraction", type=positive_float, default=0.3,
                   help="share of the budget for training (split equally "
                        "between Basic and ADRE)")
    p.add_argument("--depth", type=positive_int, default=110,
                   help="CIFAR ResNet depth (6n + 2)")
    p.add_argument("--sigma", type=positive_float, default=0.25,
                   help="noise level of training and certification")
    p.add_argument("--lam", type=positive_float, default=0.1,
                   help="ADRE lambda")
    p.add_argument("--num-noise", type=positive_int, default=4,
                   help="ADRE k (Gaussian draws per example)")
    p.add_argument("--batch-size", type=positive_int, default=256,
                   help="training batch size")
    p.add_argument("--n0", type=positive_int, default=100,
                   help="selection samples per image")
    p.add_argument("--n", type=positive_int, default=100_000,
                   help="estimation samples per image")
    p.add_argument("--images", type=positive_int, default=100,
                   help="test images to certify per model")
    p.add_argument("--chunk", type=positive_int, default=10,
                   help="images certified between budget checks")
    p.add_argument("--certify-batch-size", type=positive_int, default=4000,
                   help="noisy images per forward pass")
    p.add_argument("--mixed-precision", action="store_true",
                   help="keras mixed_bfloat16 policy for both models")
    p.add_argument("--seed", type=int, default=0, help="seed")
    p.add_argument("--data-dir", default=None,
                   help="folder holding cifar10-subset/ (default: "
                        f"${common.DATA_DIR_ENV}, else ../shared/data)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="JSON results (the .md summary is written beside)")
    p.add_argument("--smoke", action="store_true",
                   help="CPU check: depth 8, budget 150 s, n = 1,000, 4 "
                        "images, certify batch 500 (overrides those flags)")
    return p


def apply_smoke(args):
    if args.smoke:
        args.depth, args.budget_s = 8, 150.0
        args.n, args.images, args.chunk = 1000, 4, 2
        args.certify_batch_size = 500
        args.num_noise = 2
    if args.depth < 8 or (args.depth - 2) % 6:
        sys.exit(f"error: --depth must be 6n + 2 >= 8, got {args.depth}.")
    if not args.train_fraction < 1:
        sys.exit("error: --train-fraction must be in (0, 1), got "
                 f"{args.train_fraction}.")
    return args


def time_budget_callback(seconds):
    """Stops training after `seconds` of wall time (checked after every
    batch) and divides the learning rate by 10 after 75 % of them."""
    import keras

    class TimeBudget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.decayed, self.steps = time.time(), False, 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            elapsed = time.time() - self.start
            if not self.decayed and elapsed > 0.75 * seconds:
                lr = self.model.optimizer.learning_rate
                lr.assign(lr * 0.1)
                self.decayed = True
            if elapsed > seconds:
                self.model.stop_training = True

    return TimeBudget()


def train(method, data, seconds, args):
    import keras

    from kerasrobust.training import PAPER_WEIGHT_DECAY
    from kerasrobust.training import make_trainer

    keras.utils.set_random_seed(args.seed)
    base = build_base(f"resnet{args.depth}", data)
    kwargs = dict(sigma=args.sigma, weight_decay=PAPER_WEIGHT_DECAY,
                  seed=args.seed)
    if method == "gaussian":
        kwargs["num_noise"] = 1
    else:
        kwargs.update(num_noise=args.num_noise, lam=args.lam,
                      single_draw_per=True)
    model = make_trainer(method, base, **kwargs)
    model.compile(optimizer=paper_sgd(),
                  metrics=["accuracy"],
                  # XLA untested on GPU here (see KNOWN-PITFALLS.md).
                  jit_compile=False)
    budget = time_budget_callback(seconds)
    start = time.time()
    history = model.fit(data.train_dataset(args.batch_size, seed=args.seed),
                        epochs=10_000, verbose=0, callbacks=[budget])
    return base, {
        "method": method, "train_seconds": round(time.time() - start, 1),
        "steps": budget.steps,
        "epochs_started": len(history.history.get("loss", [])),
        "images_seen": budget.steps * args.batch_size,
        "final_train_loss": float(history.history["loss"][-1])
        if history.history.get("loss") else None}


def forward_limit(base, x, args, seconds=10.0):
    """Samples/s of the base model alone on noisy copies of one image
    (noise in the graph, argmax), after a warm-up call."""
    import tensorflow as tf

    batch = args.certify_batch_size

    @tf.function
    def step(image, seed):
        noisy = image[None] + args.sigma * tf.random.stateless_normal(
            (batch,) + tuple(image.shape), seed, dtype=image.dtype)
        return tf.argmax(base(noisy, training=False), axis=-1)

    image = tf.constant(x[0])
    step(image, tf.constant([0, 0])).numpy()  # trace
    done, i, start = 0, 0, time.time()
    while time.time() - start < seconds or i < 3:
        step(image, tf.constant([i, 1])).numpy()
        done += batch
        i += 1
    elapsed = time.time() - start
    return {"samples_per_second": round(done / elapsed), "batch": batch,
            "samples": done, "seconds": round(elapsed, 2)}


def certify(base, data, index, deadline, args, label, per_image=None):
    """CERTIFY and T-CERTIFY on the same counts, chunk by chunk while the
    next chunk fits before `deadline` (judged from the last chunk's time,
    else from `per_image`, seconds per image measured on another model; the
    first chunk runs regardless when there is no estimate)."""
    import numpy as np

    from kerasrobust.smoothing import SmoothedClassifier
    from kerasrobust.smoothing import average_certified_radius
    from kerasrobust.smoothing import certified_accuracy
    from kerasrobust.smoothing import certify_counts_batch

    smoothed = SmoothedClassifier(base, data.num_classes, args.sigma,
                                  seed=args.seed)
    smoothed.sample_counts(data.x_test[:1], args.certify_batch_size,
                           args.certify_batch_size)  # trace
    c0, c, done, sample_s = [], [], [], 0.0
    for start in range(0, len(index), args.chunk):
        chunk = index[start:start + args.chunk]
        if per_image is not None and (
                time.time() + per_image * len(chunk) > deadline):
            break
        t0 = time.time()
        x = data.x_test[chunk]
        c0.append(smoothed.sample_counts(x, args.n0,
                                         args.certify_batch_size))
        c.append(smoothed.sample_counts(x, args.n, args.certify_batch_size))
        elapsed = time.time() - t0
        sample_s += elapsed
        per_image = elapsed / len(chunk)
        done.extend(chunk.tolist())
        print(f"  {label}: {len(done)} images certified, "
              f"{per_image:.2f} s/image", flush=True)
    out = {"images": len(done), "index": done,
           "sampling_seconds": round(sample_s, 2),
           "samples_per_second": round(
               len(done) * (args.n0 + args.n) / sample_s) if done else None,
           "seconds_per_image": per_image}
    if not done:
        return out
    counts0, counts = np.concatenate(c0), np.concatenate(c)
    y = data.y_test[np.asarray(done)]
    for method, name in (("cohen", "CERTIFY"), ("tight", "T-CERTIFY")):
        labels, radii = certify_counts_batch(counts0, counts, args.sigma,
                                             ALPHA, method=method)
        columns = {"predict": labels, "label": y, "radius": radii,
                   "correct": labels == y}
        out[method] = {"name": name,
                       "certified_accuracy": [float(v) for v in
                                              certified_accuracy(columns,
                                                                 RADII)],
                       "acr": average_certified_radius(columns),
                       "radius": [float(r) for r in radii]}
    out["tight_minus_cohen_acr"] = out["tight"]["acr"] - out["cohen"]["acr"]
    return out


def markdown(r):
    s = r["settings"]
    lines = [
        "# Paper-scale randomized smoothing within a wall-time budget", "",
        f"- Command: `{r['command']}`",
        f"- Commit: {r.get('commit')}",
        f"- Machine: {r['machine']['summary']}; device {r['device']}; "
        f"load average at start {r['machine']['load_average_start']}",
        f"- Budget {s['budget_s']:.0f} s; wall time {r['wall_seconds']:.0f}"
        f" s; finished: {r['finished']}; within budget: "
        f"{r.get('within_budget', '-')} (the budget is checked between "
        "training steps and certification chunks; tracing and the first "
        "chunk cannot be cut short)",
        f"- ResNet-{s['depth']}, sigma {s['sigma']}, ADRE lambda "
        f"{s['lam']} k {s['num_noise']}; n0 {s['n0']}, n {s['n']}, alpha "
        f"{ALPHA}; mixed precision {s['mixed_precision']}", "",
        "| phase | figures |", "|---|---|"]
    for t in r.get("training", []):
        lines.append(f"| train {t['method']} | {t['train_seconds']} s, "
                     f"{t['steps']} steps ({t['images_seen']} images), "
                     f"final loss {t['final_train_loss']:.3f} |")
    if "forward_limit" in r:
        lines.append(f"| forward-pass limit | "
                     f"{r['forward_limit']['samples_per_second']:,} "
                     "samples/s |")
    for label, c in r.get("certify", {}).items():
        if not c.get("images"):
            lines.append(f"| certify {label} | no image fitted the budget |")
            continue
        sps = c["samples_per_second"]
        fwd = r.get("forward_limit", {}).get("samples_per_second")
        lines.append(
            f"| certify {label} | {c['images']} images, {sps:,} samples/s "
            f"= {sps / COHEN_SAMPLES_PER_SECOND:.2f} x Cohen et al.'s "
            f"{COHEN_SAMPLES_PER_SECOND:,.0f}"
            + (f", {sps / fwd:.2f} x the forward-pass limit" if fwd else "")
            + f"; ACR CERTIFY {c['cohen']['acr']:.3f}, T-CERTIFY "
            f"{c['tight']['acr']:.3f}; certified accuracy at "
            f"{', '.join(map(str, RADII))}: CERTIFY "
            f"{', '.join(f'{v:.2f}' for v in c['cohen']['certified_accuracy'])}"
            f", T-CERTIFY "
            f"{', '.join(f'{v:.2f}' for v in c['tight']['certified_accuracy'])}"
            " |")
    return "\n".join(lines) + "\n"


def write(results, out):
    from kerasrobust._io import atomic_write_json
    from kerasrobust._io import atomic_write_text

    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, results)
    atomic_write_text(out.with_suffix(".md"), markdown(results))


def main(argv=None):
    start = time.time()
    args = apply_smoke(build_parser().parse_args(argv))
    deadline = start + args.budget_s
    root = common.resolve_data_dir(args.data_dir)
    import keras
    import numpy as np
    import tensorflow as tf

    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    gpus = tf.config.list_physical_devices("GPU")
    device = (tf.config.experimental.get_device_details(gpus[0]).get(
        "device_name", gpus[0].name) if gpus else "CPU")
    data = common.load("cifar10", root, None, None)
    argv_list = sys.argv[1:] if argv is None else list(argv)
    results = {
        "command": shlex.join(["python", "benchmarks/paper_scale.py"]
                              + argv_list),
        "commit": git_commit(),
        "started_utc": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        "machine": dict(machine_info(), load_average_start=load_average()),
        "device": device,
        "settings": {k: v for k, v in vars(args).items()
                     if k not in ("out", "data_dir")},
        "cohen_samples_per_second": round(COHEN_SAMPLES_PER_SECOND),
        "training": [], "certify": {}, "finished": False,
        "wall_seconds": 0.0,
    }
    results["settings"]["out"] = str(args.out)
    slice_s = args.budget_s * args.train_fraction / 2
    models = {}
    for method in ("gaussian", "adre"):
        keras.backend.clear_session()
        # Each slice ends at most slice_s after now; the remaining budget
        # bounds it too.
        seconds = min(slice_s, deadline - time.time() - 0.3 * args.budget_s)
        base, record = train(method, data, max(seconds, 1.0), args)
        models[method] = base
        results["training"].append(record)
        results["wall_seconds"] = round(time.time() - start, 1)
        write(results, args.out)
        print(f"[{time.time() - start:5.0f}s] trained {method}: {record}",
              flush=True)
    results["forward_limit"] = forward_limit(
        models["adre"], data.x_test, args,
        seconds=min(10.0, 0.02 * args.budget_s))
    print(f"[{time.time() - start:5.0f}s] forward-pass limit: "
          f"{results['forward_limit']}", flush=True)
    skip = max(1, len(data.x_test) // args.images)
    index = np.arange(0, len(data.x_test), skip)[:args.images]
    margin = 0.02 * args.budget_s  # writing the results
    per_image = None
    for label in ("adre", "gaussian"):
        results["certify"][label] = certify(
            models[label], data, index, deadline - margin, args, label,
            per_image)
        per_image = results["certify"][label]["seconds_per_image"]
        results["wall_seconds"] = round(time.time() - start, 1)
        write(results, args.out)
    results["finished"] = True
    results["within_budget"] = time.time() - start <= args.budget_s
    results["wall_seconds"] = round(time.time() - start, 1)
    results["machine"]["load_average_end"] = load_average()
    write(results, args.out)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
