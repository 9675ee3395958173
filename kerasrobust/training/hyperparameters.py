"""Every training method's hyperparameters, declared once.

A `Hyperparameter` holds one fact set: name, default, the values the
training wrapper accepts (`allowed()`), the paper it comes from, a help
text, and the range the tuner searches by default (`search`, which may be
narrower than the accepted range). Two levels use them:

- Each training class lists its constructor's hyperparameters
  (`ERM_HYPERPARAMETERS`, ..., set as `HYPERPARAMETERS` on the class). They
  drive the constructor's checks, the constructor's defaults and
  `get_config`.
- Each method (`METHOD_SPECS`, the names `make_trainer`, the CLI and the
  tuner take) is a class plus the method's view of those declarations: the
  dropout baseline and label smoothing are `ERM`; `adre_adv` is `SmoothAdv`
  with `lam = 0.1` and `smoothadv` the same class with `lam` fixed at 0; the
  attack radius and steps of SmoothAdv are spelled `adv_epsilon` and
  `adv_steps` at the method level (ALPS' `epsilon` is another quantity).
  They drive `make_trainer`'s accepted arguments, the tuner's default search
  space (`kerasrobust.tuning.DEFAULT_SEARCH_SPACES`) and the flags and help
  of `kerasrobust train` and `kerasrobust tune`.

This module imports neither Keras nor TensorFlow, so the command line can
build its flags from it without loading them.

Papers: "ALPS" is Guo et al., IJCAI 2020
(`alps-robust-regularization.md`); "ADRE" is Feng et al.,
"Regularized Training and Tight Certification for Randomized Smoothed
Classifier with Provable Robustness" (`adre-tcertify-randomized-
smoothing.md`).
"""

import dataclasses
from typing import Any
from typing import Optional
from typing import Tuple

from kerasrobust._validation import _interval
from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number


@dataclasses.dataclass(frozen=True)
class Range:
    """The closed interval `[low, high]` of one hyperparameter.

    Args:
        low, high: the bounds, `low < high`.
        sampling: `"linear"` or `"log"` (needs `low > 0`).
        step: optional grid step (integer hyperparameters: default 1).

    Example:
    ```python
    kerasrobust.tuning.Range(4.0, 40.0, sampling="log")
    ```
    """

    low: float
    high: float
    sampling: str = "linear"
    step: Optional[float] = None


