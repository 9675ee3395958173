"""Run a keras-tuner search of one training method's hyperparameters."""

import dataclasses
import json
import math
from pathlib import Path

import keras_tuner
import numpy as np
import tensorflow as tf

from kerasrobust import _names
from kerasrobust._io import atomic_write_json
from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number
from kerasrobust.models import channel_stats
from kerasrobust.tuning.robust_hyper_model import RobustHyperModel
from kerasrobust.tuning.search_space import PARAMETERS


#: The tuners `make_tuner` and `search` build, by name (keras-tuner's
#: `RandomSearch`, `BayesianOptimization` and `Hyperband`).
TUNERS = dict(zip(_names.TUNERS, (keras_tuner.RandomSearch,
                                   keras_tuner.BayesianOptimization,
                                   keras_tuner.Hyperband)))
_COMPLETED = keras_tuner.engine.trial.TrialStatus.COMPLETED


@dataclasses.dataclass
class SearchResult:
    """What `search` returns.

    Attributes:
        tuner: the keras-tuner tuner (trials, `results_summary()`, ...).
        hypermodel: the `RobustHyperModel` it searched.
        best_hyperparameters: `keras_tuner.HyperParameters` of the best
            trial (`.values` is a dict; it includes fixed values and, for
            Hyperband, the `tuner/*` bookkeeping entries).
        best_value: the objective's value in the best trial (its best
            epoch).
        best_trial_id: the id of that trial.
        num_trials: trials completed in the project (all runs of it).
    """

    tuner: keras_tuner.Tuner
    hypermodel: RobustHyperModel
    best_hyperparameters: keras_tuner.HyperParameters
    best_value: float
    best_trial_id: str
    num_trials: int

    @property
    def values(self):
        """The searched hyperparameters of the best trial, `{name: value}`
        (without keras-tuner's `tuner/*` entries)."""
        return {k: v for k, v in self.best_hyperparameters.values.items()
                if not k.startswith("tuner/")}

    def best_model(self):
        """The best trial's wrapper, with the weights of its best epoch."""
        return self.tuner.get_best_models(1)[0]


def make_tuner(hypermodel, tuner="random", max_trials=10, max_epochs=None,
               directory="runs/tuning", project_name=None,
               distribution_strategy=None, overwrite=False, seed=None,
               **tuner_kwargs):
    """A keras-tuner tuner for `hypermodel`, with its objective.

    With `overwrite=False` and the directory of an earlier search, the tuner
    reloads it: finished trials are kept, a trial that was running when the
    process stopped is run again, and `search` runs only the trials still
    missing up to `max_trials`. Reloading a project whose stored search
    space or objective differs from `hypermodel`'s raises `ValueError`
    (keras-tuner would silently keep the old space and mix the scores).

    Args:
        hypermodel: a `RobustHyperModel` (its `objective` is the tuner's).
        tuner: `"random"` (`RandomSearch`), `"bayesian"`
            (`BayesianOptimization`) or `"hyperband"` (`Hyperband`).
        max_trials: trials of random and Bayesian search, >= 1 (Hyperband
            sets its own from `max_epochs`, `factor` and
            `hyperband_iterations`).
        max_epochs: Hyperband's longest training, >= 1.
        directory, project_name: the search is stored in
            `directory/project_name` (default project: the method name).
        distribution_strategy: a `tf.distribute.Strategy` each trial builds
            its model under (e.g. `MirroredStrategy`), or `None`.
        overwrite: delete an earlier search in that folder first.
        seed: seed of the tuner's sampling.
        **tuner_kwargs: more arguments of the tuner class
            (`executions_per_trial`, `factor`, `num_initial_points`, ...).

    Returns:
        The `keras_tuner.Tuner`.
    """
    check_choice("tuner", tuner, tuple(TUNERS))
    if not isinstance(hypermodel, RobustHyperModel):
        raise TypeError(
            "`hypermodel` must be a kerasrobust.tuning.RobustHyperModel, "
            f"got {type(hypermodel).__name__}.")
    if tuner == "hyperband":
        tuner_kwargs["max_epochs"] = check_number(
            "max_epochs", max_epochs, low=1, integer=True)
    else:
        tuner_kwargs["max_trials"] = check_number(
            "max_trials", max_trials, low=1, integer=True)
    result = TUNERS[tuner](
        hypermodel, objective=hypermodel.objective, directory=str(directory),
        project_name=project_name or hypermodel.method,
        distribution_strategy=distribution_strategy, overwrite=overwrite,
        seed=seed, **tuner_kwargs)
    _check_stored_search(result, hypermodel)
    return result


