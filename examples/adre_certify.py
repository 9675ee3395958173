r"""
Title: Train with ADRE and certify with T-CERTIFY
Description: Gaussian augmentation ("Basic", Cohen et al.) vs ADRE_REG from
the same initial weights, certified with CERTIFY and T-CERTIFY on the same
noise.

ADRE (Feng et al., AAAI 2021, Algorithm 1, eqs. 5-8) trains the base
classifier of a Gaussian-smoothed model on k noisy copies of every image and
pushes down the smoothed probability of the runner-up class: loss = mean
over draws of the cross-entropy, minus lambda * CE(mean softmax, runner-up).
T-CERTIFY (Algorithm 2) then bounds the top and the runner-up probabilities
separately (eq. 14), certifying sigma / 2 * (Phi^-1(pA) - Phi^-1(pB)), at
least CERTIFY's radius when the mass left is spread over several classes.

The script trains both base models (`kerasrobust.training.GaussianAugment`
and `ADRE`), watches certified accuracy during training with the
`CertifiedAccuracy` callback, then certifies test images with both
algorithms on the same counts (`SmoothedClassifier.sample_counts` once,
`certify_counts_batch` twice) and prints certified accuracy at radii 0 to
1.5 and the average certified radius (ACR).

Quick run (about 2 minutes on 2 CPU cores; the bundled digits):

    python examples/adre_certify.py

Full scale (the paper's CIFAR-10 setting: ResNet-110, 150 epochs, k = 8,
n = 100,000 on every 20th test image; tfds `cifar10` prepared beforehand,
and a GPU):

    python examples/adre_certify.py --dataset cifar10 \
        --model cifar_resnet110 --epochs 150 --batch-size 256 \
        --num-noise 8 --lam 0.1 --sigma 0.25 --n 100000 --skip 20
"""

"""
## Setup
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasrobust  # noqa: E402
from kerasrobust import smoothing  # noqa: E402

RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[2])
    p.add_argument("--dataset", default="digits",
                   choices=kerasrobust.data.DATASET_NAMES)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--model", default="small_cnn",
                   choices=tuple(kerasrobust.models.MODELS))
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--sigma", type=float, default=0.25)
    p.add_argument("--num-noise", type=int, default=4,
                   help="ADRE's k noise draws per image (paper: 8)")
    p.add_argument("--lam", type=float, default=0.1,
                   help="ADRE's lambda (paper: 0.1 to 0.3)")
    p.add_argument("--n0", type=int, default=100)
    p.add_argument("--n", type=int, default=2000,
                   help="estimation draws per image (paper: 100,000)")
    p.add_argument("--alpha", type=float, default=0.001)
    p.add_argument("--skip", type=int, default=4,
                   help="certify every K-th test image")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


"""
## Train Basic and ADRE_REG, watching certified accuracy
"""


def train(method, data, args):
    keras.utils.set_random_seed(args.seed)  # same initial weights for both
    mean, std = kerasrobust.models.channel_stats(data.x_train)
    base = kerasrobust.models.get_model(
        args.model, input_shape=data.input_shape,
        num_classes=data.num_classes, mean=mean, std=std)
    options = {"num_noise": args.num_noise, "lam": args.lam} if (
        method == "adre") else {}
    model = kerasrobust.training.make_trainer(
        method, base, sigma=args.sigma, seed=args.seed,
        weight_decay=kerasrobust.training.PAPER_WEIGHT_DECAY, **options)
    train_ds = data.train_dataset(batch_size=args.batch_size, seed=args.seed)
    model.compile(optimizer=kerasrobust.training.paper_optimizer(
        len(train_ds), args.epochs), metrics=["accuracy"])
    # Approximate certified accuracy in the logs every 5 epochs (n small).
    watch = kerasrobust.callbacks.CertifiedAccuracy(
        data.x_test[:50], data.y_test[:50], n0=50, n=200, radii=(0.25,),
        every=5)
    history = model.fit(train_ds, epochs=args.epochs, callbacks=[watch],
                        verbose=0)
    print(f"{method}: val_certified_accuracy_0.25 during training "
          f"{history.history['val_certified_accuracy_0.25']}")
    return model.base_model


"""
## Certify with CERTIFY and T-CERTIFY on the same counts
"""


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    data = kerasrobust.data.load_dataset(args.dataset,
                                         data_dir=args.data_dir)
    index = np.arange(0, len(data.x_test), args.skip)
    x, y = data.x_test[index], data.y_test[index]
    table = {}
    for method in ("gaussian", "adre"):
        base = train(method, data, args)
        smoothed = kerasrobust.SmoothedClassifier(
            base, data.num_classes, sigma=args.sigma, seed=args.seed)
        counts_selection = smoothed.sample_counts(x, args.n0)
        counts_estimation = smoothed.sample_counts(x, args.n)
        for algorithm in ("cohen", "tight"):
            label, radius = smoothing.certify_counts_batch(
                counts_selection, counts_estimation, args.sigma, args.alpha,
                method=algorithm)
            columns = {"radius": radius, "correct": (label == y)}
            table[(method, algorithm)] = (
                smoothing.certified_accuracy(columns, RADII),
                smoothing.average_certified_radius(columns))
    print(f"\n{len(x)} test images of {args.dataset}, sigma={args.sigma}, "
          f"n0={args.n0}, n={args.n}, alpha={args.alpha}")
    print(f"{'training':10} {'certify':10} " + " ".join(
        f"{r:>5g}" for r in RADII) + "    ACR")
    names = {"gaussian": "Basic", "adre": "ADRE_REG", "cohen": "CERTIFY",
             "tight": "T-CERTIFY"}
    for (method, algorithm), (accuracy, acr) in table.items():
        print(f"{names[method]:10} {names[algorithm]:10} " + " ".join(
            f"{a:5.2f}" for a in accuracy) + f"  {acr:.3f}")
    print(f"\nwall time {time.time() - start:.0f} s")
    return table


if __name__ == "__main__":
    main()
