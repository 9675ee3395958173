"""
Title: Train-step overhead of MixUp and ALPS relative to ERM
Author: kerasrobust contributors
Date created: 2026/11/21
Last modified: 2026/11/30
Description: Time per compiled train step of ERM, MixUp and ALPS on the same model and batch, side by side in one run.
Accelerator: None (CPU)

## What it measures

ALPS claims a training step that costs about as much as plain ERM: one
forward and one backward pass, plus a mixing of the inputs (a Beta draw per
sample, a permutation, a gather) and a least-likely-class label. This script
measures that claim. For each model and seed it builds three training
wrappers with `kerasrobust.training.make_trainer`:

- `erm`: `ERM`,
- `mixup`: `MixUp(alpha=1.0)` (one lambda per batch, its default),
- `alps`: `ALPS` with its defaults (`epsilon=0.2`, `beta_mode=0.9`,
  `beta_concentration=10`, one lambda per sample),

around copies of one base model with identical initial weights, each with
`weight_decay=1e-4`, `seed=<seed>`, and compiled with its own
`keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)`,
`metrics=["accuracy"]` and `jit_compile=False`. XLA is off for every method
so that the recorded figures (measured when MixUp and ALPS could not be
compiled) compare the same kind of execution; all three support
`jit_compile=True` now (MixUp and ALPS draw lambda with TensorFlow
Probability's Beta sampler, `training.mixing.sample_beta`), and on a CPU
Keras' `"auto"` leaves XLA off anyway.

The three wrappers train on the same batch: the first `--batch-size` images of
the real CIFAR-10 subset (`cifar10_subset.npz`, `x_train`), as a
`tf.data.Dataset` of that one batch repeated. Each wrapper is warmed up with
`fit(ds, steps_per_epoch=2, epochs=1)` (build, trace) and `--warmup` more
steps; then the timed path is the compiled train function itself,
`model.train_function(iterator)` called `--steps` times on an iterator of the
dataset, synchronized by reading the loss back, so `fit`'s per-epoch set-up
and callbacks are not timed. The path is the same for all methods.

Noise control (the machine is shared): for each repeat the three methods run
their block of `--steps` steps in a shuffled order, and the ratio
`method / ERM` is computed within each repeat, from blocks run back to back.
Ratios are reported as mean +- std over all `seeds x repeats` blocks; the
seed changes the initial weights and the wrappers' random draws.

As a diagnostic, the script also times the method hooks alone (the
`vicinal_batch` mixing and the `vicinal_targets` labelling, compiled as one
`tf.function` on the same batch), which is where the extra work of MixUp and
ALPS is: the forward and backward passes are the same for all three.

Target (issue): ALPS <= 1.10 x ERM, checked on the mean ratio.

## How to run

From the repository root:

```
python benchmarks/train_step_overhead.py
python benchmarks/train_step_overhead.py --models small_cnn --seeds 0 \
    --repeats 3 --steps 10
```

Flags (defaults in brackets): `--models` (`small_cnn,preact_resnet18`),
`--seeds` (`0,1,2`), `--repeats` (8), `--steps` (steps per timed block:
`small_cnn=10,preact_resnet18=2`), `--batch-size`
(`small_cnn=128,preact_resnet18=32`), `--warmup` (3), `--data-dir`,
`--output`. `--steps` and `--batch-size` take one integer for every model or
`model=value` pairs separated by commas.

The data folder is `--data-dir`, else `$KERASROBUST_DATA_DIR`, else
`../shared/data` relative to the repository root: the `.npz` file or a folder
holding it (directly or in one subfolder).

The figures in `benchmarks/results/train_step_overhead.json` were produced
with the defaults above (the command is recorded in the file) on a shared
2-core CPU machine without GPU: `small_cnn` at batch 128 with 10 steps per
block and `preact_resnet18` at batch 32 with 2 steps per block, 8 repeats,
seeds 0, 1, 2. That run took 546 s (about 9 minutes).

The script prints a table and writes the JSON atomically (temporary file then
`os.replace`): command, machine, wall time, every block's timing and the
summary.
"""

import argparse
import datetime
import gc
import math
import os
import random
import shlex
import statistics
import sys
import time
from pathlib import Path

