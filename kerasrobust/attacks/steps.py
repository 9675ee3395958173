"""The steps of gradient attacks: loss gradient, ascent step, projection.

Public building blocks of `fgsm`, `pgd` and the adversarial training
methods (SmoothAdv, ADRE_ADV), written once. In the notation of Madry et
al. (2018), "Towards Deep Learning Models Resistant to Adversarial
Attacks", eq. (2):

    x^{t+1} = Proj_box( Proj_ball(x, eps)( x^t + a * step(grad_x L) ) )

- L-inf: `step(g) = sign(g)`; ball projection clips `x^t - x` to
  `[-eps, eps]` per pixel;
- L2: `step(g) = g / ||g||_2` per example (a zero gradient gives a zero
  step); ball projection rescales `x^t - x` to norm `eps` when it is longer.

The box projection clips to the valid pixel range `clip`. Projecting onto
the ball and then the box keeps both constraints: clipping to the box only
moves a pixel towards the clean pixel, which lies in the box.

The parameter checks of these steps (`canonical_norm`, `check_epsilon`,
`check_step_size`, `check_steps`, `check_clip`) live here too, so every
caller (attacks, `kerasrobust.evaluate` presets, training) accepts the same
values.
"""

import math
import numbers

import tensorflow as tf

from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number
from kerasrobust._validation import check_value_range

#: Accepted spellings of the two norms, mapped to their canonical name.
_NORM_ALIASES = {
    "inf": "inf", "linf": "inf", "l_inf": "inf",
    "2": "2", "l2": "2", "l_2": "2",
}
NORMS = ("inf", "2")
_TINY = 1e-12


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
    return check_value_range("clip", clip)


# ------------------------------------------------------------------ steps
def per_example_norm(t):
    """L2 norm of each example of a batch, shaped `(N, 1, ..., 1)`."""
    axes = list(range(1, t.shape.rank))
    return tf.sqrt(tf.reduce_sum(tf.square(t), axis=axes, keepdims=True))


def loss_gradient(model, x, y):
    """Gradient of the summed cross-entropy of `model(x)` logits w.r.t. `x`.

    The loss is summed over the batch (not averaged), so each example's
    gradient is that of its own loss whatever the batch size; the model runs
    in inference mode (`training=False`). `y` are float one-hot (or soft)
    targets.
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
    length = per_example_norm(gradient)
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
            length = per_example_norm(delta)
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
        direction = direction / tf.maximum(per_example_norm(direction),
                                           _TINY)
        dims = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
        u = tf.random.stateless_uniform(
            tf.concat([tf.shape(x)[:1], tf.ones_like(tf.shape(x)[1:])], 0),
            seed=seed + 1)
        noise = direction * epsilon * tf.pow(u, 1.0 / dims)
    return project(x + noise, x, epsilon, norm, clip, bounded=False)
