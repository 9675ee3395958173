"""Search objectives: the metric key, its direction, and the callback that
logs it when Keras does not."""

import functools

import keras_tuner
import numpy as np
import tensorflow as tf

from kerasrobust import _names
from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number
from kerasrobust.callbacks import CertifiedAccuracy
from kerasrobust.callbacks import RobustAccuracy
from kerasrobust.evaluate.robustness import PAPER_PGD
from kerasrobust.evaluate.robustness import as_attack
from kerasrobust.smoothing.certify import METHODS as CERTIFY_METHODS

#: The objective kinds `objective` accepts.
OBJECTIVES = _names.OBJECTIVES

#: Options each kind takes, with their defaults.
_OPTIONS = {
    "val_accuracy": {},
    "val_loss": {},
    "robust_accuracy": {"attack": PAPER_PGD, "attack_name": None,
                        "num_examples": 500, "batch_size": 256},
    "certified_accuracy": {"radius": 0.25, "sigma": None, "n0": 100,
                           "n": 1000, "alpha": 0.001,
                           "certify_method": "cohen", "num_examples": 100,
                           "batch_size": 1000},
}
_OPTIONS["acr"] = {k: v for k, v in _OPTIONS["certified_accuracy"].items()
                   if k != "radius"}


class TuningObjective(keras_tuner.Objective):
    """A `keras_tuner.Objective` that also knows how its metric is logged.

    `name` is the key in the epoch logs, `direction` `"max"` or `"min"`.
    For `robust_accuracy`, `certified_accuracy` and `acr`, `make_callback`
    returns the callback (`RobustAccuracy`, `CertifiedAccuracy`) that writes
    that key at the end of every epoch; `RobustHyperModel.fit` adds it in
    front of the tuner's callbacks. Built by `objective(...)`.
    """

    def __init__(self, kind, name, direction, options=None,
                 callback_factory=None):
        super().__init__(name, direction)
        self.kind = kind
        self.options = dict(options or {})
        self._callback_factory = callback_factory

    @property
    def needs_callback(self):
        """Whether the metric comes from a callback (not from Keras)."""
        return self._callback_factory is not None

    @property
    def num_examples(self):
        """Validation images the callback evaluates (`None`: no callback)."""
        return self.options.get("num_examples")

    @property
    def sigma(self):
        """Noise level of the certification (`None`: the wrapper's)."""
        return self.options.get("sigma")

    def make_callback(self, x, y):
        """The callback that logs `name` from `(x, y)`, or `None`."""
        if self._callback_factory is None:
            return None
        return self._callback_factory(np.asarray(x), np.asarray(y))

    def __repr__(self):
        return (f"TuningObjective(kind={self.kind!r}, name={self.name!r}, "
                f"direction={self.direction!r})")


