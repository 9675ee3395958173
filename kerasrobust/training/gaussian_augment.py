"""Gaussian data augmentation, the "Basic" training of Cohen et al. (2019)."""

import keras
import tensorflow as tf
from keras import ops

from kerasrobust.training._distribute import row_layout
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

    Under `tf.distribute`, each replica generates only the noise of its own
    rows of the global batch, from per-row streams of the step's seed
    (`row_normal`), so training equals a single device's while the noise
    cost per replica does not grow with the number of replicas.

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
    model.fit(x_train, y_train, epochs=90)
    # Certify the base model at the sigma it was trained with.
    smoothed = kerasrobust.SmoothedClassifier(base, 10, sigma=model.sigma)
    ```
    """

    HYPERPARAMETERS = GAUSSIAN_HYPERPARAMETERS

    def __init__(self, base_model, sigma=_DEFAULT["sigma"],
                 num_noise=_DEFAULT["num_noise"], **kwargs):
        super().__init__(base_model, **kwargs)
        self.set_hyperparameters(sigma=sigma, num_noise=num_noise)

    def draw_noise(self, x):
        """Noise of shape (num_noise, batch, ...) for this replica's rows.

        Only this replica's rows are generated (`row_normal`): row r of the
        global batch gets the same noise whatever the number of replicas,
        so training equals a single device's, and each replica's cost is
        that of its own rows.
        """
        local_size = ops.shape(x)[0]
        first = row_layout(local_size)[1]
        noise = row_normal(self.seed_generator.next(), first, local_size,
                           (self.num_noise,) + tuple(x.shape[1:]))
        noise = ops.cast(noise * self.sigma, x.dtype)
        return ops.moveaxis(noise, 1, 0)

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


_PHILOX = tf.random.Algorithm.PHILOX.value
_NORMALS_PER_COUNTER = 4  # one Philox block gives 4 float32 normals


def row_normal(seed, first_row, num_rows, row_shape):
    """Standard normal rows `first_row .. first_row + num_rows - 1` of a
    batch-wide draw, generating only those rows.

    The draw is one counter-based Philox stream per step seed, laid out row
    by row: row r reads the counter blocks from `r * blocks_per_row`, so a
    row's values depend only on `(seed, r)` (the row index folded into the
    generator's counter) and any subset of rows is generated without the
    others. The row length is padded to whole blocks (4 normals each). The
    stream is drawn flat because TensorFlow's kernels and XLA both map a
    1-D stateless draw linearly onto the counter (tested with and without
    `jit_compile`); the two give different values, each consistently.

    Args:
        seed: shape-[2] integer stateless seed of the step.
        first_row: global index of the first row (int32 scalar).
        num_rows: number of rows to generate.
        row_shape: shape of one row (a tuple of ints).

    Returns:
        float32 tensor of shape `(num_rows,) + row_shape`.
    """
    row_size = 1
    for d in row_shape:
        row_size *= int(d)
    blocks = -(-row_size // _NORMALS_PER_COUNTER)
    padded = blocks * _NORMALS_PER_COUNTER
    key, counter = tf.raw_ops.StatelessRandomGetKeyCounter(
        seed=tf.cast(seed, tf.int64))
    start = tf.cast(first_row, tf.uint64) * tf.constant(blocks, tf.uint64)
    low = counter[0] + start  # the 128-bit counter's low word, with carry
    carry = tf.cast(low < counter[0], tf.uint64)
    counter = tf.stack([low, counter[1] + carry])
    flat = tf.raw_ops.StatelessRandomNormalV2(
        shape=tf.reshape(num_rows * padded, [1]), key=key, counter=counter,
        alg=_PHILOX)
    rows = tf.reshape(flat, [-1, padded])[:, :row_size]
    return tf.reshape(rows, tf.concat(
        [tf.reshape(num_rows, [1]), tf.constant(row_shape, tf.int32)], 0))
