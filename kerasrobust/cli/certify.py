"""`kerasrobust certify`: certify a saved classifier with randomized smoothing.

Loads a `.keras` base model (or a training wrapper, whose base model is
used), smooths it with Gaussian noise of level `--sigma`, and runs CERTIFY
(Cohen et al. 2019, `--method cohen`) or T-CERTIFY (Feng et al. 2021,
Algorithm 2, `--method tight`) on test images. Writes Cohen et al.'s log
(`idx label predict radius correct time`, one line per image, appended and
flushed as soon as the image is certified; the run's settings in
`<out>.settings.json`), prints the certified accuracy at radii 0, 0.25, 0.5,
... and the average certified radius (ACR), and plots the certified-accuracy
curve with `--plot`.

Long runs: `--resume` continues a killed run from its log; `--shard I/K`
certifies a deterministic 1/K of the images (for K processes, GPUs or
machines; merge the K logs with `kerasrobust analyze`); all devices of one
process are used through `tf.distribute` (`--distribute`). An image's
result depends only on `--seed` and its test index, so sharded, resumed
and multi-device runs log the same rows as one uninterrupted run.

The papers' settings are `--n0 100 --n 100000 --alpha 0.001` on every 20th
CIFAR-10 test image (`--skip 20`); the defaults are those except `--n
10000`, which is 10x cheaper; BENCHMARKS.md ("Certification speed") gives
the measured seconds per image (about 8 s for the small CNN and a minute
for ResNet-110 at n = 10,000 on 2 busy CPU cores).
"""

import time
from pathlib import Path

from kerasrobust.cli._options import add_data_arguments
from kerasrobust.cli._options import add_model_file_argument
from kerasrobust.cli._options import add_plot_argument
from kerasrobust.cli._options import add_probabilities_argument
from kerasrobust.cli._options import add_progress_argument
from kerasrobust.cli._options import check_model_fits_data
from kerasrobust.cli._options import check_output_flags
from kerasrobust.cli._options import command_parser
from kerasrobust.cli._options import progress_verbosity
from kerasrobust._names import CERTIFY_METHODS as METHODS
from kerasrobust._names import SAMPLING_PRECISIONS



def add_parser(commands):
    p = command_parser(commands, "certify", __doc__)
    g = p.add_argument_group("what to certify")
    add_model_file_argument(g, "its base model is certified")
    add_probabilities_argument(
        g, " (only matters for the soft outputs; votes use argmax)")
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
    g.add_argument("--shard", default=None, metavar="I/K",
                   help="certify shard I of K (1 <= I <= K): every K-th of "
                        "the selected images from the I-th on; run K "
                        "processes (one per GPU, a job array) and merge "
                        "their logs with `kerasrobust analyze`")

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
                   help="seed of the Gaussian draws (an image's draws depend "
                        "only on the seed and its test index)")
    g.add_argument("--sampling-precision",
                   choices=SAMPLING_PRECISIONS,
                   default="float32",
                   help="precision of the noisy forward passes: mixed_"
                        "bfloat16 / mixed_float16 run a 16-bit copy of the "
                        "model (faster on GPUs/TPUs; the certificate is for "
                        "the model as run in that precision)")
    g.add_argument("--distribute", choices=("auto", "none", "mirrored"),
                   default="auto",
                   help="spread the forward passes over all GPUs of this "
                        "process with MirroredStrategy ('auto': when "
                        "several GPUs are visible)")

    g = p.add_argument_group(
        "sequential certification (is g certified at the given radii?)")
    g.add_argument("--sequential", action="store_true",
                   help="stop sampling an image as soon as a time-uniform "
                        "confidence sequence decides every --radius "
                        "(kerasrobust.smoothing.certify_sequential); same "
                        "1 - alpha guarantee, far fewer draws on clear "
                        "images; the log gains num_samples and p_lower")
    g.add_argument("--radius", type=float, action="append", default=None,
                   metavar="R",
                   help="radius to decide (repeat for a curve; one alpha "
                        "covers all); needs --sequential")
    g.add_argument("--n-max", type=int, default=None, metavar="N",
                   help="most estimation draws per image with --sequential "
                        "(default 100000, the papers' n)")

    g = p.add_argument_group("output")
    g.add_argument("--out", default="certify.tsv", metavar="PATH",
                   help="Cohen et al.'s tab-separated log: idx label predict "
                        "radius correct time, one row appended per image; "
                        "never overwritten (see --resume)")
    g.add_argument("--resume", action="store_true",
                   help="continue the run whose log is --out: keep its rows, "
                        "drop a torn last line, certify the rest (refused "
                        "when its settings differ)")
    add_plot_argument(g)
    add_progress_argument(
        g, "0: quiet; 1: progress bar; 2: a progress line (images done, "
           "samples/s, ETA) every --progress-every images")
    g.add_argument("--progress-every", type=int, default=10, metavar="N",
                   help="images between progress lines (--verbose 2)")
    p.set_defaults(run=run)
    return p