# Fewer TensorFlow C++ start-up messages around the table (set the variable
# to 0 to see them all).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Benchmark the checkout this script lives in.
    sys.path.insert(0, str(REPO_ROOT))

METHODS = ("erm", "mixup", "alps")
BASELINE = "erm"
TARGET_METHOD = "alps"
TARGET_RATIO = 1.10
MIXUP_ALPHA = 1.0
FIT_WARMUP_STEPS = 2
HOOK_CALLS = 20
from _common import DATA_DIR_ENV  # noqa: E402
from _common import find_data_dir  # noqa: E402
from _common import load_average as _load_average  # noqa: E402
from _common import machine_info  # noqa: E402
from _common import paper_sgd  # noqa: E402
from _common import positive_int as _positive_int  # noqa: E402
from _common import stats as _stats  # noqa: E402
from _common import choices_list  # noqa: E402
from _common import per_model  # noqa: E402
from _common import per_model_values  # noqa: E402
from _common import seed_list  # noqa: E402
DEFAULT_MODELS = ("small_cnn", "preact_resnet18")
DEFAULT_STEPS = {"small_cnn": 10, "preact_resnet18": 2}
DEFAULT_BATCH_SIZE = {"small_cnn": 128, "preact_resnet18": 32}
# Models not listed above: few steps at a small batch (they are big).
FALLBACK_STEPS = 2
FALLBACK_BATCH_SIZE = 32
# `cifar_resnet` needs a depth; `cifar_resnet110` is its named variant.
SUPPORTED_MODELS = ("small_cnn", "preact_resnet18", "vgg16",
                    "cifar_resnet110", "resnet50")
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results" / (
    "train_step_overhead.json")


# ------------------------------------------------------------------ flags
def build_parser():
    def per_model_default(defaults):
        return ",".join(f"{m}={v}" for m, v in defaults.items())

    parser = argparse.ArgumentParser(
        description=(
            "Time per compiled train step of MixUp and ALPS relative to ERM "
            "(same model, weights and batch; interleaved repeats)."
        )
    )
    parser.add_argument(
        "--models", type=choices_list(SUPPORTED_MODELS),
        default=list(DEFAULT_MODELS),
        help=f"comma-separated models (default: {','.join(DEFAULT_MODELS)}; "
             f"choices: {', '.join(SUPPORTED_MODELS)}).")
    parser.add_argument(
        "--seeds", type=seed_list, default=[0, 1, 2],
        help="comma-separated seeds: initial weights and the wrappers' seed "
             "(default: 0,1,2).")
    parser.add_argument(
        "--repeats", type=_positive_int, default=8,
        help="interleaved repeats per model and seed (default: 8).")
    parser.add_argument(
        "--steps", type=per_model_values(SUPPORTED_MODELS),
        default=dict(DEFAULT_STEPS),
        help="train steps per timed block: N or model=N,... (default: "
             f"{per_model_default(DEFAULT_STEPS)}; others {FALLBACK_STEPS}).")
    parser.add_argument(
        "--batch-size", type=per_model_values(SUPPORTED_MODELS),
        default=dict(DEFAULT_BATCH_SIZE),
        help="batch size: N or model=N,... (default: "
             f"{per_model_default(DEFAULT_BATCH_SIZE)}; others "
             f"{FALLBACK_BATCH_SIZE}).")
    parser.add_argument(
        "--warmup", type=_positive_int, default=3,
        help="untimed train steps per wrapper after the tracing fit "
             "(default: 3).")
    parser.add_argument(
        "--data-dir", default=None,
        help=f"CIFAR-10 subset .npz or a folder holding it (default: "
             f"${DATA_DIR_ENV}, else ../shared/data from the repo root).")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT,
        help="JSON results file (default: "
             "benchmarks/results/train_step_overhead.json).")
    return parser


# ------------------------------------------------------------------- data
def resolve_data_dir(flag_value):
    """Returns `(path, source)`; exits with a clear message if missing."""
    return find_data_dir(flag_value,
                         "the real CIFAR-10 subset (cifar10_subset.npz)",
                         "the .npz or its folder")


def load_batch_source(data_dir):
    from kerasrobust.data import load_dataset

    try:
        data = load_dataset("npz", data_dir=str(data_dir))
    except (FileNotFoundError, KeyError, ValueError) as error:
        sys.exit(
            f"error: cannot load the CIFAR-10 subset from {data_dir}: "
            f"{error}\nPass --data-dir <cifar10_subset.npz or its folder> or "
            f"set {DATA_DIR_ENV}."
        )
    return data


