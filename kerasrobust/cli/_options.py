"""Command-line options shared by several subcommands.

Nothing here imports TensorFlow at module level, and the subcommands build
their parsers from TensorFlow-free modules only (`kerasrobust._names`, the
method declarations loaded by `import_without_package`), so
`kerasrobust COMMAND --help` answers without loading TensorFlow; the
library is imported by each command's `run`.
"""

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

from kerasrobust._names import DATASET_NAMES

#: Subcommand -> (module, one-line help shown by `kerasrobust --help`).
COMMANDS = {
    "train": ("kerasrobust.cli.train",
              "train a classifier with ALPS or a baseline, evaluate, save"),
    "attack": ("kerasrobust.cli.attack",
               "FGSM/PGD error of a saved model (white-box and black-box)"),
    "certify": ("kerasrobust.cli.certify",
                "certify a saved model with randomized smoothing (CERTIFY or "
                "T-CERTIFY), write Cohen's TSV log"),
    "analyze": ("kerasrobust.cli.analyze",
                "merge certification logs (shards) and print certified "
                "accuracy, ACR and its high-probability lower bound"),
    "tune": ("kerasrobust.cli.tune",
             "search a method's hyperparameters with keras-tuner, print the "
             "best and save the best model"),
    "export": ("kerasrobust.cli.export",
               "export a saved model as a SavedModel for serving, with "
               "in-graph smoothed prediction and certification"),
}

DISTRIBUTE_CHOICES = ("auto", "none", "mirrored", "multiworker")


def command_parser(commands, name, description, examples=False):
    """The parser of subcommand `name`: its one-line help from `COMMANDS`,
    `description` (the module docstring) as the help's text. Defaults are
    shown after each option's help; with `examples` the description keeps
    its line breaks (and helps spell out their defaults)."""
    formatter = (argparse.RawDescriptionHelpFormatter if examples else
                 argparse.ArgumentDefaultsHelpFormatter)
    return commands.add_parser(name, help=COMMANDS[name][1],
                               description=description,
                               formatter_class=formatter)


def add_model_file_argument(group, use):
    """`--model PATH`, a `.keras` file read by `load_keras_model`; `use`
    says what the command does with a training wrapper's base model."""
    group.add_argument("--model", required=True, metavar="PATH",
                       help="a .keras file: a base model returning class "
                            "scores, or a kerasrobust training wrapper "
                            f"({use}), e.g. runs/.../model.keras")


def add_probabilities_argument(group, note=""):
    """`--probabilities`: the model returns probabilities, not logits."""
    group.add_argument("--probabilities", action="store_true",
                       help="the model returns probabilities, not logits"
                            + note)


def add_plot_argument(group):
    """`--plot PATH`: the certified-accuracy curve (certify, analyze)."""
    group.add_argument("--plot", default=None, metavar="PATH",
                       help="also plot certified accuracy against the radius "
                            "(e.g. curve.png)")


def add_training_data_arguments(group, limit_help):
    """`--limit-train N` (help `limit_help`) and `--no-augment`."""
    group.add_argument("--limit-train", type=int, default=None, metavar="N",
                       help=limit_help)
    group.add_argument("--no-augment", action="store_true",
                       help="disable the paper's crop/flip augmentation")


def add_progress_argument(group, help):
    """`--verbose 0|1|2` of a long command; `progress_verbosity` reads it."""
    group.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                       help=f"{help} (default: 1 on a terminal, else 2)")


def progress_verbosity(verbose):
    """`--verbose` as given, else 1 (a progress bar) on a terminal and 2
    (one line per step) when the output goes to a file."""
    if verbose is not None:
        return verbose
    return 1 if sys.stdout.isatty() else 2


def print_table(rows):
    """Prints `(name, value)` rows as a two-column table between rules."""
    width = max(len(name) for name, _ in rows)
    line = "-" * (width + 3 + max(len(value) for _, value in rows))
    print(line)
    for name, value in rows:
        print(f"{name:<{width}} | {value}")
    print(line)

#: Modules loaded by `import_without_package`, attached to their packages by
#: `attach_loaded_modules` once the packages are imported.
_LOADED = []


def import_without_package(name):
    """Imports module `name` (e.g. "kerasrobust.training.hyperparameters")
    without first running its package's `__init__`, which would import
    TensorFlow. Only for modules whose own imports are TensorFlow-free.

    The module is registered in `sys.modules` under its name, so when the
    package is imported later it reuses this very module (one set of
    classes and declarations per process).
    """
    module = sys.modules.get(name)
    if module is not None:
        return module
    root = Path(__file__).resolve().parents[1]
    path = root.joinpath(*name.split(".")[1:]).with_suffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    _LOADED.append(name)
    return module


def attach_loaded_modules():
    """Sets each module loaded by `import_without_package` as an attribute
    of its package, as a normal import does (`kerasrobust.training.
    hyperparameters`), for the packages imported since."""
    for name in _LOADED:
        package, _, leaf = name.rpartition(".")
        if package in sys.modules:
            setattr(sys.modules[package], leaf, sys.modules[name])


def add_data_arguments(group, dataset_help):
    """`--dataset` (help text `dataset_help`), `--data-dir`, `--download`."""
    group.add_argument("--dataset", choices=DATASET_NAMES, default="digits",
                       help=dataset_help)
    group.add_argument("--data-dir", default=None,
                       help="tfds data directory, or the folder/file of a "
                            "local dataset (default: $KERASROBUST_DATA_DIR)")
    group.add_argument("--download", action="store_true",
                       help="let tensorflow-datasets download the dataset")


