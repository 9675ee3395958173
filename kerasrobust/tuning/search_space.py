"""The hyperparameters each training method searches, with the papers' ranges.

A search space maps hyperparameter names (the `make_trainer` arguments:
`epsilon`, `beta_mode`, `sigma`, `lam`, ...) to one of

- `Range(low, high, sampling="linear", step=None)`, or a `(low, high)`
  tuple: every value in the closed interval (an integer range for the
  integer hyperparameters `num_noise` and `adv_steps`);
- `Choice(values)`, or a list: one of the listed values;
- a single number: the value is fixed (recorded in the trial's
  hyperparameters, not searched).

Defaults (`DEFAULT_SEARCH_SPACES`) are the `search` field of each method's
declared hyperparameters (`kerasrobust.training.hyperparameters`, where each
range cites its paper), and an override is checked against the range the
wrapper accepts (the declaration's `allowed()`), which may be wider:

- ALPS (Guo et al., IJCAI 2020, Section 5.1): "the mode of asymmetric Beta
  distribution is chosen in the range (0.75, 1), and the L1 ball constraint
  epsilon ... is restricted to (0, 0.5)". Both are open intervals; we
  search the closed intervals 0.01 inside them, `epsilon` in [0.01, 0.49]
  and `beta_mode` in [0.76, 0.99] (epsilon = 0 would be plain ERM on mixed
  inputs, mode 1 is not a Beta distribution). The spread of the Beta
  distribution is not given; `beta_concentration` (a + b) is searched in
  [4, 40] on a log scale around the project's default 10.
- MixUp: the ALPS paper fixes alpha = 1 (Section 5.1); Zhang et al. (2018)
  use alpha in [0.1, 0.4] on ImageNet and 1 on CIFAR-10: `alpha` in
  [0.1, 1], log scale.
- Dropout 0.5 and label smoothing 0.1 are the ALPS paper's fixed settings
  (Section 5.1); override them with a range to search them.
- ADRE (Feng et al., Experiments and Table 1): sigma in {0.12, 0.25, 0.5,
  1.0}; lambda in {0.1, 0.2, 0.3} on CIFAR-10 and {0.05, 0.1} on ImageNet,
  searched as {0.05, 0.1, ..., 0.3}; k = 8 on CIFAR-10, 1 and 4 on
  ImageNet: `num_noise` in {1, 4, 8}.
- SmoothAdv / ADRE_ADV: 2-step PGD on CIFAR-10 and 1-step on ImageNet in
  the ADRE paper (`adv_steps` in {1, 2}); the ADRE paper does not list its
  attack radii, so `adv_epsilon` takes Salman et al.'s (NeurIPS 2019) grid
  {0.25, 0.5, 1.0, 2.0} (64/256 ... 512/256 in their units).
- Gaussian augmentation (Cohen et al.'s "Basic" training): sigma as above,
  one noise draw per sample.
"""

from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number
from kerasrobust.training.hyperparameters import METHOD_SPECS
from kerasrobust.training.hyperparameters import Choice
from kerasrobust.training.hyperparameters import Range
from kerasrobust.training.hyperparameters import method_spec

__all__ = ["Choice", "DEFAULT_SEARCH_SPACES", "PARAMETERS", "Range",
           "SearchSpace"]

SAMPLINGS = ("linear", "log")


def _searched(spec):
    return {h.name: h for h in spec.hyperparameters if h.search is not None}


#: Every searchable hyperparameter's declaration, by name (the same name
#: has the same accepted range in every method that has it).
PARAMETERS = {name: h for spec in METHOD_SPECS.values()
              for name, h in _searched(spec).items()}

#: The default search space of each method: the declared `search` values.
DEFAULT_SEARCH_SPACES = {
    method: {name: h.search for name, h in _searched(spec).items()}
    for method, spec in METHOD_SPECS.items()}


