"""The one place where kerasrobust checks its inputs.

Every boundary (the Python API, the layer call, `fit`, attacks,
certification, the data loaders and the command line) checks numbers,
choices, images, labels and counts with these functions. Every check
raises ``ValueError`` (or ``TypeError``) whose message names the parameter,
the value that was given and what is allowed, so that bad input fails
before any work starts.

The module imports NumPy only (TensorFlow tensors are recognized when
TensorFlow is already loaded), so the command line can use it before it
loads TensorFlow.
"""

import math
import numbers
import sys

import numpy as np


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


# ------------------------------------------------------ images, labels, counts
#: How far pixels may lie outside their range and still be accepted: float
#: rounding (1 - 1e-7 after a division by 255, a bfloat16 pixel off by
#: 4e-3 is not accepted). Far below one 0-255 step, so 0..255 images fail.
RANGE_TOLERANCE = 1e-3

#: Tolerance for one-hot (or soft) label rows summing to 1.
ONE_HOT_TOLERANCE = 1e-3


def _tensorflow_tensor(value):
    """Whether `value` is a TensorFlow tensor (without importing TF)."""
    tf = sys.modules.get("tensorflow")
    return tf is not None and tf.is_tensor(value)


def _concrete(value):
    """`value` as NumPy when its values are known (NumPy, eager tensor), or
    `None` for a symbolic tensor inside a traced function."""
    if not _tensorflow_tensor(value):
        return np.asarray(value)
    try:
        return value.numpy()
    except (AttributeError, NotImplementedError, TypeError):
        return None


def check_images(x, name="x", *, value_range=(0.0, 1.0), image_shape=None,
                 range_param="value_range", hint=None):
    """Checks a batch of images; returns them as float32.

    The checks, in this order, each raising ``ValueError`` that names
    `name`, the value and what is allowed:

    - dtype: floating point. Integer images (uint8 0..255 included) are
      refused with a message saying to divide by 255: converting them here
      would hide whether a float model expects 0..255 or 0..1 pixels.
    - shape: a batch `(N, ...)` of rank >= 2; with `image_shape` (the model's
      per-image shape, `None` entries match any size) it must match.
    - finite: no NaN or inf.
    - range: inside `value_range` up to `RANGE_TOLERANCE` (times the range's
      width when that is > 1), so 0..255 pixels are refused.
      `value_range=None` skips this check: the documented way to opt out.

    Value checks (finite, range) need concrete values: they run on NumPy
    arrays and eager tensors; inside a traced `tf.function` only the dtype
    and the static shape are checked.

    Args:
        x: images, NumPy array (or array-like) or TensorFlow tensor.
        name: the parameter name used in messages.
        value_range: `(low, high)` allowed pixel range, or `None`.
        image_shape: expected per-image shape, or `None` to skip.
        range_param: the name of the caller's parameter that sets the range
            (e.g. "clip"), named in the range error.
        hint: text appended to the range error (how to fix it).

    Returns:
        `x` as float32: a NumPy array for array input, a tensor for a tensor.
    """
    tensor = _tensorflow_tensor(x)
    dtype = np.dtype(x.dtype.as_numpy_dtype) if tensor else np.asarray(x).dtype
    if not np.issubdtype(dtype, np.floating):
        extra = ("; divide uint8 images by 255 (pixels must be floats in "
                 f"{_range_text(value_range)})"
                 if np.issubdtype(dtype, np.integer) else "")
        raise ValueError(
            f"Images `{name}` must be floating point, got dtype "
            f"{dtype.name}{extra}."
        )
    shape = tuple(x.shape) if tensor else np.shape(x)
    if tensor and x.shape.rank is None:
        shape = None
    if shape is not None and len(shape) < 2:
        raise ValueError(
            f"Images `{name}` must be a batch (N, ...), got shape {shape}."
        )
    if shape is not None and image_shape is not None and not (
            image_shape_matches(tuple(shape[1:]), tuple(image_shape))):
        raise ValueError(
            f"Images `{name}` have shape {tuple(shape[1:])} per image but the "
            f"model takes {tuple(image_shape)}."
        )
    if tensor:
        import tensorflow as tf

        x = tf.cast(x, tf.float32)
    else:
        x = np.asarray(x, np.float32)
    stats = _image_statistics(x, tensor)
    if stats is None:
        return x
    non_finite, low, high = stats
    if non_finite:
        raise ValueError(
            f"Images `{name}` contain {non_finite} non-finite "
            "values (NaN or inf); images must be finite."
        )
    check_pixel_range(name, low, high, value_range, range_param, hint)
    return x


