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


def find_cifar10_subset(flag_value):
    """`(path, source)` of the CIFAR-10 subset (its folder or .npz) by
    `find_data_dir`, stepping into `cifar10-subset/` when the path is the
    folder that holds it (../shared/data)."""
    path, source = find_data_dir(
        flag_value, "the CIFAR-10 subset (cifar10_subset.npz)",
        "folder holding cifar10-subset/ or the .npz file")
    if path.is_dir() and (path / "cifar10-subset").is_dir():
        path = path / "cifar10-subset"
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


#: The CPU feature flags that decide which float kernels TensorFlow's
#: oneDNN/Eigen run (and so the last bits of a trained model).
SIMD_FLAG_PREFIXES = ("sse4", "avx", "fma", "f16c", "amx")


def cpu_description(cpuinfo_text):
    """`{"model", "family", "model_number", "stepping", "simd"}` of the first
    processor in the text of /proc/cpuinfo (None where a field is absent;
    `simd`: its flags starting with SIMD_FLAG_PREFIXES, in the file's
    order). A seed fixes a model bit for bit on one CPU, not across CPUs
    whose kernels differ: the result files say which CPU ran them."""
    fields = {}
    for line in cpuinfo_text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = fields.get("flags", "").split()
    return {"model": fields.get("model name"),
            "family": fields.get("cpu family"),
            "model_number": fields.get("model"),
            "stepping": fields.get("stepping"),
            "simd": [f for f in flags if f.startswith(SIMD_FLAG_PREFIXES)]}


