"""FGSM: the fast gradient sign method (Goodfellow et al., 2015)."""

from kerasrobust.attacks import _common


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
    box. This is one iteration of `pgd` without random start, run by the
    same compiled function (`kerasrobust.attacks._common`).

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
    epsilon = _common.check_epsilon(epsilon, allow_inf=False)
    norm = _common.canonical_norm(norm)
    clip = _common.check_clip(clip)
    return _common.run_attack(
        model, x, y, epsilon=epsilon, step_size=epsilon, steps=1, norm=norm,
        start=False, clip=clip, batch_size=batch_size,
    )
