"""What FGSM and PGD share: checks, loss gradient, step, projection, cache.

Both attacks are the same loop (Madry et al., 2018, "Towards Deep Learning
Models Resistant to Adversarial Attacks", eq. (2)):

    x^0     = x                                  (or a random start)
    x^{t+1} = Proj_box( Proj_ball(x, eps)( x^t + a * step(grad_x L) ) )

with `L` the cross-entropy of the model's logits against the true labels and

- L-inf: `step(g) = sign(g)`; ball projection clips `x^t - x` to
  `[-eps, eps]` per pixel;
- L2: `step(g) = g / ||g||_2` per example (a zero gradient gives a zero
  step); ball projection rescales `x^t - x` to norm `eps` when it is longer.

The box projection clips to the valid pixel range `clip` (`[0, 1]` by
default). Projecting onto the ball and then the box keeps both constraints:
clipping to the box only moves a pixel towards the clean pixel, which lies
in the box. FGSM (Goodfellow et al., 2015, "Explaining and Harnessing
Adversarial Examples") is this loop with one step of size `eps` from `x`,
and runs through the very same compiled function as PGD.

One `tf.function` is compiled per (model, image shape, number of classes,
norm, random start, box, bounded ball) and cached on the model, with
`epsilon`, the step size, the number of steps and the seed as tensor
arguments: changing them, or the batch size, does not retrace (cleverhans
4 retraces its module-level `tf.function` for every new model and radius).
"""

import math
import numbers
import weakref

import numpy as np
import tensorflow as tf

from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number
from kerasrobust._validation import image_shape_matches
from kerasrobust._validation import model_image_shape
from kerasrobust._validation import model_num_classes

#: Accepted spellings of the two norms, mapped to their canonical name.
_NORM_ALIASES = {
    "inf": "inf", "linf": "inf", "l_inf": "inf",
    "2": "2", "l2": "2", "l_2": "2",
}
NORMS = ("inf", "2")

#: Softmax detection tolerance: rows summing to 1 within this are
#: treated as probabilities.
PROBABILITY_TOLERANCE = 1e-3
_PROBE_SIZE = 64
_TINY = 1e-12

# model -> {"logits_checked": bool, "functions": {key: tf.function}}.
# The compiled functions reach the model only through a weak reference, so
# the cache never keeps a model alive.
_CACHE = weakref.WeakKeyDictionary()


# ----------------------------------------------------------------- checks
def canonical_norm(norm):
    """Returns `"inf"` or `"2"` for the accepted spellings of a norm.

    Accepts `"inf"`, `"linf"`, `np.inf`, `"2"`, `"l2"` and `2`; anything else
    raises a `ValueError` that lists the allowed values.
    """
    if isinstance(norm, numbers.Real) and not isinstance(norm, bool):
        if norm == 2:
            return "2"
        if math.isinf(norm) and norm > 0:
            return "inf"
    key = norm.lower() if isinstance(norm, str) else norm
    if key not in _NORM_ALIASES:
        check_choice("norm", norm, NORMS)
    return _NORM_ALIASES[key]


def check_epsilon(epsilon, allow_inf=True):
    """`epsilon` in [0, inf] (finite when `allow_inf` is False)."""
    epsilon = check_number("epsilon", epsilon, low=0)
    if math.isinf(epsilon) and not allow_inf:
        raise ValueError(
            "`epsilon` must be finite for FGSM (one step of size epsilon), "
            "got inf. For the unbounded attack of the sanity check use "
            "pgd(..., epsilon=float('inf'), step_size=0.01, steps=200)."
        )
    return epsilon


def check_step_size(step_size):
    """`step_size` finite and > 0."""
    step_size = check_number("step_size", step_size, low=0, low_open=True)
    if math.isinf(step_size):
        raise ValueError("`step_size` must be finite, got inf.")
    return step_size


def check_steps(steps):
    """`steps` an integer >= 1."""
    return check_number("steps", steps, low=1, integer=True)


