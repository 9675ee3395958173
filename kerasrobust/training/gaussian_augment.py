"""Gaussian data augmentation, the "Basic" training of Cohen et al. (2019)."""

import keras
from keras import ops

from kerasrobust.training._distribute import global_rows
from kerasrobust.training.hyperparameters import GAUSSIAN_HYPERPARAMETERS
from kerasrobust.training.hyperparameters import defaults
from kerasrobust.training.robust_trainer import RobustTrainer

_DEFAULT = defaults(GAUSSIAN_HYPERPARAMETERS)


@keras.saving.register_keras_serializable(package="kerasrobust")
class GaussianAugment(RobustTrainer):
    """Trains a base classifier on Gaussian-noised copies of its inputs.

    Each step draws `num_noise` fresh perturbations delta_j ~ N(0, sigma^2 I)
    per sample and minimizes (1/k) sum_j CE(F(x + delta_j), y), the estimator
    (7) of the ADRE paper and Cohen, Rosenfeld and Kolter's (2019) "Basic"
    training when k = 1. Noise is in pixel units (images in [0, 1]; the
    noisy images are not clipped, as in the papers). The same sigma is then
    used to smooth and certify the model (`kerasrobust.SmoothedClassifier`).

    Under `tf.distribute`, noise is drawn for the global batch and each
    replica takes its rows, so training equals a single device's.

    Training metrics are computed on the soft smoothed prediction
    G^(x) = (1/k) sum_j softmax(F(x + delta_j)) (eq. 8).

    Args:
        base_model: a `keras.Model` mapping images in [0, 1] to logits.
        sigma: noise standard deviation, > 0 (papers: 0.12, 0.25, 0.5, 1).
        num_noise: noise draws k per sample and step, >= 1.
        **kwargs: `RobustTrainer` arguments (`weight_decay`, `seed`, ...).

    Example:
    ```python
    base = kerasrobust.models.cifar_resnet110(num_classes=10)
    model = kerasrobust.training.GaussianAugment(base, sigma=0.25, seed=0)
    model.compile(optimizer="sgd", metrics=["accuracy"])
    ```
    """

    HYPERPARAMETERS = GAUSSIAN_HYPERPARAMETERS

    def __init__(self, base_model, sigma=_DEFAULT["sigma"],
                 num_noise=_DEFAULT["num_noise"], **kwargs):
        super().__init__(base_model, **kwargs)
        self.set_hyperparameters(sigma=sigma, num_noise=num_noise)

    def draw_noise(self, x):
        """Noise of shape (num_noise, batch, ...) for this replica's rows,
        drawn over the global batch."""
        global_size, local = global_rows(ops.shape(x)[0])
        shape = (self.num_noise, global_size) + tuple(x.shape[1:])
        noise = keras.random.normal(shape, stddev=self.sigma,
                                    dtype=x.dtype, seed=self.seed_generator)
        return ops.take(noise, local, axis=1)

    def noisy_copies(self, x, noise):
        """The k noisy copies, stacked draw-major: shape (k * batch, ...)."""
        noisy = ops.expand_dims(x, 0) + noise
        return ops.reshape(noisy, (-1,) + tuple(x.shape[1:]))

    def vicinal_batch(self, x, targets):
        x_noisy = self.noisy_copies(x, self.draw_noise(x))
        return x_noisy, ops.tile(targets, (self.num_noise, 1))

    def vicinal_loss(self, logits, targets, sample_weight):
        if sample_weight is not None:
            sample_weight = ops.tile(sample_weight, (self.num_noise,))
        return super().vicinal_loss(logits, targets, sample_weight)

    def metrics_logits(self, logits):
        # log G^ (eq. 8): its arg-max is the soft smoothed prediction.
        return smoothed_log_probabilities(self.split_draws(logits))

    def split_draws(self, logits):
        """(k * batch, K) -> (k, batch, K)."""
        return ops.reshape(logits, (self.num_noise, -1, logits.shape[-1]))


def smoothed_log_probabilities(logits):
    """log G^(x) = log((1/k) sum_j softmax(logits_j)), computed stably.

    Args:
        logits: shape (k, batch, K).

    Returns:
        Shape (batch, K).
    """
    k = ops.cast(ops.shape(logits)[0], logits.dtype)
    log_p = ops.log_softmax(logits, axis=-1)
    return ops.logsumexp(log_p, axis=0) - ops.log(k)