@dataclasses.dataclass(frozen=True)
class Choice:
    """A finite set of values of one hyperparameter (a list does the same).

    Example:
    ```python
    kerasrobust.tuning.Choice((0.12, 0.25, 0.5, 1.0))
    ```
    """

    values: Tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter of a training method.

    Args:
        name: the argument name (constructor, `make_trainer`, search space;
            CLI flag `--name-with-dashes`).
        default: the value used when none is given.
        help: what it is, one line.
        reference: where the default or range comes from.
        low, high, low_open, high_open, integer: the accepted interval of a
            number (`None`: unbounded).
        choices: the accepted values of a categorical one (`(False, True)`
            for a switch).
        search: the tuner's default: a `Range`, a `Choice`, a fixed value,
            or `None` (not searched; a fixed setting of the trial).
        argument: the constructor argument it sets when it is spelled
            differently at the method level (`adv_epsilon` -> `epsilon`).
        model: an argument of the base model, not of the wrapper (the
            dropout baseline's rate).
    """

    name: str
    default: Any
    help: str
    reference: str = ""
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    choices: Optional[Tuple[Any, ...]] = None
    search: Any = None
    argument: Optional[str] = None
    model: bool = False

    @property
    def switch(self):
        """Whether it is a boolean on/off setting."""
        return self.choices == (False, True)

    @property
    def constructor_name(self):
        """The training class' constructor argument it sets."""
        return self.argument or self.name

    def check(self, value, label=None):
        """Returns `value` checked (and cast to int/float) or raises a
        `ValueError`/`TypeError` naming `label` (default: the name), the
        value and `allowed()`."""
        label = label or self.name
        if self.switch:
            # Python or NumPy booleans (a .keras config, an array element).
            if type(value).__name__ not in ("bool", "bool_"):
                raise TypeError(
                    f"`{label}` must be True or False, got {value!r}.")
            return bool(value)
        if self.choices is not None:
            return check_choice(label, value, self.choices)
        return check_number(label, value, low=self.low, high=self.high,
                            low_open=self.low_open, high_open=self.high_open,
                            integer=self.integer)

    def allowed(self):
        """The accepted values in words, e.g. `"(0, 2]"`, `"integers in
        [1, inf)"`, `"one of 'sample', 'batch'"`."""
        if self.switch:
            return "True or False"
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        interval = _interval(self.low, self.high, self.low_open,
                             self.high_open)
        return f"integers in {interval}" if self.integer else interval

    def replace(self, **changes):
        """A copy with some fields changed (e.g. another default)."""
        return dataclasses.replace(self, **changes)


def _find(hyperparameters, name):
    for h in hyperparameters:
        if h.name == name:
            return h
    raise KeyError(name)


def check_declared(hyperparameters, values):
    """Checks `{name: value}` against `hyperparameters` (by name); returns
    the checked values."""
    return {name: _find(hyperparameters, name).check(value)
            for name, value in values.items()}


def defaults(hyperparameters):
    """`{name: default}` of a declaration tuple."""
    return {h.name: h.default for h in hyperparameters}


# ------------------------------------------------------------ the facts
_ALPS_SETUP = "ALPS paper, Section 5.1"
_SIGMAS = Choice((0.12, 0.25, 0.5, 1.0))
_NUM_NOISE = Choice((1, 4, 8))
# Table 1: {0.1, 0.2, 0.3} on CIFAR-10 and {0.05, 0.1} on ImageNet.
_ADRE_LAMBDAS = Choice((0.05, 0.1, 0.15, 0.2, 0.25, 0.3))

LABEL_SMOOTHING = Hyperparameter(
    "label_smoothing", 0.0,
    "label smoothing mass epsilon (0 = plain ERM)",
    "ALPS paper eq. (6)-(8); Section 5.1 uses 0.1",
    low=0, high=1, high_open=True)
SMOOTHING_STYLE = Hyperparameter(
    "smoothing_style", "paper",
    "label smoothing targets: 'paper' puts epsilon / (K - 1) on each wrong "
    "class (eq. 6), 'uniform' Keras' epsilon / K on every class",
    "ALPS paper eq. (6); Szegedy et al. 2016",
    choices=("paper", "uniform"))
DROPOUT = Hyperparameter(
    "dropout", 0.5,
    "dropout rate on the base model's penultimate features",
    _ALPS_SETUP + " (50% of the penultimate neurons)",
    low=0, high=1, high_open=True, search=0.5, model=True)
LAMBDA_SAMPLING = Hyperparameter(
    "lambda_sampling", "sample",
    "one mixing coefficient per sample (ALPS eq. 18's lambda_ij) or one "
    "per mini-batch (Zhang et al.'s MixUp code)",
    "ALPS paper eq. (18); Zhang et al. 2018",
    choices=("sample", "batch"))
MIXUP_ALPHA = Hyperparameter(
    "alpha", 1.0,
    "MixUp's Beta(alpha, alpha) parameter",
    _ALPS_SETUP + " (alpha = 1); Zhang et al. 2018 (0.1-0.4 on ImageNet)",
    low=0, low_open=True, search=Range(0.1, 1.0, sampling="log"))
ALPS_EPSILON = Hyperparameter(
    "epsilon", 0.2,
    "ALPS: L1 radius of the label perturbation",
    _ALPS_SETUP + ": (0, 0.5), searched 0.01 inside; the label ball of "
    "Theorem 1 allows (0, 2]",
    low=0, high=2, low_open=True, search=Range(0.01, 0.49))
BETA_MODE = Hyperparameter(
    "beta_mode", 0.9,
    "ALPS: mode of lambda ~ Beta(a, b)",
    _ALPS_SETUP + ": (0.75, 1), searched 0.01 inside",
    low=0, high=1, low_open=True, high_open=True, search=Range(0.76, 0.99))
BETA_CONCENTRATION = Hyperparameter(
    "beta_concentration", 10.0,
    "ALPS: a + b of that Beta distribution (its spread; larger is "
    "narrower)",
    "not given in the paper: our choice, searched on a log scale around it",
    low=2, low_open=True, search=Range(4.0, 40.0, sampling="log"))
SIGMA = Hyperparameter(
    "sigma", 0.25,
    "Gaussian noise level in pixel units",
    "ADRE paper Table 1 and Cohen et al. 2019: 0.12, 0.25, 0.5, 1.0",
    low=0, low_open=True, search=_SIGMAS)
NUM_NOISE = Hyperparameter(
    "num_noise", 1,
    "noise draws k per sample and step",
    "ADRE paper, Experiments: k = 8 on CIFAR-10, 1 on ImageNet",
    low=1, integer=True, search=1)
ADRE_LAM = Hyperparameter(
    "lam", 0.1,
    "ADRE weight lambda of l_adre in l_per - lambda * l_adre",
    "ADRE paper eq. (5), Table 1: 0.1-0.3 on CIFAR-10, 0.05-0.1 on ImageNet",
    low=0, search=_ADRE_LAMBDAS)
SINGLE_DRAW_PER = Hyperparameter(
    "single_draw_per", False,
    "compute l_per from one noise draw (the paper's CIFAR-10 variant)",
    "ADRE paper, Experiments",
    choices=(False, True))
ADV_EPSILON = Hyperparameter(
    "epsilon", 0.25,
    "SmoothAdv: L2 attack radius in pixel units (0.25 = Salman et al.'s "
    "64/256)",
    "Salman et al. 2019's grid 0.25-2.0 (the ADRE paper gives none)",
    low=0, search=Choice((0.25, 0.5, 1.0, 2.0)))
ADV_STEPS = Hyperparameter(
    "steps", 1,
    "SmoothAdv: PGD steps (step size 2 * epsilon / steps)",
    "ADRE paper, Experiments: 2 on CIFAR-10, 1 on ImageNet",
    low=1, integer=True, search=Choice((1, 2)))
WARMUP_EPOCHS = Hyperparameter(
    "warmup_epochs", 0,
    "SmoothAdv: epochs of linear epsilon warm-up (at most the training "
    "epochs)",
    "Salman et al. 2019's training script",
    low=0, integer=True)

# ------------------------------------------------- per training class
ERM_HYPERPARAMETERS = (LABEL_SMOOTHING, SMOOTHING_STYLE)
MIXUP_HYPERPARAMETERS = (
    MIXUP_ALPHA, LAMBDA_SAMPLING.replace(default="batch"))
ALPS_HYPERPARAMETERS = (
    ALPS_EPSILON, BETA_MODE, BETA_CONCENTRATION, LAMBDA_SAMPLING)
GAUSSIAN_HYPERPARAMETERS = (SIGMA, NUM_NOISE)
# The order is the tuner's declaration order (lam first, as before).
ADRE_HYPERPARAMETERS = (
    ADRE_LAM, SIGMA, NUM_NOISE.replace(default=8, search=_NUM_NOISE),
    SINGLE_DRAW_PER)
SMOOTH_ADV_HYPERPARAMETERS = (
    ADRE_LAM.replace(default=0.0), SIGMA,
    NUM_NOISE.replace(search=_NUM_NOISE), ADV_EPSILON, ADV_STEPS,
    WARMUP_EPOCHS, SINGLE_DRAW_PER)

CLASS_HYPERPARAMETERS = {
    "ERM": ERM_HYPERPARAMETERS,
    "MixUp": MIXUP_HYPERPARAMETERS,
    "ALPS": ALPS_HYPERPARAMETERS,
    "GaussianAugment": GAUSSIAN_HYPERPARAMETERS,
    "ADRE": ADRE_HYPERPARAMETERS,
    "SmoothAdv": SMOOTH_ADV_HYPERPARAMETERS,
}


# ---------------------------------------------------------- per method
@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """A training method: its class and its hyperparameters.

    Args:
        name: the method name (`make_trainer`, `--method`, the tuner).
        trainer: the class name in `kerasrobust.training`.
        hyperparameters: the method's `Hyperparameter`s, spelled as the
            method takes them.
        fixed: `((constructor_argument, value), ...)` the method sets and
            does not let you change.
        family: `"alps"` (the ALPS paper's comparison) or `"smoothing"`
            (base classifiers for randomized smoothing, ADRE paper).
        description: one line.
    """

    name: str
    trainer: str
    hyperparameters: Tuple[Hyperparameter, ...] = ()
    fixed: Tuple[Tuple[str, Any], ...] = ()
    family: str = "alps"
    description: str = ""

    @property
    def names(self):
        """The method-level names of its hyperparameters, in order."""
        return tuple(h.name for h in self.hyperparameters)

    def hyperparameter(self, name):
        """The declaration of `name` (a `KeyError` if the method has
        none)."""
        return _find(self.hyperparameters, name)

    def resolve(self, values):
        """`{name: value}` of every hyperparameter: `values` (checked, as
        named at the method level; `None` means the default) over the
        defaults."""
        resolved = {}
        for h in self.hyperparameters:
            value = values.get(h.name)
            resolved[h.name] = h.default if value is None else h.check(value)
        return resolved

    def constructor_arguments(self, values):
        """The class' constructor arguments for resolved method values
        (renamed, the fixed ones added, base-model ones left out)."""
        kwargs = {h.constructor_name: values[h.name]
                  for h in self.hyperparameters if not h.model}
        kwargs.update(self.fixed)
        return kwargs

    def flag_of(self, constructor_name):
        """The method-level name of a constructor argument (itself when the
        method does not rename it)."""
        for h in self.hyperparameters:
            if h.constructor_name == constructor_name:
                return h.name
        return constructor_name


def _renamed(hyperparameters, **names):
    """The declarations with some spelled differently at the method level
    (`adv_epsilon="epsilon"`: the method's `adv_epsilon` sets `epsilon`)."""
    new = {old: new for new, old in names.items()}
    return tuple(h.replace(name=new[h.name], argument=h.name)
                 if h.name in new else h for h in hyperparameters)


_SMOOTH_ADV_METHOD = _renamed(
    SMOOTH_ADV_HYPERPARAMETERS, adv_epsilon="epsilon", adv_steps="steps")

METHOD_SPECS = {spec.name: spec for spec in (
    MethodSpec("erm", "ERM", description="empirical risk minimization "
               "(ALPS paper eq. 1)"),
    MethodSpec("dropout", "ERM", (DROPOUT,),
               description="ERM with dropout on the base model's "
               "penultimate layer"),
    MethodSpec("label_smoothing", "ERM", (
        LABEL_SMOOTHING.replace(default=0.1, search=0.1), SMOOTHING_STYLE),
        description="ERM on smoothed labels (ALPS paper eq. 6-8)"),
    MethodSpec("mixup", "MixUp", MIXUP_HYPERPARAMETERS,
               description="MixUp (Zhang et al. 2018; ALPS paper eq. 11)"),
    MethodSpec("alps", "ALPS", ALPS_HYPERPARAMETERS,
               description="ALPS (ALPS paper Algorithm 1)"),
    MethodSpec("gaussian", "GaussianAugment", GAUSSIAN_HYPERPARAMETERS,
               family="smoothing",
               description="Gaussian augmentation (Cohen et al.'s Basic)"),
    MethodSpec("adre", "ADRE", ADRE_HYPERPARAMETERS, family="smoothing",
               description="ADRE_REG (ADRE paper Algorithm 1)"),
    MethodSpec("smoothadv", "SmoothAdv",
               tuple(h for h in _SMOOTH_ADV_METHOD if h.name != "lam"),
               fixed=(("lam", 0.0),), family="smoothing",
               description="SmoothAdv (Salman et al. 2019)"),
    MethodSpec("adre_adv", "SmoothAdv", tuple(
        h.replace(default=0.1) if h.name == "lam" else h
        for h in _SMOOTH_ADV_METHOD), family="smoothing",
        description="ADRE_ADV (ADRE paper eq. 12-13, Algorithm 1)"),
)}

#: The methods compared in the ALPS paper (Section 5).
METHODS = tuple(n for n, s in METHOD_SPECS.items() if s.family == "alps")
#: Base-classifier training for randomized smoothing (ADRE paper).
SMOOTHING_METHODS = tuple(
    n for n, s in METHOD_SPECS.items() if s.family == "smoothing")


def method_spec(method):
    """The `MethodSpec` of `method` (a `ValueError` listing the methods
    for an unknown name)."""
    check_choice("method", method, tuple(METHOD_SPECS))
    return METHOD_SPECS[method]


def methods_taking(name):
    """The methods that have a hyperparameter `name`, in order."""
    return tuple(m for m, s in METHOD_SPECS.items() if name in s.names)


def all_names():
    """Every method-level and constructor-level hyperparameter name."""
    names = {h.name for s in METHOD_SPECS.values()
             for h in s.hyperparameters}
    names |= {h.name for hs in CLASS_HYPERPARAMETERS.values() for h in hs}
    return names


def not_applicable_message(name, method, flag=str, among=None):
    """Why `name` is refused for `method`: the methods that take it and
    the ones `method` takes (of `among`, when given). `flag` spells a name
    (e.g. as a CLI flag)."""
    spec = method_spec(method)
    owners = methods_taking(name)
    where = (f"it applies to {', '.join(map(repr, owners))}" if owners else
             "no method takes it under that name")
    takes = ", ".join(flag(n) for n in spec.names
                      if among is None or n in among) or "none"
    return (f"{flag(name)} does not apply to method {method!r} ({where}); "
            f"{method!r} takes: {takes}.")


# ------------------------------------------------------------- display
def format_value(value):
    """A value as help texts and tables show it (`on`/`off`, `0.25`)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def format_search(search):
    """A declared search entry in words."""
    if search is None:
        return "no (a fixed setting)"
    if isinstance(search, Range):
        log = ", log scale" if search.sampling == "log" else ""
        low, high = format_value(search.low), format_value(search.high)
        return f"[{low}, {high}]{log}"
    if isinstance(search, Choice):
        return "{" + ", ".join(format_value(v) for v in search.values) + "}"
    return f"fixed {format_value(search)}"


def by_method(name, text):
    """`text(h)` of hyperparameter `name` across the methods that have it:
    one value, or `"v1 (m1, m2); v2 (m3)"` when they differ."""
    groups = {}
    for method in methods_taking(name):
        value = text(METHOD_SPECS[method].hyperparameter(name))
        groups.setdefault(value, []).append(method)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{v} ({', '.join(ms)})" for v, ms in groups.items())


def markdown_table():
    """The README's table of every hyperparameter (one row per name)."""
    names = dict.fromkeys(h.name for spec in METHOD_SPECS.values()
                          for h in spec.hyperparameters)
    lines = ["| hyperparameter (flag) | methods | default | allowed | "
             "tuner searches | source |", "|---|---|---|---|---|---|"]
    for name in names:
        h = METHOD_SPECS[methods_taking(name)[0]].hyperparameter(name)
        cells = [f"`{name}` (`--{name.replace('_', '-')}`)",
                 ", ".join(methods_taking(name)),
                 by_method(name, lambda d: format_value(d.default)),
                 h.allowed().replace("'", ""),
                 by_method(name, lambda d: format_search(d.search)),
                 h.reference]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