def search(method, model, x, y=None, *, search_space=None,
           objective="val_accuracy", validation_data=None, epochs=10,
           batch_size=128, tuner="random", max_trials=10,
           directory="runs/tuning", project_name=None,
           distribution_strategy=None, overwrite=False, seed=0,
           optimizer=None, callbacks=None, verbose=1, tuner_kwargs=None,
           fit_kwargs=None, **hypermodel_kwargs):
    """Searches the hyperparameters of `method` and returns the best.

    Builds a `RobustHyperModel`, a tuner (`make_tuner`) and runs
    `tuner.search(x, y, epochs=..., validation_data=..., ...)`. Everything
    is checked before the first trial: the method, the search space, the
    objective, the tuner name, and that the objective has the validation
    data it needs. Run it again with the same `directory` and
    `project_name` (and `overwrite=False`) to resume an interrupted search
    or to add trials (raise `max_trials`).

    With NumPy `x`, a registered architecture gets `input_shape`,
    `num_classes` and the per-channel `mean`/`std` from the training data
    (override them through `**hypermodel_kwargs`), and the paper recipe's
    `steps_per_epoch` is `ceil(len(x) / batch_size)`; with a
    `tf.data.Dataset` it is the dataset's length.

    Args:
        method: one of `kerasrobust.training.METHODS + SMOOTHING_METHODS`.
        model: a registered architecture name, `build_base_model()` or
            `build_base_model(hp)` (see `RobustHyperModel`).
        x, y: training data (arrays, or a batched `tf.data.Dataset` as `x`).
        search_space: overrides of the method's default space
            (`SearchSpace`).
        objective: an objective kind (`"val_accuracy"`, `"val_loss"`,
            `"robust_accuracy"`, `"certified_accuracy"`, `"acr"`) or an
            objective from `kerasrobust.tuning.objective(...)`.
        validation_data: `(x_val, y_val)` or a dataset; needed by every
            objective (the `val_*` keys and the callbacks' images).
        epochs: epochs per trial (Hyperband: `max_epochs`); also the length
            of the paper learning-rate schedule.
        batch_size: batch size for array inputs.
        tuner, max_trials, directory, project_name, distribution_strategy,
            overwrite: see `make_tuner`.
        seed: seed of the tuner's sampling, of each trial's initial weights
            and of the wrapper's random draws (`None`: unseeded).
        optimizer: `None` for the paper recipe, or see `RobustHyperModel`.
        callbacks: more Keras callbacks for every trial.
        verbose: Keras and keras-tuner verbosity (0, 1, 2).
        tuner_kwargs: more tuner arguments (e.g. `{"factor": 3}`).
        fit_kwargs: more `fit` arguments (e.g. `{"shuffle": False}`).
        **hypermodel_kwargs: more `RobustHyperModel` arguments
            (`input_shape`, `num_classes`, `mean`, `std`, `model_kwargs`,
            `eval_data`, `trainer_kwargs`, `weight_decay`, `metrics`).

    Returns:
        A `SearchResult` (`best_hyperparameters`, `best_value`,
        `best_model()`, the `tuner`).

    Example:
    ```python
    data = kerasrobust.data.load_dataset("digits")
    result = kerasrobust.tuning.search(
        "alps", "small_cnn", data.x_train, data.y_train,
        validation_data=(data.x_test, data.y_test), epochs=5, max_trials=4,
        search_space={"beta_concentration": 10.0})
    result.values          # {'epsilon': 0.21..., 'beta_mode': 0.93..., ...}
    model = result.best_model()
    ```
    """
    fit_kwargs = dict(fit_kwargs or {})
    is_dataset = isinstance(x, tf.data.Dataset)
    if isinstance(model, str) and not is_dataset:
        _infer_model_arguments(hypermodel_kwargs, x, y)
    steps = fit_kwargs.get("steps_per_epoch")
    if steps is None and optimizer is None:
        steps = _steps_per_epoch(x, batch_size, is_dataset)
    hypermodel = RobustHyperModel(
        method, model, search_space, objective=objective,
        optimizer=optimizer, epochs=epochs, steps_per_epoch=steps, seed=seed,
        **hypermodel_kwargs)
    _check_validation_data(hypermodel, validation_data, fit_kwargs)
    tuner = make_tuner(hypermodel, tuner, max_trials=max_trials,
                       max_epochs=epochs, directory=directory,
                       project_name=project_name,
                       distribution_strategy=distribution_strategy,
                       overwrite=overwrite, seed=seed,
                       **dict(tuner_kwargs or {}))
    if is_dataset:  # a dataset shuffles itself (Keras warns otherwise)
        fit_kwargs.setdefault("shuffle", False)
    else:
        fit_kwargs.setdefault("batch_size", batch_size)
    tuner.search(x, y, epochs=epochs, validation_data=validation_data,
                 callbacks=list(callbacks or []), verbose=verbose,
                 **fit_kwargs)
    completed = [t for t in tuner.oracle.trials.values()
                 if t.status == _COMPLETED]
    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].status != _COMPLETED:
        raise RuntimeError(
            f"No trial of the search in {tuner.project_dir} completed; see "
            "the trials' messages (tuner.oracle.trials).")
    return SearchResult(tuner=tuner, hypermodel=hypermodel,
                        best_hyperparameters=best[0].hyperparameters,
                        best_value=float(best[0].score),
                        best_trial_id=best[0].trial_id,
                        num_trials=len(completed))


