"""`kerasrobust train`: train, evaluate and save one model.

Defaults run the main job of the quick start: ALPS on scikit-learn's
bundled 8x8 digits with the small CNN, offline, in about a minute on 2 CPU
cores. Flags select the paper's settings (`--model preact_resnet18
--dataset cifar10 --epochs 200`).
"""

import argparse
import contextlib
import os
import platform
import sys
import time
from pathlib import Path

from kerasrobust._io import atomic_save_model
from kerasrobust._io import atomic_write_json
from kerasrobust.cli._options import add_data_arguments
from kerasrobust.cli._options import add_recipe_arguments
from kerasrobust.cli._options import distribute_strategy
from kerasrobust.models import MODELS
from kerasrobust.training import METHODS as _ALPS_METHODS
from kerasrobust.training import SMOOTHING_METHODS

# `cifar_resnet` needs a depth; `cifar_resnet110` is its named variant.
MODEL_NAMES = tuple(name for name in MODELS if name != "cifar_resnet")
METHODS = _ALPS_METHODS + SMOOTHING_METHODS


def add_parser(commands):
    p = commands.add_parser(
        "train",
        help="train a classifier with ALPS or a baseline, evaluate, save",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g = p.add_argument_group("what to train")
    g.add_argument("--method", choices=METHODS, default="alps",
                   help="training method; 'dropout' is ERM with dropout "
                        "(--dropout) on the penultimate layer; gaussian, "
                        "adre, smoothadv and adre_adv train base "
                        "classifiers for randomized smoothing")
    g.add_argument("--model", choices=MODEL_NAMES, default="small_cnn",
                   help="architecture (kerasrobust.models)")
    add_data_arguments(
        g, "'digits' is bundled with scikit-learn and needs no "
           "download; tfds datasets need --download or a "
           "prepared --data-dir; mnist_idx/npz/tiny_imagenet "
           "read --data-dir")
    g.add_argument("--limit-train", type=int, default=None, metavar="N",
                   help="train on a random subset of N training images")
    g.add_argument("--no-augment", action="store_true",
                   help="disable the paper's crop/flip augmentation")

    g = p.add_argument_group("method hyperparameters (paper values)")
    g.add_argument("--epsilon", type=float, default=0.2,
                   help="ALPS: L1 radius of the label perturbation, (0, 2]; "
                        "paper range (0, 0.5)")
    g.add_argument("--beta-mode", type=float, default=0.9,
                   help="ALPS: mode of lambda ~ Beta, (0, 1); paper range "
                        "(0.75, 1)")
    g.add_argument("--beta-concentration", type=float, default=10.0,
                   help="ALPS: a + b of the Beta distribution, > 2")
    g.add_argument("--alpha", type=float, default=1.0,
                   help="MixUp: Beta(alpha, alpha) parameter, > 0")
    g.add_argument("--label-smoothing", type=float, default=0.1,
                   help="label_smoothing: smoothing mass, [0, 1)")
    g.add_argument("--dropout", type=float, default=0.5,
                   help="dropout: rate on the penultimate layer, [0, 1)")
    g.add_argument("--lambda-sampling", choices=("sample", "batch"),
                   default=None,
                   help="one mixing coefficient per sample or per batch "
                        "(default: sample for ALPS, batch for MixUp)")

    g = p.add_argument_group("randomized-smoothing methods (ADRE paper)")
    g.add_argument("--sigma", type=float, default=0.25,
                   help="Gaussian noise level in pixel units, > 0 (papers: "
                        "0.12, 0.25, 0.5, 1.0)")
    g.add_argument("--num-noise", type=int, default=None,
                   help="noise draws per sample and step, >= 1 (default: 1;"
                        " 8 for adre, the paper's CIFAR-10 k)")
    g.add_argument("--lam", type=float, default=None,
                   help="ADRE weight lambda, >= 0 (default 0.1 for adre and"
                        " adre_adv)")
    g.add_argument("--single-draw-per", action="store_true",
                   help="adre: compute l_per from one noise draw (the "
                        "paper's CIFAR-10 variant)")
    g.add_argument("--adv-epsilon", type=float, default=0.25,
                   help="smoothadv/adre_adv: L2 attack radius in pixel "
                        "units (0.25 = SmoothAdv's 64/256)")
    g.add_argument("--adv-steps", type=int, default=1,
                   help="smoothadv/adre_adv: PGD steps (step size "
                        "2 * epsilon / steps)")
    g.add_argument("--warmup-epochs", type=int, default=0,
                   help="smoothadv/adre_adv: epochs of linear epsilon "
                        "warm-up (<= --epochs)")

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
    g.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                   help="Keras progress: 1 bar, 2 one line per epoch "
                        "(default: 1 on a terminal, else 2)")
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
    if ResumableCheckpoint.exists(ckpt_dir) and not args.resume:
        raise FileExistsError(
            f"{ckpt_dir} holds a checkpoint of an earlier run. Pass "
            "--resume to continue it, or choose another --out-dir; nothing "
            "was overwritten."
        )
    _check_hyperparameters(args)

    keras.utils.set_random_seed(args.seed)
    data = load_dataset(args.dataset, data_dir=args.data_dir,
                        download=args.download)
    x_train, y_train = data.x_train, data.y_train
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
            dropout=args.dropout if args.method == "dropout" else 0.0,
        )
        model = make_trainer(
            args.method, base, epsilon=args.epsilon,
            beta_mode=args.beta_mode,
            beta_concentration=args.beta_concentration, alpha=args.alpha,
            label_smoothing=args.label_smoothing,
            lambda_sampling=args.lambda_sampling,
            **_smoothing_kwargs(args),
            weight_decay=args.weight_decay, seed=args.seed,
        )
        model.compile(
            optimizer=paper_optimizer(
                steps_per_epoch, args.epochs, learning_rate=args.lr,
                momentum=args.momentum, decay_epochs=args.decay_epochs),
            metrics=["accuracy"],
        )
        checkpoint = ResumableCheckpoint(ckpt_dir)
        model, initial_epoch, _ = checkpoint.restore_or(model)
    if initial_epoch:
        print(f"Resuming from {ckpt_dir}: {initial_epoch} of "
              f"{args.epochs} epochs done.")

    from kerasrobust.data import make_dataset
    train_ds = make_dataset(
        x_train, y_train, args.batch_size, training=True,
        augmentation="none" if args.no_augment else data.augmentation,
        crop_padding=data.crop_padding, seed=args.seed + initial_epoch)
    test_ds = data.test_dataset(batch_size=max(args.batch_size, 256))
    verbose = args.verbose if args.verbose is not None else (
        1 if sys.stdout.isatty() else 2)
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
        "train_size": int(len(x_train)), "test_size": int(len(data.x_test)),
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
        "config": {k: v for k, v in vars(args).items() if k != "run"},
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
    the same checks the wrappers and the optimizer recipe apply."""
    import keras

    from kerasrobust._validation import check_number
    from kerasrobust.training import make_trainer
    from kerasrobust.training import paper_optimizer

    check_number("--batch-size", args.batch_size, low=1, integer=True)
    check_number("--dropout", args.dropout, low=0, high=1, high_open=True)
    if args.limit_train is not None:
        check_number("--limit-train", args.limit_train, low=1, integer=True)
    paper_optimizer(1, args.epochs, learning_rate=args.lr,
                    momentum=args.momentum, decay_epochs=args.decay_epochs)
    probe = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)])
    make_trainer(
        args.method, probe, epsilon=args.epsilon, beta_mode=args.beta_mode,
        beta_concentration=args.beta_concentration, alpha=args.alpha,
        label_smoothing=args.label_smoothing,
        lambda_sampling=args.lambda_sampling, **_smoothing_kwargs(args),
        weight_decay=args.weight_decay, seed=args.seed,
    )
    if args.warmup_epochs > args.epochs:
        raise ValueError(
            f"`--warmup-epochs` ({args.warmup_epochs}) must not exceed "
            f"`--epochs` ({args.epochs}).")


def _smoothing_kwargs(args):
    return dict(sigma=args.sigma, num_noise=args.num_noise, lam=args.lam,
                adv_epsilon=args.adv_epsilon, adv_steps=args.adv_steps,
                warmup_epochs=args.warmup_epochs,
                single_draw_per=args.single_draw_per)


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
    width = max(len(name) for name, _ in rows)
    line = "-" * (width + 3 + max(len(value) for _, value in rows))
    print(line)
    for name, value in rows:
        print(f"{name:<{width}} | {value}")
    print(line)
    print(f"saved: {out_dir / 'model.keras'}, "
          f"{out_dir / 'base_model.keras'}, {out_dir / 'metrics.json'}")
