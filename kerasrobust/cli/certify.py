"""`kerasrobust certify`: certify a saved classifier with randomized smoothing.

Loads a `.keras` base model (or a training wrapper, whose base model is
used), smooths it with Gaussian noise of level `--sigma`, and runs CERTIFY
(Cohen et al. 2019, `--method cohen`) or T-CERTIFY (Feng et al. 2021,
Algorithm 2, `--method tight`) on test images. Writes Cohen et al.'s log
(`idx label predict radius correct time`, one line per image), prints the
certified accuracy at radii 0, 0.25, 0.5, ... and the average certified
radius (ACR), and plots the certified-accuracy curve with `--plot`.

The papers' settings are `--n0 100 --n 100000 --alpha 0.001` on every 20th
CIFAR-10 test image (`--skip 20`); the defaults are those except `--n
10000`, which is 10x cheaper; BENCHMARKS.md ("Certification speed") gives
the measured seconds per image (about 8 s for the small CNN and a minute
for ResNet-110 at n = 10,000 on 2 busy CPU cores).
"""

import argparse
import math
import sys
import time
from pathlib import Path

from kerasrobust.cli._options import add_data_arguments
from kerasrobust.smoothing.certify import METHODS

RADIUS_STEP = 0.25


def add_parser(commands):
    p = commands.add_parser(
        "certify",
        help="certify a saved model with randomized smoothing (CERTIFY or "
             "T-CERTIFY), write Cohen's TSV log",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g = p.add_argument_group("what to certify")
    g.add_argument("--model", required=True, metavar="PATH",
                   help="a .keras file: a base model returning class scores, "
                        "or a kerasrobust training wrapper (its base model "
                        "is used), e.g. runs/.../base_model.keras")
    g.add_argument("--probabilities", action="store_true",
                   help="the model returns probabilities, not logits (only "
                        "matters for the soft outputs; votes use argmax)")
    add_data_arguments(
        g, "test split to certify; tfds datasets need "
           "--download or a prepared --data-dir; "
           "mnist_idx/npz/tiny_imagenet read --data-dir")
    g.add_argument("--skip", type=int, default=1, metavar="K",
                   help="certify every K-th test image (indices 0, K, 2K, "
                        "...), as Cohen et al.'s scripts do (they use 20 on "
                        "CIFAR-10)")
    g.add_argument("--limit", type=int, default=None, metavar="N",
                   help="certify at most N images (after --skip)")

    g = p.add_argument_group("smoothing and certification (paper values)")
    g.add_argument("--sigma", type=float, required=True,
                   help="standard deviation of the Gaussian noise, > 0, in "
                        "[0, 1] pixel units (the papers: 0.12, 0.25, 0.5, 1)")
    g.add_argument("--method", choices=METHODS, default="cohen",
                   help="'cohen': CERTIFY (Cohen et al. 2019); 'tight': "
                        "T-CERTIFY (Feng et al. 2021, Algorithm 2), alpha' "
                        "chosen from the selection counts")
    g.add_argument("--n0", type=int, default=100,
                   help="selection draws per image (guess the top class)")
    g.add_argument("--n", type=int, default=10000,
                   help="estimation draws per image (the papers: 100000)")
    g.add_argument("--alpha", type=float, default=0.001,
                   help="failure probability of each certificate, in (0, 1)")
    g.add_argument("--batch-size", type=int, default=1000,
                   help="noisy images per forward pass (halved "
                        "automatically when out of memory)")
    g.add_argument("--seed", type=int, default=0,
                   help="seed of the Gaussian draws")

    g = p.add_argument_group("output")
    g.add_argument("--out", default="certify.tsv", metavar="PATH",
                   help="Cohen et al.'s tab-separated log: idx label predict "
                        "radius correct time")
    g.add_argument("--plot", default=None, metavar="PATH",
                   help="also plot certified accuracy against the radius "
                        "(e.g. curve.png)")
    g.add_argument("--verbose", type=int, choices=(0, 1), default=None,
                   help="progress bar over the images (default: 1 on a "
                        "terminal, else 0)")
    p.set_defaults(run=run)
    return p


def run(args):
    start = time.time()
    _check_arguments(args)

    import keras
    import numpy as np

    from kerasrobust.data import load_dataset
    from kerasrobust.smoothing import SmoothedClassifier
    from kerasrobust.smoothing import average_certified_radius
    from kerasrobust.smoothing import certified_accuracy
    from kerasrobust.smoothing import plot_certified_accuracy
    from kerasrobust.smoothing import write_certify_tsv

    base = _load_base_model(args.model, keras)
    smoothed = SmoothedClassifier(
        base, num_classes=None, sigma=args.sigma,
        from_logits=not args.probabilities, seed=args.seed)
    data = load_dataset(args.dataset, data_dir=args.data_dir,
                        download=args.download)
    if smoothed.num_classes != data.num_classes:
        raise ValueError(
            f"the model returns {smoothed.num_classes} class scores but "
            f"--dataset {args.dataset} has {data.num_classes} classes."
        )
    indices = np.arange(0, len(data.x_test), args.skip)
    if args.limit is not None:
        indices = indices[:args.limit]
    x, y = data.x_test[indices], data.y_test[indices]
    print(f"certifying {len(indices)} of {len(data.x_test)} test images of "
          f"{args.dataset} ({data.split_note}) with {args.method}: "
          f"sigma={args.sigma:g}, n0={args.n0}, n={args.n}, "
          f"alpha={args.alpha:g}", flush=True)

    verbose = args.verbose if args.verbose is not None else int(
        sys.stdout.isatty())
    result = smoothed.certify(
        x, n0=args.n0, n=args.n, alpha=args.alpha,
        batch_size=args.batch_size, method=args.method, verbose=verbose)

    rows = [
        {"idx": int(i), "label": int(label), "predict": int(predict),
         "radius": float(radius), "time": float(seconds)}
        for i, label, predict, radius, seconds in zip(
            indices, y, result.label, result.radius, result.time)
    ]
    out = write_certify_tsv(args.out, rows)
    columns = {
        "radius": result.radius,
        "correct": (result.label == y).astype(int),
        "predict": result.label,
    }
    largest = float(np.max(np.where(columns["correct"] == 1, result.radius,
                                    0.0)))
    top = max(1.0, math.ceil(largest / RADIUS_STEP) * RADIUS_STEP)
    radii = np.round(np.arange(0.0, top + RADIUS_STEP / 2, RADIUS_STEP), 10)
    accuracy = certified_accuracy(columns, radii)
    acr = average_certified_radius(columns)

    wall = time.time() - start
    print(_table(radii, accuracy))
    print(f"average certified radius (ACR): {acr:.4f}")
    print(f"abstained: {int((result.label == -1).sum())} of {len(rows)}; "
          f"{float(np.mean(result.time)):.3f} s per image; wall time "
          f"{wall:.1f} s")
    saved = [str(out)]
    if args.plot:
        title = (f"{args.dataset}, {args.method}, sigma={args.sigma:g}, "
                 f"n={args.n}")
        saved.append(str(plot_certified_accuracy(
            {f"{args.method} (sigma={args.sigma:g})": columns}, args.plot,
            title=title)))
    print(f"saved: {', '.join(saved)}")
    return 0


def _check_arguments(args):
    """Fails on bad values before the model or the data is loaded."""
    from kerasrobust._validation import check_number

    check_number("--sigma", args.sigma, low=0, low_open=True)
    check_number("--n0", args.n0, low=1, integer=True)
    check_number("--n", args.n, low=1, integer=True)
    check_number("--alpha", args.alpha, low=0, high=1, low_open=True,
                 high_open=True)
    check_number("--batch-size", args.batch_size, low=1, integer=True)
    check_number("--skip", args.skip, low=1, integer=True)
    check_number("--seed", args.seed, low=0, integer=True)
    if args.limit is not None:
        check_number("--limit", args.limit, low=1, integer=True)
    if not Path(args.model).is_file():
        raise FileNotFoundError(f"--model {args.model}: no such file.")


def _load_base_model(path, keras):
    import kerasrobust.training
    from kerasrobust.cli._options import load_keras_model

    model = load_keras_model(path)  # "corrupt" vs "no such file"
    if isinstance(model, kerasrobust.training.RobustTrainer):
        model = model.base_model
    return model


def _table(radii, accuracy):
    width = max(6, max(len(f"{r:g}") for r in radii))
    head = "radius   " + " ".join(f"{r:>{width}g}" for r in radii)
    body = "cert acc " + " ".join(f"{a:>{width}.3f}" for a in accuracy)
    return f"{head}\n{body}"
