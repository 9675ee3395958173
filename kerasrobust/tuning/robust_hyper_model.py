"""`RobustHyperModel`: one keras-tuner HyperModel for every training method."""

import inspect

import keras
import keras_tuner
import numpy as np

from kerasrobust._validation import check_choice
from kerasrobust._validation import model_image_shape
from kerasrobust.models import MODELS
from kerasrobust.models import get_model
from kerasrobust.training import PAPER_WEIGHT_DECAY
from kerasrobust.training import SMOOTHING_METHODS
from kerasrobust.training import make_trainer
from kerasrobust.training.factory import method_arguments
from kerasrobust.training import paper_optimizer
from kerasrobust.tuning.objectives import as_objective
from kerasrobust.tuning.objectives import validation_subset
from kerasrobust.tuning.search_space import SearchSpace


class RobustHyperModel(keras_tuner.HyperModel):
    """Builds, compiles and trains one kerasrobust method per trial.

    `build(hp)` declares the method's search space in `hp`
    (`SearchSpace`, defaults from the papers), builds the base classifier,
    wraps it with `kerasrobust.training.make_trainer(method, base, ...)`,
    calls the wrapper once on a zero image (Keras 3 needs a built model to
    reload trial weights), compiles it with the paper recipe or your
    optimizer and builds the optimizer, so that keras-tuner's checkpoints
    (Hyperband's continued trials, `get_best_models`) restore the weights,
    the optimizer state and the learning-rate schedule's position.

    `fit(hp, model, *args, **kwargs)` forwards everything to `model.fit`
    (the tuner's callbacks; Hyperband's `epochs` and `initial_epoch`), puts
    the objective's callback (`RobustAccuracy` / `CertifiedAccuracy`) first
    when the objective needs one, and fails the search with a clear message
    if the objective's key is missing from the history.

    Args:
        method: one of `kerasrobust.training.METHODS + SMOOTHING_METHODS`.
        model: the base classifier (images in [0, 1] -> logits): a name in
            `kerasrobust.models.MODELS` (then give `input_shape` and
            `num_classes`), a function `build_base_model()`, or a function
            `build_base_model(hp)` that may declare its own hyperparameters
            (method `"dropout"` searches `dropout`: a registered
            architecture gets it as `dropout=`, a `(hp)` builder reads
            `hp.get("dropout")`).
        search_space: overrides of the default space
            (`{"epsilon": (0.05, 0.4), "sigma": [0.25, 0.5], "lam": 0.1}`;
            see `SearchSpace`), or a `SearchSpace`.
        objective: a kind of `kerasrobust.tuning.objective` (`"val_accuracy"`,
            `"val_loss"`, `"robust_accuracy"`, `"certified_accuracy"`,
            `"acr"`), a `TuningObjective`, or a plain `keras_tuner.Objective`
            whose metric your own callbacks log.
        input_shape, num_classes, mean, std: arguments of a registered
            architecture (`mean`/`std`: per-channel statistics for its
            normalization layer, `kerasrobust.models.channel_stats`). With
            a builder function, `input_shape` is the image shape the wrapper
            is first called on and `num_classes` goes to the wrapper (both
            are read from the base model when `None`).
        model_kwargs: more keyword arguments of a registered architecture
            (e.g. `depth` for `"cifar_resnet"`).
        optimizer: `None` for the paper recipe (`paper_optimizer`: SGD,
            momentum 0.9, rate 0.1 divided by 10 at 50% and 75% of `epochs`,
            ALPS paper Section 5.1), which needs `epochs` and
            `steps_per_epoch`; an optimizer name or instance (copied for each
            trial); or a function `(hp) -> optimizer` (to search the rate).
        epochs, steps_per_epoch: the length of training the paper schedule
            spans (for Hyperband: its `max_epochs`).
        weight_decay: coupled L2 of the wrapper (paper: 1e-4).
        metrics: compiled metrics (`"accuracy"` gives `val_accuracy`).
        eval_data: `(x, y)` for the objective's callback; default: the
            first `num_examples` of `fit`'s `validation_data`.
        seed: `None`, or an int: every trial then starts from
            `keras.utils.set_random_seed(seed)` (the same initial weights for
            the same architecture) and the wrapper draws with that seed.
        trainer_kwargs: fixed `make_trainer` arguments that are not searched
            (`lambda_sampling`, `warmup_epochs`, `single_draw_per`, ...).
        name, tunable: see `keras_tuner.HyperModel`.

    Raises:
        ValueError / TypeError: before any trial, for an unknown method,
            objective or architecture, a bad search space, missing
            `input_shape`/`num_classes`, missing recipe lengths, or a
            certification objective without a noise level.

    Example:
    ```python
    hypermodel = kerasrobust.tuning.RobustHyperModel(
        "alps", "small_cnn", {"beta_concentration": 10.0},
        input_shape=(8, 8, 1), num_classes=10, epochs=10,
        steps_per_epoch=12, seed=0)
    tuner = kerasrobust.tuning.make_tuner(hypermodel, "random",
                                          max_trials=5)
    tuner.search(x, y, epochs=10, validation_data=(x_val, y_val))
    ```
    """

    def __init__(self, method, model, search_space=None, *,
                 objective="val_accuracy", input_shape=None,
                 num_classes=None, mean=None, std=None, model_kwargs=None,
                 optimizer=None, epochs=None, steps_per_epoch=None,
                 weight_decay=PAPER_WEIGHT_DECAY, metrics=("accuracy",),
                 eval_data=None, seed=None, trainer_kwargs=None, name=None,
                 tunable=True):
        super().__init__(name=name, tunable=tunable)
        if not isinstance(search_space, SearchSpace):
            search_space = SearchSpace(method, search_space)
        elif search_space.method != method:
            raise ValueError(
                f"`search_space` is for method {search_space.method!r}, not "
                f"{method!r}.")
        self.method = method
        self.search_space = search_space
        self.model = model
        self.objective = as_objective(objective)
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.num_classes = num_classes
        self.mean, self.std = mean, std
        self.model_kwargs = dict(model_kwargs or {})
        self.optimizer = optimizer
        self.epochs, self.steps_per_epoch = epochs, steps_per_epoch
        self.weight_decay = weight_decay
        self.metrics = list(metrics)
        self.seed = seed
        self.trainer_kwargs = dict(trainer_kwargs or {})
        self._check_model()
        self._check_fixed_arguments()
        self._check_objective()
        self.eval_data = None
        if eval_data is not None and getattr(self.objective,
                                             "needs_callback", False):
            self.eval_data = validation_subset(
                eval_data, self.objective.num_examples)

    # ------------------------------------------------------------ keras-tuner
    def build(self, hp):
        values = self.search_space.declare(hp)
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        base = self._build_base(hp, values.pop("dropout", 0.0))
        trainer = make_trainer(self.method, base, **values,
                               num_classes=self.num_classes,
                               weight_decay=self.weight_decay, seed=self.seed,
                               **self.trainer_kwargs)
        shape = self.input_shape or model_image_shape(base)
        if shape is None or None in shape:
            raise ValueError(
                "The base model's input shape is not known; pass "
                "`input_shape` (one image, e.g. (32, 32, 3)).")
        trainer(np.zeros((1,) + tuple(shape), "float32"))
        trainer.compile(optimizer=self._make_optimizer(hp),
                        metrics=list(self.metrics))
        trainer.optimizer.build(trainer.trainable_variables)
        return trainer

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        callbacks = list(callbacks or [])
        if getattr(self.objective, "needs_callback", False):
            data = self.eval_data or validation_subset(
                kwargs.get("validation_data"), self.objective.num_examples)
            if data is None:
                raise keras_tuner.errors.FatalValueError(
                    f"Objective {self.objective.name!r} is measured on "
                    "validation images: pass `validation_data=(x_val, "
                    "y_val)` to the search, or `eval_data` to "
                    "RobustHyperModel.")
            # First, so the tuner's callbacks see the metric in the logs.
            callbacks.insert(0, self.objective.make_callback(*data))
        warmup = getattr(model, "warmup_epochs", 0)
        if warmup > kwargs.get("epochs", 1):
            raise keras_tuner.errors.FatalValueError(
                f"`warmup_epochs` ({warmup}) exceeds this trial's epochs "
                f"({kwargs.get('epochs', 1)}); Hyperband trains some trials "
                "for a few epochs only: lower warmup_epochs or use another "
                "tuner.")
        history = model.fit(*args, callbacks=callbacks, **kwargs)
        if not self.objective.has_value(history.history):
            raise keras_tuner.errors.FatalValueError(
                f"The objective {self.objective.name!r} is not in the "
                f"training history (logged: {sorted(history.history)}). "
                "`val_*` metrics need `validation_data`; a plain "
                "keras_tuner.Objective needs a callback that logs it, or use "
                "kerasrobust.tuning.objective(...).")
        return history

    # ---------------------------------------------------------------- helpers
    def _build_base(self, hp, dropout):
        if isinstance(self.model, str):
            return get_model(
                self.model, input_shape=self.input_shape,
                num_classes=self.num_classes, mean=self.mean, std=self.std,
                dropout=dropout, **self.model_kwargs)
        base = self.model(hp) if _takes_argument(self.model) else self.model()
        if not isinstance(base, keras.Model):
            raise TypeError(
                "The base-model builder must return a keras.Model, got "
                f"{type(base).__name__}.")
        return base

    def _make_optimizer(self, hp):
        if self.optimizer is None:
            return paper_optimizer(self.steps_per_epoch, self.epochs)
        if isinstance(self.optimizer, str):
            return keras.optimizers.get(self.optimizer)
        if isinstance(self.optimizer, keras.optimizers.Optimizer):
            # A fresh copy per trial: an optimizer holds one model's state.
            return keras.optimizers.deserialize(
                keras.optimizers.serialize(self.optimizer))
        return self.optimizer(hp)

    def _check_model(self):
        if isinstance(self.model, str):
            check_choice("model", self.model, tuple(MODELS))
            if self.input_shape is None or self.num_classes is None:
                raise ValueError(
                    f"The registered architecture {self.model!r} needs "
                    "`input_shape` and `num_classes`; got "
                    f"input_shape={self.input_shape!r}, "
                    f"num_classes={self.num_classes!r}.")
        elif not callable(self.model):
            raise TypeError(
                "`model` must be a registered architecture name "
                f"({', '.join(MODELS)}), a function build_base_model() or a "
                f"function build_base_model(hp); got "
                f"{type(self.model).__name__}.")
        elif self.method == "dropout" and not _takes_argument(self.model):
            raise ValueError(
                "Method 'dropout' searches the dropout rate of the base "
                "model: pass a registered architecture name, or a builder "
                "build_base_model(hp) that uses hp.get('dropout').")

    def _check_fixed_arguments(self):
        clash = sorted(set(self.trainer_kwargs) & (
            set(self.search_space.parameters)
            | {"method", "weight_decay", "seed"}))
        if clash:
            raise ValueError(
                f"`trainer_kwargs` sets {', '.join(map(repr, clash))}; set "
                "hyperparameters through `search_space` (a single number "
                "fixes one) and weight_decay/seed through their own "
                "arguments.")
        # A hyperparameter of another method fails here, not in a trial.
        method_arguments(self.method, self.trainer_kwargs)
        if self.optimizer is None:
            # The paper schedule's lengths, checked once here.
            paper_optimizer(
                _required(self.steps_per_epoch, "steps_per_epoch"),
                _required(self.epochs, "epochs"))
        elif not isinstance(self.optimizer, (str, keras.optimizers.Optimizer)
                            ) and not callable(self.optimizer):
            raise TypeError(
                "`optimizer` must be None (the paper recipe), an optimizer "
                "name or instance, or a function (hp) -> optimizer; got "
                f"{type(self.optimizer).__name__}.")

    def _check_objective(self):
        kind = getattr(self.objective, "kind", None)
        if (kind in ("certified_accuracy", "acr")
                and self.objective.sigma is None
                and self.method not in SMOOTHING_METHODS):
            raise ValueError(
                f"Objective {kind!r} certifies the Gaussian-smoothed model at "
                f"the trained wrapper's sigma, and method {self.method!r} "
                "trains without noise: pass sigma=... to "
                "kerasrobust.tuning.objective(...), or use one of "
                f"{', '.join(SMOOTHING_METHODS)}.")


def _required(value, name):
    if value is None:
        raise ValueError(
            f"The paper recipe (optimizer=None) needs `{name}`: its learning "
            "rate drops at 50% and 75% of `epochs` x `steps_per_epoch` "
            "steps. Pass it, or pass an `optimizer`.")
    return value


def _takes_argument(function):
    """Whether `function` has a positional parameter without default."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind == p.VAR_POSITIONAL or (
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        and p.default is p.empty) for p in parameters)
