r"""
Title: Tune ALPS for robust accuracy with keras-tuner
Description: Search ALPS's epsilon and Beta mode over the paper's ranges,
scored by accuracy under an FGSM attack on held-out data, then evaluate the
best model on the test split, clean and under attack.

`kerasrobust.tuning.search` builds a `RobustHyperModel` (a
`keras_tuner.HyperModel` that wraps the base model with the method's
training wrapper and compiles it with the paper's SGD recipe) and runs
keras-tuner over the ranges of the ALPS paper (Section 5.1: epsilon in
(0, 0.5), Beta mode in (0.75, 1)). The objective "robust_accuracy" adds the
`RobustAccuracy` callback to every trial, which logs the accuracy under the
attack as `val_fgsm_accuracy`; keras-tuner maximizes it. Running the script
again with the same `--directory` resumes the search (finished trials are
kept; a larger `--max-trials` runs only the missing ones).

Quick run (about a minute on 2 CPU cores; the bundled digits):

    python examples/tune_alps.py

Full scale (CIFAR-10 prepared with `tfds build cifar10`, PGD objective,
Bayesian optimization, a GPU):

    python examples/tune_alps.py --dataset cifar10 --model preact_resnet18 \
        --epochs 200 --max-trials 20 --tuner bayesian --attack pgd \
        --attack-epsilon 0.031
"""

"""
## Setup
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import kerasrobust  # noqa: E402
from kerasrobust.evaluate import AttackConfig  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[2])
    p.add_argument("--dataset", default="digits",
                   choices=kerasrobust.data.DATASET_NAMES)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--model", default="small_cnn",
                   choices=tuple(kerasrobust.models.MODELS))
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--max-trials", type=int, default=4)
    p.add_argument("--tuner", default="random",
                   choices=tuple(kerasrobust.tuning.TUNERS))
    p.add_argument("--attack", default="fgsm", choices=("fgsm", "pgd"))
    p.add_argument("--attack-epsilon", type=float, default=0.1)
    p.add_argument("--validation-fraction", type=float, default=0.2)
    p.add_argument("--directory", default="runs/tuning")
    p.add_argument("--project-name", default="tune_alps_example")
    p.add_argument("--overwrite", action="store_true",
                   help="start the search afresh instead of resuming it")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def attack_config(args):
    if args.attack == "fgsm":
        return AttackConfig("fgsm", epsilon=args.attack_epsilon)
    return AttackConfig("pgd", epsilon=args.attack_epsilon, steps=10,
                        step_size=args.attack_epsilon / 4)


"""
## Search on a held-out part of the training split
"""


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    data = kerasrobust.data.load_dataset(args.dataset,
                                         data_dir=args.data_dir)
    order = np.random.default_rng(args.seed).permutation(len(data.x_train))
    num_val = int(len(order) * args.validation_fraction)
    val, train = order[:num_val], order[num_val:]
    attack = attack_config(args)
    objective = kerasrobust.tuning.objective(
        "robust_accuracy", attack=attack, attack_name=args.attack,
        num_examples=min(500, num_val))
    result = kerasrobust.tuning.search(
        "alps", args.model, data.x_train[train], data.y_train[train],
        validation_data=(data.x_train[val], data.y_train[val]),
        search_space={"beta_concentration": 10.0},  # fixed; search the rest
        objective=objective, tuner=args.tuner, max_trials=args.max_trials,
        epochs=args.epochs, batch_size=64, directory=args.directory,
        project_name=args.project_name, overwrite=args.overwrite,
        seed=args.seed, verbose=0)
    print(f"{result.num_trials} trials; best {objective.name} = "
          f"{result.best_value:.4f} with {result.values}")

    """
    ## Evaluate the best model on the test split
    """
    best = result.best_model()
    report = kerasrobust.evaluate.robustness(
        best.base_model, (data.x_test, data.y_test),
        attacks={args.attack: attack}, seed=args.seed)
    print(report.table())
    print(f"\nwall time {time.time() - start:.0f} s")
    return result, report


if __name__ == "__main__":
    main()