def check_pixel_range(name, low, high, value_range,
                      range_param="value_range", hint=None):
    """The range check of `check_images`, on the images' finite `low` and
    `high`: both inside `value_range` up to `RANGE_TOLERANCE` (times the
    range's width when that is > 1); `value_range=None` accepts any."""
    if value_range is None:
        return
    slack = RANGE_TOLERANCE * max(1.0, value_range[1] - value_range[0])
    if low < value_range[0] - slack or high > value_range[1] + slack:
        raise ValueError(
            f"Images `{name}` range from {low:g} to {high:g}, outside "
            f"`{range_param}`={_range_text(value_range)}"
            + (f": {hint}" if hint else
               " (divide 0..255 images by 255)") + "."
        )


def _image_statistics(x, tensor):
    """`(non-finite count, min, max)` of concrete images, or `None` when
    they are symbolic or empty. A tensor is reduced where it lives (no copy
    of the batch to the host)."""
    if tensor:
        import tensorflow as tf

        if not tf.executing_eagerly() or not hasattr(x, "numpy"):
            return None
        if int(tf.size(x)) == 0:
            return None
        finite = tf.math.is_finite(x)
        kept = tf.where(finite, x, tf.zeros_like(x))
        return (int(tf.reduce_sum(tf.cast(~finite, tf.int64))),
                float(tf.reduce_min(kept)), float(tf.reduce_max(kept)))
    if x.size == 0:
        return None
    finite = np.isfinite(x)
    return int(x.size - np.count_nonzero(finite)), float(x.min()), float(
        x.max())


def check_value_range(name, value):
    """`value` is `None` (no range) or a pair `(low, high)` of finite numbers
    with low < high; returns it as a tuple of floats (or `None`)."""
    if value is None:
        return None
    try:
        low, high = value
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be None or a pair (low, high), got {value!r}."
        ) from None
    low = check_number(f"{name}[0]", low)
    high = check_number(f"{name}[1]", high)
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ValueError(
            f"`{name}` must be a pair of finite numbers with low < high, got "
            f"{value!r}."
        )
    return (float(low), float(high))


def _range_text(value_range):
    if value_range is None:
        return "(any range)"
    return f"[{value_range[0]:g}, {value_range[1]:g}]"


def check_labels(y, num_classes=None, name="y", *, n=None, one_hot=True):
    """Checks class labels; returns them normalized.

    Accepted forms: class ids `(N,)` or `(N, 1)` (integers, or floats with
    integral values), and, when `one_hot` and `num_classes` > 1, one-hot or
    soft label rows `(N, num_classes)` (non-negative, summing to 1 within
    `ONE_HOT_TOLERANCE`).

    Args:
        y: labels, NumPy array (or array-like) or TensorFlow tensor.
        num_classes: the model's number of classes; ids must be in
            `[0, num_classes)`. `None` only requires ids >= 0 (use
            `infer_num_classes` to derive it from data).
        name: the parameter name used in messages.
        n: the number of images the labels go with, or `None`.
        one_hot: whether `(N, num_classes)` label rows are accepted.

    Returns:
        int64 class ids `(N,)`, or float32 label rows `(N, num_classes)`;
        a NumPy array for array input, a tensor for a tensor. As with
        `check_images`, value checks run only on concrete values.
    """
    tensor = _tensorflow_tensor(y)
    if not tensor:
        y = np.asarray(y)
    shape = tuple(y.shape) if not tensor or y.shape.rank is not None else None
    forms = (f"class ids (N,) or one-hot vectors (N, {num_classes})"
             if one_hot and num_classes else "class ids (N,)")
    if shape is None or len(shape) == 0:
        raise ValueError(f"Labels `{name}` must be {forms}, got shape "
                         f"{shape}.")
    if n is not None and shape[0] is not None and shape[0] != n:
        raise ValueError(
            f"`x` has {n} images but `{name}` has {shape[0]} labels."
        )
    dtype = np.dtype(y.dtype.as_numpy_dtype) if tensor else y.dtype
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(
            dtype, np.floating) or dtype == np.bool_):
        raise ValueError(f"Labels `{name}` must be numbers, got dtype "
                         f"{dtype.name}.")
    if tensor:
        import tensorflow as tf
    rows = (one_hot and num_classes is not None and num_classes > 1
            and len(shape) == 2 and shape[-1] == num_classes)
    if rows:
        y = tf.cast(y, tf.float32) if tensor else y.astype(np.float32)
        values = _concrete(y)
        if values is not None and values.size:
            if not np.isfinite(values).all() or values.min() < 0 or np.abs(
                    values.sum(1) - 1.0).max() > ONE_HOT_TOLERANCE:
                raise ValueError(
                    f"One-hot labels `{name}` must be non-negative rows "
                    "summing to 1."
                )
        return y
    if len(shape) == 2 and shape[-1] == 1:
        y = tf.squeeze(y, -1) if tensor else y[:, 0]
        shape = shape[:1]
    if len(shape) != 1:
        raise ValueError(
            f"Labels `{name}` must be {forms}, got shape {shape}."
        )
    values = _concrete(y)
    if values is not None and values.size:
        if not np.isfinite(values.astype(np.float64)).all() or not (
                values == np.round(values)).all():
            raise ValueError(f"Class ids `{name}` must be integers.")
        low, high = int(values.min()), int(values.max())
        allowed = (f"[0, {num_classes})" if num_classes is not None
                   else "[0, inf)")
        if low < 0 or (num_classes is not None and high >= num_classes):
            model = (f" (the model has {num_classes} outputs)"
                     if num_classes is not None else "")
            raise ValueError(
                f"Labels `{name}` must be class ids in {allowed}{model}; got "
                f"values from {low} to {high}."
            )
    return tf.cast(y, tf.int64) if tensor else y.astype(np.int64)


