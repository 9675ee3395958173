"""Shared machinery of the methods that mix each sample with a partner."""

import keras
import tensorflow as tf
from keras import ops

from kerasrobust._validation import check_choice
from kerasrobust.training._distribute import global_batch
from kerasrobust.training._distribute import replica_id
from kerasrobust.training._distribute import row_layout
from kerasrobust.training.hyperparameters import LAMBDA_SAMPLING
from kerasrobust.training.robust_trainer import RobustTrainer

#: Where partners come from under a strategy (an execution option, not a
#: method hyperparameter: it does not change the method on one device).
PARTNERS = ("global", "replica")


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


def sample_beta(shape, a, b, seed_generator):
    """Draws Beta(a, b) variates of `shape` (float32), XLA-compatible.

    TensorFlow Probability's Beta sampler (two gamma draws by rejection
    sampling written in plain TF ops) with a stateless seed taken from
    `seed_generator`, so the draws reproduce from the wrapper's seed and
    compile under `jit_compile=True`.
    """
    import tensorflow_probability as tfp  # ~1 s to import: only when used

    seed = seed_generator.next()
    # TFP's stateless seeds are int32 pairs.
    seed = tf.cast(tf.math.floormod(tf.cast(seed, tf.int64), 2**31 - 1),
                   tf.int32)
    beta = tfp.distributions.Beta(tf.constant(a, tf.float32),
                                  tf.constant(b, tf.float32))
    return beta.sample(shape, seed=seed)


class MixingTrainer(RobustTrainer):
    """Base of MixUp and ALPS: pairs each sample with a random partner.

    The partner of sample i is `x[perm[i]]` for a uniformly random
    permutation `perm` of the global batch ("sample x' from D uniformly",
    ALPS Algorithm 1, line 3, realized per mini-batch as in Zhang et al.'s
    MixUp code). Under a `tf.distribute` strategy the permutation and the
    coefficients are drawn over the global batch (see `_distribute`), so
    results do not depend on the number of replicas.

    Subclasses define `sample_lambda(shape)` and `mixed_targets(...)`.

    lambda is drawn with TensorFlow Probability's Beta sampler from a
    stateless seed of the wrapper's `SeedGenerator` (`sample_beta`): unlike
    `keras.random.beta` (TensorFlow's gamma op has no XLA kernel) it
    compiles under XLA, so these wrappers support `jit_compile=True`.

    Args:
        base_model: a `keras.Model` mapping images in [0, 1] to logits.
        lambda_sampling: "sample" draws one coefficient per sample (ALPS
            eq. 18, lambda_ij), "batch" one per mini-batch (Zhang et al.'s
            MixUp code).
        partners: where partners come from under a `tf.distribute`
            strategy. "global" (default): from the whole global batch, as
            on one device (results do not depend on the number of
            replicas; each step all-gathers the batch onto every replica).
            "replica": from the replica's own batch, with its own
            permutation (the practice of large-batch MixUp training: no
            gather, per-replica cost independent of the replica count, but
            results depend on how the batch is split). Identical without a
            strategy.
        **kwargs: `RobustTrainer` arguments.
    """

    HYPERPARAMETERS = (LAMBDA_SAMPLING,)

    def __init__(self, base_model, lambda_sampling=LAMBDA_SAMPLING.default,
                 partners="global", **kwargs):
        super().__init__(base_model, **kwargs)
        self.set_hyperparameters(lambda_sampling=lambda_sampling)
        self.partners = check_choice("partners", partners, PARTNERS)

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
        if self.partners == "replica":
            return self._replica_vicinal_batch(x, targets)
        (x_all, targets_all), local = global_batch(x, targets)
        lam, perm = self.draw_mixing(ops.shape(x_all)[0])
        partner = ops.take(perm, local)
        if self.lambda_sampling == "sample":
            lam = ops.take(lam, local)
        x_mixed = mix(x, ops.take(x_all, partner, axis=0), lam)
        partner_targets = ops.take(targets_all, partner, axis=0)
        return x_mixed, self.mixed_targets(targets, partner_targets, lam)

    def _replica_vicinal_batch(self, x, targets):
        """Partners from this replica's batch: a permutation of its rows
        from the step seed with the replica id folded in; the lambdas are
        those of the global mode at this replica's rows (drawn for the
        global batch: one number per row, no images gathered)."""
        local_size = ops.shape(x)[0]
        seed = tf.random.experimental.stateless_fold_in(
            tf.cast(self.seed_generator.next(), tf.int64), replica_id())
        perm = tf.argsort(tf.random.stateless_uniform(
            tf.reshape(local_size, [1]), seed=seed))
        if self.lambda_sampling == "sample":
            global_size, first = row_layout(local_size)
            lam = self.sample_lambda((global_size,))
            lam = lam[first:first + local_size]
        else:
            lam = self.sample_lambda(())
        x_mixed = mix(x, ops.take(x, perm, axis=0), lam)
        partner_targets = ops.take(targets, perm, axis=0)
        return x_mixed, self.mixed_targets(targets, partner_targets, lam)

    def get_config(self):
        config = super().get_config()
        config["partners"] = self.partners
        return config