class SearchSpace:
    """The validated search space of one training method.

    Starts from `DEFAULT_SEARCH_SPACES[method]` and replaces the entries
    named in `overrides`. Every entry is checked at construction, before any
    trial runs: an unknown name, a value outside what the wrapper accepts
    (e.g. `beta_mode` >= 1, `epsilon` < 0, `sigma` <= 0, `num_noise` < 1), an
    empty list or a range with `low >= high` raises a `ValueError` (wrong
    types a `TypeError`) naming the hyperparameter, the value and what is
    allowed.

    Args:
        method: one of `kerasrobust.training.METHODS + SMOOTHING_METHODS`.
        overrides: `{name: Range | (low, high) | Choice | list | number}`.

    Example:
    ```python
    space = kerasrobust.tuning.SearchSpace(
        "adre", {"sigma": [0.25, 0.5], "lam": (0.05, 0.3), "num_noise": 8})
    values = space.declare(keras_tuner.HyperParameters())
    ```
    """

    def __init__(self, method, overrides=None):
        self.method = method_spec(method).name
        self.parameters = _searched(METHOD_SPECS[method])
        defaults = DEFAULT_SEARCH_SPACES[method]
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(defaults))
        fixed = [n for n in unknown if n in METHOD_SPECS[method].names]
        if fixed:
            raise ValueError(
                f"`search_space` names {', '.join(map(repr, fixed))}, a "
                f"setting of method {method!r} that is not searched; pass "
                "it in `trainer_kwargs` (kerasrobust tune: its flag).")
        if unknown:
            allowed = ", ".join(repr(n) for n in defaults) or "none"
            raise ValueError(
                f"`search_space` names {', '.join(map(repr, unknown))}, "
                f"which method {method!r} does not have; its "
                f"hyperparameters: {allowed}.")
        self.entries = {
            name: _normalize(self.parameters[name], value)
            for name, value in {**defaults, **overrides}.items()}

    def declare(self, hp):
        """Registers every entry in `hp` (a `keras_tuner.HyperParameters`)
        and returns `{name: value}` for this trial."""
        return {name: _declare(hp, name, entry,
                               self.parameters[name].integer)
                for name, entry in self.entries.items()}

    def describe(self):
        """A JSON-friendly description, e.g. `{"sigma": [0.25, 0.5]}`."""
        def one(entry):
            if isinstance(entry, Range):
                return {"low": entry.low, "high": entry.high,
                        "sampling": entry.sampling, "step": entry.step}
            if isinstance(entry, Choice):
                return list(entry.values)
            return entry
        return {name: one(entry) for name, entry in self.entries.items()}

    def __repr__(self):
        return f"SearchSpace({self.method!r}, {self.entries!r})"


def _normalize(domain, value):
    """Checks one entry against the declaration `domain`; returns a
    `Range`, a `Choice` or a fixed number."""
    name = domain.name
    label = f"search_space['{name}']"
    bounds = (f"{label}[0]", f"{label}[1]")
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError(
                f"`{label}` must be a (low, high) tuple, a list of values or "
                f"a single number; got the tuple {value!r}.")
        value = Range(*value)
    elif isinstance(value, Range):
        bounds = (f"{label}.low", f"{label}.high")
    if isinstance(value, Range):
        low = domain.check(value.low, bounds[0])
        high = domain.check(value.high, bounds[1])
        if low >= high:
            raise ValueError(
                f"`{label}` must be a range with low < high, got "
                f"({value.low!r}, {value.high!r}); give a single number to "
                "fix the value.")
        check_choice(f"{label}.sampling", value.sampling, SAMPLINGS)
        if value.sampling == "log" and low <= 0:
            raise ValueError(
                f"`{label}` with log sampling needs low > 0, got {low!r}.")
        step = value.step
        if step is not None:
            step = check_number(f"{label}.step", step, low=0, low_open=True,
                                integer=domain.integer)
        return Range(low, high, value.sampling, step)
    if isinstance(value, (list, Choice)):
        values = list(value.values if isinstance(value, Choice) else value)
        if not values:
            raise ValueError(
                f"`{label}` must list at least one value, got an empty "
                "list.")
        values = [domain.check(v, f"{label}[{i}]")
                  for i, v in enumerate(values)]
        if len(set(values)) != len(values):
            raise ValueError(f"`{label}` lists a value twice: {values}.")
        return Choice(tuple(values))
    return domain.check(value, label)


def _declare(hp, name, entry, integer):
    if isinstance(entry, Range):
        if integer:
            return hp.Int(name, int(entry.low), int(entry.high),
                          step=None if entry.step is None else int(entry.step),
                          sampling=entry.sampling)
        return hp.Float(name, entry.low, entry.high, step=entry.step,
                        sampling=entry.sampling)
    if isinstance(entry, Choice):
        return hp.Choice(name, list(entry.values))
    return hp.Fixed(name, entry)
