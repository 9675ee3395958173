"""FGSM: the fast gradient sign method (Goodfellow et al., 2015)."""

import tensorflow as tf

from kerasrobust.attacks import inputs
from kerasrobust.attacks.steps import ascent_step
from kerasrobust.attacks.steps import canonical_norm
from kerasrobust.attacks.steps import check_clip
from kerasrobust.attacks.steps import check_epsilon
from kerasrobust.attacks.steps import loss_gradient
from kerasrobust.attacks.steps import project


def fgsm(model, x, y, epsilon, norm="inf", clip=(0.0, 1.0), batch_size=None):
    """Untargeted fast gradient (sign) attack on the true labels.

    One steepest-ascent step of size `epsilon` from the clean images on the
    cross-entropy `L` of the model's logits against `y` (Goodfellow et al.,
    2015, "Explaining and Harnessing Adversarial Examples", eq. (3)):

        L-inf:  x_adv = clip(x + eps * sign(grad_x L))
        L2:     x_adv = clip(x + eps * grad_x L / ||grad_x L||_2)

    (the L2 form is the "fast gradient method"; a zero gradient leaves the
    image unchanged). `clip` is the valid pixel box, so
    `||x_adv - x|| <= epsilon` in the chosen norm and `x_adv` stays in the
    box. The same step as one iteration of `pgd` without random start
    (`kerasrobust.attacks.steps`), compiled once per model and
    configuration (`fgsm_step`); new radii or batch sizes do not retrace.

    The ALPS paper (Guo et al., 2020, Table 5) uses L-inf FGSM with
    `epsilon = 4/255` (4 on the 0-255 scale): `kerasrobust.evaluate.
    PAPER_FGSM`.

    Args:
        model: a `keras.Model` from images to logits, or a kerasrobust
            training wrapper (its `base_model` is attacked). Inference mode
            (`training=False`). A model ending in a softmax is refused.
        x: float images `(N, ...)` in the `clip` range (pixel space: the
            normalization is inside the model), NumPy or tensor.
        y: true labels, class ids `(N,)` / `(N, 1)` or one-hot `(N, K)`.
        epsilon: radius in [0, inf) in pixel units of the chosen norm.
        norm: `"inf"` or `"2"`.
        clip: `(low, high)` pixel range, or `None` for no box.
        batch_size: `None` attacks all of `x` in one compiled call; an
            integer splits it into chunks of that many images.

    Returns:
        A float32 `tf.Tensor` of adversarial images, shaped like `x`.

    Raises:
        ValueError: negative or infinite epsilon, unknown norm, labels out
            of range, shapes that do not match, images outside `clip`, or a
            model that outputs probabilities.

    Example:

    ```python
    x_adv = kerasrobust.attacks.fgsm(model, x_test, y_test, epsilon=4 / 255)
    ```
    """
    epsilon = check_epsilon(epsilon, allow_inf=False)
    norm = canonical_norm(norm)
    clip = check_clip(clip)
    batch_size = inputs.check_batch_size(batch_size)
    model, x, y, num_classes = inputs.prepare(model, x, y, clip)
    step = fgsm_step(model, tuple(x.shape[1:]), num_classes, norm, clip)
    return inputs.run_in_chunks(step, x, y, batch_size,
                                tf.constant(epsilon, tf.float32))


def fgsm_step(model, image_shape, num_classes, norm, clip):
    """The compiled FGSM step for one model and configuration (cached).

    Returns a `tf.function` `(x, y, epsilon, chunk) -> x_adv` for a batch of
    any size and one-hot targets `y` (`chunk` is unused: the step has no
    randomness).
    """
    signature = [
        tf.TensorSpec((None,) + tuple(image_shape), tf.float32, name="x"),
        tf.TensorSpec((None, num_classes), tf.float32, name="y"),
        tf.TensorSpec((), tf.float32, name="epsilon"),
        tf.TensorSpec((), tf.int64, name="chunk"),
    ]

    def build(model_ref):
        @tf.function(input_signature=signature)
        def run(x, y, epsilon, chunk):
            del chunk
            gradient = loss_gradient(model_ref(), x, y)
            x_adv = ascent_step(x, gradient, epsilon, norm)
            return project(x_adv, x, epsilon, norm, clip)
        return run

    key = ("fgsm", tuple(image_shape), int(num_classes), norm, clip)
    return inputs.compiled(model, key, build)
