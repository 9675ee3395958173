"""Build a training wrapper from a method name (used by the CLI and tuner).

The methods and their hyperparameters are declared once in
`kerasrobust.training.hyperparameters` (`METHOD_SPECS`); this module turns
a method name and its arguments into the wrapper.
"""

from kerasrobust.training.adre import ADRE
from kerasrobust.training.alps import ALPS
from kerasrobust.training.erm import ERM
from kerasrobust.training.gaussian_augment import GaussianAugment
from kerasrobust.training.hyperparameters import METHODS
from kerasrobust.training.hyperparameters import METHOD_SPECS
from kerasrobust.training.hyperparameters import SMOOTHING_METHODS
from kerasrobust.training.hyperparameters import all_names
from kerasrobust.training.hyperparameters import method_spec
from kerasrobust.training.hyperparameters import not_applicable_message
from kerasrobust.training.mixup import MixUp
from kerasrobust.training.smooth_adv import SmoothAdv

__all__ = ["METHODS", "SMOOTHING_METHODS", "make_trainer",
           "method_arguments", "trainer_differences"]

_CLASSES = {cls.__name__: cls for cls in (
    ERM, MixUp, ALPS, GaussianAugment, ADRE, SmoothAdv)}

#: The paper's settings (the declared defaults, kept under their old names).
PAPER_DROPOUT = METHOD_SPECS["dropout"].hyperparameter("dropout").default
PAPER_LABEL_SMOOTHING = METHOD_SPECS["label_smoothing"].hyperparameter(
    "label_smoothing").default
PAPER_MIXUP_ALPHA = METHOD_SPECS["mixup"].hyperparameter("alpha").default
DEFAULT_ADRE_LAMBDA = METHOD_SPECS["adre"].hyperparameter("lam").default


def _quoted(name):
    return f"`{name}`"


def method_arguments(method, kwargs):
    """Splits `make_trainer` keyword arguments into the method's
    hyperparameters and the rest (`RobustTrainer` / `keras.Model`
    arguments).

    A hyperparameter of another method (or a constructor spelling the
    method renames, e.g. `steps` for `adv_steps`) raises a `ValueError`
    naming the methods it applies to and the ones `method` takes; `None`
    stands for "not given" and is dropped. A base-model hyperparameter
    (the dropout baseline's `dropout`) raises too: it belongs to the base
    model's builder.

    Returns:
        `(hyperparameters, rest)`, two dicts.
    """
    spec = method_spec(method)
    declared = all_names()
    values, rest = {}, {}
    for name, value in kwargs.items():
        if name in spec.names:
            if value is not None:
                values[name] = value
        elif name in declared:
            if value is not None:
                raise ValueError(
                    not_applicable_message(name, method, _quoted))
        else:
            rest[name] = value
    for h in spec.hyperparameters:
        if h.model and h.name in values:
            raise ValueError(
                f"`{h.name}` of method {method!r} is an argument of the base "
                "model: build it with kerasrobust.models.get_model(..., "
                f"{h.name}={values[h.name]!r}); make_trainer does not change "
                "the base model.")
    return values, rest


def make_trainer(method, base_model, **kwargs):
    """Returns the training wrapper of `method` around `base_model`.

    The method's hyperparameters and their defaults are
    `kerasrobust.training.hyperparameters.METHOD_SPECS[method]`:

    - "erm": none. "dropout": none here (build `base_model` with
      `dropout=0.5`). "label_smoothing": `label_smoothing` (0.1),
      `smoothing_style`.
    - "mixup": `alpha` (1.0), `lambda_sampling` ("batch").
    - "alps": `epsilon` (0.2), `beta_mode` (0.9), `beta_concentration`
      (10.0), `lambda_sampling` ("sample").
    - "gaussian": `sigma` (0.25), `num_noise` (1).
    - "adre": `lam` (0.1), `sigma`, `num_noise` (8), `single_draw_per`.
    - "smoothadv": `sigma`, `num_noise` (1), `adv_epsilon` (0.25),
      `adv_steps` (1), `warmup_epochs` (0), `single_draw_per` (`lam` is 0).
    - "adre_adv": the same and `lam` (0.1).

    Args:
        method: one of `METHODS + SMOOTHING_METHODS`.
        base_model: the classifier (for "dropout", built with dropout).
        **kwargs: the method's hyperparameters (`None`: the default), and
            `RobustTrainer` arguments (`weight_decay`, `seed`,
            `num_classes`, `check_inputs`, `name`). A hyperparameter of
            another method is a `ValueError` (see `method_arguments`).
    """
    spec = method_spec(method)
    values, rest = method_arguments(method, kwargs)
    arguments = spec.constructor_arguments(spec.resolve(values))
    return _CLASSES[spec.trainer](base_model, **arguments, **rest)


def trainer_differences(expected, actual):
    """Where two training wrappers' settings differ.

    Compares the class, each declared hyperparameter (`HYPERPARAMETERS`,
    as saved by `get_config`), `num_classes`, `weight_decay` and `seed`.
    Used to refuse resuming a checkpoint with other settings.

    Returns:
        A list of `(name, value in actual, value in expected)`; `name` is
        `"class"` when the classes differ (then nothing else is compared),
        else a constructor argument.
    """
    if type(expected) is not type(actual):
        return [("class", type(actual).__name__, type(expected).__name__)]
    want, got = expected.get_config(), actual.get_config()
    names = [h.name for h in type(expected).HYPERPARAMETERS]
    names += ["num_classes", "weight_decay", "seed"]
    return [(n, got.get(n), want.get(n)) for n in names
            if got.get(n) != want.get(n)]