# ----------------------------------------------------------------- timing
def build_trainers(model_name, seed, data, mean, std):
    """Three compiled wrappers around copies of one base model."""
    import keras

    from kerasrobust.models import get_model
    from kerasrobust.training import PAPER_WEIGHT_DECAY
    from kerasrobust.training import make_trainer

    def base():
        return get_model(model_name, input_shape=data.input_shape,
                         num_classes=data.num_classes, mean=mean, std=std)

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    initial_weights = base().get_weights()
    trainers = {}
    for method in METHODS:
        copy = base()
        copy.set_weights(initial_weights)
        # alpha is MixUp's own (make_trainer refuses it for the others).
        options = {"alpha": MIXUP_ALPHA} if method == "mixup" else {}
        trainer = make_trainer(method, copy, **options,
                               weight_decay=PAPER_WEIGHT_DECAY, seed=seed)
        trainer.compile(
            optimizer=paper_sgd(),
            metrics=["accuracy"],
            jit_compile=False,
        )
        trainers[method] = trainer
    return trainers, sum(int(w.size) for w in initial_weights)


def run_steps(trainer, iterator, steps):
    """Runs `steps` compiled train steps; returns (seconds, final loss)."""
    start = time.perf_counter()
    for _ in range(steps):
        logs = trainer.train_function(iterator)
    loss = float(logs["loss"])  # Reading the value back synchronizes.
    return time.perf_counter() - start, loss


def make_hook_function(trainer):
    """The method's extra work alone: mixing and labelling, compiled."""
    import tensorflow as tf
    from keras import ops

    @tf.function
    def hooks(x, y, logits):
        targets = trainer.as_targets(y)
        x_train, targets = trainer.vicinal_batch(x, targets)
        targets = trainer.vicinal_targets(logits, targets)
        return ops.sum(x_train) + ops.sum(targets)

    return hooks


def run_hooks(hooks, args, calls):
    start = time.perf_counter()
    for _ in range(calls):
        out = hooks(*args)
    float(out)
    return time.perf_counter() - start


def benchmark_model(model_name, seed, data, mean, std, batch_size, steps,
                    repeats, warmup):
    import keras
    import tensorflow as tf

    x = data.x_train[:batch_size]
    y = data.y_train[:batch_size]
    dataset = tf.data.Dataset.from_tensors((x, y)).repeat()
    trainers, num_params = build_trainers(model_name, seed, data, mean, std)

    iterators, hooks = {}, {}
    logits = keras.random.normal((batch_size, data.num_classes), seed=seed)
    hook_args = (tf.constant(x), tf.constant(y), logits)
    warmup_s = {}
    for method, trainer in trainers.items():
        start = time.perf_counter()
        # Builds the wrapper and the optimizer and traces the train step.
        trainer.fit(dataset, steps_per_epoch=FIT_WARMUP_STEPS, epochs=1,
                    shuffle=False, verbose=0)
        iterators[method] = iter(dataset)
        run_steps(trainer, iterators[method], warmup)
        hooks[method] = make_hook_function(trainer)
        run_hooks(hooks[method], hook_args, 2)
        warmup_s[method] = time.perf_counter() - start

    order_rng = random.Random(f"{model_name}-{seed}")
    blocks = []
    for repeat in range(repeats):
        order = list(METHODS)
        order_rng.shuffle(order)
        ms_per_step, hook_ms, final_loss = {}, {}, {}
        for method in order:
            gc.collect()
            seconds, loss = run_steps(trainers[method], iterators[method],
                                      steps)
            ms_per_step[method] = 1000.0 * seconds / steps
            final_loss[method] = loss
        for method in order:
            seconds = run_hooks(hooks[method], hook_args, HOOK_CALLS)
            hook_ms[method] = 1000.0 * seconds / HOOK_CALLS
        ratios = {m: ms_per_step[m] / ms_per_step[BASELINE] for m in METHODS}
        blocks.append({
            "repeat": repeat,
            "order": order,
            "ms_per_step": ms_per_step,
            "ratio_to_erm": ratios,
            "hook_ms_per_call": hook_ms,
            "final_loss": final_loss,
        })
        print(
            f"  {model_name:<16} seed {seed} repeat {repeat + 1}/{repeats}: "
            + "  ".join(
                f"{m} {ms_per_step[m]:7.1f} ms ({ratios[m]:.3f})"
                for m in METHODS
            ),
            flush=True,
        )
    nonfinite = [m for m in METHODS
                 if not math.isfinite(blocks[-1]["final_loss"][m])]
    del trainers, iterators, hooks
    keras.backend.clear_session()
    gc.collect()
    return {
        "model": model_name,
        "seed": seed,
        "num_params": num_params,
        "batch_size": batch_size,
        "steps_per_block": steps,
        "warmup_s": warmup_s,
        "nonfinite_loss": nonfinite,
        "blocks": blocks,
    }


