"""MixUp (Zhang et al., ICLR 2018), the ALPS paper's strongest baseline."""

import keras

from kerasrobust.training.hyperparameters import MIXUP_HYPERPARAMETERS
from kerasrobust.training.hyperparameters import defaults
from kerasrobust.training.mixing import MixingTrainer
from kerasrobust.training.mixing import sample_beta
from kerasrobust.training.mixing import mix

_DEFAULT = defaults(MIXUP_HYPERPARAMETERS)


@keras.saving.register_keras_serializable(package="kerasrobust")
class MixUp(MixingTrainer):
    """MixUp: train on M(x_i, x_j; lambda) with label M(y_i, y_j; lambda).

    lambda ~ Beta(alpha, alpha); the VRM objective is eq. (11) of the ALPS
    paper. The paper's experiments use alpha = 1.

    Args:
        base_model: a `keras.Model` mapping images in [0, 1] to logits.
        alpha: the Beta parameter, > 0.
        lambda_sampling: "batch" (default, one lambda per mini-batch as in
            Zhang et al.'s reference code) or "sample".
        **kwargs: `RobustTrainer` arguments (`weight_decay`, `seed`, ...).

    Example:
    ```python
    base = kerasrobust.models.preact_resnet18(num_classes=10)
    model = kerasrobust.training.MixUp(base, alpha=1.0, seed=0)
    model.compile(optimizer="sgd", metrics=["accuracy"])
    ```
    """

    HYPERPARAMETERS = MIXUP_HYPERPARAMETERS

    def __init__(self, base_model, alpha=_DEFAULT["alpha"],
                 lambda_sampling=_DEFAULT["lambda_sampling"], **kwargs):
        super().__init__(base_model, lambda_sampling=lambda_sampling,
                         **kwargs)
        self.set_hyperparameters(alpha=alpha)

    def sample_lambda(self, shape):
        return sample_beta(shape, self.alpha, self.alpha,
                           self.seed_generator)

    def mixed_targets(self, targets, partner_targets, lam):
        return mix(targets, partner_targets, lam)
