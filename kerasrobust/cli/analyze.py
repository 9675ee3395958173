"""`kerasrobust analyze`: merge certification logs and summarize them.

Cohen et al.'s `analyze.py` for kerasrobust's logs: reads one or more logs
of `kerasrobust certify` (the K shards of one run, or one log), refuses logs
made with different settings (model, sigma, n0, n, alpha, method, seed,
dataset, skip, limit, precision; compared through their
`<log>.settings.json`) and indices that appear twice, reports planned
indices that no log holds, and prints the certified-accuracy table, the
average certified radius (ACR) and the high-probability lower bound on the
true certified accuracy. `--out` writes the merged log (rows sorted by
index: for the K shards of a run, the log the unsharded run writes, up to
the `time` column); `--plot` the certified-accuracy curve.
"""

import math

from kerasrobust.cli._options import add_plot_argument
from kerasrobust.cli._options import command_parser

RADIUS_STEP = 0.25


def add_parser(commands):
    p = command_parser(commands, "analyze", __doc__)
    p.add_argument("logs", nargs="+", metavar="LOG.tsv",
                   help="logs of `kerasrobust certify` (e.g. the K shards of "
                        "one run), or Cohen et al.'s logs")
    p.add_argument("--out", default=None, metavar="PATH",
                   help="write the merged log (and its settings file) here; "
                        "an existing file is not overwritten")
    add_plot_argument(p)
    p.add_argument("--alpha", type=float, default=None,
                   help="failure probability of each certificate, for the "
                        "lower bound (default: the logs' own alpha; needed "
                        "for logs without a settings file)")
    p.add_argument("--confidence", type=float, default=0.99,
                   help="probability with which the printed lower bound on "
                        "the true certified accuracy holds")
    p.set_defaults(run=run)
    return p


def run(args):
    from pathlib import Path

    from kerasrobust._io import atomic_write_json
    from kerasrobust._validation import check_number
    from kerasrobust.smoothing import merge_logs
    from kerasrobust.smoothing import plot_certified_accuracy
    from kerasrobust.smoothing import write_certify_tsv
    from kerasrobust.cli._options import check_output_flags
    from kerasrobust.smoothing.logs import LOG_FORMAT
    from kerasrobust.smoothing.logs import settings_path

    check_number("--confidence", args.confidence, low=0, high=1,
                 low_open=True, high_open=True)
    if args.alpha is not None:
        check_number("--alpha", args.alpha, low=0, high=1, low_open=True,
                     high_open=True)
    for path in args.logs:
        if not Path(path).is_file():
            raise FileNotFoundError(f"LOG {path}: no such file.")
    check_output_flags(out=args.out, plot=args.plot)
    if args.out is not None and (Path(args.out).exists()
                                 or settings_path(args.out).exists()):
        raise FileExistsError(
            f"--out {args.out} already exists; choose another path.")

    rows, settings, missing = merge_logs(args.logs)
    alpha = args.alpha
    if alpha is None and settings is not None:
        alpha = settings["alpha"]
    if settings is not None:
        print(f"{len(rows)} images from {len(args.logs)} log(s): "
              f"{settings['dataset']}, {settings['method']}, "
              f"sigma={settings['sigma']:g}, n0={settings['n0']}, "
              f"n={settings['n']}, alpha={settings['alpha']:g}")
    if missing:
        shown = ", ".join(map(str, missing[:20]))
        more = f", ... ({len(missing) - 20} more)" if len(missing) > 20 else ""
        print(f"missing: {len(missing)} planned indices are in no log: "
              f"{shown}{more}; the summary covers the {len(rows)} present")
    if not rows:
        raise ValueError("the logs hold no rows; nothing to summarize.")
    print_summary(rows, alpha, args.confidence)
    saved = []
    if args.out is not None:
        saved.append(str(write_certify_tsv(args.out, rows)))
        if settings is not None:
            atomic_write_json(settings_path(args.out),
                              dict(settings, format=LOG_FORMAT))
    if args.plot is not None:
        saved.append(str(plot_certified_accuracy(
            {"certified accuracy": rows}, args.plot)))
    if saved:
        print(f"saved: {', '.join(saved)}")
    return 0


def print_summary(rows, alpha=None, confidence=0.99):
    """Prints the certified-accuracy table at radii 0, 0.25, ..., the ACR
    and (with `alpha`) the `confidence` lower bound on the true certified
    accuracy (`certified_accuracy_lower_bound`)."""
    import numpy as np

    from kerasrobust.smoothing import average_certified_radius
    from kerasrobust.smoothing import certified_accuracy
    from kerasrobust.smoothing import certified_accuracy_lower_bound

    largest = max([r["radius"] for r in rows if r["correct"]] + [0.0])
    top = max(1.0, math.ceil(largest / RADIUS_STEP) * RADIUS_STEP)
    radii = np.round(np.arange(0.0, top + RADIUS_STEP / 2, RADIUS_STEP), 10)
    table = [("cert acc", certified_accuracy(rows, radii))]
    if alpha is not None:
        table.append((f"lower {confidence:g}", certified_accuracy_lower_bound(
            rows, radii, alpha, confidence)))
    width = max(6, max(len(f"{r:g}") for r in radii))
    label = max(9, max(len(name) + 1 for name, _ in table))
    print(f"{'radius':<{label}}" + " ".join(f"{r:>{width}g}" for r in radii))
    for name, values in table:
        print(f"{name:<{label}}" + " ".join(f"{a:>{width}.3f}"
                                            for a in values))
    print(f"average certified radius (ACR): "
          f"{average_certified_radius(rows):.4f}")
