"""Empirical risk minimization, optionally with label smoothing."""

import keras
from keras import ops

from kerasrobust.training.hyperparameters import ERM_HYPERPARAMETERS
from kerasrobust.training.hyperparameters import LABEL_SMOOTHING
from kerasrobust.training.hyperparameters import SMOOTHING_STYLE
from kerasrobust.training.hyperparameters import defaults
from kerasrobust.training.robust_trainer import RobustTrainer

_DEFAULT = defaults(ERM_HYPERPARAMETERS)


def smooth_labels(y_onehot, epsilon, style="paper"):
    """Label-smoothing targets.

    `style="paper"` is the ALPS paper's eq. (6)-(8): probability 1 - epsilon
    on the true class and epsilon / (K - 1) on each other class.
    `style="uniform"` is Szegedy et al.'s (and Keras') form
    (1 - epsilon) * y + epsilon / K, which leaves 1 - epsilon + epsilon / K
    on the true class.

    Args:
        y_onehot: one-hot (or soft) labels of shape (batch, K).
        epsilon: smoothing mass, in [0, 1).
        style: "paper" or "uniform".

    Returns:
        Targets of the same shape, rows summing to 1.
    """
    LABEL_SMOOTHING.check(epsilon, "epsilon")
    SMOOTHING_STYLE.check(style, "style")
    y_onehot = ops.convert_to_tensor(y_onehot)
    k = y_onehot.shape[-1]
    if style == "paper":
        return (1.0 - epsilon) * y_onehot + epsilon / (k - 1) * (
            1.0 - y_onehot
        )
    return (1.0 - epsilon) * y_onehot + epsilon / k


@keras.saving.register_keras_serializable(package="kerasrobust")
class ERM(RobustTrainer):
    """Empirical risk minimization (eq. 1 of the ALPS paper).

    With `label_smoothing > 0` it trains on smoothed labels, the VRM view of
    label smoothing in eq. (6)-(8) of the ALPS paper (Guo et al., IJCAI
    2020); the paper's experiments use 0.1. The Dropout baseline is ERM on a
    base model built with `dropout=0.5` (see `kerasrobust.models`).

    Args:
        base_model: a `keras.Model` mapping images in [0, 1] to logits.
        label_smoothing: smoothing mass epsilon, in [0, 1).
        smoothing_style: "paper" (eq. 6: epsilon / (K - 1) on each wrong
            class) or "uniform" (Keras' epsilon / K on every class).
        **kwargs: `RobustTrainer` arguments (`weight_decay`, `seed`,
            `num_classes`, `check_inputs`, `name`).

    Example:
    ```python
    base = kerasrobust.models.small_cnn(input_shape=(8, 8, 1))
    model = kerasrobust.training.ERM(base, label_smoothing=0.1)
    model.compile(optimizer="sgd", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=2)
    ```
    """

    HYPERPARAMETERS = ERM_HYPERPARAMETERS

    def __init__(
        self, base_model, label_smoothing=_DEFAULT["label_smoothing"],
        smoothing_style=_DEFAULT["smoothing_style"], **kwargs
    ):
        super().__init__(base_model, **kwargs)
        self.set_hyperparameters(label_smoothing=label_smoothing,
                                 smoothing_style=smoothing_style)

    def vicinal_batch(self, x, targets):
        if self.label_smoothing:
            targets = smooth_labels(
                targets, self.label_smoothing, self.smoothing_style
            )
        return x, targets
