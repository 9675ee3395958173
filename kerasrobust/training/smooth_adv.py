"""SmoothAdv (Salman et al., NeurIPS 2019) and ADRE_ADV (eq. 12-13).

ADRE_ADV is SmoothAdv with `lam > 0`: the ADRE term enters both the attack
objective (eq. 12) and the training loss (Algorithm 1).
"""

import keras
import tensorflow as tf
from keras import ops

from kerasrobust.attacks.steps import ascent_step
from kerasrobust.attacks.steps import project
from kerasrobust.training.adre import ADRE
from kerasrobust.training.adre import adre_loss
from kerasrobust.training.gaussian_augment import smoothed_log_probabilities
from kerasrobust.training.hyperparameters import SMOOTH_ADV_HYPERPARAMETERS
from kerasrobust.training.hyperparameters import defaults

_DEFAULT = defaults(SMOOTH_ADV_HYPERPARAMETERS)


def warmup_epsilon(epsilon, epoch, warmup_epochs):
    """Attack radius during epoch `epoch` (0-based): linear warm-up.

    epsilon * min(1, (epoch + 1) / warmup_epochs), as in Salman et al.'s
    training script; the full epsilon from the start when warmup_epochs is 0.
    """
    if warmup_epochs <= 0:
        return float(epsilon)
    return float(epsilon) * min(1.0, (epoch + 1) / warmup_epochs)


@keras.saving.register_keras_serializable(package="kerasrobust")
class SmoothAdv(ADRE):
    """Adversarial training of the soft smoothed classifier.

    For each sample, m noise draws delta_j are fixed for the step. The
    attack runs `steps` iterations of L2 PGD on the soft smoothed classifier
    G^(x') = (1/m) sum_j softmax(F(x' + delta_j)) (eq. 8, 13), starting at
    x' = x with step size 2 * epsilon / steps:

        objective(x') = CE(G^(x'), y) - lam * CE(G^(x'), y^(x'))    (eq. 12)
        x' <- x' + step * grad / ||grad||_2
        x' <- projection onto the L2 ball of radius epsilon around x,
              then onto the [0, 1] box

    (the box clip only moves coordinates towards x, so both constraints
    hold). The same noise is reused at every iteration and for training,
    which then minimizes `adre_loss` on the m noisy copies of the attacked
    points: with `lam = 0` that is SmoothAdv's mean cross-entropy; with
    `lam > 0` it is ADRE_ADV. The attack runs the base model in inference
    mode (batch-norm moving statistics), as the reference code does.

    epsilon warms up linearly over the first `warmup_epochs` epochs
    (`warmup_epsilon`); `fit` checks that the warm-up is not longer than the
    training.

    Args:
        base_model: a `keras.Model` mapping images in [0, 1] to logits.
        sigma: noise standard deviation, > 0.
        num_noise: noise draws m per sample, >= 1.
        epsilon: L2 attack radius in pixel units, >= 0 (SmoothAdv's
            epsilon = 64/256 is 0.25 here).
        steps: PGD iterations, >= 1.
        lam: ADRE weight, >= 0; > 0 gives ADRE_ADV.
        warmup_epochs: epochs of linear epsilon warm-up, >= 0.
        single_draw_per: see `adre_loss`.
        **kwargs: `RobustTrainer` arguments.

    Example:
    ```python
    base = kerasrobust.models.cifar_resnet110(num_classes=10)
    model = kerasrobust.training.SmoothAdv(
        base, sigma=0.25, num_noise=8, epsilon=0.25, steps=2, lam=0.1,
        warmup_epochs=10, seed=0)
    model.compile(optimizer="sgd", metrics=["accuracy"])
    ```
    """

    HYPERPARAMETERS = SMOOTH_ADV_HYPERPARAMETERS

    def __init__(self, base_model, sigma=_DEFAULT["sigma"],
                 num_noise=_DEFAULT["num_noise"],
                 epsilon=_DEFAULT["epsilon"], steps=_DEFAULT["steps"],
                 lam=_DEFAULT["lam"],
                 warmup_epochs=_DEFAULT["warmup_epochs"],
                 single_draw_per=_DEFAULT["single_draw_per"], **kwargs):
        super().__init__(base_model, sigma=sigma, num_noise=num_noise,
                         lam=lam, single_draw_per=single_draw_per, **kwargs)
        self.set_hyperparameters(epsilon=epsilon, steps=steps,
                                 warmup_epochs=warmup_epochs)
        self.current_epsilon = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(
                warmup_epsilon(self.epsilon, 0, self.warmup_epochs)),
            trainable=False, name="current_epsilon")

    def attack(self, x, y_onehot, noise):
        """L2 PGD on the soft smoothed classifier (eq. 13); see the class."""
        x = ops.convert_to_tensor(x)
        epsilon = ops.cast(self.current_epsilon, x.dtype)
        step_size = 2.0 * epsilon / self.steps
        x_adv = x
        for _ in range(self.steps):
            with tf.GradientTape() as tape:
                tape.watch(x_adv)
                logits = ops.cast(
                    self(self.noisy_copies(x_adv, noise), training=False),
                    "float32")
                # Eq. (12): CE(G^, y) - lam * CE(G^, y^). log G^ is its own
                # log-softmax, so this is `adre_loss` of the one "draw"
                # log G^.
                log_g = smoothed_log_probabilities(self.split_draws(logits))
                objective = ops.sum(adre_loss(log_g[None], y_onehot,
                                              self.lam))
            gradient = tape.gradient(objective, x_adv)
            x_adv = ascent_step(x_adv, gradient, step_size, norm="2")
            x_adv = project(x_adv, x, epsilon, norm="2", clip=(0.0, 1.0))
        return ops.stop_gradient(x_adv)

    def vicinal_batch(self, x, targets):
        noise = self.draw_noise(x)
        x_adv = self.attack(x, targets, noise)
        return (self.noisy_copies(x_adv, noise),
                ops.tile(targets, (self.num_noise, 1)))

    def fit(self, x=None, y=None, *args, epochs=1, callbacks=None, **kwargs):
        if self.warmup_epochs > epochs:
            raise ValueError(
                f"`warmup_epochs` ({self.warmup_epochs}) must not exceed the "
                f"number of training epochs (epochs={epochs})."
            )
        callbacks = list(callbacks or []) + [_EpsilonWarmup(self)]
        return super().fit(x, y, *args, epochs=epochs, callbacks=callbacks,
                           **kwargs)


class _EpsilonWarmup(keras.callbacks.Callback):
    def __init__(self, trainer):
        super().__init__()
        self.trainer = trainer

    def on_epoch_begin(self, epoch, logs=None):
        t = self.trainer
        t.current_epsilon.assign(
            warmup_epsilon(t.epsilon, epoch, t.warmup_epochs))

