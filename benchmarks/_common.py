"""Helpers shared by the benchmark scripts: where the real data is, the
machine description, argument types."""

import argparse
import os
import platform
import statistics
import sys
from pathlib import Path

DATA_DIR_ENV = "KERASROBUST_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parents[1]


def find_data_dir(flag_value, needs, how, folder=False):
    """`(path, source)` of the data: `--data-dir`, else $KERASROBUST_DATA_DIR,
    else ../shared/data beside the repository. Exits with a message saying
    what the benchmark `needs` and `how` to pass it when it is missing
    (`folder=True`: the path must be a folder)."""
    if flag_value:
        path, source = Path(flag_value), "--data-dir"
    elif os.environ.get(DATA_DIR_ENV):
        path, source = Path(os.environ[DATA_DIR_ENV]), f"${DATA_DIR_ENV}"
    else:
        path = (REPO_ROOT / ".." / "shared" / "data").resolve()
        source = "default ../shared/data"
    if not (path.is_dir() if folder else path.exists()):
        sys.exit(f"error: data not found at {path} (from {source}). This "
                 f"benchmark needs {needs}: pass --data-dir <{how}> or set "
                 f"{DATA_DIR_ENV}.")
    return path, source


def positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer, got {text!r}."
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}.")
    return value


def machine_info():
    """Platform, CPUs, GPUs and library versions, for the result files."""
    import keras
    import numpy as np
    import tensorflow as tf

    try:
        usable_cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        usable_cpus = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus,
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def load_average():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def comma_list(text):
    """The non-empty items of a comma-separated flag value."""
    return [item.strip() for item in text.split(",") if item.strip()]


def stats(values):
    """n, mean, sample std, median, min and max of a list of numbers."""
    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }
