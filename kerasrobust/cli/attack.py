"""`kerasrobust attack`: clean, white-box and black-box error of a model.

Loads a saved `.keras` model (a training wrapper or a base model), attacks
it on the test split of a dataset with FGSM or PGD, and prints a table.
Defaults are the ALPS paper's attack settings (Section 5.3): L-inf,
epsilon 4/255; PGD with 10 steps of 1/255. With `--source-model` (an
ERM-trained model in the paper) the adversarial images are also crafted on
that model and fed to `--model` (black-box).

Examples:

  kerasrobust attack --model runs/alps_small_cnn_digits/model.keras
  kerasrobust attack --model alps.keras --dataset npz --data-dir DATA \\
      --attack fgsm --epsilon 4/255 --source-model erm.keras
  kerasrobust attack --model alps.keras --epsilon inf --steps 200 \\
      --step-size 0.01        # the paper's unbounded-PGD sanity check
"""

import argparse
import fractions
import math
import os
import time

from kerasrobust.cli._options import add_data_arguments
from kerasrobust.cli._options import add_model_file_argument
from kerasrobust.cli._options import check_model_fits_data
from kerasrobust.cli._options import check_output_flags
from kerasrobust.cli._options import command_parser
from kerasrobust.cli._options import load_keras_model
from kerasrobust.cli._options import print_table

PAPER_EPSILON = "4/255"
PAPER_STEP_SIZE = "1/255"
PAPER_STEPS = 10


def parse_radius(text):
    """A float from `0.03`, `4/255` or `inf` (argparse `type`)."""
    value = str(text).strip().lower()
    try:
        if value in ("inf", "+inf", "infinity"):
            return math.inf
        if "/" in value:
            return float(fractions.Fraction(value))
        result = float(value)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"expected a number, a fraction such as 4/255, or inf; got "
            f"{text!r}."
        ) from None
    if math.isnan(result):
        raise argparse.ArgumentTypeError(f"got {text!r}, not a number.")
    return result


def add_parser(commands):
    p = command_parser(commands, "attack", __doc__, examples=True)
    g = p.add_argument_group("what to attack")
    add_model_file_argument(g, "its base model is attacked")
    add_data_arguments(
        g, "dataset whose test split is attacked (default: "
           "digits, bundled with scikit-learn)")
    g.add_argument("--limit", type=int, default=None, metavar="N",
                   help="attack only the first N test images (default: all)")
    g.add_argument("--source-model", default=None, metavar="PATH",
                   help="saved .keras model that crafts black-box examples "
                        "(the paper uses an ERM-trained model); adds a "
                        "black-box row")

    g = p.add_argument_group("attack (defaults: the ALPS paper's settings)")
    g.add_argument("--attack", choices=("fgsm", "pgd"), default="pgd",
                   help="FGSM (one step of size epsilon) or PGD (default: "
                        "pgd)")
    g.add_argument("--epsilon", type=parse_radius, default=PAPER_EPSILON,
                   help="radius in pixel units of --norm; a number, a "
                        "fraction such as 4/255, or inf for unbounded PGD "
                        f"(default: {PAPER_EPSILON})")
    g.add_argument("--steps", type=int, default=None,
                   help=f"PGD iterations (default: {PAPER_STEPS}); not for "
                        "FGSM")
    g.add_argument("--step-size", type=parse_radius, default=None,
                   help=f"PGD step length (default: {PAPER_STEP_SIZE}); a "
                        "number or fraction; not for FGSM")
    g.add_argument("--norm", choices=("inf", "2"), default="inf",
                   help="L-inf (sign steps, per-pixel ball) or L2 "
                        "(normalized steps, Euclidean ball) (default: inf)")
    g.add_argument("--random-start", action="store_true",
                   help="PGD: start at a uniform random point of the ball")
    g.add_argument("--seed", type=int, default=0,
                   help="seed of the random start (default: 0)")
    g.add_argument("--batch-size", type=int, default=256,
                   help="images per compiled attack call (default: 256)")

    g = p.add_argument_group("output")
    g.add_argument("--json", default=None, metavar="OUT",
                   help="also write the results as JSON to OUT")
    g.add_argument("--csv", default=None, metavar="OUT",
                   help="also write the results as CSV to OUT")
    g.add_argument("--verbose", type=int, choices=(0, 1), default=0,
                   help="1 shows a progress bar over batches (default: 0)")
    p.set_defaults(run=run)
    return p


