"""ADRE_REG: the ADaptive Radius Enhancing regularizer (Algorithm 1).

Equation and algorithm numbers refer to the paper
`adre-tcertify-randomized-smoothing.md`.
"""

import keras
from keras import ops

from kerasrobust.training.gaussian_augment import GaussianAugment
from kerasrobust.training.gaussian_augment import smoothed_log_probabilities
from kerasrobust.training.hyperparameters import ADRE_HYPERPARAMETERS
from kerasrobust.training.hyperparameters import ADRE_LAM
from kerasrobust.training.hyperparameters import defaults

_DEFAULT = defaults(ADRE_HYPERPARAMETERS)


def adre_loss(logits, y_onehot, lam, single_draw_per=False):
    """Per-example ADRE objective l_per - lam * l_adre (Algorithm 1, eq. 6-8).

    With G^ = (1/k) sum_j softmax(logits_j) (eq. 8) and the runner-up
    y^ = argmax_{c != y} G^_c:

        l_per  = (1/k) sum_j CE(logits_j, y)     (eq. 7)
        l_adre = CE(G^, y^) = -log G^_{y^}
        loss   = l_per - lam * l_adre

    Minimizing it lowers the smoothed probability of the runner-up class
    (for a correctly classified sample) or of the wrong top class. The same
    k draws feed both terms, as in Algorithm 1.

    Args:
        logits: base-model logits of the noisy copies, shape (k, batch, K).
        y_onehot: one-hot labels, shape (batch, K); y is their arg-max.
        lam: regularization weight lambda >= 0.
        single_draw_per: use only one draw for l_per (the paper's CIFAR-10
            variant, "a single perturbation for l_per"); the draws are
            i.i.d., so the first one is a uniformly random one.

    Returns:
        The per-example loss, shape (batch,).
    """
    ADRE_LAM.check(lam)
    logits = ops.convert_to_tensor(logits)
    y_onehot = ops.cast(y_onehot, logits.dtype)
    log_p = ops.log_softmax(logits, axis=-1)
    per_draw = -ops.sum(y_onehot[None] * log_p, axis=-1)  # (k, batch)
    l_per = per_draw[0] if single_draw_per else ops.mean(per_draw, axis=0)
    if not lam:
        return l_per
    log_g = smoothed_log_probabilities(logits)  # (batch, K)
    true_class = ops.one_hot(ops.argmax(y_onehot, axis=-1),
                             logits.shape[-1], dtype=logits.dtype)
    masked = ops.where(true_class > 0, -float("inf"), log_g)
    runner_up = ops.stop_gradient(
        ops.one_hot(ops.argmax(masked, axis=-1), logits.shape[-1],
                    dtype=logits.dtype))
    l_adre = -ops.sum(runner_up * log_g, axis=-1)
    return l_per - lam * l_adre


@keras.saving.register_keras_serializable(package="kerasrobust")
class ADRE(GaussianAugment):
    """ADRE_REG training (Algorithm 1 without the adversarial step).

    Each step draws k Gaussian perturbations per sample, and minimizes
    `adre_loss` (l_per - lambda * l_adre) averaged over the batch. With
    `lam=0` it is Gaussian augmentation with k draws (`GaussianAugment`).
    The paper's CIFAR-10 setting is k = 8, lambda in {0.1, 0.2, 0.3}, with
    `single_draw_per=True`; ImageNet k = 1, lambda in {0.05, 0.1}.

    Args:
        base_model: a `keras.Model` mapping images in [0, 1] to logits.
        sigma: noise standard deviation, > 0.
        num_noise: draws k per sample, >= 1.
        lam: regularization weight lambda, >= 0.
        single_draw_per: compute l_per from one draw only (see `adre_loss`).
        **kwargs: `RobustTrainer` arguments.

    Example:
    ```python
    base = kerasrobust.models.cifar_resnet110(num_classes=10)
    model = kerasrobust.training.ADRE(base, sigma=0.25, num_noise=8,
                                      lam=0.1, seed=0)
    model.compile(optimizer="sgd", metrics=["accuracy"])
    ```
    """

    HYPERPARAMETERS = ADRE_HYPERPARAMETERS

    def __init__(self, base_model, sigma=_DEFAULT["sigma"],
                 num_noise=_DEFAULT["num_noise"], lam=_DEFAULT["lam"],
                 single_draw_per=_DEFAULT["single_draw_per"], **kwargs):
        super().__init__(base_model, sigma=sigma, num_noise=num_noise,
                         **kwargs)
        self.set_hyperparameters(lam=lam, single_draw_per=single_draw_per)

    def vicinal_loss(self, logits, targets, sample_weight):
        k = self.num_noise
        y = ops.reshape(targets, (k, -1, targets.shape[-1]))[0]
        per_example = adre_loss(self.split_draws(logits), y, self.lam,
                                self.single_draw_per)
        return self.reduce_per_example(per_example, sample_weight)