# ---------------------------------------------------------------- summary
def summarize(runs, models):
    summary = []
    for model_name in models:
        model_runs = [r for r in runs if r["model"] == model_name]
        if not model_runs:
            continue
        batch_size = model_runs[0]["batch_size"]
        erm_times = [b["ms_per_step"][BASELINE]
                     for r in model_runs for b in r["blocks"]]
        erm_hooks = [b["hook_ms_per_call"][BASELINE]
                     for r in model_runs for b in r["blocks"]]
        for method in METHODS:
            times = [b["ms_per_step"][method]
                     for r in model_runs for b in r["blocks"]]
            ratios = [b["ratio_to_erm"][method]
                      for r in model_runs for b in r["blocks"]]
            hooks = [b["hook_ms_per_call"][method]
                     for r in model_runs for b in r["blocks"]]
            row = {
                "model": model_name,
                "method": method,
                "batch_size": batch_size,
                "steps_per_block": model_runs[0]["steps_per_block"],
                "num_params": model_runs[0]["num_params"],
                "ms_per_step": _stats(times),
                "images_per_s": 1000.0 * batch_size / statistics.median(times),
                "ratio_to_erm": _stats(ratios),
                "ratio_to_erm_per_seed_mean": {
                    str(r["seed"]): statistics.fmean(
                        b["ratio_to_erm"][method] for b in r["blocks"])
                    for r in model_runs
                },
                "hook_ms_per_call_median": statistics.median(hooks),
                # What the hooks alone predict: their extra cost over ERM's
                # hooks as a fraction of ERM's median step time.
                "hook_overhead_estimate": (
                    statistics.median(hooks) - statistics.median(erm_hooks)
                ) / statistics.median(erm_times),
            }
            if method == TARGET_METHOD:
                row["target"] = {
                    "max_ratio": TARGET_RATIO,
                    "met_by_mean": row["ratio_to_erm"]["mean"] <= TARGET_RATIO,
                    "fraction_of_blocks_within": sum(
                        r <= TARGET_RATIO for r in ratios) / len(ratios),
                }
            summary.append(row)
    return summary