def objective(kind="val_accuracy", **options):
    """The search objective `kind`, with the right metric key and direction.

    | kind                   | logged key (direction)                  |
    |------------------------|-----------------------------------------|
    | `"val_accuracy"`       | `val_accuracy` (max), by Keras          |
    | `"val_loss"`           | `val_loss` (min), by Keras              |
    | `"robust_accuracy"`    | `val_<attack_name>_accuracy` (max), by  |
    |                        | `kerasrobust.callbacks.RobustAccuracy`  |
    | `"certified_accuracy"` | `val_certified_accuracy_<radius:g>`     |
    |                        | (max), by `CertifiedAccuracy`           |
    | `"acr"`                | `val_acr` (max), by `CertifiedAccuracy` |

    The callbacks evaluate every epoch on the first `num_examples`
    validation images (keras-tuner keeps each trial's best epoch).
    Certified accuracy is Cohen et al.'s approximate certified accuracy at
    `radius` (abstentions count as wrong), the ACR the average certified
    radius; both are computed with few samples (`n`) during tuning, so they
    track training rather than certify the final model.

    Args:
        kind: one of `OBJECTIVES`.
        **options: for `"robust_accuracy"`: `attack` (an `AttackConfig`, a
            dict of its fields or a preset name; default `PAPER_PGD`,
            ALPS paper Table 6), `attack_name` (the key infix; default the
            attack kind, `"pgd"` or `"fgsm"`), `num_examples` (500),
            `batch_size` (256). For `"certified_accuracy"` and `"acr"`:
            `radius` (0.25, certified accuracy only), `sigma` (default
            the trained wrapper's sigma; needed for methods without noise),
            `n0` (100), `n` (1000), `alpha` (0.001), `certify_method`
            (`"cohen"` for CERTIFY or `"tight"` for T-CERTIFY),
            `num_examples` (100), `batch_size` (1000).

    Returns:
        A `TuningObjective` (a `keras_tuner.Objective`).

    Raises:
        ValueError: unknown kind, an option the kind does not take, or a bad
            option value (named in the message).

    Example:
    ```python
    kerasrobust.tuning.objective("certified_accuracy", radius=0.5)
    # TuningObjective(kind='certified_accuracy',
    #                 name='val_certified_accuracy_0.5', direction='max')
    ```
    """
    check_choice("objective", kind, OBJECTIVES)
    allowed = _OPTIONS[kind]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "no options"
        raise ValueError(
            f"objective {kind!r} does not take {', '.join(unknown)}; it "
            f"takes {takes}.")
    options = {**allowed, **options}
    if kind == "val_accuracy":
        return TuningObjective(kind, "val_accuracy", "max")
    if kind == "val_loss":
        return TuningObjective(kind, "val_loss", "min")
    options["num_examples"] = check_number(
        "num_examples", options["num_examples"], low=1, integer=True)
    if kind == "robust_accuracy":
        attack = as_attack(options["attack"])
        options["attack"] = attack
        options["attack_name"] = options["attack_name"] or attack.attack
        factory = functools.partial(
            RobustAccuracy, attack=attack, every=1,
            name=options["attack_name"], batch_size=options["batch_size"])
        # The callback checks its own options; its key is the objective's.
        probe = factory(np.zeros((1, 1)), np.zeros(1))
        return TuningObjective(kind, probe.accuracy_key, "max", options,
                               factory)
    check_choice("certify_method", options["certify_method"],
                 CERTIFY_METHODS)
    radius = check_number("radius", options.get("radius", 0.0), low=0)
    factory = functools.partial(
        CertifiedAccuracy, sigma=options["sigma"], n0=options["n0"],
        n=options["n"], alpha=options["alpha"], radii=(radius,),
        method=options["certify_method"], every=1,
        batch_size=check_number("batch_size", options["batch_size"], low=1,
                                integer=True))
    factory(np.zeros((1, 1)), np.zeros(1))  # checks sigma, n0, n, alpha
    name = ("val_acr" if kind == "acr"
            else f"val_certified_accuracy_{radius:g}")
    return TuningObjective(kind, name, "max", options, factory)


def as_objective(spec):
    """A `keras_tuner.Objective` from a kind name or an objective (a plain
    `keras_tuner.Objective` is used as is: its metric is your business)."""
    if isinstance(spec, keras_tuner.Objective):
        return spec
    if isinstance(spec, str):
        return objective(spec)
    raise TypeError(
        "`objective` must be one of "
        f"{', '.join(map(repr, OBJECTIVES))} or a keras_tuner.Objective; "
        f"got {type(spec).__name__}.")


def validation_subset(data, num_examples):
    """The first `num_examples` `(x, y)` of `validation_data`, as arrays
    with integer labels.

    Takes `(x, y)` or `(x, y, sample_weight)` arrays (labels as ids or
    one-hot) or a batched `tf.data.Dataset` of such tuples; returns `None`
    for `None`.
    """
    if data is None:
        return None
    if isinstance(data, tf.data.Dataset):
        batch = next(iter(
            data.unbatch().take(num_examples).batch(num_examples)))
        data = tuple(t.numpy() for t in batch)
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise ValueError(
            "`validation_data` must be (x, y), (x, y, sample_weight) or a "
            f"tf.data.Dataset of such tuples; got {type(data).__name__}.")
    x, y = np.asarray(data[0])[:num_examples], np.asarray(data[1])
    y = y[:num_examples]
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot: the callbacks take ids
        y = y.argmax(axis=1)
    return x, y.reshape(len(y))