def run(args):
    start = time.time()
    shard = _check_arguments(args)

    import keras
    import numpy as np
    import tensorflow as tf

    from kerasrobust.cli._options import distribute_strategy
    from kerasrobust.cli.analyze import print_summary
    from kerasrobust.data import load_dataset
    from kerasrobust.smoothing import CertifyLog
    from kerasrobust.smoothing import SmoothedClassifier
    from kerasrobust.smoothing import plot_certified_accuracy
    from kerasrobust.smoothing import read_certify_tsv
    from kerasrobust.smoothing import logs

    base = _load_base_model(args.model, keras)
    data = load_dataset(args.dataset, data_dir=args.data_dir,
                        download=args.download)
    check_model_fits_data(base, data, args.dataset)
    settings = {
        "model_sha256": logs.file_sha256(args.model),
        "sigma": args.sigma, "n0": args.n0, "n": args.n,
        "alpha": args.alpha, "method": args.method, "seed": args.seed,
        "dataset": args.dataset, "test_size": len(data.x_test),
        "skip": args.skip, "limit": args.limit,
        "shard": list(shard) if shard else None,
        "sampling_precision": args.sampling_precision,
    }
    extra_columns = ()
    if args.sequential:
        settings.update(n=args.n_max, sequential={
            "radii": sorted(set(args.radius)), "n_max": args.n_max})
        extra_columns = SEQUENTIAL_COLUMNS
    try:
        log = (CertifyLog.resume if args.resume else CertifyLog.create)(
            args.out, settings, extra_columns)
    except ValueError as e:
        raise ValueError(f"--{'resume' if args.resume else 'out'}: {e}") \
            from None
    except FileExistsError as e:
        raise FileExistsError(f"--out: {e}") from None

    indices = logs.selected_indices(len(data.x_test), args.skip, args.limit,
                                    shard)
    todo = np.array([i for i in indices if int(i) not in log.done],
                    np.int64)
    where = f" (shard {shard[0]}/{shard[1]})" if shard else ""
    print(f"certifying {len(indices)} of {len(data.x_test)} test images of "
          f"{args.dataset} ({data.split_note}){where} with {args.method}: "
          f"sigma={args.sigma:g}, n0={args.n0}, n={args.n}, "
          f"alpha={args.alpha:g}"
          + (f"; resuming: {len(indices) - len(todo)} already in {args.out}"
             if args.resume else ""), flush=True)

    strategy = distribute_strategy(args.distribute, tf)
    with strategy.scope():
        smoothed = SmoothedClassifier(
            base, num_classes=None, sigma=args.sigma,
            from_logits=not args.probabilities, seed=args.seed,
            sampling_precision=args.sampling_precision)
        # One stream seed for the whole run (the generator's first draw, so
        # a resumed or sharded run draws the same noise for each image).
        seed = smoothed.draw_seed()
        with log:
            _certify_into(log, smoothed, data, todo, seed, args)

    rows = read_certify_tsv(args.out)
    wall = time.time() - start
    print_summary(rows, args.alpha)
    if args.sequential:
        _print_sequential(rows, sorted(set(args.radius)), args.n_max)
    abstained = sum(r["predict"] == -1 for r in rows)
    per_image = float(np.mean([r["time"] for r in rows])) if rows else 0.0
    print(f"abstained: {abstained} of {len(rows)}; {per_image:.3f} s per "
          f"image; wall time {wall:.1f} s")
    saved = [str(args.out)]
    if args.plot and rows:
        title = (f"{args.dataset}, {args.method}, sigma={args.sigma:g}, "
                 f"n={args.n}")
        saved.append(str(plot_certified_accuracy(
            {f"{args.method} (sigma={args.sigma:g})": rows}, args.plot,
            title=title)))
    print(f"saved: {', '.join(saved)}")
    return 0


