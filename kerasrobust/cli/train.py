"""`kerasrobust train`: train, evaluate and save one model.

Defaults run the main job of the quick start: ALPS on scikit-learn's
bundled 8x8 digits with the small CNN, offline, in about a minute on 2 CPU
cores. Flags select the paper's settings (`--model preact_resnet18
--dataset cifar10 --epochs 200`).
"""

import contextlib
import os
import platform
import time
from pathlib import Path

from kerasrobust._io import atomic_save_model
from kerasrobust._io import atomic_write_json
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
from kerasrobust.cli._method_options import flag
from kerasrobust.cli._method_options import given_hyperparameters
from kerasrobust.cli._method_options import METHOD_SPECS


def add_parser(commands):
    p = command_parser(commands, "train", __doc__)
    g = p.add_argument_group("what to train")
    add_method_and_model_arguments(
        g, "training method; 'dropout' is ERM with dropout (--dropout) on "
           "the penultimate layer; gaussian, adre, smoothadv and adre_adv "
           "train base classifiers for randomized smoothing. A "
           "hyperparameter flag of another method is an error",
        "architecture (kerasrobust.models)")
    add_data_arguments(
        g, "'digits' is bundled with scikit-learn and needs no "
           "download; tfds datasets need --download or a "
           "prepared --data-dir; mnist_idx/npz/tiny_imagenet "
           "read --data-dir")
    add_training_data_arguments(
        g, "train on a random subset of N training images")

    add_method_arguments(p)

    g = p.add_argument_group("optimization (paper recipe)")
    g.add_argument("--epochs", type=int, default=30,
                   help="training epochs (the paper: 200 on CIFAR)")
    add_recipe_arguments(g)
    g.add_argument("--seed", type=int, default=0,
                   help="seed of weights, data order, augmentation and the "
                        "method's random draws")

    g = p.add_argument_group("output")
    g.add_argument("--out-dir", default=None,
                   help="where model.keras, base_model.keras, metrics.json "
                        "and checkpoint/ go (default: "
                        "runs/<method>_<model>_<dataset>)")
    g.add_argument("--resume", action="store_true",
                   help="continue from the last checkpoint in --out-dir "
                        "(starts fresh if there is none)")
    add_progress_argument(g, "Keras progress: 1 bar, 2 one line per epoch")
    add_scale_arguments(p)
    p.set_defaults(run=run)
    return p


MIXED_PRECISION = ("float32", "mixed_float16", "mixed_bfloat16")


