"""`kerasrobust tune`: search a training method's hyperparameters.

Runs a keras-tuner search (`kerasrobust.tuning.search`) of the method's
hyperparameters over the papers' ranges, on a validation split held out of
the training set (the test split is only used to report the best model),
then prints the best hyperparameters and saves the best model. Defaults run
offline in a few minutes on 2 CPU cores: ALPS on scikit-learn's 8x8 digits
with the small CNN, random search, 10 trials of 10 epochs.

Search-space overrides (`--space`, repeatable): `NAME=VALUE` fixes a
hyperparameter, `NAME=LOW:HIGH` (or `LOW:HIGH:log`) searches an interval,
`NAME=V1,V2,...` a list of values, e.g. `--space epsilon=0.05:0.4
--space sigma=0.25,0.5 --space lam=0.1`.

Examples:

  kerasrobust tune --method alps --objective val_accuracy --max-trials 10
  kerasrobust tune --method adre --objective certified_accuracy --radius 0.5 \\
      --space num_noise=2 --max-trials 8 --tuner bayesian
  kerasrobust tune --method mixup --tuner hyperband --epochs 27 \\
      --objective robust_accuracy --attack fgsm
  kerasrobust tune --resume --max-trials 20 ...   # add trials to a search

The search lives in `<out-dir>/search/` (keras-tuner's trial folders); a
second run into the same folder refuses to start unless `--resume`
(continue it: finished trials are kept, an interrupted one is rerun) or
`--overwrite` (start over). The search's settings are kept in
`<out-dir>/search_settings.json`; `--resume` with other settings (another
method, objective, search space, epochs, ...) is an error listing the
differences. Only `--max-trials`, `--verbose`, `--data-dir`, `--download`
and `--distribute` may change. Writes `best_model.keras` (the training
wrapper, best epoch of the best trial), `best_base_model.keras` (the
classifier alone) and `best_hyperparameters.json`.
"""

import math
import os
import time
from pathlib import Path

from kerasrobust._names import CERTIFY_METHODS
from kerasrobust._names import OBJECTIVES
from kerasrobust._names import TUNERS
from kerasrobust.cli._options import add_data_arguments
from kerasrobust.cli._options import add_progress_argument
from kerasrobust.cli._options import add_recipe_arguments
from kerasrobust.cli._options import add_training_data_arguments
from kerasrobust.cli._options import check_output_dir
from kerasrobust.cli._options import command_parser
from kerasrobust.cli._options import distribute_strategy
from kerasrobust.cli._options import print_table
from kerasrobust.cli._options import progress_verbosity
from kerasrobust.cli._method_options import add_method_and_model_arguments
from kerasrobust.cli._method_options import add_method_arguments
from kerasrobust.cli._method_options import declared_flags
from kerasrobust.cli._method_options import given_hyperparameters
from kerasrobust.cli.attack import parse_radius

PROJECT = "search"
#: The flags that define a search, stored beside it and compared on
#: `--resume`: every flag except these, which may change between runs.
SETTINGS_FILE = "search_settings.json"
RUN_ONLY_FLAGS = ("run", "command", "resume", "overwrite", "max_trials",
                  "verbose", "out_dir", "data_dir", "download", "distribute")