def _certify_into(log, smoothed, data, todo, seed, args):
    """Certifies the images `todo` in groups that fill one forward pass on
    every replica, appending each image's row as soon as it is done."""
    import keras

    from kerasrobust.smoothing.certify_sequential import DEFAULT_FIRST

    verbose = progress_verbosity(args.verbose)
    group = smoothed.group_size(
        DEFAULT_FIRST if args.sequential else args.n, args.batch_size)
    progbar = (keras.utils.Progbar(len(todo), unit_name="image")
               if verbose == 1 and len(todo) else None)
    began = time.perf_counter()
    next_line = args.progress_every
    for first in range(0, len(todo), group):
        chunk = todo[first:first + group]
        if args.sequential:
            result = smoothed.certify_sequential(
                data.x_test[chunk], sorted(set(args.radius)),
                n_max=args.n_max, alpha=args.alpha, n0=args.n0,
                batch_size=args.batch_size, verbose=0, indices=chunk,
                seed=seed)
            for row in _sequential_rows(result, chunk, data.y_test[chunk]):
                log.append(row)
        else:
            result = smoothed.certify(
                data.x_test[chunk], n0=args.n0, n=args.n, alpha=args.alpha,
                batch_size=args.batch_size, method=args.method, verbose=0,
                indices=chunk, seed=seed)
            for i, predict, radius, seconds in zip(
                    chunk, result.label, result.radius, result.time):
                log.append({"idx": int(i), "label": int(data.y_test[i]),
                            "predict": int(predict),
                            "radius": float(radius), "time": float(seconds)})
        done = first + len(chunk)
        if progbar is not None:
            progbar.update(done)
        elif verbose == 2 and (done >= next_line or done == len(todo)):
            next_line = done + args.progress_every
            print(_progress_line(done, len(todo), args.n0 + args.n,
                                 time.perf_counter() - began,
                                 estimated=args.sequential), flush=True)


def _progress_line(done, total, draws_per_image, elapsed, estimated=False):
    """`certify: 30/500 images, 2,530 samples/s, ETA 0:12:03` (with
    `estimated`, a sequential run: the ETA is from the images per second,
    the samples per second are not reported)."""
    if estimated:
        import datetime

        eta = datetime.timedelta(seconds=round(
            (total - done) * elapsed / max(done, 1)))
        return f"certify: {done}/{total} images, ETA {eta}"
    import datetime

    rate = done * draws_per_image / max(elapsed, 1e-9)
    eta = (total - done) * draws_per_image / max(rate, 1e-9)
    eta = datetime.timedelta(seconds=round(eta))
    return (f"certify: {done}/{total} images, {rate:,.0f} samples/s, "
            f"ETA {eta}")