def infer_num_classes(y, name="y"):
    """The number of classes `K` of integer labels that use ids 0..K-1.

    Labels whose ids do not start at 0 or skip a class (e.g. 5..14) raise a
    `ValueError`: a model with `max + 1` outputs would silently get classes
    that never occur. Pass the number of classes explicitly in that case.
    """
    ids = check_labels(y, None, name, one_hot=False)
    if ids.size == 0:
        raise ValueError(f"Labels `{name}` are empty.")
    present = np.unique(ids)
    k = int(present[-1]) + 1
    if len(present) != k:
        missing = sorted(set(range(k)) - set(present.tolist()))
        shown = ", ".join(map(str, missing[:5])) + (
            ", ..." if len(missing) > 5 else "")
        raise ValueError(
            f"Labels `{name}` must be class ids 0..K-1: they go from "
            f"{int(present[0])} to {k - 1} but class(es) {shown} never occur "
            f"({len(present)} distinct values). Relabel them to "
            f"0..{len(present) - 1}, or give the number of classes "
            "(num_classes) if those classes really are absent."
        )
    return k


def check_count(name, value, low=1, high=None, high_name=None):
    """Checks an integer count (samples, images, steps) >= `low`.

    With `high` it must also be <= `high`; `high_name` names that bound in
    the message (e.g. `check_count("n0", n0, high=n, high_name="n")`).
    Returns the count as `int`.
    """
    value = check_number(name, value, low=low, integer=True)
    if high is not None and value > high:
        bound = f"`{high_name}` = {high}" if high_name else f"{high}"
        raise ValueError(f"`{name}` must be <= {bound}, got {value}.")
    return value


# ---------------------------------------------------------------------------
# Class counts, and checks that also run inside exported graphs
# ---------------------------------------------------------------------------

def short_repr(values, limit=12):
    """A short printout of an array (the first `limit` entries)."""

    flat = np.asarray(values).ravel()
    text = np.array2string(flat[:limit], separator=", ")
    return text[:-1] + ", ...]" if flat.size > limit else text


def check_counts(name, value, ndim=None):
    """``value`` as an int64 NumPy array of non-negative whole numbers.

    Accepts integers, integer arrays and float arrays of whole numbers
    (counts summed from one-hot votes); refuses booleans, strings, NaN/inf,
    fractions, negative entries and (with ``ndim``) another rank.
    """
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
                             f"{short_repr(arr)}.")
    if np.any(arr < 0):
        raise ValueError(f"`{name}` must hold counts in [0, inf), got "
                         f"{arr[arr < 0].ravel()[0].item()!r} in "
                         f"{short_repr(arr)}.")
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

    value = value.numpy() if hasattr(value, "numpy") else value
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if np.ndim(value):
        return short_repr(value)
    return repr(value.item() if isinstance(value, np.generic) else value)


def require_images(x, name="x", image_shape=None):
    """`require` checks of a batch of images in [0, 1]: with `image_shape`
    (the model's per-image shape, `None` entries match any size) the batch
    has that shape; every value finite, none outside [0, 1] by more than
    `RANGE_TOLERANCE`. For graphs (the exported serving signatures:
    ``InvalidArgumentError``; a served signature does not enforce its
    input shape) and eager tensors (``ValueError``); returns the graph
    assertions."""
    import tensorflow as tf

    shape_checks = []
    if image_shape is not None:
        shape_checks = [c for c in [require_image_shape(x, image_shape, name)]
                        if c is not None]
    with tf.control_dependencies(shape_checks):
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
    return shape_checks + [c for c in checks if c is not None]


def require_image_shape(x, image_shape, name="x"):
    """`require` check that `x` is a batch `(N, *image_shape)` (`None`
    entries of `image_shape` match any size); the message shows the
    shape the model takes and, after "got", the shape given."""
    import tensorflow as tf

    want = tf.constant([-1] + [-1 if d is None else int(d)
                               for d in image_shape], tf.int32)
    shape = tf.shape(x, out_type=tf.int32)
    same_rank = tf.equal(tf.size(shape), tf.size(want))
    fits = tf.cond(
        same_rank,
        lambda: tf.reduce_all((shape == want) | (want < 0)),
        lambda: tf.constant(False))
    shown = ", ".join("None" if d is None else str(d) for d in image_shape)
    return require(fits, f"Images `{name}` must have shape (N, {shown}), "
                   "the shape the model takes; shape", shape)
