"""Build a training wrapper from a method name (used by the CLI and tuner)."""

from kerasrobust._validation import check_choice
from kerasrobust.training.alps import ALPS
from kerasrobust.training.erm import ERM
from kerasrobust.training.mixup import MixUp

#: The methods compared in the ALPS paper (Section 5). "dropout" is ERM on a
#: base model built with dropout on the penultimate layer; "label_smoothing"
#: is ERM with smoothed labels.
METHODS = ("erm", "dropout", "label_smoothing", "mixup", "alps")

#: The paper's settings for the baselines (Section 5.1).
PAPER_DROPOUT = 0.5
PAPER_LABEL_SMOOTHING = 0.1
PAPER_MIXUP_ALPHA = 1.0


def make_trainer(method, base_model, epsilon=0.2, beta_mode=0.9,
                 beta_concentration=10.0, alpha=PAPER_MIXUP_ALPHA,
                 label_smoothing=PAPER_LABEL_SMOOTHING,
                 lambda_sampling=None, **kwargs):
    """Returns the training wrapper of `method` around `base_model`.

    Args:
        method: one of `METHODS`.
        base_model: the classifier (for "dropout", built with dropout).
        epsilon, beta_mode, beta_concentration: ALPS hyperparameters.
        alpha: MixUp's Beta parameter.
        label_smoothing: smoothing mass of "label_smoothing".
        lambda_sampling: "sample" or "batch" for mixing methods; `None`
            keeps each method's default.
        **kwargs: `RobustTrainer` arguments (`weight_decay`, `seed`, ...).
    """
    check_choice("method", method, METHODS)
    mixing = {} if lambda_sampling is None else {
        "lambda_sampling": lambda_sampling}
    if method == "alps":
        return ALPS(base_model, epsilon=epsilon, beta_mode=beta_mode,
                    beta_concentration=beta_concentration, **mixing,
                    **kwargs)
    if method == "mixup":
        return MixUp(base_model, alpha=alpha, **mixing, **kwargs)
    if method == "label_smoothing":
        return ERM(base_model, label_smoothing=label_smoothing, **kwargs)
    return ERM(base_model, **kwargs)
