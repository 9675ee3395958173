r"""
Title: Train with ALPS and evaluate under FGSM and PGD attacks
Description: ALPS vs ERM from the same initial weights, then clean,
white-box and black-box error under the ALPS paper's attacks.

ALPS (Guo et al., IJCAI 2020, Algorithm 1) trains on images moved towards a
random partner, x~ = lambda * x_i + (1 - lambda) * x_j with lambda ~ Beta of
mode near 1, labelled adversarially (epsilon / 2 of the label mass moved to
the least likely class). Section 5.3 of the paper judges the result by the
error under FGSM and PGD, white-box (crafted on the model itself) and
black-box (crafted on an ERM-trained model). This script does exactly that
with `kerasrobust.training.ALPS`, `ERM` and `kerasrobust.evaluate.robustness`.

Quick run (1-2 minutes on 2 CPU cores; the scikit-learn digits bundled with
the library, no download; attacks scaled to 8x8 images):

    python examples/alps_under_attack.py

Full scale (the paper's CIFAR-10 setting; needs `tfds build cifar10` done
beforehand, and a GPU):

    python examples/alps_under_attack.py --dataset cifar10 \
        --model preact_resnet18 --epochs 200 --batch-size 128 \
        --attack-epsilon 0.031 --pgd-steps 10

On the project's CIFAR-10 subset: `--dataset npz --data-dir
../shared/data/cifar10-subset`.
"""

"""
## Setup
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import kerasrobust  # noqa: E402
from kerasrobust.evaluate import AttackConfig  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[2],
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--dataset", default="digits",
                   choices=kerasrobust.data.DATASET_NAMES)
    p.add_argument("--data-dir", default=None,
                   help="tfds directory or local dataset folder/file")
    p.add_argument("--model", default="small_cnn",
                   choices=tuple(kerasrobust.models.MODELS))
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epsilon", type=float, default=0.2,
                   help="ALPS label epsilon, in (0, 0.5) in the paper")
    p.add_argument("--beta-mode", type=float, default=0.9,
                   help="mode of ALPS's Beta, in (0.75, 1) in the paper")
    p.add_argument("--attack-epsilon", type=float, default=0.1,
                   help="L-inf radius of FGSM and PGD (paper: 8/255)")
    p.add_argument("--pgd-steps", type=int, default=10)
    p.add_argument("--limit-test", type=int, default=None,
                   help="evaluate on the first N test images only")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


"""
## Train ERM and ALPS from the same initial weights
"""


def train(method, data, args):
    keras.utils.set_random_seed(args.seed)  # same initial weights for both
    mean, std = kerasrobust.models.channel_stats(data.x_train)
    base = kerasrobust.models.get_model(
        args.model, input_shape=data.input_shape,
        num_classes=data.num_classes, mean=mean, std=std)
    # epsilon and beta_mode are ALPS' own (make_trainer refuses them for ERM).
    options = ({"epsilon": args.epsilon, "beta_mode": args.beta_mode}
               if method == "alps" else {})
    model = kerasrobust.training.make_trainer(
        method, base, **options,
        weight_decay=kerasrobust.training.PAPER_WEIGHT_DECAY, seed=args.seed)
    train_ds = data.train_dataset(batch_size=args.batch_size, seed=args.seed)
    model.compile(optimizer=kerasrobust.training.paper_optimizer(
        len(train_ds), args.epochs), metrics=["accuracy"])
    model.fit(train_ds, epochs=args.epochs, verbose=0)
    return model


"""
## Evaluate: clean, white-box and black-box error
"""


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    data = kerasrobust.data.load_dataset(args.dataset,
                                         data_dir=args.data_dir)
    models = {}
    for method in ("erm", "alps"):
        models[method] = train(method, data, args)
        print(f"trained {method.upper()} on {len(data.x_train)} images of "
              f"{args.dataset} ({args.epochs} epochs)")
    attacks = {
        "fgsm": AttackConfig("fgsm", epsilon=args.attack_epsilon),
        "pgd": AttackConfig("pgd", epsilon=args.attack_epsilon,
                            steps=args.pgd_steps,
                            step_size=args.attack_epsilon / 4),
    }
    x_test, y_test = data.x_test, data.y_test
    if args.limit_test is not None:
        x_test, y_test = x_test[:args.limit_test], y_test[:args.limit_test]
    results = {}
    for method, model in models.items():
        # Black-box examples are crafted on the ERM model (Section 5.3).
        results[method] = kerasrobust.evaluate.robustness(
            model.base_model, (x_test, y_test), attacks=attacks,
            source_model=models["erm"].base_model, seed=args.seed)
        print(f"\n{method.upper()}:\n{results[method].table()}")
    print(f"\nwall time {time.time() - start:.0f} s")
    return results


if __name__ == "__main__":
    main()