def format_table(summary):
    header = (
        f"{'model':<16} {'method':<6} {'batch':>5} {'steps':>5} "
        f"{'ms/step mean +- std':>20} {'img/s':>6} "
        f"{'ratio to ERM mean +- std':>25} {'median':>6} "
        f"{'hooks ms':>8} {'est.':>6}  target"
    )
    lines = [header, "-" * len(header)]
    for row in summary:
        t, r = row["ms_per_step"], row["ratio_to_erm"]
        target = ""
        if "target" in row:
            ok = "yes" if row["target"]["met_by_mean"] else "NO"
            target = f"<= {TARGET_RATIO:.2f}x: {ok}"
        lines.append(
            f"{row['model']:<16} {row['method']:<6} {row['batch_size']:>5} "
            f"{row['steps_per_block']:>5} "
            f"{t['mean']:>10.1f} +- {t['std']:<6.1f} "
            f"{row['images_per_s']:>6.0f} "
            f"{r['mean']:>13.3f} +- {r['std']:<6.3f} (n={r['n']:<2}) "
            f"{r['median']:>6.3f} "
            f"{row['hook_ms_per_call_median']:>8.2f} "
            f"{100 * row['hook_overhead_estimate']:>+5.1f}%  {target}"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------- main
def main(argv=None):
    args = build_parser().parse_args(argv)
    command = shlex.join(["python"] + sys.argv if argv is None
                         else ["python", sys.argv[0]] + list(argv))
    data_dir, data_source = resolve_data_dir(args.data_dir)
    started = datetime.datetime.now(datetime.timezone.utc)
    wall_start = time.perf_counter()
    load_start = _load_average()

    data = load_batch_source(data_dir)
    from kerasrobust.models import channel_stats

    mean, std = channel_stats(data.x_train)
    plan = {
        m: {
            "batch_size": per_model(
                args.batch_size, m, DEFAULT_BATCH_SIZE, FALLBACK_BATCH_SIZE),
            "steps": per_model(
                args.steps, m, DEFAULT_STEPS, FALLBACK_STEPS),
        }
        for m in args.models
    }
    for m, p in plan.items():
        if p["batch_size"] > len(data.x_train):
            sys.exit(f"error: --batch-size {p['batch_size']} for {m} exceeds "
                     f"the {len(data.x_train)} training images.")
    print(f"command: {command}")
    print(f"data: {data.split_note} ({data_source})")
    print("plan: " + "; ".join(
        f"{m} batch {p['batch_size']} x {p['steps']} steps" for m, p in
        plan.items()) + f"; seeds {args.seeds}; {args.repeats} repeats",
        flush=True)

    runs = []
    for model_name in args.models:
        for seed in args.seeds:
            runs.append(benchmark_model(
                model_name, seed, data, mean, std,
                plan[model_name]["batch_size"], plan[model_name]["steps"],
                args.repeats, args.warmup,
            ))
    summary = summarize(runs, args.models)
    wall_s = time.perf_counter() - wall_start
    finished = datetime.datetime.now(datetime.timezone.utc)

    print()
    print(format_table(summary))
    print("\nratio: method / ERM within each repeat (blocks run back to "
          "back, shuffled order), mean +- std over seeds x repeats.\n"
          "median: median of those ratios (less sensitive to bursts of "
          "load from other processes).\n"
          "hooks ms: the method's mixing + labelling alone, ms per call "
          "(median); est.: their extra cost over ERM's as a share of ERM's "
          "median step.")
    nonfinite = [(r["model"], r["seed"], r["nonfinite_loss"]) for r in runs
                 if r["nonfinite_loss"]]
    if nonfinite:
        print(f"warning: non-finite training loss in {nonfinite}")
    print(f"wall time: {wall_s:.0f} s")

    from kerasrobust.training import PAPER_LEARNING_RATE
    from kerasrobust.training import PAPER_MOMENTUM
    from kerasrobust.training import PAPER_WEIGHT_DECAY

    machine = machine_info()
    machine["load_average_start"] = load_start
    machine["load_average_end"] = _load_average()
    result = {
        "benchmark": "train_step_overhead",
        "command": command,
        "cwd": os.getcwd(),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": finished.isoformat(timespec="seconds"),
        "wall_time_s": wall_s,
        "machine": machine,
        "config": {
            "models": args.models,
            "seeds": args.seeds,
            "repeats": args.repeats,
            "plan": plan,
            "warmup_steps": args.warmup,
            "fit_warmup_steps": FIT_WARMUP_STEPS,
            "hook_calls_per_block": HOOK_CALLS,
            "data": data.split_note,
            "data_source": data_source,
            "batch": "the first batch_size images of x_train, repeated",
            "methods": {
                "erm": "ERM()",
                "mixup": f"MixUp(alpha={MIXUP_ALPHA}) (lambda per batch)",
                "alps": "ALPS() defaults: epsilon=0.2, beta_mode=0.9, "
                        "beta_concentration=10, lambda per sample",
            },
            "weight_decay": PAPER_WEIGHT_DECAY,
            "optimizer": f"SGD(learning_rate={PAPER_LEARNING_RATE}, "
                         f"momentum={PAPER_MOMENTUM})",
            "jit_compile": False,
            "timed_path": "model.train_function(iterator) x steps, then the "
                          "loss read back; ratio within each repeat",
        },
        "target": {"method": TARGET_METHOD, "max_ratio_to_erm": TARGET_RATIO},
        "summary": summary,
        "runs": runs,
        "nonfinite_loss": nonfinite,
    }
    from kerasrobust._io import atomic_write_json

    atomic_write_json(args.output, result)
    print(f"wrote {args.output}")
    return result


if __name__ == "__main__":
    main()