def add_parser(commands):
    p = command_parser(commands, "tune", __doc__, examples=True)
    g = p.add_argument_group("what to tune")
    add_method_and_model_arguments(
        g, "training method whose hyperparameters are searched (default: "
           "alps)", "base architecture (default: small_cnn)")
    add_data_arguments(
        g, "dataset (default: digits, bundled with "
           "scikit-learn); tfds datasets need --download or a "
           "prepared --data-dir")
    g.add_argument("--val-fraction", type=float, default=0.2,
                   help="fraction of the training set held out to score "
                        "the trials (default: 0.2)")
    add_training_data_arguments(
        g, "train each trial on at most N of the remaining training images")

    g = p.add_argument_group("search")
    g.add_argument("--tuner", choices=TUNERS, default="random",
                   help="keras-tuner RandomSearch, BayesianOptimization or "
                        "Hyperband (default: random)")
    g.add_argument("--max-trials", type=int, default=10,
                   help="trials of random/bayesian search; with --resume, "
                        "the total including earlier ones (default: 10)")
    g.add_argument("--objective", choices=OBJECTIVES,
                   default="val_accuracy",
                   help="what the search maximizes (val_loss: minimizes) "
                        "on the validation split (default: val_accuracy)")
    g.add_argument("--space", action="append", default=[],
                   metavar="NAME=SPEC",
                   help="override one hyperparameter's range: NAME=VALUE, "
                        "NAME=LOW:HIGH[:log] or NAME=V1,V2,... (repeatable)")
    g.add_argument("--epochs", type=int, default=10,
                   help="epochs per trial (hyperband: the most a trial "
                        "gets); the learning-rate schedule spans them "
                        "(default: 10)")
    g.add_argument("--seed", type=int, default=0,
                   help="seed of the validation split, the tuner, the "
                        "initial weights and the method's draws (default: 0)")
    g.add_argument("--resume", action="store_true",
                   help="continue the search stored in --out-dir")
    g.add_argument("--overwrite", action="store_true",
                   help="delete the search stored in --out-dir first")

    g = p.add_argument_group("objective settings")
    g.add_argument("--eval-examples", type=int, default=None, metavar="N",
                   help="validation images the robust/certified objectives "
                        "evaluate each epoch (default: 500 robust, 100 "
                        "certified)")
    g.add_argument("--attack", choices=("pgd", "fgsm"), default="pgd",
                   help="robust_accuracy: the attack (default: pgd, the "
                        "ALPS paper's L-inf PGD-10)")
    g.add_argument("--attack-epsilon", type=parse_radius, default="4/255",
                   help="robust_accuracy: L-inf radius (default: 4/255)")
    g.add_argument("--attack-steps", type=int, default=10,
                   help="robust_accuracy: PGD steps (default: 10)")
    g.add_argument("--attack-step-size", type=parse_radius, default="1/255",
                   help="robust_accuracy: PGD step length (default: 1/255)")
    g.add_argument("--radius", type=float, default=0.25,
                   help="certified_accuracy: the L2 radius (default: 0.25)")
    g.add_argument("--certify-sigma", type=float, default=None,
                   help="certified_accuracy/acr: noise level (default: the "
                        "trial's sigma; required for methods without noise)")
    g.add_argument("--n0", type=int, default=100,
                   help="certified_accuracy/acr: selection draws "
                        "(default: 100)")
    g.add_argument("--n", type=int, default=1000,
                   help="certified_accuracy/acr: estimation draws (default: "
                        "1000; the papers certify with 100,000)")
    g.add_argument("--alpha", type=float, default=0.001,
                   help="certified_accuracy/acr: failure probability "
                        "(default: 0.001)")
    g.add_argument("--certify-method", choices=CERTIFY_METHODS,
                   default="cohen",
                   help="CERTIFY or T-CERTIFY (default: cohen)")

    add_method_arguments(p, searched=False, title="fixed method settings "
                         "(not searched; the tuned method's only)")

    g = p.add_argument_group("optimization (paper recipe)")
    add_recipe_arguments(g)

    g = p.add_argument_group("output")
    g.add_argument("--out-dir", default=None,
                   help="where search/, best_model.keras, "
                        "best_base_model.keras and best_hyperparameters.json "
                        "go (default: runs/tune_<method>_<model>_<dataset>)")
    add_progress_argument(g, "keras-tuner and Keras progress")
    p.set_defaults(run=run)
    return p


def parse_search_space(items):
    """`{name: value | (low, high) | Range | [values]}` from `--space`
    items; raises ValueError on malformed ones."""
    from kerasrobust.tuning import Range

    space = {}
    for item in items:
        name, sep, spec = item.partition("=")
        name = name.strip()
        if not sep or not name or not spec.strip():
            raise ValueError(
                "--space takes NAME=VALUE, NAME=LOW:HIGH[:log] or "
                f"NAME=V1,V2,...; got {item!r}.")
        if name in space:
            raise ValueError(f"--space gives {name!r} twice.")
        if ":" in spec:
            parts = spec.split(":")
            if len(parts) not in (2, 3):
                raise ValueError(
                    f"--space {name}: a range is LOW:HIGH or LOW:HIGH:log, "
                    f"got {spec!r}.")
            sampling = parts[2].strip() if len(parts) == 3 else "linear"
            space[name] = Range(_number(name, parts[0]),
                                _number(name, parts[1]), sampling)
        elif "," in spec:
            space[name] = [_number(name, v) for v in spec.split(",")]
        else:
            space[name] = _number(name, spec)
    return space


def _number(name, text):
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"--space {name}: expected a number, got {text.strip()!r}."
        ) from None


