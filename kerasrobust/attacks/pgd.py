"""PGD: projected gradient descent on the loss (Madry et al., 2018)."""

import math

import numpy as np
import tensorflow as tf

from kerasrobust._validation import check_number
from kerasrobust.attacks import inputs
from kerasrobust.attacks.steps import ascent_step
from kerasrobust.attacks.steps import canonical_norm
from kerasrobust.attacks.steps import check_clip
from kerasrobust.attacks.steps import check_epsilon
from kerasrobust.attacks.steps import check_step_size
from kerasrobust.attacks.steps import check_steps
from kerasrobust.attacks.steps import loss_gradient
from kerasrobust.attacks.steps import project
from kerasrobust.attacks.steps import random_start as start_point



def pgd(model, x, y, epsilon, step_size, steps, norm="inf",
        random_start=False, clip=(0.0, 1.0), seed=None, batch_size=None):
    """Untargeted projected gradient attack on the true labels.

    Iterates, from `x^0 = x` (or a uniform random point of the ball when
    `random_start`), the projected steepest ascent of Madry et al. (2018),
    "Towards Deep Learning Models Resistant to Adversarial Attacks",
    eq. (2), on the cross-entropy `L` of the model's logits against `y`:

        L-inf:  x^{t+1} = Proj(x^t + a * sign(grad_x L(x^t)))
        L2:     x^{t+1} = Proj(x^t + a * grad_x L(x^t) / ||grad_x L(x^t)||_2)

    where `Proj` clips `x^{t+1} - x` to the `epsilon`-ball around the clean
    `x` (per pixel for L-inf, rescaling per example for L2) and then to the
    pixel box `clip`. The last iterate is returned, so
    `||x_adv - x|| <= epsilon` and `x_adv` is in the box.

    `epsilon=float("inf")` drops the ball (box only): the unbounded PGD of
    the ALPS paper's sanity check for gradient masking (Guo et al., 2020,
    Section 5.3, after Verma et al., 2019: 200 iterations of step 0.01,
    `kerasrobust.evaluate.SANITY_PGD`), which should drive the accuracy of
    any model without obfuscated gradients to about 0. The paper's bounded
    attack (Table 6) is L-inf, 10 steps of 1/255, `epsilon = 4/255`:
    `kerasrobust.evaluate.PAPER_PGD`.

    The whole loop (`pgd_loop`) runs in one compiled graph
    (`tf.while_loop`), cached per model and configuration; new radii, step sizes, step counts, seeds or
    batch sizes do not retrace. Under a `tf.distribute` strategy scope the
    attack runs in the cross-replica context on the mirrored weights and
    gives the same result as without the scope.

    Args:
        model: a `keras.Model` from images to logits, or a kerasrobust
            training wrapper (its `base_model` is attacked). Inference mode.
            A model ending in a softmax is refused.
        x: float images `(N, ...)` in the `clip` range (NumPy or tensor).
        y: true labels, class ids `(N,)` / `(N, 1)` or one-hot `(N, K)`.
        epsilon: radius in [0, inf] in pixel units of the chosen norm.
        step_size: step length `a` > 0 in the same units.
        steps: number of iterations, >= 1.
        norm: `"inf"` or `"2"`.
        random_start: start from a uniform random point of the ball
            (L-inf: `U(-eps, eps)` per pixel; L2: a uniform direction times
            `eps * U(0,1)^(1/d)`), clipped to the box. Needs a finite
            `epsilon`.
        clip: `(low, high)` pixel range, or `None` for no box.
        seed: integer seed of the random start (chunk `i` uses the
            stateless seed `(seed, i)`); `None` draws one from NumPy's
            global generator (set by `keras.utils.set_random_seed`).
        batch_size: `None` attacks all of `x` in one compiled call; an
            integer splits it into chunks of that many images.

    Returns:
        A float32 `tf.Tensor` of adversarial images, shaped like `x`.

    Raises:
        ValueError: negative epsilon or step size, `steps < 1`, unknown
            norm, labels out of range, shapes that do not match, images
            outside `clip`, or a model that outputs probabilities.

    Example:

    ```python
    x_adv = kerasrobust.attacks.pgd(
        model, x_test, y_test, epsilon=4 / 255, step_size=1 / 255, steps=10)
    ```
    """
    epsilon = check_epsilon(epsilon)
    step_size = check_step_size(step_size)
    steps = check_steps(steps)
    norm = canonical_norm(norm)
    clip = check_clip(clip)
    batch_size = inputs.check_batch_size(batch_size)
    bounded = not math.isinf(epsilon)
    if random_start and not bounded:
        raise ValueError(
            "`random_start=True` needs a finite `epsilon` (a random point "
            "of the epsilon-ball); got epsilon=inf."
        )
    model, x, y, num_classes = inputs.prepare(model, x, y, clip)
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1)) if random_start else 0
    seed = check_number("seed", seed, low=0, integer=True)
    loop = pgd_loop(model, tuple(x.shape[1:]), num_classes, norm,
                    bool(random_start), clip, bounded)
    return inputs.run_in_chunks(
        loop, x, y, batch_size,
        tf.constant(epsilon if bounded else 0.0, tf.float32),
        tf.constant(step_size, tf.float32), tf.constant(steps, tf.int32),
        tf.constant(seed, tf.int64))


def pgd_loop(model, image_shape, num_classes, norm, random_start, clip,
             bounded):
    """The compiled PGD loop for one model and configuration (cached).

    Returns a `tf.function` `(x, y, epsilon, step_size, steps, seed,
    chunk) -> x_adv` taking a batch of any size and one-hot targets `y`;
    `(seed, chunk)` is the stateless seed of the random start. The loop
    over steps is a `tf.while_loop` inside the graph; the radius, step
    size, step count and seed are tensors, so changing them does not
    retrace.
    """
    signature = [
        tf.TensorSpec((None,) + tuple(image_shape), tf.float32, name="x"),
        tf.TensorSpec((None, num_classes), tf.float32, name="y"),
        tf.TensorSpec((), tf.float32, name="epsilon"),
        tf.TensorSpec((), tf.float32, name="step_size"),
        tf.TensorSpec((), tf.int32, name="steps"),
        tf.TensorSpec((), tf.int64, name="seed"),
        tf.TensorSpec((), tf.int64, name="chunk"),
    ]

    def build(model_ref):
        @tf.function(input_signature=signature)
        def run(x, y, epsilon, step_size, steps, seed, chunk):
            classifier = model_ref()
            if random_start:
                x_adv = start_point(x, epsilon, norm, clip,
                                    tf.stack([seed, chunk]))
            else:
                x_adv = tf.identity(x)
            for _ in tf.range(steps):
                gradient = loss_gradient(classifier, x_adv, y)
                x_adv = ascent_step(x_adv, gradient, step_size, norm)
                x_adv = project(x_adv, x, epsilon, norm, clip, bounded)
            return x_adv
        return run

    key = ("pgd", tuple(image_shape), int(num_classes), norm,
           bool(random_start), clip, bool(bounded))
    return inputs.compiled(model, key, build)