def _check_arguments(args):
    """Fails on bad values before the model or the data is loaded; returns
    the shard `(I, K)` or `None`."""
    from kerasrobust._validation import check_count
    from kerasrobust._validation import check_number
    from kerasrobust.smoothing.logs import parse_shard
    from kerasrobust.smoothing.logs import settings_path

    check_number("--sigma", args.sigma, low=0, low_open=True)
    check_number("--n0", args.n0, low=1, integer=True)
    check_number("--n", args.n, low=1, integer=True)
    check_count("--n0", args.n0, high=args.n, high_name="--n")
    check_number("--alpha", args.alpha, low=0, high=1, low_open=True,
                 high_open=True)
    check_number("--batch-size", args.batch_size, low=1, integer=True)
    check_number("--skip", args.skip, low=1, integer=True)
    check_number("--seed", args.seed, low=0, high=2**31 - 1, integer=True)
    check_number("--progress-every", args.progress_every, low=1,
                 integer=True)
    if args.limit is not None:
        check_number("--limit", args.limit, low=1, integer=True)
    shard = None
    if args.shard is not None:
        try:
            shard = parse_shard(args.shard)
        except ValueError as e:
            raise ValueError(str(e).replace("`shard`", "`--shard`")) \
                from None
    _check_sequential_arguments(args, check_number)
    if not Path(args.model).is_file():
        raise FileNotFoundError(f"--model {args.model}: no such file.")
    check_output_flags(out=args.out, plot=args.plot)
    out = Path(args.out)
    if not args.resume and (out.exists() or settings_path(out).exists()):
        raise FileExistsError(
            f"--out {args.out} already exists; pass --resume to continue "
            "that run, or choose another path.")
    return shard


def _load_base_model(path, keras):
    import kerasrobust.training
    from kerasrobust.cli._options import load_keras_model

    model = load_keras_model(path)  # "corrupt" vs "no such file"
    if isinstance(model, kerasrobust.training.RobustTrainer):
        model = model.base_model
    return model


SEQUENTIAL_COLUMNS = ("num_samples", "p_lower")


def _check_sequential_arguments(args, check_number):
    """--sequential needs --radius (each > 0) and --n-max >= --n0; --radius
    and --n-max mean nothing without it."""
    if not args.sequential:
        for flag, value in (("--radius", args.radius),
                            ("--n-max", args.n_max)):
            if value is not None:
                raise ValueError(f"{flag} needs --sequential.")
        return
    if not args.radius:
        raise ValueError("--sequential needs at least one --radius R > 0.")
    for r in args.radius:
        check_number("--radius", r, low=0, low_open=True)
    if args.n_max is None:
        args.n_max = 100_000
    check_number("--n-max", args.n_max, low=1, integer=True)
    if args.n_max < args.n0:
        raise ValueError(f"--n-max must be >= --n0, got --n-max "
                         f"{args.n_max} < --n0 {args.n0}.")
    if args.method != "cohen":
        raise ValueError("--sequential bounds p_A only: --method must be "
                         f"'cohen', got {args.method!r}.")


def _sequential_rows(result, indices, y):
    """Log rows of a sequential run: Cohen's columns plus the draws and
    p_lower.

    `predict` is the candidate class where the lower confidence sequence of
    p_A ended above 1/2 (else -1) and `radius` is `sigma *
    Phi^-1(p_lower)`: a certified radius on the same 1 - alpha event, and
    exactly the decisions: the image is certified at an asked radius r iff
    `radius > r`, so the usual certified-accuracy summaries of the log give
    the sequential test's answers at the asked radii.
    """
    import numpy as np

    predict = np.where(result.p_lower > 0.5, result.candidate, -1)
    return [
        {"idx": int(i), "label": int(label), "predict": int(p),
         "radius": float(r) if p != -1 else 0.0, "time": float(t),
         "num_samples": int(m), "p_lower": float(lo)}
        for i, label, p, r, t, m, lo in zip(
            indices, y, predict, result.radius_lower, result.time,
            result.num_samples, result.p_lower)
    ]


def _print_sequential(rows, radii, n_max):
    """Certified accuracy at the asked radii and the draws per image."""
    import numpy as np

    if not rows:
        return
    correct = np.array([r["correct"] for r in rows], bool)
    radius = np.array([r["radius"] for r in rows])
    print("sequential: radius   " + " ".join(f"{r:>8g}" for r in radii))
    print("            cert acc " + " ".join(
        f"{np.mean(correct & (radius > r)):>8.3f}" for r in radii))
    print("mean estimation draws per image: "
          f"{np.mean([r['num_samples'] for r in rows]):.1f} (n_max {n_max})")
