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
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {
        "summary": (
            f"{os.cpu_count()} CPU cores ({platform.machine()}), "
            f"{len(gpus)} GPU, {platform.system()}, Python "
            f"{platform.python_version()}, TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus,
        "gpus": gpus,
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


def seed_list(text):
    """argparse type: distinct integers >= 0 separated by commas."""
    try:
        seeds = [int(item) for item in comma_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas, got {text!r}.") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(
            "give one or more distinct seeds >= 0, e.g. 0,1,2.")
    return seeds


def choices_list(allowed, canonical_order=False):
    """argparse type: distinct names from `allowed` separated by commas,
    in the order given (or in `allowed`'s order with `canonical_order`)."""
    def parse(text):
        items = comma_list(text)
        unknown = [item for item in items if item not in allowed]
        if not items or unknown or len(set(items)) != len(items):
            raise argparse.ArgumentTypeError(
                f"give distinct names from {', '.join(allowed)} separated "
                f"by commas; got {text!r}.")
        return [a for a in allowed if a in items] if canonical_order else items
    return parse


def per_model_values(models):
    """argparse type: `N` or `model=N,...` (or both: `N,model=M`) into a
    dict of positive integers; the key `None` holds the value for models
    not named. Model names must be in `models`."""
    def parse(text):
        values = {}
        for item in comma_list(text):
            if "=" in item:
                model, _, number = item.partition("=")
                model = model.strip()
                if model not in models:
                    raise argparse.ArgumentTypeError(
                        f"unknown model {model!r}; choose from "
                        f"{', '.join(models)}.")
                values[model] = positive_int(number.strip())
            else:
                values[None] = positive_int(item)
        if not values:
            raise argparse.ArgumentTypeError("give a value.")
        return values
    return parse


def per_model(values, model, defaults, fallback):
    """The value of `model` from a `per_model_values` dict: its own, else
    the flag's value for all models, else `defaults[model]`, else
    `fallback`."""
    if model in values:
        return values[model]
    if None in values:
        return values[None]
    return defaults.get(model, fallback)


def mean_std(values):
    """`{"mean", "std"}` of a list; the sample std is None for one value."""
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else None}


def write_json_markdown_plot(json_path, results, markdown, plot):
    """Writes `results` to `json_path`, `markdown(results)` beside it as
    `.md` (both atomically) and `plot(results, <.png path>)`."""
    from kerasrobust._io import atomic_write_json
    from kerasrobust._io import atomic_write_text

    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(json_path, results)
    atomic_write_text(json_path.with_suffix(".md"), markdown(results))
    plot(results, json_path.with_suffix(".png"))