def machine_info():
    """Platform, CPU, GPUs and library versions, for the result files."""
    import keras
    import numpy as np
    import tensorflow as tf

    try:
        usable_cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        usable_cpus = None
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    try:
        cpu = cpu_description(Path("/proc/cpuinfo").read_text())
    except OSError:
        cpu = None
    cpu_text = platform.machine()
    if cpu and cpu["model"]:
        cpu_text += (f", {cpu['model']} family {cpu['family']} model "
                     f"{cpu['model_number']}")
    return {
        "summary": (
            f"{os.cpu_count()} CPU cores ({cpu_text}), {len(gpus)} GPU, "
            f"{platform.system()}, Python "
            f"{platform.python_version()}, TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu": cpu,
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


def typed_list(text, convert, what):
    """The items of a comma-separated flag value through `convert`; an item
    it rejects (ValueError) is an argparse error "expected `what` separated
    by commas". The argparse types below check the values themselves."""
    try:
        return [convert(item) for item in comma_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {what} separated by commas, got {text!r}.") from None


def seed_list(text):
    """argparse type: distinct integers >= 0 separated by commas."""
    seeds = typed_list(text, int, "integers")
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


def in_order(table, order):
    """`(key, value)` pairs of `table` in the order of the keys `order`: a
    results JSON is written with sorted keys, so the order of a reloaded
    dict is alphabetical, not the tables' order."""
    return [(key, table[key]) for key in order if key in table]


def refuse_resume_that_drops(path, cells, name, models, settings, flags,
                             instead):
    """`--resume` rewrites the results JSON at `path` with this run's plan:
    end the run, before any training, if its `cells` hold one that the plan
    (`settings["datasets"]`, `settings["seeds"]`, and `models`, the values
    of each cell's `name` it runs; chosen by `flags`) leaves out, which the
    rewrite would lose. `instead` says what to do then."""
    dropped = [f"{c[name]} (seed {c['seed']}, {c['dataset']})" for c in cells
               if c[name] not in models
               or c["dataset"] not in settings["datasets"]
               or c["seed"] not in settings["seeds"]]
    if dropped:
        sys.exit(f"error: --resume {path}: it holds {', '.join(dropped)}, "
                 f"which this run's {flags} leave out, and rewriting it "
                 f"would lose them. Resume with a plan that includes them, "
                 f"or {instead}.")


def with_later(done, recorded, key):
    """`done` followed by the entries of `recorded` not in it (compared by
    `key`): what a resumed run writes after each model, so that a run
    stopped again before it reaches a recorded model still keeps it."""
    have = {key(c) for c in done}
    return done + [c for c in recorded if key(c) not in have]


def git_commit():
    """The short commit of this checkout, or None outside a git work tree."""
    import subprocess

    try:
        return subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def commit_line(results):
    """The tables' commit line: the commit that ran, and the one whose code
    recomputed the statistics and tables (`--rerender`), if any."""
    again = results.get("rerendered_by_commit")
    return (f"- Commit: {results.get('commit', '?')}"
            + (f" (statistics and tables re-rendered at {again})"
               if again else ""))


def add_reuse_flag(parser, takes):
    """The table scripts' `--reuse JSON` (repeatable) on `parser`; `takes`
    says what it takes from an earlier run's results JSON."""
    parser.add_argument(
        "--reuse", type=Path, action="append", default=[], metavar="JSON",
        help=f"take {takes} from an earlier run's results JSON instead of "
             "training them here, where every setting that decides them "
             "is equal (else an error naming it, before any training); "
             "repeatable")


def read_results_json(json_path, flag, needs=("cells",)):
    """The results JSON an earlier run of a script wrote at `json_path`,
    read for `flag` (the option that named it). A file that is not JSON, or
    lacks the keys `needs`, ends the run with a message saying so."""
    import json

    try:
        results = json.loads(Path(json_path).read_text())
    except (OSError, ValueError) as err:
        sys.exit(f"error: {flag} {json_path}: cannot read it as JSON "
                 f"({err}); expected the results JSON an earlier run of "
                 "this script wrote.")
    missing = ([k for k in needs if k not in results]
               if isinstance(results, dict) else list(needs))
    if missing:
        sys.exit(f"error: {flag} {json_path}: not a results JSON of "
                 f"this script (no {', '.join(map(repr, missing))}); "
                 "expected the results JSON an earlier run of this script "
                 "wrote.")
    return results


def reuse_origin(json_path, results):
    """`reused_from` of what a run takes from the earlier run `results`
    (read at `json_path` by `--reuse` / `--resume`): its file, commit,
    start and, where that run recorded its CPU (`machine.cpu`, since
    2026-12-06), its machine summary (CPU, TensorFlow, Keras). A seed
    fixes a model bit for bit on one machine and software stack only, so
    that is where the taken model was computed."""
    origin = {"file": Path(json_path).name, "commit": results.get("commit"),
              "started_utc": results.get("started_utc")}
    machine = results.get("machine") or {}
    if machine.get("cpu") and machine.get("summary"):
        origin["machine"] = machine["summary"]
    return origin


def origin_text(origin, machine):
    """`reuse_origin` in words for a results header: file, commit, start,
    and where the model was computed if that is not `machine` (this run's
    summary). Records without a CPU name no machine; nothing is said of
    it there."""
    return (f"{origin['file']}, commit {origin['commit']}"
            + (f", started {origin['started_utc']}"
               if origin.get("started_utc") else "")
            + (f", computed on {origin['machine']}"
               if origin.get("machine") and origin["machine"] != machine
               else ""))


def rerender_json(json_path, recompute, markdown, plot, needs=("cells",)):
    """`--rerender`: loads an earlier run's results JSON, lets
    `recompute(results)` redo its statistics with this checkout's code (no
    training, no attack, no certification), stamps the commit, rewrites
    the JSON, .md and plots in place and prints the tables. A file without
    the keys `needs` is refused with a message, and nothing is written."""
    json_path = Path(json_path)
    results = read_results_json(json_path, "--rerender", needs)
    recompute(results)
    results["rerendered_by_commit"] = git_commit()
    write_json_markdown_plot(json_path, results, markdown, plot)
    print(markdown(results))


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


# ------------------------------------------- converged training, statistics
#: Fraction of the training images held out (same images for every method,
#: seed and run) to decide when training has converged; never the test set.
VALIDATION_FRACTION = 0.1
VALIDATION_SPLIT_SEED = 4321


def holdout_split(data, fraction=VALIDATION_FRACTION,
                  seed=VALIDATION_SPLIT_SEED):
    """`(train, (x_val, y_val))`: `data` without a fixed random `fraction`
    of its training images, and those images. The test split is untouched."""
    import dataclasses

    import numpy as np

    n = len(data.x_train)
    n_val = max(1, int(round(n * fraction)))
    order = np.random.default_rng(seed).permutation(n)
    val, keep = np.sort(order[:n_val]), np.sort(order[n_val:])
    train = dataclasses.replace(
        data, x_train=data.x_train[keep], y_train=data.y_train[keep],
        split_note=data.split_note + (
            f"; {n_val} training images held out for validation "
            f"(seed {seed})"))
    return train, (data.x_train[val], data.y_train[val])


def paper_sgd():
    """The papers' SGD (`kerasrobust.training.paper_optimizer`'s starting
    rate and momentum) with a plain float learning rate, which
    `plateau_callback` can divide; pair it with the wrapper's
    `weight_decay=PAPER_WEIGHT_DECAY`."""
    import keras

    from kerasrobust.training import PAPER_LEARNING_RATE
    from kerasrobust.training import PAPER_MOMENTUM

    return keras.optimizers.SGD(learning_rate=PAPER_LEARNING_RATE,
                                momentum=PAPER_MOMENTUM)


def paper_sgd_text():
    """`paper_sgd` and the weight decay in words, for the results."""
    from kerasrobust.training.recipe import PAPER_LEARNING_RATE
    from kerasrobust.training.recipe import PAPER_MOMENTUM
    from kerasrobust.training.recipe import PAPER_WEIGHT_DECAY

    decay = f"{PAPER_WEIGHT_DECAY:.0e}".replace("e-0", "e-")
    return (f"SGD momentum {PAPER_MOMENTUM:g}, lr {PAPER_LEARNING_RATE:g}, "
            f"coupled weight decay {decay}")


def plateau_rule(measured, caps, patience, max_decays, decay_epochs=None):
    """The results' sentence for how `plateau_callback` trained a run
    (recorded as `settings["plateau_rule"]`; `training_line` prints it).

    `measured` names the validation error (what `validation_error`
    computes), `caps` is {dataset: epoch cap} in the run's order, and
    `patience`, `max_decays`, `decay_epochs` are the callback's."""
    from kerasrobust.training.recipe import PAPER_DECAY_RATE

    factor = f"{1 / PAPER_DECAY_RATE:g}"
    rule = (f"{patience} epochs without improvement divide the lr by "
            f"{factor} (at most {max_decays} times), the next plateau stops"
            if decay_epochs is None else
            f"fixed schedule: the lr is divided by {factor} after epoch(s) "
            f"{', '.join(map(str, decay_epochs))} and every model runs to "
            "the cap")
    return (f"{paper_sgd_text()}; after every epoch {measured} is measured; "
            f"{rule}; the best epoch's weights are kept; cap "
            + ", ".join(f"{d} {cap}" for d, cap in caps.items()) + " epochs")


def plateau_callback(validation_error, patience, max_decays, decay_rate=None,
                     min_delta=0.0, decay_epochs=None):
    """A Keras callback implementing the benchmarks' plateau rule.

    After every epoch it calls `validation_error(base_model)` (a percentage
    measured on the held-out training images) and keeps the weights of the
    best epoch so far. When the error has not improved by more than
    `min_delta` for `patience` epochs, it multiplies the learning rate by
    `decay_rate` (step-wise decay, as the papers' schedules, but triggered
    by the measured plateau instead of a fixed epoch) and resets the
    patience counter; after `max_decays` decays the next plateau stops
    training. At the end the best epoch's weights are restored. The
    learning curve (epoch, learning rate, training loss, validation error)
    is in `callback.curve`; `callback.best_epoch` is 1-based.

    With `decay_epochs` (1-based epochs, e.g. `(10,)`) the rule is a fixed
    step schedule instead, the same for every model: the learning rate is
    multiplied by `decay_rate` after each listed epoch, training runs to
    the `fit` epoch cap (`stop_reason = "schedule"`), and the best
    validation epoch's weights are still the ones kept. `patience` and
    `max_decays` are then unused. Choose the epochs from measured curves of
    plateau-rule runs: with a small held-out set the plateau rule reacts to
    noise and stops some models far earlier than others.

    The optimizer must have a plain float learning rate (not a schedule),
    e.g. `paper_sgd()`. `decay_rate` defaults to the papers'
    (`PAPER_DECAY_RATE`, a division by 10).
    """
    import keras

    from kerasrobust.training import PAPER_DECAY_RATE

    if decay_rate is None:
        decay_rate = PAPER_DECAY_RATE

    class Plateau(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.curve = []
            self.best = float("inf")
            self.best_epoch = 0
            self.best_weights = None
            self.wait = 0
            self.decays = 0
            self.stop_reason = ("max_epochs" if decay_epochs is None
                                else "schedule")

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            opt = self.model.optimizer
            lr = float(keras.ops.convert_to_numpy(opt.learning_rate))
            err = float(validation_error(self.model))
            self.curve.append({"epoch": epoch + 1, "learning_rate": lr,
                               "train_loss": float(logs.get("loss", "nan")),
                               "val_error": err})
            improved = err < self.best - min_delta
            if improved:
                self.best, self.best_epoch, self.wait = err, epoch + 1, 0
                self.best_weights = self.model.get_weights()
            if decay_epochs is not None:
                if epoch + 1 in decay_epochs:
                    self.decays += 1
                    opt.learning_rate.assign(lr * decay_rate)
                return
            if improved:
                return
            self.wait += 1
            if self.wait < patience:
                return
            if self.decays < max_decays:
                self.decays += 1
                self.wait = 0
                opt.learning_rate.assign(lr * decay_rate)
            else:
                self.stop_reason = "plateau"
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return Plateau()


def fixed_by_the_cap(settings):
    """The datasets of a run whose plateau rule can never fire.

    Epoch 1 always improves on no epoch, so `plateau_callback`'s first
    decay or stop needs `patience` further epochs without improvement,
    i.e. epoch `patience + 1`: under an epoch cap of at most `patience`
    the rule never fires, and every model trains at the starting learning
    rate up to the cap, keeping its best epoch (one fixed schedule, given
    as `--patience` >= the cap). `settings` is a results JSON's, with
    `patience`, `max_epochs` ({dataset: cap}) and, where the script has
    it, `decay_epochs` (a fixed step schedule: the rule is unused)."""
    if settings.get("decay_epochs"):
        return []
    return [d for d, cap in settings["max_epochs"].items()
            if cap <= settings["patience"]]


def trained_how(settings):
    """How a run's models were trained, for its results' title."""
    if settings.get("decay_epochs"):
        return "on one fixed step schedule"
    if fixed_by_the_cap(settings) == list(settings["max_epochs"]):
        return "on one fixed schedule (no lr decay, no early stop)"
    return "to a validation plateau"


def training_line(settings):
    """The results' `- Training:` line: the recorded rule, and where the
    rule never fires (`fixed_by_the_cap`), that it is a fixed schedule."""
    fixed = fixed_by_the_cap(settings)
    note = (f"; for {', '.join(fixed)} the cap is at most the patience "
            f"({settings['patience']}), so the rule never fires: every "
            "model trains at the starting lr up to the cap, one fixed "
            "schedule" if fixed else "")
    return f"- Training: {settings['plateau_rule']}{note}"


def t_interval(values, confidence=0.95):
    """Mean and two-sided Student-t `confidence` interval of `values` (e.g.
    per-seed paired differences): `{"n", "mean", "low", "high"}`; the
    interval is None for fewer than 2 values (no variance estimate)."""
    import numpy as np
    from scipy import stats as scipy_stats

    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean())
    if n < 2:
        return {"n": n, "mean": mean, "low": None, "high": None}
    # Differences that are equal but for float rounding (e.g. 0.1 - 0.125
    # and 0.125 - 0.15, one image of 40 on every seed) have no spread: a
    # zero-width interval, which `verdict` reads as a tie, not a rounding
    # error's width read as a significant win or loss.
    spread = (0.0 if np.ptp(values) <= 1e-12 * max(1.0, abs(mean))
              else values.std(ddof=1))
    half = float(scipy_stats.t.ppf(0.5 + confidence / 2, n - 1)
                 * spread / np.sqrt(n))
    return {"n": n, "mean": mean, "low": mean - half, "high": mean + half}


def verdict(interval, lower_is_better):
    """"win", "loss" or "tie" of a difference (ours - theirs) from its
    interval: a win when the whole interval is on the better side of 0, a
    loss when it is on the worse side, else a tie (also without an
    interval)."""
    low, high = interval["low"], interval["high"]
    if low is None or low == high:
        # No interval, or one of zero width (the same difference on every
        # seed, common with accuracies on few images): no spread to judge
        # from, read conservatively as a tie.
        return "tie"
    if (high < 0) if lower_is_better else (low > 0):
        return "win"
    if (low > 0) if lower_is_better else (high < 0):
        return "loss"
    return "tie"


def plot_learning_curves(curves, path, title):
    """One panel per dataset: validation error per epoch of every trained
    model (`curves`: {dataset: {label: [curve rows]}})."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasrobust._io import atomic_path

    if not curves:
        return
    fig, axes = plt.subplots(1, len(curves), squeeze=False,
                             figsize=(6.5 * len(curves), 4.2))
    for ax, (dataset, runs) in zip(axes[0], curves.items()):
        for i, (label, rows) in enumerate(sorted(runs.items())):
            ax.plot([r["epoch"] for r in rows],
                    [r["val_error"] for r in rows], lw=1,
                    color=f"C{i % 10}", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation error (%)")
        ax.set_title(dataset)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=5, ncol=2)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path, ".tmp.png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def arch_name(text):
    """argparse type: "small_cnn", "preact_resnet18" or "resnet<6n+2>"
    (a CIFAR ResNet of that depth, e.g. resnet20, resnet110)."""
    if text in ("small_cnn", "preact_resnet18"):
        return text
    if text.startswith("resnet") and text[6:].isdigit():
        depth = int(text[6:])
        if depth >= 8 and (depth - 2) % 6 == 0:
            return text
    raise argparse.ArgumentTypeError(
        f"expected small_cnn, preact_resnet18 or resnet<depth> with depth "
        f"6n+2 >= 8 (resnet20, resnet110), got {text!r}.")


def build_base(arch, data, dropout=0.0, width=32):
    """The base classifier `arch` (see `arch_name`) for `data`, with the
    training images' channel statistics in its first layer."""
    from kerasrobust.models import channel_stats
    from kerasrobust.models import cifar_resnet
    from kerasrobust.models import preact_resnet18
    from kerasrobust.models import small_cnn

    mean, std = channel_stats(data.x_train)
    common = dict(input_shape=data.input_shape,
                  num_classes=data.num_classes, mean=mean, std=std,
                  dropout=dropout)
    if arch == "small_cnn":
        return small_cnn(width=width, **common)
    if arch == "preact_resnet18":
        return preact_resnet18(**common)
    return cifar_resnet(int(arch[6:]), **common)
