"""Hyperparameter search of the training methods with keras-tuner.

`RobustHyperModel` builds any method of `kerasrobust.training` around your
base classifier and searches its hyperparameters (ALPS epsilon, Beta mode
and concentration; MixUp alpha; ADRE lambda, sigma and k; SmoothAdv epsilon
and steps) over ranges taken from the papers (`DEFAULT_SEARCH_SPACES`,
overridable per hyperparameter). `objective(kind)` gives the metric key and
direction of validation accuracy or loss, robust accuracy under an attack,
certified accuracy at a radius or the ACR, with the callback that logs it.
`search(...)` runs RandomSearch, BayesianOptimization or Hyperband and
resumes an interrupted search.
"""

from kerasrobust.tuning.objectives import OBJECTIVES
from kerasrobust.tuning.objectives import TuningObjective
from kerasrobust.tuning.objectives import objective
from kerasrobust.tuning.robust_hyper_model import RobustHyperModel
from kerasrobust.tuning.search import TUNERS
from kerasrobust.tuning.search import SearchResult
from kerasrobust.tuning.search import make_tuner
from kerasrobust.tuning.search import search
from kerasrobust.tuning.search_space import DEFAULT_SEARCH_SPACES
from kerasrobust.tuning.search_space import PARAMETERS
from kerasrobust.tuning.search_space import Choice
from kerasrobust.tuning.search_space import Range
from kerasrobust.tuning.search_space import SearchSpace

__all__ = [
    "Choice",
    "DEFAULT_SEARCH_SPACES",
    "OBJECTIVES",
    "PARAMETERS",
    "Range",
    "RobustHyperModel",
    "SearchResult",
    "SearchSpace",
    "TUNERS",
    "TuningObjective",
    "make_tuner",
    "objective",
    "search",
]