@contextlib.contextmanager
def dtype_policy(name):
    """Builds layers under Keras' global dtype policy `name` and restores
    the previous policy afterwards (built layers keep theirs)."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def add_scale_arguments(p):
    """Training at scale (`--distribute` is in the recipe group)."""
    g = p.add_argument_group("scale")
    g.add_argument("--mixed-precision", choices=MIXED_PRECISION,
                   default="float32",
                   help="Keras dtype policy: mixed_bfloat16 (TPUs, recent "
                        "GPUs/CPUs) or mixed_float16 (GPUs, with dynamic "
                        "loss scaling); variables, losses and labels stay "
                        "float32")


def run(args):
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasrobust.callbacks import ResumableCheckpoint
    from kerasrobust.data import load_dataset
    from kerasrobust.models import channel_stats
    from kerasrobust.models import get_model
    from kerasrobust.training import make_trainer
    from kerasrobust.training import paper_optimizer
    from kerasrobust.training import is_chief

    start = time.time()
    # First: MultiWorkerMirroredStrategy must be created before TensorFlow
    # runs any op.
    strategy = distribute_strategy(args.distribute, tf)
    out_dir = Path(args.out_dir or os.path.join(
        "runs", f"{args.method}_{args.model}_{args.dataset}"))
    ckpt_dir = out_dir / "checkpoint"
    check_output_dir("--out-dir", out_dir)
    if ResumableCheckpoint.exists(ckpt_dir) and not args.resume:
        raise FileExistsError(
            f"{ckpt_dir} holds a checkpoint of an earlier run. Pass "
            "--resume to continue it, or choose another --out-dir; nothing "
            "was overwritten."
        )
    values = _check_hyperparameters(args)
    spec = METHOD_SPECS[args.method]
    model_values = {h.name: values[h.name] for h in spec.hyperparameters
                    if h.model}
    trainer_values = {n: v for n, v in values.items()
                      if n not in model_values}

    keras.utils.set_random_seed(args.seed)
    data = load_dataset(args.dataset, data_dir=args.data_dir,
                        download=args.download)
    # As stored (uint8 for byte datasets): the pipeline divides each batch
    # by 255, and no float32 copy of the training set is made.
    x_train, y_train = data.stored_images("train"), data.y_train
    if args.limit_train is not None and args.limit_train < len(x_train):
        keep = np.random.default_rng(args.seed).permutation(
            len(x_train))[:args.limit_train]
        x_train, y_train = x_train[keep], y_train[keep]
    mean, std = channel_stats(x_train)

    steps_per_epoch = int(np.ceil(len(x_train) / args.batch_size))
    with strategy.scope(), dtype_policy(args.mixed_precision):
        base = get_model(
            args.model, input_shape=data.input_shape,
            num_classes=data.num_classes, mean=mean, std=std,
            **{"dropout": 0.0, **model_values},
        )
        model = make_trainer(
            args.method, base, **trainer_values,
            weight_decay=args.weight_decay, seed=args.seed,
        )
        model.compile(
            optimizer=paper_optimizer(
                steps_per_epoch, args.epochs, learning_rate=args.lr,
                momentum=args.momentum, decay_epochs=args.decay_epochs),
            metrics=["accuracy"],
        )
        checkpoint = ResumableCheckpoint(ckpt_dir)
        requested = model
        model, initial_epoch, _ = checkpoint.restore_or(model)
        if initial_epoch:
            _check_same_settings(model, requested, args, ckpt_dir)
    if initial_epoch:
        print(f"Resuming from {ckpt_dir}: {initial_epoch} of "
              f"{args.epochs} epochs done.")

    from kerasrobust.data import make_dataset
    train_ds = make_dataset(
        x_train, y_train, args.batch_size, training=True,
        augmentation="none" if args.no_augment else data.augmentation,
        crop_padding=data.crop_padding, seed=args.seed,
        # Epoch-keyed: a resumed run sees the order and augmentation an
        # uninterrupted one would from this epoch on.
        initial_epoch=initial_epoch)
    test_ds = data.test_dataset(batch_size=max(args.batch_size, 256))
    verbose = progress_verbosity(args.verbose)
    train_start = time.time()
    if initial_epoch < args.epochs:
        model.fit(train_ds, epochs=args.epochs, initial_epoch=initial_epoch,
                  validation_data=test_ds, callbacks=[checkpoint],
                  verbose=verbose)
    train_seconds = time.time() - train_start
    test = model.evaluate(test_ds, verbose=0, return_dict=True)
    if not is_chief(strategy):
        # Identical weights on every worker: the chief writes the outputs.
        print(f"Trained on {strategy.num_replicas_in_sync} replicas; the "
              "chief worker writes the outputs.")
        return 0

    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_save_model(model, out_dir / "model.keras")
    atomic_save_model(model.base_model, out_dir / "base_model.keras")
    history = checkpoint.history
    results = {
        "method": args.method, "model": args.model, "dataset": args.dataset,
        "split": data.split_note,
        "train_size": int(len(x_train)), "test_size": int(len(data.y_test)),
        "epochs": args.epochs,
        "test_accuracy": float(test["accuracy"]),
        "test_error_percent": 100.0 * (1.0 - float(test["accuracy"])),
        "test_loss": float(test["loss"]),
        "final_train_loss": history.get("loss", [None])[-1],
        "final_train_accuracy": history.get("accuracy", [None])[-1],
        "train_seconds_this_run": round(train_seconds, 2),
        "wall_seconds": round(time.time() - start, 2),
        "parameters": int(base.count_params()),
        "history": history,
        # Only the chosen method's hyperparameters (defaults included).
        "config": {**{k: v for k, v in vars(args).items() if k != "run"},
                   **values},
        "machine": {"platform": platform.platform(),
                    "python": platform.python_version(),
                    "tensorflow": tf.__version__, "keras": keras.__version__,
                    "replicas": strategy.num_replicas_in_sync,
                    "dtype_policy": args.mixed_precision},
        "files": {"model": str(out_dir / "model.keras"),
                  "base_model": str(out_dir / "base_model.keras")},
    }
    atomic_write_json(out_dir / "metrics.json", results)
    _print_table(results, out_dir)
    return 0


def _check_hyperparameters(args):
    """Fails on bad values before any data is loaded or step is run, with
    the same checks the wrappers and the optimizer recipe apply. Returns
    every hyperparameter of the method: the flags given (a flag of
    another method is an error) over the declared defaults."""
    import keras

    from kerasrobust._validation import check_number
    from kerasrobust.training import make_trainer
    from kerasrobust.training import paper_optimizer

    check_number("--batch-size", args.batch_size, low=1, integer=True)
    if args.limit_train is not None:
        check_number("--limit-train", args.limit_train, low=1, integer=True)
    spec = METHOD_SPECS[args.method]
    values = spec.resolve(
        given_hyperparameters(args, args.method, declared_flags()))
    paper_optimizer(1, args.epochs, learning_rate=args.lr,
                    momentum=args.momentum, decay_epochs=args.decay_epochs)
    probe = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)])
    make_trainer(
        args.method, probe,
        **{h.name: values[h.name] for h in spec.hyperparameters
           if not h.model},
        weight_decay=args.weight_decay, seed=args.seed,
    )
    if values.get("warmup_epochs", 0) > args.epochs:
        raise ValueError(
            f"`--warmup-epochs` ({values['warmup_epochs']}) must not exceed "
            f"`--epochs` ({args.epochs}).")
    return values


def _check_same_settings(restored, requested, args, ckpt_dir):
    """`--resume` continues a checkpoint only with the settings it was
    trained with: else a ValueError listing each difference."""
    from kerasrobust.training import trainer_differences

    spec = METHOD_SPECS[args.method]
    other = {"num_classes": "number of classes (--dataset)",
             "weight_decay": "--weight-decay", "seed": "--seed"}
    lines = []
    for name, old, new in trainer_differences(requested, restored):
        if name == "class":
            lines.append(f"--method: the checkpoint trained {old}, "
                         f"--method {args.method} trains {new}")
            continue
        method_name = spec.flag_of(name)
        label = (flag(method_name) if method_name in spec.names else
                 other.get(name, f"{name} (set by --method)"))
        lines.append(f"{label}: {old!r} in the checkpoint, {new!r} now")
    for label, get in (("--model", lambda m: m.base_model.name),
                       ("dropout rate (--method dropout, --dropout)",
                        _dropout_rates)):
        old, new = get(restored), get(requested)
        if old != new:
            lines.append(f"{label}: {old!r} in the checkpoint, {new!r} now")
    if lines:
        raise ValueError(
            f"--resume: the checkpoint in {ckpt_dir} was trained with other "
            f"settings: {'; '.join(lines)}. Repeat the checkpoint's settings"
            ", or choose another --out-dir; nothing was changed.")


def _dropout_rates(trainer):
    import keras

    return [float(layer.rate) for layer in trainer.base_model.layers
            if isinstance(layer, keras.layers.Dropout)]


def _print_table(results, out_dir):
    def fmt(value, spec):
        return "-" if value is None else format(value, spec)

    rows = [
        ("method", results["method"]),
        ("model", f"{results['model']} ({results['parameters']:,} params)"),
        ("dataset", f"{results['dataset']} ({results['train_size']} train /"
                    f" {results['test_size']} test)"),
        ("epochs", str(results["epochs"])),
        ("train loss (last epoch)", fmt(results["final_train_loss"], ".4f")),
        ("test loss", fmt(results["test_loss"], ".4f")),
        ("test accuracy", fmt(results["test_accuracy"], ".4f")),
        ("test error (%)", fmt(results["test_error_percent"], ".2f")),
        ("wall time (s)", fmt(results["wall_seconds"], ".1f")),
    ]
    print_table(rows)
    print(f"saved: {out_dir / 'model.keras'}, "
          f"{out_dir / 'base_model.keras'}, {out_dir / 'metrics.json'}")
