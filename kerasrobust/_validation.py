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


# ---------------------------------------------------------------------------
# Class counts, and checks that also run inside exported graphs
# ---------------------------------------------------------------------------

def _short(values, limit=12):
    """A short printout of an array (the first `limit` entries)."""
    import numpy as np

    flat = np.asarray(values).ravel()
    text = np.array2string(flat[:limit], separator=", ")
    return text[:-1] + ", ...]" if flat.size > limit else text


def check_counts(name, value, ndim=None):
    """``value`` as an int64 NumPy array of non-negative whole numbers.

    Accepts integers, integer arrays and float arrays of whole numbers
    (counts summed from one-hot votes); refuses booleans, strings, NaN/inf,
    fractions, negative entries and (with ``ndim``) another rank.
    """
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a non-negative integer count (or "
                        f"an array of them), got {value!r} (type bool).")
    try:
        arr = np.asarray(value)
    except Exception as e:  # pragma: no cover - exotic inputs
        raise TypeError(f"`{name}` must be a non-negative integer count (or "
                        f"an array of them), got {value!r}.") from e
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"`{name}` must hold non-negative integer counts, got "
                        f"{value!r} (dtype {arr.dtype}).")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"`{name}` must be a {ndim}-D array of counts, got "
                         f"shape {arr.shape}.")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if np.any(bad):
            raise ValueError(f"`{name}` must hold whole-number counts, got "
                             f"{arr[bad].ravel()[0].item()!r} in "
                             f"{_short(arr)}.")
    if np.any(arr < 0):
        raise ValueError(f"`{name}` must hold counts in [0, inf), got "
                         f"{arr[arr < 0].ravel()[0].item()!r} in "
                         f"{_short(arr)}.")
    return arr.astype(np.int64)


def require(condition, message, value=None):
    """One check for the Python API and for exported graphs.

    Eagerly (a Python call) a false ``condition`` raises ``ValueError(
    "<message>, got <value>.")``. While a `tf.function` is traced (a
    SavedModel signature) it returns a `tf.debugging.Assert` op that fails
    the call with ``tf.errors.InvalidArgumentError`` carrying the same
    message and the value; the caller makes its outputs depend on the
    returned ops (`tf.control_dependencies`). Returns ``None`` eagerly.

    Args:
        condition: a boolean tensor (all entries must hold) or Python bool.
        message: names the input and what is allowed, e.g. ``"`alpha` must
            be in (0, 1)"``.
        value: the offending input, shown after ``got``.
    """
    import tensorflow as tf

    condition = tf.reduce_all(condition)
    if tf.executing_eagerly():
        if not bool(condition):
            shown = "" if value is None else f", got {_show(value)}"
            raise ValueError(f"{message}{shown}.")
        return None
    data = [f"{message}, got"] if value is not None else [message]
    if value is not None:
        data.append(value)
    return tf.debugging.Assert(condition, data, summarize=12)


def _show(value):
    """A tensor, array or scalar as it reads in an error message."""
    import numpy as np

    value = value.numpy() if hasattr(value, "numpy") else value
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if np.ndim(value):
        return _short(value)
    return repr(value.item() if isinstance(value, np.generic) else value)


#: How far pixels may lie outside [0, 1] and still be accepted: float
#: rounding, far below one 0..255 step, so 0..255 images fail.
RANGE_TOLERANCE = 1e-3


def require_images(x, name="x"):
    """`require` checks of a batch of images in [0, 1]: every value finite,
    none outside [0, 1] by more than `RANGE_TOLERANCE`. For graphs (the
    exported serving signatures: ``InvalidArgumentError``) and eager
    tensors (``ValueError``); returns the graph assertions."""
    import tensorflow as tf

    x = tf.cast(x, tf.float32)
    finite = tf.math.is_finite(x)
    checks = [require(finite, f"Images `{name}` must be finite (no NaN or "
                      "inf); number of non-finite values",
                      tf.reduce_sum(tf.cast(~finite, tf.int64)))]
    values = tf.where(finite, x, tf.zeros_like(x))
    low, high = tf.reduce_min(values), tf.reduce_max(values)
    checks.append(require(
        tf.logical_or(tf.size(x) == 0,
                      (low >= -RANGE_TOLERANCE) & (high <= 1 + RANGE_TOLERANCE)),
        f"Images `{name}` must have pixels in [0, 1] (divide 0..255 images by "
        "255); (min, max)", tf.stack([low, high])))
    return [c for c in checks if c is not None]