def check_clip(clip):
    """`clip` is `None` (no box) or `(low, high)` with finite low < high."""
    if clip is None:
        return None
    try:
        low, high = clip
    except (TypeError, ValueError):
        raise ValueError(
            f"`clip` must be None or a pair (low, high), got {clip!r}."
        ) from None
    low = check_number("clip[0]", low)
    high = check_number("clip[1]", high)
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ValueError(
            f"`clip` must be a pair of finite numbers with low < high, got "
            f"{clip!r}."
        )
    return (low, high)


def resolve_model(model):
    """The classifier to attack: a training wrapper's `base_model`, or the
    model itself. Both return the same logits for the same images."""
    from kerasrobust.training import RobustTrainer

    if isinstance(model, RobustTrainer):
        return model.base_model
    if not callable(model):
        raise TypeError(
            "`model` must be a keras.Model returning logits (a base model or "
            f"a kerasrobust training wrapper), got {type(model).__name__}."
        )
    return model


def _check_images(model, x, clip):
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_floating:
        raise ValueError(
            f"Images `x` must be floats in the pixel range {clip or '(any)'}"
            f", got dtype {x.dtype.name}; divide uint8 images by 255."
        )
    x = tf.cast(x, tf.float32)
    want = model_image_shape(model)
    got = tuple(x.shape)[1:]
    if x.shape.rank is None or x.shape.rank < 2:
        raise ValueError(
            f"Images `x` must be a batch (N, ...), got shape {tuple(x.shape)}."
        )
    if want is not None and not image_shape_matches(got, want):
        raise ValueError(
            f"Images `x` have shape {got} per image but the model takes "
            f"{want}."
        )
    if tf.executing_eagerly() and int(tf.size(x)) > 0:
        if not bool(tf.reduce_all(tf.math.is_finite(x))):
            raise ValueError("Images `x` contain NaN or inf.")
        if clip is not None:
            low, high = float(tf.reduce_min(x)), float(tf.reduce_max(x))
            slack = 1e-6 * max(1.0, clip[1] - clip[0])
            if low < clip[0] - slack or high > clip[1] + slack:
                raise ValueError(
                    f"Images `x` range from {low:g} to {high:g}, outside "
                    f"`clip`={clip}: attacks work in pixel space (images in "
                    "[0, 1], normalization inside the model); pass "
                    "clip=None to attack without a box."
                )
    return x


def _check_labels(y, n, num_classes):
    y = tf.convert_to_tensor(y)
    if y.shape.rank is None or y.shape.rank == 0:
        raise ValueError(
            f"Labels `y` must be class ids (N,) or one-hot vectors "
            f"(N, {num_classes}), got shape {tuple(y.shape)}."
        )
    if y.shape[0] is not None and n is not None and y.shape[0] != n:
        raise ValueError(
            f"`x` has {n} images but `y` has {y.shape[0]} labels."
        )
    eager = tf.executing_eagerly()
    if y.shape.rank == 2 and y.shape[-1] == num_classes and num_classes > 1:
        y = tf.cast(y, tf.float32)
        if eager and int(tf.size(y)) > 0:
            rows = tf.reduce_sum(y, axis=1)
            if (float(tf.reduce_min(y)) < 0 or float(tf.reduce_max(
                    tf.abs(rows - 1.0))) > PROBABILITY_TOLERANCE):
                raise ValueError(
                    "One-hot labels `y` must be non-negative rows summing "
                    "to 1."
                )
        return y
    if y.shape.rank == 2 and y.shape[-1] == 1:
        y = tf.squeeze(y, axis=-1)
    if y.shape.rank != 1:
        raise ValueError(
            f"Labels `y` must be class ids (N,) or one-hot vectors "
            f"(N, {num_classes}), got shape {tuple(y.shape)}."
        )
    if y.dtype.is_floating:
        if eager and not bool(tf.reduce_all(tf.equal(y, tf.round(y)))):
            raise ValueError("Class ids `y` must be integers.")
    elif not y.dtype.is_integer:
        raise ValueError(f"Labels `y` have dtype {y.dtype.name}.")
    ids = tf.cast(y, tf.int64)
    if eager and int(tf.size(ids)) > 0:
        low, high = int(tf.reduce_min(ids)), int(tf.reduce_max(ids))
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"Labels `y` must be class ids in [0, {num_classes}) (the "
                f"model has {num_classes} outputs); got values from {low} "
                f"to {high}."
            )
    return tf.one_hot(ids, num_classes, dtype=tf.float32)


