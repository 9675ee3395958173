"""Private building blocks shared by the model builders.

`build` is the one implementation of the contract every builder follows,
written out in the `kerasrobust.models` package docstring: the checks of
the common arguments, the `"images"` input and its `"normalization"`
layer, and the head (`"dropout"`, `"logits"`) on the body's pooled
features. The layers the bodies are made of (`conv`, `batch_norm`, `relu`,
`global_pool`) carry the initializer and batch normalization settings
stated there.
"""

import math
import numbers

import keras
import numpy as np

from kerasrobust._validation import check_number

CONV_INITIALIZER = "he_normal"
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5

INPUT_NAME = "images"
NORMALIZATION_NAME = "normalization"
FEATURES_NAME = "avg_pool"
DROPOUT_NAME = "dropout"
LOGITS_NAME = "logits"


def check_bool(name, value):
    """Checks that `value` is a Python or numpy bool and returns it."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"`{name}` must be True or False, got {value!r} "
            f"(type {type(value).__name__})."
        )
    return bool(value)


def check_input_shape(input_shape, min_size=1):
    """Checks an `(height, width, channels)` image shape.

    Args:
        input_shape: the shape to check. `height` and `width` may be `None`
            (any size); `channels` must be known.
        min_size: smallest `height`/`width` the architecture can reduce
            without running out of pixels.

    Returns:
        `input_shape` as a tuple of three entries.
    """
    allowed = (
        "a length-3 tuple (height, width, channels) of positive integers, "
        "height and width may be None"
    )
    if isinstance(input_shape, (str, bytes)) or not isinstance(
        input_shape, (tuple, list)
    ):
        raise TypeError(
            f"`input_shape` must be {allowed}, got {input_shape!r}."
        )
    if len(input_shape) != 3:
        raise ValueError(
            f"`input_shape` must be {allowed}, got {input_shape!r} "
            f"({len(input_shape)} entries)."
        )
    shape = []
    for index, size in enumerate(input_shape):
        if size is None and index < 2:
            shape.append(None)
            continue
        is_int = isinstance(size, numbers.Integral) and not isinstance(
            size, (bool, np.bool_)
        )
        if not is_int or size < 1:
            raise ValueError(
                f"`input_shape` must be {allowed}, got {input_shape!r} "
                f"(entry {index} is {size!r})."
            )
        shape.append(int(size))
    for size in shape[:2]:
        if size is not None and size < min_size:
            raise ValueError(
                f"`input_shape` must have height and width >= {min_size} "
                f"for this architecture, got {input_shape!r}."
            )
    return tuple(shape)


def per_channel(name, value, channels, default, positive=False):
    """Expands a `mean`/`std` argument to one float per channel.

    Args:
        name: parameter name used in error messages.
        value: `None` (use `default`), a scalar (same for every channel) or a
            sequence with one entry per channel.
        channels: number of input channels.
        default: the value used for every channel when `value` is `None`.
        positive: require every entry to be > 0.

    Returns:
        A list of `channels` Python floats.
    """
    if value is None:
        return [float(default)] * channels
    if np.ndim(value) == 0:
        if not isinstance(value, numbers.Real):
            value = np.asarray(value).item()
        entries = [value] * channels
        names = [name] * channels
    else:
        entries = np.asarray(value).ravel().tolist()
        if np.ndim(value) != 1 or len(entries) != channels:
            raise ValueError(
                f"`{name}` must be a scalar or a flat sequence with one entry "
                f"per input channel ({channels}), got {value!r} with shape "
                f"{np.shape(value)}."
            )
        names = [f"{name}[{i}]" for i in range(channels)]
    result = []
    for entry_name, entry in zip(names, entries):
        number = check_number(
            entry_name, entry, low=0 if positive else None, low_open=positive
        )
        if not math.isfinite(number):
            raise ValueError(
                f"`{entry_name}` must be a finite number, got {entry!r}."
            )
        result.append(number)
    return result


def check_head_args(num_classes, dropout):
    """Checks `num_classes` (integer >= 2) and `dropout` (in [0, 1))."""
    num_classes = check_number("num_classes", num_classes, low=2, integer=True)
    dropout = check_number("dropout", dropout, low=0, high=1, high_open=True)
    return num_classes, dropout


def normalized_input(input_shape, mean, std):
    """Creates the model input and its per-channel standardization.

    Args:
        input_shape: a checked `(height, width, channels)` tuple.
        mean: `None`, a scalar or one value per channel.
        std: `None`, a scalar or one positive value per channel.

    Returns:
        `(inputs, x)`: the `keras.Input` and the standardized tensor
        `(inputs - mean) / std`.
    """
    channels = input_shape[-1]
    mean = per_channel("mean", mean, channels, default=0.0)
    std = per_channel("std", std, channels, default=1.0, positive=True)
    inputs = keras.Input(shape=input_shape, dtype="float32", name=INPUT_NAME)
    x = keras.layers.Normalization(
        axis=-1,
        mean=mean,
        variance=[s * s for s in std],
        name=NORMALIZATION_NAME,
    )(inputs)
    return inputs, x


def classifier(inputs, features, num_classes, dropout, name, **extra):
    """Adds the dropout + dense head and returns the functional model.

    Args:
        inputs: the model's `keras.Input`.
        features: the penultimate features, shape `(batch, d)`.
        num_classes: number of logits.
        dropout: dropout rate on `features`; no dropout layer when 0.
        name: model name.
        **extra: forwarded to `keras.Model`.

    Returns:
        A `keras.Model` from images to float32 logits.
    """
    x = features
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name=DROPOUT_NAME)(x)
    logits = keras.layers.Dense(
        num_classes, dtype="float32", name=LOGITS_NAME
    )(x)
    return keras.Model(inputs, logits, name=name, **extra)


def conv(x, filters, kernel_size=3, strides=1, use_bias=False, name=None):
    """A 'same'-padded `Conv2D` with the `he_normal` initializer."""
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=CONV_INITIALIZER,
        name=name,
    )(x)


def batch_norm(x, name):
    """A `BatchNormalization` over channels with the reference settings."""
    return keras.layers.BatchNormalization(
        axis=-1, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name
    )(x)


def relu(x, name):
    """A ReLU activation layer."""
    return keras.layers.ReLU(name=name)(x)


def global_pool(x):
    """Global average pooling to the penultimate features (`"avg_pool"`)."""
    return keras.layers.GlobalAveragePooling2D(name=FEATURES_NAME)(x)


def build(name, features, input_shape, num_classes, mean, std, dropout,
          min_size=1, **extra):
    """Checks the common arguments and assembles a builder's model.

    Args:
        name: model name.
        features: the architecture's body, a function from the normalized
            images, shape `(batch, *input_shape)`, to the pooled penultimate
            features `(batch, d)` (the `"avg_pool"` layer's output).
        input_shape, num_classes, mean, std, dropout, **extra: the common
            arguments of the builders (`kerasrobust.models`), unchecked.
        min_size: smallest height/width the body can reduce.

    Returns:
        The functional `keras.Model` from images to float32 logits.
    """
    input_shape = check_input_shape(input_shape, min_size=min_size)
    num_classes, dropout = check_head_args(num_classes, dropout)
    inputs, x = normalized_input(input_shape, mean, std)
    return classifier(inputs, features(x), num_classes, dropout, name=name,
                      **extra)
