"""ALPS: Adversarial Labelling of Perturbed Samples (Guo et al., IJCAI 2020).

The paper is `alps-robust-regularization.md`; equation and algorithm numbers
below refer to it.
"""

import keras
from keras import ops

from kerasrobust.training.hyperparameters import ALPS_EPSILON
from kerasrobust.training.hyperparameters import ALPS_HYPERPARAMETERS
from kerasrobust.training.hyperparameters import BETA_CONCENTRATION
from kerasrobust.training.hyperparameters import BETA_MODE
from kerasrobust.training.hyperparameters import defaults
from kerasrobust.training.mixing import MixingTrainer
from kerasrobust.training.mixing import sample_beta

_DEFAULT = defaults(ALPS_HYPERPARAMETERS)


def beta_params(mode, concentration):
    """Beta(a, b) parameters with a given mode and concentration a + b.

    The ALPS paper fixes the mode (a - 1) / (a + b - 2) of the mixing
    distribution "to a value close to 1" (Section 4, after eq. 12) but not
    the spread; we parametrize the spread by the concentration
    kappa = a + b, which must exceed 2 for the mode to be interior:

        a = 1 + mode * (kappa - 2),   b = 1 + (1 - mode) * (kappa - 2).

    Args:
        mode: the mode, in (0, 1) (the paper uses (0.75, 1)).
        concentration: a + b, > 2. Larger values concentrate lambda
            around the mode.

    Returns:
        The tuple `(a, b)` of Python floats.
    """
    mode = BETA_MODE.check(mode)
    concentration = BETA_CONCENTRATION.check(concentration)
    a = 1.0 + mode * (concentration - 2.0)
    b = 1.0 + (1.0 - mode) * (concentration - 2.0)
    return a, b


def alps_targets(logits, y_onehot, epsilon):
    """The adversarial label rho of Theorem 1 (eq. 15).

    rho = (1 - epsilon / 2) * y + (epsilon / 2) * onehot(k*), where k* is the
    least-likely class of the prediction on the perturbed input: it moves
    epsilon / 2 of the label mass to k*, the maximizer of the cross-entropy
    over the L1 ball of radius epsilon around y. If k* is the true class the
    target is y itself (nothing in the ball has a larger loss). Ties in the
    arg-min go to the lowest class index.

    Args:
        logits: logits of the perturbed inputs, shape (batch, K). The
            least-likely class of softmax(logits) is the arg-min of the
            logits.
        y_onehot: one-hot labels, shape (batch, K).
        epsilon: L1 radius of the label ball, in (0, 2].

    Returns:
        Targets of shape (batch, K); rows sum to 1.
    """
    ALPS_EPSILON.check(epsilon)
    logits = ops.convert_to_tensor(logits)
    num_classes = logits.shape[-1]
    least_likely = ops.one_hot(
        ops.argmin(logits, axis=-1), num_classes, dtype=logits.dtype
    )
    y_onehot = ops.cast(y_onehot, logits.dtype)
    return (1.0 - epsilon / 2.0) * y_onehot + (epsilon / 2.0) * least_likely


@keras.saving.register_keras_serializable(package="kerasrobust")
class ALPS(MixingTrainer):
    """ALPS regularized training (Algorithm 1, objective eq. 18).

    Each sample x_i is moved towards a random partner x_j of the batch,
    x~ = lambda * x_i + (1 - lambda) * x_j with lambda ~ Beta(a, b) whose
    mode is close to 1 (eq. 12), and labelled adversarially with
    rho = (1 - epsilon/2) * y_i + (epsilon/2) * onehot(k*), k* the least-likely
    class of the model's prediction on x~ (Theorem 1). Note the label is
    built from y_i alone: the partner contributes only to the input. The
    prediction used for k* is the logits of the training forward pass
    itself, so a step costs one forward and one backward pass, like ERM.

    Defaults (the paper gives ranges, not values): `epsilon=0.2` inside the
    paper's (0, 0.5); `beta_mode=0.9` inside (0.75, 1);
    `beta_concentration=10` (a = 8.2, b = 1.8: mean 0.82, std 0.12), our
    choice since the paper does not state the spread. One lambda per sample
    (eq. 18's lambda_ij) by default.

    Args:
        base_model: a `keras.Model` mapping images in [0, 1] to logits.
        epsilon: L1 radius of the label perturbation, in (0, 2].
        beta_mode: mode of the Beta distribution of lambda, in (0, 1).
        beta_concentration: a + b of that Beta distribution, > 2.
        lambda_sampling: "sample" (default) or "batch".
        **kwargs: `RobustTrainer` arguments (`weight_decay`, `seed`, ...).

    Example:
    ```python
    base = kerasrobust.models.preact_resnet18(num_classes=10)
    model = kerasrobust.training.ALPS(
        base, epsilon=0.2, beta_mode=0.9, beta_concentration=10, seed=0
    )
    model.compile(optimizer="sgd", metrics=["accuracy"])
    model.fit(train_dataset, epochs=200)
    ```
    """

    HYPERPARAMETERS = ALPS_HYPERPARAMETERS

    def __init__(
        self,
        base_model,
        epsilon=_DEFAULT["epsilon"],
        beta_mode=_DEFAULT["beta_mode"],
        beta_concentration=_DEFAULT["beta_concentration"],
        lambda_sampling=_DEFAULT["lambda_sampling"],
        **kwargs,
    ):
        super().__init__(base_model, lambda_sampling=lambda_sampling,
                         **kwargs)
        self.set_hyperparameters(epsilon=epsilon, beta_mode=beta_mode,
                                 beta_concentration=beta_concentration)
        self.beta_a, self.beta_b = beta_params(beta_mode, beta_concentration)

    def sample_lambda(self, shape):
        return sample_beta(shape, self.beta_a, self.beta_b,
                           self.seed_generator)

    def mixed_targets(self, targets, partner_targets, lam):
        # ALPS keeps the anchor's label (eq. 12: Y^ = y + Delta).
        del partner_targets, lam
        return targets

    def vicinal_targets(self, logits, targets):
        return alps_targets(logits, targets, self.epsilon)
