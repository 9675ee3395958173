"""PGD: projected gradient descent on the loss (Madry et al., 2018)."""

from kerasrobust.attacks import _common


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

    The whole loop runs in one compiled graph (`tf.while_loop`), cached per
    model and configuration; new radii, step sizes, step counts, seeds or
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
    epsilon = _common.check_epsilon(epsilon)
    step_size = _common.check_step_size(step_size)
    steps = _common.check_steps(steps)
    norm = _common.canonical_norm(norm)
    clip = _common.check_clip(clip)
    return _common.run_attack(
        model, x, y, epsilon=epsilon, step_size=step_size, steps=steps,
        norm=norm, start=bool(random_start), clip=clip, seed=seed,
        batch_size=batch_size,
    )