def _check_validation_data(hypermodel, validation_data, fit_kwargs):
    """Fails before any trial when the objective cannot be measured."""
    objective = hypermodel.objective
    if getattr(objective, "needs_callback", False):
        if validation_data is None and hypermodel.eval_data is None:
            raise ValueError(
                f"The objective {objective.name!r} is measured on validation "
                "images: pass `validation_data=(x_val, y_val)` (or "
                "`eval_data`).")
    elif (objective.name.startswith("val_") and validation_data is None
          and "validation_split" not in fit_kwargs):
        raise ValueError(
            f"The objective {objective.name!r} is measured on validation "
            "data: pass `validation_data=(x_val, y_val)`.")


def _infer_model_arguments(kwargs, x, y):
    x = np.asarray(x)
    kwargs.setdefault("input_shape", x.shape[1:])
    if "num_classes" not in kwargs and y is not None:
        y = np.asarray(y)
        kwargs["num_classes"] = (int(y.shape[1]) if y.ndim == 2
                                 and y.shape[1] > 1 else int(y.max()) + 1)
    if "mean" not in kwargs and "std" not in kwargs:
        kwargs["mean"], kwargs["std"] = channel_stats(x)


def _steps_per_epoch(x, batch_size, is_dataset):
    if is_dataset:
        steps = int(x.cardinality())
        if steps < 1:
            raise ValueError(
                "The paper recipe needs the number of steps per epoch, and "
                "this dataset's length is unknown: pass "
                "fit_kwargs={'steps_per_epoch': ...} or an `optimizer`.")
        return steps
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    return max(1, math.ceil(len(x) / batch_size))


def _check_stored_search(tuner, hypermodel):
    """Fails when a reloaded project was searched over another space or
    scored by another objective."""
    where = tuner.project_dir
    marker = Path(where) / "kerasrobust_search.json"
    objective = hypermodel.objective
    info = {"method": hypermodel.method,
            "objective": [objective.name, objective.direction]}
    if marker.exists():
        stored = json.loads(marker.read_text())
        if stored != info:
            raise ValueError(
                f"{where} holds a search of {stored} and this one is "
                f"{info}; pass overwrite=True to start a new search there, "
                "or choose another directory or project_name.")
    else:
        atomic_write_json(marker, info)
    fresh = keras_tuner.HyperParameters()
    hypermodel.search_space.declare(fresh)

    def ours(hps):
        return {hp.name: hp.get_config() for hp in hps.space
                if hp.name in PARAMETERS}

    stored, wanted = ours(tuner.oracle.hyperparameters), ours(fresh)
    if stored != wanted:
        changed = sorted(n for n in set(stored) | set(wanted)
                         if stored.get(n) != wanted.get(n))
        raise ValueError(
            f"{where} holds a search over another search space (differs in "
            f"{', '.join(changed)}); pass overwrite=True to start a new "
            "search there, or choose another directory or project_name.")
