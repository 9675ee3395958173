r"""
Title: ALPS hyperparameter search on CIFAR-10
Description: Search ALPS's label-perturbation radius epsilon and the mode
and concentration of its Beta distribution with `kerasrobust tune`.

ALPS (Guo et al., IJCAI 2020) mixes each image with a random partner,
x~ = lambda x_i + (1 - lambda) x_j with lambda ~ Beta(a, b), and trains on
the adversarial label (1 - epsilon/2) y_i + (epsilon/2) onehot(k*). The
paper's Section 5.1 gives only ranges: "the mode of asymmetric Beta
distribution is chosen in the range (0.75, 1), and the L1 ball constraint
epsilon ... is restricted to (0, 0.5) empirically"; it does not say how the
values were picked. This script searches those ranges (the default space of
`kerasrobust.tuning`: epsilon in [0.01, 0.49], mode in [0.76, 0.99],
concentration a + b in [4, 40], log scale) and scores each trial by its
accuracy on 20% of the training set held out for validation; the test split
only reports the best model.

Quick run (the default; a few minutes on 2 CPU cores): the small CNN on the
CIFAR-10 subset of the project's shared data (an `.npz` found through
`$KERASROBUST_DATA_DIR` or `--data-dir`), 1,000 training images, 3 random
trials of 3 epochs:

    KERASROBUST_DATA_DIR=../shared/data python tuning/alps_cifar10.py

Paper scale (`--paper`; use GPUs): PreActResNet18 on the full CIFAR-10
(tensorflow-datasets, prepared beforehand with `tfds build cifar10`),
Zhang et al.'s MixUp recipe the paper follows (SGD, momentum 0.9, batch 128,
rate 0.1 divided by 10 at epochs 100 and 150 of 200, weight decay 1e-4), 20
Bayesian-optimization trials:

    python tuning/alps_cifar10.py --paper --data-dir ~/tensorflow_datasets

Any other flag goes to `kerasrobust tune` and wins over the preset, e.g.
`--objective robust_accuracy` (the paper's PGD of Table 6), `--tuner
hyperband`, `--max-trials 5`, `--space beta_concentration=10`, `--resume`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _presets  # noqa: E402

NAME = "alps_cifar10"
SMALL = ["--method", "alps", "--model", "small_cnn", "--dataset", "npz",
         "--limit-train", "1000", "--epochs", "3", "--tuner", "random",
         "--max-trials", "3", "--objective", "val_accuracy"]
PAPER = ["--method", "alps", "--model", "preact_resnet18", "--dataset",
         "cifar10", "--epochs", "200", "--batch-size", "128", "--lr", "0.1",
         "--momentum", "0.9", "--weight-decay", "1e-4", "--tuner", "bayesian",
         "--max-trials", "20", "--objective", "val_accuracy"]


def command(argv=None):
    """The `kerasrobust tune` arguments this script runs."""
    return _presets.command(NAME, SMALL, PAPER, argv)


def main(argv=None):
    return _presets.main(NAME, SMALL, PAPER, argv)


if __name__ == "__main__":
    sys.exit(main())
