"""Command-line options shared by several subcommands."""

import json
import os

from kerasrobust.data import DATASET_NAMES

DISTRIBUTE_CHOICES = ("auto", "none", "mirrored", "multiworker")


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
    group.add_argument("--lr", type=float, default=0.1,
                       help="initial SGD learning rate (default: "
                            "%(default)s)")
    group.add_argument("--momentum", type=float, default=0.9,
                       help="SGD momentum (default: %(default)s)")
    group.add_argument("--weight-decay", type=float, default=1e-4,
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