def run(args):
    from kerasrobust._validation import check_number
    from kerasrobust.training import paper_optimizer
    from kerasrobust.tuning import SearchSpace

    start = time.time()
    out_dir = Path(args.out_dir or os.path.join(
        "runs", f"tune_{args.method}_{args.model}_{args.dataset}"))
    # Every flag is checked before any data is loaded.
    if args.distribute == "multiworker":
        raise ValueError(
            "--distribute multiworker is not supported by tune: keras-tuner "
            "runs trials in parallel with its own chief/worker protocol "
            "(KERASTUNER_* variables), not one trial across workers; use "
            "--distribute mirrored on one host, or 'train --distribute "
            "multiworker' for the chosen hyperparameters.")
    space = SearchSpace(args.method, parse_search_space(args.space))
    objective = _objective(args)
    check_number("--epochs", args.epochs, low=1, integer=True)
    check_number("--max-trials", args.max_trials, low=1, integer=True)
    check_number("--batch-size", args.batch_size, low=1, integer=True)
    check_number("--val-fraction", args.val_fraction, low=0, high=1,
                 low_open=True, high_open=True)
    trainer_kwargs = _trainer_kwargs(args)
    if "warmup_epochs" in trainer_kwargs:
        check_number("--warmup-epochs", trainer_kwargs["warmup_epochs"],
                     low=0, high=args.epochs, integer=True)
    if args.limit_train is not None:
        check_number("--limit-train", args.limit_train, low=1, integer=True)
    paper_optimizer(1, args.epochs, learning_rate=args.lr,
                    momentum=args.momentum, decay_epochs=args.decay_epochs)
    check_output_dir("--out-dir", out_dir)
    _check_out_dir(out_dir, args)

    import keras
    import numpy as np

    from kerasrobust._io import atomic_save_model
    from kerasrobust._io import atomic_write_json
    from kerasrobust.data import load_dataset
    from kerasrobust.data import make_dataset
    from kerasrobust.models import channel_stats
    from kerasrobust.tuning import search

    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    data = load_dataset(args.dataset, data_dir=args.data_dir,
                        download=args.download)
    order = np.random.default_rng(args.seed).permutation(len(data.x_train))
    n_val = max(1, int(round(args.val_fraction * len(order))))
    x_val, y_val = data.x_train[order[:n_val]], data.y_train[order[:n_val]]
    keep = order[n_val:][:args.limit_train]
    x_train, y_train = data.x_train[keep], data.y_train[keep]
    if len(x_train) == 0:
        raise ValueError(
            f"--val-fraction {args.val_fraction} leaves no training images.")
    mean, std = channel_stats(x_train)
    steps = math.ceil(len(x_train) / args.batch_size)
    train_ds = make_dataset(
        x_train, y_train, args.batch_size, training=True,
        augmentation="none" if args.no_augment else data.augmentation,
        crop_padding=data.crop_padding, seed=args.seed)
    strategy = distribute_strategy(args.distribute, tf)
    verbose = progress_verbosity(args.verbose)

    def optimizer(hp):
        return paper_optimizer(steps, args.epochs, learning_rate=args.lr,
                               momentum=args.momentum,
                               decay_epochs=args.decay_epochs)

    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / SETTINGS_FILE, search_settings(args))
    try:
        result = search(
            args.method, args.model, train_ds, search_space=space,
            objective=objective, validation_data=(x_val, y_val),
            epochs=args.epochs, tuner=args.tuner, max_trials=args.max_trials,
            directory=out_dir, project_name=PROJECT,
            distribution_strategy=(
                strategy if strategy.num_replicas_in_sync > 1 else None),
            overwrite=args.overwrite, seed=args.seed, optimizer=optimizer,
            verbose=verbose, input_shape=data.input_shape,
            num_classes=data.num_classes, mean=mean, std=std,
            weight_decay=args.weight_decay,
            trainer_kwargs=trainer_kwargs)
    except BaseException:
        # A search refused before its first trial leaves nothing behind.
        if not (out_dir / PROJECT).exists():
            (out_dir / SETTINGS_FILE).unlink(missing_ok=True)
            if created and not any(out_dir.iterdir()):
                out_dir.rmdir()
        raise

    best = result.best_model()
    test = best.evaluate(data.x_test, data.y_test, batch_size=256,
                         verbose=0, return_dict=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"model": out_dir / "best_model.keras",
             "base_model": out_dir / "best_base_model.keras",
             "results": out_dir / "best_hyperparameters.json"}
    atomic_save_model(best, files["model"])
    atomic_save_model(best.base_model, files["base_model"])
    summary = {
        "method": args.method, "model": args.model, "dataset": args.dataset,
        "split": data.split_note, "train_size": int(len(x_train)),
        "val_size": int(n_val), "test_size": int(len(data.x_test)),
        "tuner": args.tuner,
        "objective": {"name": objective.name,
                      "direction": objective.direction},
        "best_value": result.best_value,
        "best_trial_id": result.best_trial_id,
        "num_trials": result.num_trials,
        "hyperparameters": result.values,
        "search_space": space.describe(),
        "test_accuracy": float(test["accuracy"]),
        "test_loss": float(test["loss"]),
        "wall_seconds": round(time.time() - start, 2),
        "config": {k: v for k, v in vars(args).items() if k != "run"},
        "files": {k: str(v) for k, v in files.items()},
    }
    atomic_write_json(files["results"], summary)
    _print_table(summary, files)
    return 0


