"""Robustness evaluation: clean, white-box and black-box error.

`robustness(model, dataset, attacks, source_model)` follows the protocol of
the ALPS paper (Section 5.3); `PAPER_FGSM`, `PAPER_PGD` and `SANITY_PGD`
are its attack settings.
"""

from kerasrobust.evaluate.robustness import ATTACKS
from kerasrobust.evaluate.robustness import PAPER_ATTACKS
from kerasrobust.evaluate.robustness import PAPER_FGSM
from kerasrobust.evaluate.robustness import PAPER_PGD
from kerasrobust.evaluate.robustness import SANITY_PGD
from kerasrobust.evaluate.robustness import AttackConfig
from kerasrobust.evaluate.robustness import RobustnessResult
from kerasrobust.evaluate.robustness import as_attack
from kerasrobust.evaluate.robustness import craft
from kerasrobust.evaluate.robustness import error_percent
from kerasrobust.evaluate.robustness import named_attacks
from kerasrobust.evaluate.robustness import predicted_classes
from kerasrobust.evaluate.robustness import robustness

__all__ = [
    "ATTACKS",
    "AttackConfig",
    "PAPER_ATTACKS",
    "PAPER_FGSM",
    "PAPER_PGD",
    "RobustnessResult",
    "SANITY_PGD",
    "as_attack",
    "craft",
    "error_percent",
    "named_attacks",
    "predicted_classes",
    "robustness",
]