def attack_config(args):
    """The `AttackConfig` of the flags; raises ValueError on bad values."""
    from kerasrobust._validation import check_number
    from kerasrobust.evaluate import AttackConfig

    if args.attack == "fgsm":
        given = [flag for flag, value in (
            ("--steps", args.steps), ("--step-size", args.step_size),
            ("--random-start", args.random_start or None))
            if value is not None]
        if given:
            raise ValueError(
                f"{', '.join(given)} only apply to --attack pgd; FGSM is "
                "one step of size --epsilon."
            )
        return AttackConfig("fgsm", epsilon=args.epsilon, norm=args.norm)
    steps = PAPER_STEPS if args.steps is None else args.steps
    check_number("--steps", steps, low=1, integer=True)
    step_size = (parse_radius(PAPER_STEP_SIZE) if args.step_size is None
                 else args.step_size)
    return AttackConfig("pgd", epsilon=args.epsilon, step_size=step_size,
                        steps=steps, norm=args.norm,
                        random_start=args.random_start)


def _check_flags(args):
    from kerasrobust._validation import check_number

    check_number("--batch-size", args.batch_size, low=1, integer=True)
    check_number("--seed", args.seed, low=0, integer=True)
    if args.limit is not None:
        check_number("--limit", args.limit, low=1, integer=True)
    for flag, path in (("--model", args.model),
                       ("--source-model", args.source_model)):
        if path is not None and not os.path.isfile(path):
            # Before the slow loading of models and data; the loader
            # tells a missing file from a corrupt one.
            load_keras_model(path, flag)
    check_output_flags(json=args.json, csv=args.csv)


def run(args):
    # Check every flag before loading anything.
    attack = attack_config(args)
    _check_flags(args)

    from kerasrobust.data import load_dataset
    from kerasrobust.evaluate import robustness

    start = time.time()
    model = load_keras_model(args.model, "--model")
    source = (load_keras_model(args.source_model, "--source-model")
              if args.source_model else None)
    data = load_dataset(args.dataset, data_dir=args.data_dir,
                        download=args.download)
    for flag, checked in (("--model", model), ("--source-model", source)):
        if checked is not None:
            check_model_fits_data(checked, data, args.dataset, flag)
    x, y = data.x_test, data.y_test
    if args.limit is not None:
        x, y = x[:args.limit], y[:args.limit]
    result = robustness(model, (x, y), attacks={args.attack: attack},
                        source_model=source, batch_size=args.batch_size,
                        seed=args.seed, verbose=args.verbose)
    result["model"] = str(args.model)
    result["source_model"] = (None if args.source_model is None
                              else str(args.source_model))
    result["dataset"] = args.dataset
    result["split"] = data.split_note
    result["wall_seconds"] = round(time.time() - start, 2)
    if args.json:
        result.to_json(args.json)
    if args.csv:
        result.to_csv(args.csv)
    _print_table(result, attack)
    return 0


def _print_table(result, attack):
    name = next(iter(result["white_box"]))
    rows = [
        ("model", result["model"]),
        ("dataset", f"{result['dataset']} test split, {result['n']} images"),
        ("attack", attack.describe()),
        ("clean error (%)", f"{result['clean_error']:.2f}"),
        ("white-box error (%)", f"{result['white_box'][name]:.2f}"),
    ]
    if result["black_box"]:
        rows.append(("black-box error (%)",
                     f"{result['black_box'][name]:.2f}"))
        rows.append(("source model", result["source_model"]))
    rows.append(("wall time (s)", f"{result['wall_seconds']:.1f}"))
    print_table(rows)