def add_recipe_arguments(group):
    """The paper's SGD recipe and the device choice (train and tune).

    Helps spell out `%(default)s`, so they read the same under every help
    formatter (ArgumentDefaultsHelpFormatter does not add it twice).
    """
    group.add_argument("--batch-size", type=int, default=128,
                       help="global batch size, split over replicas "
                            "(default: %(default)s)")
    recipe = import_without_package("kerasrobust.training.recipe")
    group.add_argument("--lr", type=float,
                       default=recipe.PAPER_LEARNING_RATE,
                       help="initial SGD learning rate (default: "
                            "%(default)s)")
    group.add_argument("--momentum", type=float,
                       default=recipe.PAPER_MOMENTUM,
                       help="SGD momentum (default: %(default)s)")
    group.add_argument("--weight-decay", type=float,
                       default=recipe.PAPER_WEIGHT_DECAY,
                       help="coupled L2 weight decay, PyTorch SGD semantics "
                            "(default: %(default)s)")
    group.add_argument("--decay-epochs", type=int, nargs="*", default=None,
                       help="epochs where the rate is divided by 10 "
                            "(default: 50%% and 75%% of --epochs)")
    group.add_argument("--distribute", choices=DISTRIBUTE_CHOICES,
                       default="auto",
                       help="'auto' uses MirroredStrategy when several GPUs "
                            "are visible; 'multiworker' joins the cluster "
                            "that $TF_CONFIG describes "
                            "(MultiWorkerMirroredStrategy; train only) "
                            "(default: %(default)s)")


def check_tf_config():
    """Checks `$TF_CONFIG` for `--distribute multiworker`; returns
    `(task_type, task_index)`. One-line `ValueError`s name the problem."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            "--distribute multiworker reads the cluster from the TF_CONFIG "
            "environment variable, which is not set; see the README's "
            "'Distributed training' section.")
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        task_type, index = task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            "TF_CONFIG must be JSON like {\"cluster\": {\"worker\": "
            "[\"host:port\", ...]}, \"task\": {\"type\": \"worker\", "
            f"\"index\": 0}}}}; got {raw!r} ({error!r}).") from None
    if task_type == "worker" and not 0 <= index < len(workers):
        raise ValueError(
            f"TF_CONFIG task index {index} is not in [0, {len(workers)}) "
            f"(the cluster has {len(workers)} workers).")
    return task_type, index


def distribute_strategy(choice, tf):
    """The `tf.distribute` strategy that `--distribute` names."""
    if choice == "multiworker":
        check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    if choice == "mirrored" or (
            choice == "auto" and len(tf.config.list_logical_devices("GPU")) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def load_keras_model(path, flag="--model"):
    """Loads a `.keras` file named by `flag`, with errors that tell a
    missing file from a corrupt one.

    Registers the library's Keras classes first (training wrappers,
    `SmoothedClassifier`, layers), so any kerasrobust model loads.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a `.keras` name, a directory, or a file that is not
            a readable Keras 3 archive ("corrupt").
    """
    import os
    import zipfile

    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(
            f"{flag} must be a .keras file saved by Keras 3, got {path!r}.")
    if os.path.isdir(path):
        raise ValueError(f"{flag} {path} is a directory, not a .keras file.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{flag} {path}: no such file.")
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{flag} {path} is corrupt: not a .keras (zip) archive; save "
            "or copy the model again.")
    import keras

    import kerasrobust

    kerasrobust.import_all()
    try:
        return keras.saving.load_model(path)
    except (ValueError, TypeError, KeyError, OSError, EOFError,
            zipfile.BadZipFile) as error:
        reason = " ".join(str(error).split())[:300]
        raise ValueError(
            f"{flag} {path} is corrupt or not a Keras 3 model ("
            f"{type(error).__name__}: {reason}).") from None


def check_model_fits_data(model, data, dataset, flag="--model"):
    """Checks that the model of `flag` takes the images of `--dataset
    dataset` and returns one score per class, before anything is written;
    a one-line `ValueError` otherwise. Sizes the model leaves open are not
    checked."""
    from kerasrobust._validation import image_shape_matches
    from kerasrobust._validation import model_image_shape
    from kerasrobust._validation import model_num_classes

    shape = model_image_shape(getattr(model, "base_model", model))
    if shape is not None and not image_shape_matches(
            tuple(data.input_shape), shape):
        raise ValueError(
            f"{flag} takes images of shape {shape} but --dataset {dataset} "
            f"has images of shape {tuple(data.input_shape)}.")
    classes = model_num_classes(getattr(model, "base_model", model))
    if classes is not None and classes != data.num_classes:
        raise ValueError(
            f"{flag} returns {classes} class scores but --dataset {dataset} "
            f"has {data.num_classes} classes.")


def check_output_dir(flag, path):
    """Checks, before any work, that folder `path` (given by `flag`) is or
    can become a writable directory: neither it nor an ancestor is a file.
    Raises a one-line `ValueError` naming the flag."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {path} is a file, not a directory.")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {path} cannot be created: {parent} is a "
                         "file, not a directory.")
    if not os.access(path if path.exists() else parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path} is not writable.")


def check_output_flags(**paths):
    """Checks that each output path (by flag name: `out=...`, `plot=...`)
    can be written, before any work; `None` paths are skipped. Errors name
    the flag (`--out: ...`)."""
    from kerasrobust.smoothing.logs import CertifyLog

    for name, path in paths.items():
        if path is None:
            continue
        try:
            CertifyLog.check_writable(path)
        except ValueError as e:
            raise ValueError(f"--{name}: {e}") from None