def _objective(args):
    """The `TuningObjective` of the flags (only the flags of its kind)."""
    from kerasrobust.evaluate import AttackConfig
    from kerasrobust.tuning import objective

    options = {}
    if args.eval_examples is not None:
        options["num_examples"] = args.eval_examples
    if args.objective == "robust_accuracy":
        options["attack"] = (
            AttackConfig("fgsm", epsilon=args.attack_epsilon)
            if args.attack == "fgsm" else
            AttackConfig("pgd", epsilon=args.attack_epsilon,
                         step_size=args.attack_step_size,
                         steps=args.attack_steps))
    elif args.objective in ("certified_accuracy", "acr"):
        options.update(sigma=args.certify_sigma, n0=args.n0, n=args.n,
                       alpha=args.alpha, certify_method=args.certify_method)
        if args.objective == "certified_accuracy":
            options["radius"] = args.radius
    return objective(args.objective, **options)


def _trainer_kwargs(args):
    """The fixed (not searched) settings given for the method, as
    `make_trainer` arguments; a flag of another method is an error."""
    return given_hyperparameters(args, args.method,
                                 declared_flags(searched=False))


def _check_out_dir(out_dir, args):
    if args.resume and args.overwrite:
        raise ValueError("--resume and --overwrite exclude each other.")
    stored = out_dir / PROJECT / "oracle.json"
    if stored.exists() and not (args.resume or args.overwrite):
        raise FileExistsError(
            f"{out_dir / PROJECT} holds an earlier search. Pass --resume to "
            "continue it, --overwrite to start over, or choose another "
            "--out-dir; nothing was changed.")
    if args.resume and stored.exists():
        _check_resume(out_dir, args)


def search_settings(args):
    """The flags that define the search (JSON-ready)."""
    return {name: value for name, value in sorted(vars(args).items())
            if name not in RUN_ONLY_FLAGS}


def _check_resume(out_dir, args):
    """`--resume` continues the same search: its settings must match."""
    import json

    path = out_dir / SETTINGS_FILE
    if not path.is_file():
        return  # a search from before settings were stored
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is unreadable ({error}); pass --overwrite "
                         "to start the search over.") from None
    now = json.loads(json.dumps(search_settings(args)))
    differences = [
        f"--{name.replace('_', '-')} {stored.get(name)!r} -> "
        f"{now.get(name)!r}"
        for name in sorted(set(stored) | set(now))
        if stored.get(name) != now.get(name)]
    if differences:
        raise ValueError(
            f"--resume continues the search in {out_dir / PROJECT} with its "
            f"own settings, but these flags differ (search -> now): "
            f"{'; '.join(differences)}. Repeat the search's flags, or pass "
            "--overwrite to start a new search; nothing was changed.")


def _print_table(summary, files):
    def fmt(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    rows = [
        ("method", summary["method"]),
        ("model", summary["model"]),
        ("dataset", f"{summary['dataset']} ({summary['train_size']} train / "
                    f"{summary['val_size']} validation / "
                    f"{summary['test_size']} test)"),
        ("tuner", f"{summary['tuner']} ({summary['num_trials']} trials)"),
        ("objective", f"{summary['objective']['name']} "
                      f"({summary['objective']['direction']})"),
        ("best trial", summary["best_trial_id"]),
        (f"best {summary['objective']['name']}", fmt(summary["best_value"])),
    ]
    rows += [(name, fmt(value))
             for name, value in summary["hyperparameters"].items()]
    rows += [("test accuracy (best model)", fmt(summary["test_accuracy"])),
             ("wall time (s)", f"{summary['wall_seconds']:.1f}")]
    print("Best hyperparameters:")
    print_table(rows)
    print("saved: " + ", ".join(str(p) for p in files.values()))
