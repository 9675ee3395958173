r"""
Title: ADRE hyperparameter search on CIFAR-10
Description: Search ADRE's regularization weight lambda and number of noise
draws k for Gaussian randomized smoothing, scored by certified accuracy or
the average certified radius, with `kerasrobust tune`.

ADRE_REG (Feng et al., "Regularized Training and Tight Certification for
Randomized Smoothed Classifier with Provable Robustness", Algorithm 1)
trains the base classifier on k Gaussian draws per image and adds -lambda
times the cross-entropy of the soft smoothed prediction towards the
runner-up class. Table 1 trains on CIFAR-10 with k = 8, lambda in
{0.1, 0.2, 0.3} for each sigma in {0.12, 0.25, 0.50, 1.00} (ImageNet: k = 1
and 4, lambda in {0.05, 0.1}), and certifies with CERTIFY (n0 = 100,
n = 100,000, alpha = 0.001). Each trial here is scored during training on
validation images held out of the training set, with CERTIFY at a smaller n
(the figures track training; certify the chosen model with `kerasrobust
certify` afterwards). Compare lambdas at one sigma: run once per sigma.

Quick run (the default; a few minutes on 2 CPU cores): the small CNN on the
CIFAR-10 subset of the project's shared data (`$KERASROBUST_DATA_DIR` or
`--data-dir`), 1,000 training images, sigma = 0.25, lambda from the default
grid {0.05, ..., 0.3}, k in {1, 2}, 3 trials of 2 epochs, certified accuracy
at radius 0.25 on 30 validation images with n0 = 16, n = 100 (enough to
certify radii up to 0.37 at sigma = 0.25):

    KERASROBUST_DATA_DIR=../shared/data python tuning/adre_cifar10.py

Paper scale (`--paper`; use GPUs): ResNet-110 on the full CIFAR-10
(prepared with `tfds build cifar10`), the paper's CIFAR-10 recipe (batch
400, SGD rate 0.1 divided by 10 every 50 epochs, 150 epochs; weight decay
1e-4 as in Cohen et al.), k = 8 with the one-draw l_per of Table 1
(`--single-draw-per`), the three lambdas of Table 1 at sigma = 0.25, scored
by the average certified radius on 500 validation images with n = 10,000:

    python tuning/adre_cifar10.py --paper --data-dir ~/tensorflow_datasets
    python tuning/adre_cifar10.py --paper --space sigma=0.5 ...  # next sigma

Any other flag goes to `kerasrobust tune` and wins over the preset, e.g.
`--method adre_adv --space adv_steps=2` (ADRE_ADV), `--objective acr`,
`--certify-method tight` (T-CERTIFY), `--tuner bayesian`, `--resume`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _presets  # noqa: E402

NAME = "adre_cifar10"
SMALL = ["--method", "adre", "--model", "small_cnn", "--dataset", "npz",
         "--limit-train", "1000", "--epochs", "2", "--tuner", "random",
         "--max-trials", "3", "--space", "sigma=0.25", "--space",
         "num_noise=1,2", "--objective", "certified_accuracy", "--radius",
         "0.25", "--n0", "16", "--n", "100", "--eval-examples", "30"]
PAPER = ["--method", "adre", "--model", "cifar_resnet110", "--dataset",
         "cifar10", "--epochs", "150", "--batch-size", "400", "--lr", "0.1",
         "--momentum", "0.9", "--decay-epochs", "50", "100",
         "--weight-decay", "1e-4", "--single-draw-per", "--space",
         "sigma=0.25", "--space", "num_noise=8", "--space",
         "lam=0.1,0.2,0.3", "--tuner", "random", "--max-trials", "3",
         "--objective", "acr", "--n0", "100", "--n", "10000",
         "--eval-examples", "500"]


def command(argv=None):
    """The `kerasrobust tune` arguments this script runs."""
    return _presets.command(NAME, SMALL, PAPER, argv)


def main(argv=None):
    return _presets.main(NAME, SMALL, PAPER, argv)


if __name__ == "__main__":
    sys.exit(main())
