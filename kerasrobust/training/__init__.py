"""Training wrappers: `keras.Model` subclasses that override `train_step`.

Each wraps a base classifier (images in [0, 1] -> logits) and is used with
`compile` / `fit` / `evaluate` as any Keras model.
"""

from kerasrobust.training._distribute import is_chief
from kerasrobust.training.adre import ADRE
from kerasrobust.training.adre import adre_loss
from kerasrobust.training.alps import ALPS
from kerasrobust.training.alps import alps_targets
from kerasrobust.training.alps import beta_params
from kerasrobust.training.erm import ERM
from kerasrobust.training.erm import smooth_labels
from kerasrobust.training.factory import METHODS
from kerasrobust.training.factory import SMOOTHING_METHODS
from kerasrobust.training.factory import make_trainer
from kerasrobust.training.factory import trainer_differences
from kerasrobust.training.gaussian_augment import GaussianAugment
from kerasrobust.training.hyperparameters import METHOD_SPECS
from kerasrobust.training.hyperparameters import Hyperparameter
from kerasrobust.training.hyperparameters import MethodSpec
from kerasrobust.training.mixing import MixingTrainer
from kerasrobust.training.mixing import mix
from kerasrobust.training.mixup import MixUp
from kerasrobust.training.recipe import PAPER_DECAY_RATE
from kerasrobust.training.recipe import PAPER_LEARNING_RATE
from kerasrobust.training.recipe import PAPER_MOMENTUM
from kerasrobust.training.recipe import PAPER_WEIGHT_DECAY
from kerasrobust.training.recipe import paper_optimizer
from kerasrobust.training.recipe import step_decay_schedule
from kerasrobust.training.robust_trainer import RobustTrainer
from kerasrobust.training.smooth_adv import SmoothAdv
from kerasrobust.training.smooth_adv import warmup_epsilon

__all__ = [
    "ADRE",
    "ALPS",
    "ERM",
    "GaussianAugment",
    "Hyperparameter",
    "METHODS",
    "METHOD_SPECS",
    "MethodSpec",
    "MixUp",
    "MixingTrainer",
    "PAPER_DECAY_RATE",
    "PAPER_LEARNING_RATE",
    "PAPER_MOMENTUM",
    "PAPER_WEIGHT_DECAY",
    "RobustTrainer",
    "SMOOTHING_METHODS",
    "SmoothAdv",
    "adre_loss",
    "alps_targets",
    "beta_params",
    "is_chief",
    "make_trainer",
    "mix",
    "paper_optimizer",
    "smooth_labels",
    "step_decay_schedule",
    "trainer_differences",
    "warmup_epsilon",
]
