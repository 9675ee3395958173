"""Argument checks shared by the whole package.

Every check raises ``ValueError`` (or ``TypeError``) whose message names the
parameter, the value that was given and what is allowed, so that bad input
fails before any training starts.
"""

import math
import numbers


def _interval(low, high, low_open, high_open):
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    low_s = "-inf" if low is None else f"{low:g}"
    high_s = "inf" if high is None else f"{high:g}"
    return f"{left}{low_s}, {high_s}{right}"


def check_number(name, value, low=None, high=None, low_open=False,
                 high_open=False, integer=False):
    """Checks that ``value`` is a finite number inside an interval.

    Args:
        name: parameter name used in the error message.
        value: the value to check.
        low, high: interval bounds (``None`` for unbounded).
        low_open, high_open: whether the bound itself is excluded.
        integer: require an integral value.

    Returns:
        ``value`` as ``int`` (when ``integer``) or ``float``.
    """
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be {kind}, got {value!r} "
            f"(type {type(value).__name__})."
        )
    if integer and int(value) != value:
        raise ValueError(f"`{name}` must be {kind}, got {value!r}.")
    if math.isnan(float(value)):
        raise ValueError(f"`{name}` must be {kind}, got NaN.")
    interval = _interval(low, high, low_open, high_open)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (
        value >= high if high_open else value > high
    )
    if too_low or too_high:
        raise ValueError(
            f"`{name}` must be in {interval}, got {value!r}."
        )
    return int(value) if integer else float(value)


def check_choice(name, value, choices):
    """Checks that ``value`` is one of ``choices``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"`{name}` must be one of {allowed}; got {value!r}."
        )
    return value


def model_image_shape(model):
    """The per-image input shape a single-input model takes, or `None`
    when it is not known (unbuilt subclassed model, several inputs)."""
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    if not isinstance(shape, tuple) or (shape and isinstance(
            shape[0], (tuple, list))):
        return None
    return tuple(shape[1:])


def image_shape_matches(got, want):
    """Whether per-image shape `got` fits `want` (`None` dims match all)."""
    return len(got) == len(want) and all(
        w is None or g is None or g == w for g, w in zip(got, want))


def model_output_shape(model):
    """A model's output shape, or `None` when it is not known yet."""
    try:
        return model.output_shape
    except (AttributeError, ValueError):
        return None


def model_num_classes(model):
    """The size of a model's `(batch, num_classes)` output, or `None`."""
    shape = model_output_shape(model)
    if isinstance(shape, tuple) and len(shape) == 2 and isinstance(
            shape[-1], int):
        return shape[-1]
    return None
