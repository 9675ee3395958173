"""Build a training wrapper from a method name (used by the CLI and tuner)."""

from kerasrobust._validation import check_choice
from kerasrobust.training.adre import ADRE
from kerasrobust.training.alps import ALPS
from kerasrobust.training.erm import ERM
from kerasrobust.training.gaussian_augment import GaussianAugment
from kerasrobust.training.mixup import MixUp
from kerasrobust.training.smooth_adv import SmoothAdv

#: The methods compared in the ALPS paper (Section 5). "dropout" is ERM on a
#: base model built with dropout on the penultimate layer; "label_smoothing"
#: is ERM with smoothed labels.
METHODS = ("erm", "dropout", "label_smoothing", "mixup", "alps")

#: Base-classifier training for randomized smoothing (ADRE paper): Cohen et
#: al.'s Gaussian augmentation, ADRE_REG, SmoothAdv and ADRE_ADV.
SMOOTHING_METHODS = ("gaussian", "adre", "smoothadv", "adre_adv")

#: ADRE's default lambda when none is given (paper: 0.1 to 0.3 on CIFAR-10).
DEFAULT_ADRE_LAMBDA = 0.1

#: The paper's settings for the baselines (Section 5.1).
PAPER_DROPOUT = 0.5
PAPER_LABEL_SMOOTHING = 0.1
PAPER_MIXUP_ALPHA = 1.0


def make_trainer(method, base_model, epsilon=0.2, beta_mode=0.9,
                 beta_concentration=10.0, alpha=PAPER_MIXUP_ALPHA,
                 label_smoothing=PAPER_LABEL_SMOOTHING,
                 lambda_sampling=None, sigma=0.25, num_noise=None, lam=None,
                 adv_epsilon=0.25, adv_steps=1, warmup_epochs=0,
                 single_draw_per=False, **kwargs):
    """Returns the training wrapper of `method` around `base_model`.

    Args:
        method: one of `METHODS + SMOOTHING_METHODS`.
        base_model: the classifier (for "dropout", built with dropout).
        epsilon, beta_mode, beta_concentration: ALPS hyperparameters.
        alpha: MixUp's Beta parameter.
        label_smoothing: smoothing mass of "label_smoothing".
        lambda_sampling: "sample" or "batch" for mixing methods; `None`
            keeps each method's default.
        sigma: Gaussian noise level of the smoothing methods.
        num_noise: noise draws per sample; `None` keeps the class default
            (1 for gaussian, smoothadv and adre_adv, 8 for adre).
        lam: ADRE weight; `None`: 0.1 for adre and adre_adv (smoothadv
            always uses 0).
        adv_epsilon, adv_steps, warmup_epochs: SmoothAdv's L2 radius, PGD
            steps and epsilon warm-up.
        single_draw_per: ADRE's one-draw l_per variant.
        **kwargs: `RobustTrainer` arguments (`weight_decay`, `seed`, ...).
    """
    check_choice("method", method, METHODS + SMOOTHING_METHODS)
    mixing = {} if lambda_sampling is None else {
        "lambda_sampling": lambda_sampling}
    noise = {"sigma": sigma}
    if num_noise is not None:
        noise["num_noise"] = num_noise
    if method == "alps":
        return ALPS(base_model, epsilon=epsilon, beta_mode=beta_mode,
                    beta_concentration=beta_concentration, **mixing,
                    **kwargs)
    if method == "mixup":
        return MixUp(base_model, alpha=alpha, **mixing, **kwargs)
    if method == "label_smoothing":
        return ERM(base_model, label_smoothing=label_smoothing, **kwargs)
    if method == "gaussian":
        return GaussianAugment(base_model, **noise, **kwargs)
    adre_lam = DEFAULT_ADRE_LAMBDA if lam is None else lam
    if method == "adre":
        return ADRE(base_model, lam=adre_lam,
                    single_draw_per=single_draw_per, **noise, **kwargs)
    if method in ("smoothadv", "adre_adv"):
        if method == "smoothadv" and lam:
            raise ValueError(
                f"`lam` must be 0 for method 'smoothadv', got {lam}; use "
                "method 'adre_adv' for SmoothAdv with the ADRE term.")
        return SmoothAdv(
            base_model, epsilon=adv_epsilon, steps=adv_steps,
            warmup_epochs=warmup_epochs,
            lam=adre_lam if method == "adre_adv" else 0.0,
            single_draw_per=single_draw_per, **noise, **kwargs)
    return ERM(base_model, **kwargs)
