"""The model under attack and its inputs: checks and compiled functions.

`prepare` validates what an attack is given (images, labels, a model that
returns logits) with the package's one set of checks
(`kerasrobust._validation`); `compiled` caches one `tf.function` per model
and configuration; `run_in_chunks` runs one over a batch or chunks of it.
`kerasrobust.evaluate` and the robust-accuracy callback use the same
functions, so every entry point accepts the same inputs.

A model is attacked as given. A kerasrobust training wrapper's call is its
base model's call, so attacking the wrapper and its `base_model` gives the
same images; shapes and the number of classes are read from the
`base_model` when the wrapper itself does not know them.
"""

import weakref

import keras
import tensorflow as tf

from kerasrobust._validation import check_images
from kerasrobust._validation import check_labels
from kerasrobust._validation import check_number
from kerasrobust._validation import model_image_shape
from kerasrobust._validation import model_num_classes

#: Softmax detection tolerance: rows summing to 1 within this are
#: treated as probabilities.
PROBABILITY_TOLERANCE = 1e-3
_PROBE_SIZE = 64

# model -> {"logits_checked": bool, "functions": {key: tf.function}}.
# The compiled functions reach the model only through a weak reference, so
# the cache never keeps a model alive.
_CACHE = weakref.WeakKeyDictionary()

_RANGE_HINT = (
    "attacks work in pixel space (images in [0, 1], normalization inside "
    "the model); divide 0..255 images by 255, or pass clip=None to attack "
    "without a box"
)


def check_model(model):
    """Returns `model` if it can be attacked (a callable Keras model)."""
    if not callable(model):
        raise TypeError(
            "`model` must be a keras.Model returning logits (a base model or "
            f"a kerasrobust training wrapper), got {type(model).__name__}."
        )
    return model


def _described(model):
    """The model whose input and output shapes describe `model`: itself, or
    the `base_model` of a wrapper that does not know its own shapes."""
    base = getattr(model, "base_model", None)
    if isinstance(base, keras.Model) and model_image_shape(model) is None:
        return base
    return model


def image_shape(model):
    """The per-image input shape of the model under attack, or `None`."""
    return model_image_shape(_described(model))


def _entry(model):
    try:
        return _CACHE[model]
    except KeyError:
        entry = {"logits_checked": False, "functions": {}}
        _CACHE[model] = entry
        return entry


def check_logits(model, x):
    """Raises if the model's outputs look like probabilities (checked once
    per model, eagerly, on the first images)."""
    entry = _entry(model)
    if entry["logits_checked"]:
        return
    outputs = tf.convert_to_tensor(model(x[:_PROBE_SIZE], training=False))
    if outputs.shape.rank != 2:
        raise ValueError(
            "The model must return logits of shape (batch, num_classes); "
            f"got outputs of shape {tuple(outputs.shape)}."
        )
    outputs = tf.cast(outputs, tf.float32)
    k = outputs.shape[-1]
    in_unit = bool(tf.reduce_all((outputs >= 0.0) & (outputs <= 1.0)))
    sums_to_one = float(tf.reduce_max(tf.abs(
        tf.reduce_sum(outputs, axis=1) - 1.0))) <= PROBABILITY_TOLERANCE
    if k > 1 and in_unit and sums_to_one:
        raise ValueError(
            "The model appears to output probabilities (every output row is "
            "in [0, 1] and sums to 1), but attacks need logits: remove the "
            "final softmax (e.g. rebuild the model without "
            "activation='softmax'), or pass `model.base_model` of a "
            "kerasrobust training wrapper."
        )
    entry["logits_checked"] = True


def prepare(model, x, y, clip):
    """Validates an attack's inputs; returns `(model, x, y_onehot, k)`.

    `x` becomes a float32 tensor (checked against the model's image shape,
    finite, inside the box `clip` unless it is `None`) and `y` float32
    one-hot (or soft) targets for the model's `k` classes. The softmax check
    runs eagerly on the first images of the first call for each model.
    """
    model = check_model(model)
    described = _described(model)
    x = check_images(tf.convert_to_tensor(x), "x", value_range=clip,
                     image_shape=model_image_shape(described),
                     range_param="clip", hint=_RANGE_HINT)
    if tf.executing_eagerly() and int(tf.shape(x)[0]) > 0:
        check_logits(model, x)
    num_classes = model_num_classes(described)
    if num_classes is None:
        num_classes = int(model(x[:1], training=False).shape[-1])
    y = check_labels(tf.convert_to_tensor(y), num_classes, "y",
                     n=x.shape[0])
    if y.shape.rank == 1:
        y = tf.one_hot(y, num_classes, dtype=tf.float32)
    return model, x, y, num_classes


def compiled(model, key, build):
    """The `tf.function` cached on `model` under `key`, built on first use.

    `build(model_ref)` receives a weak reference to the model and returns
    the function; the cache never keeps the model alive.
    """
    functions = _entry(model)["functions"]
    if key not in functions:
        functions[key] = build(weakref.ref(model))
    return functions[key]


def logits_function(model, image_shape):
    """A cached compiled `x -> logits` (inference mode) for `model`."""
    def build(model_ref):
        @tf.function(input_signature=[tf.TensorSpec(
            (None,) + tuple(image_shape), tf.float32)])
        def logits(x):
            return tf.cast(model_ref()(x, training=False), tf.float32)
        return logits

    return compiled(model, ("logits", tuple(image_shape)), build)


def check_batch_size(batch_size):
    """`None` (one call) or an integer >= 1."""
    if batch_size is None:
        return None
    return check_number("batch_size", batch_size, low=1, integer=True)


def run_in_chunks(function, x, y, batch_size, *args):
    """`function(x_chunk, y_chunk, *args, chunk_index)` over `x`, joined.

    `batch_size=None` runs one call on the whole batch; otherwise chunks of
    `batch_size` images, chunk `i` getting the index `i` (an int64 scalar)
    as its last argument. Returns a float32 tensor shaped like `x`.
    """
    n = int(tf.shape(x)[0])
    if batch_size is None or n == 0:
        bounds = [(0, n)]
    else:
        bounds = [(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    outputs = [function(x[i:j], y[i:j], *args, tf.constant(index, tf.int64))
               for index, (i, j) in enumerate(bounds)]
    return outputs[0] if len(outputs) == 1 else tf.concat(outputs, 0)
