"""Shared machinery of the methods that mix each sample with a partner."""

import keras
from keras import ops

from kerasrobust.training._distribute import global_batch
from kerasrobust.training.hyperparameters import LAMBDA_SAMPLING
from kerasrobust.training.robust_trainer import RobustTrainer


def mix(s, s_partner, lam):
    """The mixing operator M(s, s'; lambda) = lambda * s + (1 - lambda) * s'.

    Eq. (9) of the ALPS paper. `lam` is a scalar or has one entry per
    sample; it is broadcast over the remaining axes.
    """
    s = ops.convert_to_tensor(s)
    lam = ops.cast(lam, s.dtype)
    if len(lam.shape) == 1:
        lam = ops.reshape(lam, (-1,) + (1,) * (len(s.shape) - 1))
    return lam * s + (1.0 - lam) * ops.cast(s_partner, s.dtype)


class MixingTrainer(RobustTrainer):
    """Base of MixUp and ALPS: pairs each sample with a random partner.

    The partner of sample i is `x[perm[i]]` for a uniformly random
    permutation `perm` of the global batch ("sample x' from D uniformly",
    ALPS Algorithm 1, line 3, realized per mini-batch as in Zhang et al.'s
    MixUp code). Under a `tf.distribute` strategy the permutation and the
    coefficients are drawn over the global batch (see `_distribute`), so
    results do not depend on the number of replicas.

    Subclasses define `sample_lambda(shape)` and `mixed_targets(...)`.

    Beta sampling uses stateless gamma draws, which XLA on GPU does not
    compile, so these wrappers report `supports_jit = False` and
    `jit_compile="auto"` stays off for them.

    Args:
        base_model: a `keras.Model` mapping images in [0, 1] to logits.
        lambda_sampling: "sample" draws one coefficient per sample (ALPS
            eq. 18, lambda_ij), "batch" one per mini-batch (Zhang et al.'s
            MixUp code).
        **kwargs: `RobustTrainer` arguments.
    """

    HYPERPARAMETERS = (LAMBDA_SAMPLING,)

    def __init__(self, base_model, lambda_sampling=LAMBDA_SAMPLING.default,
                 **kwargs):
        super().__init__(base_model, **kwargs)
        self.set_hyperparameters(lambda_sampling=lambda_sampling)
        self.supports_jit = False

    def sample_lambda(self, shape):
        raise NotImplementedError

    def mixed_targets(self, targets, partner_targets, lam):
        raise NotImplementedError

    def draw_mixing(self, batch_size):
        """Draws `(lam, perm)` for a batch: coefficients and a permutation.

        `lam` has shape `(batch_size,)` for per-sample sampling and `()` for
        per-batch sampling; `perm` is a permutation of `range(batch_size)`.
        """
        perm = keras.random.shuffle(
            ops.arange(batch_size), seed=self.seed_generator
        )
        shape = (batch_size,) if self.lambda_sampling == "sample" else ()
        return self.sample_lambda(shape), perm

    def vicinal_batch(self, x, targets):
        (x_all, targets_all), local = global_batch(x, targets)
        lam, perm = self.draw_mixing(ops.shape(x_all)[0])
        partner = ops.take(perm, local)
        if self.lambda_sampling == "sample":
            lam = ops.take(lam, local)
        x_mixed = mix(x, ops.take(x_all, partner, axis=0), lam)
        partner_targets = ops.take(targets_all, partner, axis=0)
        return x_mixed, self.mixed_targets(targets, partner_targets, lam)
