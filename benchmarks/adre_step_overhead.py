"""
Title: Train-step cost of ADRE_REG relative to Gaussian augmentation
Description: time per compiled train step of ADRE(k=8) against
GaussianAugment(k=8) on the same model, batch and noise draws, side by side.

The ADRE issue's target is ADRE(k=8) <= 1.10 x GaussianAugment(k=8): both
run the base model on the same k noisy copies of each image; ADRE adds the
smoothed prediction G^ (a log-sum-exp over the draws), the runner-up class
and one more cross-entropy term.

Run from the repository root:

    python benchmarks/adre_step_overhead.py                # defaults below
    python benchmarks/adre_step_overhead.py --seeds 0 --repeats 3

Defaults (those of the recorded figures): small_cnn on 32x32x3 real
CIFAR-10 subset images, batch 32 (so 256 noisy images per step), 4 steps per
timed block, 6 repeats, seeds 0, 1, 2; sigma 0.25, lambda 0.1. The timing
path, data lookup (`--data-dir`, `$KERASROBUST_DATA_DIR`, `../shared/data`)
and the JSON format come from `train_step_overhead.py`.
"""

import argparse
import datetime
import random
import shlex
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_step_overhead as common  # noqa: E402
from _common import paper_sgd  # noqa: E402
from _common import seed_list  # noqa: E402

METHODS = {
    "gaussian": "GaussianAugment(sigma=0.25, num_noise=8)",
    "adre": "ADRE(sigma=0.25, num_noise=8, lam=0.1)",
}
TARGET_RATIO = 1.10
OUTPUT = common.REPO_ROOT / "benchmarks" / "results" / (
    "adre_step_overhead.json")


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="small_cnn",
                   choices=common.SUPPORTED_MODELS, help="base model")
    p.add_argument("--batch-size", type=int, default=32,
                   help="images per step (each gets 8 noise draws)")
    p.add_argument("--steps", type=int, default=4,
                   help="train steps per timed block")
    p.add_argument("--repeats", type=int, default=6,
                   help="timed blocks per method and seed")
    p.add_argument("--seeds", type=seed_list, default=[0, 1, 2],
                   help="comma-separated seeds")
    p.add_argument("--data-dir", default=None,
                   help="folder holding the CIFAR-10 subset .npz")
    p.add_argument("--output", default=str(OUTPUT), help="JSON result")
    return p


def build(model_name, seed, data, mean, std):
    import keras

    from kerasrobust.models import get_model
    from kerasrobust.training import PAPER_WEIGHT_DECAY
    from kerasrobust.training import make_trainer

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    initial = None
    trainers = {}
    for method in METHODS:
        base = get_model(model_name, input_shape=data.input_shape,
                         num_classes=data.num_classes, mean=mean, std=std)
        if initial is None:
            initial = base.get_weights()
        base.set_weights(initial)
        # lam is ADRE's own (make_trainer refuses it for gaussian).
        options = {"lam": 0.1} if method == "adre" else {}
        trainer = make_trainer(method, base, sigma=0.25, num_noise=8,
                               **options, weight_decay=PAPER_WEIGHT_DECAY,
                               seed=seed)
        trainer.compile(optimizer=paper_sgd(), metrics=["accuracy"],
                        jit_compile=False)
        trainers[method] = trainer
    return trainers


def main(argv=None):
    import tensorflow as tf

    args = build_parser().parse_args(argv)
    command = shlex.join(["python"] + (sys.argv if argv is None
                                       else [sys.argv[0]] + list(argv)))
    data_dir, source = common.resolve_data_dir(args.data_dir)
    started = datetime.datetime.now(datetime.timezone.utc)
    wall_start, load_start = time.perf_counter(), common._load_average()
    data = common.load_batch_source(data_dir)
    from kerasrobust.models import channel_stats

    mean, std = channel_stats(data.x_train)
    x, y = data.x_train[:args.batch_size], data.y_train[:args.batch_size]
    dataset = tf.data.Dataset.from_tensors((x, y)).repeat()
    blocks = []
    for seed in args.seeds:
        trainers = build(args.model, seed, data, mean, std)
        iterators = {}
        for method, trainer in trainers.items():
            trainer.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
            iterators[method] = iter(dataset)
            common.run_steps(trainer, iterators[method], 2)
        rng = random.Random(seed)
        for repeat in range(args.repeats):
            order = list(METHODS)
            rng.shuffle(order)
            ms = {}
            for method in order:
                seconds, _ = common.run_steps(trainers[method],
                                              iterators[method], args.steps)
                ms[method] = 1000.0 * seconds / args.steps
            ratio = ms["adre"] / ms["gaussian"]
            blocks.append({"seed": seed, "repeat": repeat, "order": order,
                           "ms_per_step": ms, "ratio": ratio})
            print(f"seed {seed} repeat {repeat + 1}: gaussian "
                  f"{ms['gaussian']:.1f} ms, adre {ms['adre']:.1f} ms, "
                  f"ratio {ratio:.3f}", flush=True)
    ratios = [b["ratio"] for b in blocks]
    summary = {
        "ratio_adre_to_gaussian": common._stats(ratios),
        "ms_per_step": {m: common._stats([b["ms_per_step"][m]
                                          for b in blocks])
                        for m in METHODS},
        "target": f"adre <= {TARGET_RATIO} x gaussian",
        "target_met": statistics.fmean(ratios) <= TARGET_RATIO,
    }
    wall = time.perf_counter() - wall_start
    machine = common.machine_info()
    machine["load_average_start"] = load_start
    machine["load_average_end"] = common._load_average()
    r = summary["ratio_adre_to_gaussian"]
    print(f"\nADRE(k=8) / GaussianAugment(k=8): {r['mean']:.3f} +- "
          f"{r['std']:.3f} (median {r['median']:.3f}, n={r['n']}); target "
          f"<= {TARGET_RATIO}: {'met' if summary['target_met'] else 'missed'}"
          f"\nwall time: {wall:.0f} s")
    from kerasrobust._io import atomic_write_json

    atomic_write_json(Path(args.output), {
        "benchmark": "adre_step_overhead", "command": command,
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_time_s": wall, "machine": machine,
        "config": {"model": args.model, "batch_size": args.batch_size,
                   "steps": args.steps, "repeats": args.repeats,
                   "seeds": args.seeds, "methods": METHODS,
                   "data": data.split_note, "data_source": source},
        "summary": summary, "blocks": blocks,
    })


if __name__ == "__main__":
    main()