def _check_logits(model, x):
    """Raises if the model's outputs look like probabilities."""
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

    `model` is resolved to the classifier (a wrapper's base model), `x`
    becomes a float32 tensor and `y` float32 one-hot (or soft) targets.
    The softmax check runs eagerly on the first images of the first call
    for each model.
    """
    model = resolve_model(model)
    x = _check_images(model, x, clip)
    if tf.executing_eagerly() and int(tf.shape(x)[0]) > 0:
        _check_logits(model, x)
    num_classes = model_num_classes(model)
    if num_classes is None:
        num_classes = int(model(x[:1], training=False).shape[-1])
    y = _check_labels(y, x.shape[0], num_classes)
    return model, x, y, num_classes


# ------------------------------------------------------------ the algorithm
def _per_example_norm(t):
    axes = list(range(1, t.shape.rank))
    return tf.sqrt(tf.reduce_sum(tf.square(t), axis=axes, keepdims=True))


def loss_gradient(model, x, y):
    """Gradient of the summed cross-entropy of `model(x)` logits w.r.t. `x`.

    The loss is summed over the batch (not averaged), so each example's
    gradient is that of its own loss whatever the batch size; the model runs
    in inference mode (`training=False`).
    """
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = tf.cast(model(x, training=False), tf.float32)
        loss = tf.reduce_sum(
            tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits)
        )
    return tape.gradient(loss, x)


def ascent_step(x, gradient, step_size, norm):
    """One steepest-ascent step of size `step_size` in the given norm.

    L-inf: `x + a * sign(g)`; L2: `x + a * g / ||g||_2` per example, a zero
    gradient giving a zero step.
    """
    if norm == "inf":
        return x + step_size * tf.sign(gradient)
    length = _per_example_norm(gradient)
    return x + step_size * gradient / tf.maximum(length, _TINY)


def project(x_adv, x, epsilon, norm, clip, bounded=True):
    """Projects `x_adv` onto the `epsilon`-ball around `x`, then the box.

    L-inf: `x + clip(x_adv - x, -eps, eps)`; L2: `x + delta * min(1,
    eps / ||delta||_2)` per example. `bounded=False` (epsilon = inf) skips
    the ball; `clip=None` skips the box.
    """
    if bounded:
        delta = x_adv - x
        if norm == "inf":
            delta = tf.clip_by_value(delta, -epsilon, epsilon)
        else:
            length = _per_example_norm(delta)
            delta = delta * tf.minimum(
                1.0, epsilon / tf.maximum(length, _TINY))
        x_adv = x + delta
    if clip is not None:
        x_adv = tf.clip_by_value(x_adv, clip[0], clip[1])
    return x_adv


def random_start(x, epsilon, norm, clip, seed):
    """A uniform random point of the `epsilon`-ball around `x`, in the box.

    L-inf: `x + U(-eps, eps)` per pixel (Madry et al.). L2: `x + r * u`
    with `u` a uniform direction (a normalized Gaussian) and
    `r = eps * U(0, 1)^(1/d)`, `d` the number of pixels, which is uniform
    in the volume of the ball. Then clipped to the box. `seed` is a stateless
    seed, shape `(2,)`.
    """
    if norm == "inf":
        noise = tf.random.stateless_uniform(
            tf.shape(x), seed=seed, minval=-1.0, maxval=1.0) * epsilon
    else:
        direction = tf.random.stateless_normal(tf.shape(x), seed=seed)
        direction = direction / tf.maximum(_per_example_norm(direction),
                                           _TINY)
        dims = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
        u = tf.random.stateless_uniform(
            tf.concat([tf.shape(x)[:1], tf.ones_like(tf.shape(x)[1:])], 0),
            seed=seed + 1)
        noise = direction * epsilon * tf.pow(u, 1.0 / dims)
    return project(x + noise, x, epsilon, norm, clip, bounded=False)


def _entry(model):
    try:
        return _CACHE[model]
    except KeyError:
        entry = {"logits_checked": False, "functions": {}}
        _CACHE[model] = entry
        return entry


def attack_function(model, image_shape, num_classes, norm, start, clip,
                    bounded):
    """The cached compiled attack loop for one model and configuration.

    Returns a `tf.function` `(x, y, epsilon, step_size, steps, seed) ->
    x_adv` with a batch dimension of any size. The loop over steps is a
    `tf.while_loop` inside the graph.
    """
    key = (tuple(image_shape), int(num_classes), norm, bool(start), clip,
           bool(bounded))
    functions = _entry(model)["functions"]
    if key in functions:
        return functions[key]
    model_ref = weakref.ref(model)
    signature = [
        tf.TensorSpec((None,) + tuple(image_shape), tf.float32, name="x"),
        tf.TensorSpec((None, num_classes), tf.float32, name="y"),
        tf.TensorSpec((), tf.float32, name="epsilon"),
        tf.TensorSpec((), tf.float32, name="step_size"),
        tf.TensorSpec((), tf.int32, name="steps"),
        tf.TensorSpec((2,), tf.int64, name="seed"),
    ]

    @tf.function(input_signature=signature)
    def run(x, y, epsilon, step_size, steps, seed):
        classifier = model_ref()
        if start:
            x_adv = random_start(x, epsilon, norm, clip, seed)
        else:
            x_adv = tf.identity(x)
        for _ in tf.range(steps):
            gradient = loss_gradient(classifier, x_adv, y)
            x_adv = ascent_step(x_adv, gradient, step_size, norm)
            x_adv = project(x_adv, x, epsilon, norm, clip, bounded)
        return x_adv

    functions[key] = run
    return run


def logits_function(model, image_shape):
    """A cached compiled `x -> logits` (inference mode) for `model`."""
    key = ("logits", tuple(image_shape))
    functions = _entry(model)["functions"]
    if key not in functions:
        model_ref = weakref.ref(model)

        @tf.function(input_signature=[tf.TensorSpec(
            (None,) + tuple(image_shape), tf.float32)])
        def logits(x):
            return tf.cast(model_ref()(x, training=False), tf.float32)

        functions[key] = logits
    return functions[key]


def _batches(n, batch_size):
    if batch_size is None or n == 0:
        return [(0, n)]
    return [(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def run_attack(model, x, y, epsilon, step_size, steps, norm, start, clip,
               seed=None, batch_size=None):
    """Validated inputs in, adversarial images out (NumPy or tensor).

    Shared entry point of `fgsm` and `pgd`: checks the arguments, compiles
    (once) and runs the attack loop on the whole batch, or on chunks of
    `batch_size` images. Returns a float32 tensor of the shape of `x`.
    """
    if batch_size is not None:
        batch_size = check_number("batch_size", batch_size, low=1,
                                  integer=True)
    bounded = not math.isinf(epsilon)
    if start and not bounded:
        raise ValueError(
            "`random_start=True` needs a finite `epsilon` (a random point "
            "of the epsilon-ball); got epsilon=inf."
        )
    model, x, y, num_classes = prepare(model, x, y, clip)
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1)) if start else 0
    seed = check_number("seed", seed, low=0, integer=True)
    function = attack_function(model, tuple(x.shape[1:]), num_classes,
                               norm, start, clip, bounded)
    args = (tf.constant(epsilon if bounded else 0.0, tf.float32),
            tf.constant(step_size, tf.float32),
            tf.constant(steps, tf.int32))
    n = int(tf.shape(x)[0])
    outputs = [
        function(x[i:j], y[i:j], *args,
                 tf.constant([seed, index], tf.int64))
        for index, (i, j) in enumerate(_batches(n, batch_size))
    ]
    return outputs[0] if len(outputs) == 1 else tf.concat(outputs, 0)
