"""Adversarial attacks in pixel space: FGSM and PGD (L-inf and L2).

Both take a classifier returning logits (a base model or a training
wrapper), clean images in [0, 1] and their true labels, and return
adversarial images; see `kerasrobust.evaluate` for error rates, presets of
the ALPS paper and black-box transfer. Their steps (loss gradient, ascent
step, projection, random start) are public in `kerasrobust.attacks.steps`
for training methods that attack inside `train_step`.
"""

from kerasrobust.attacks import steps  # noqa: F401
from kerasrobust.attacks.steps import NORMS
from kerasrobust.attacks.fgsm import fgsm
from kerasrobust.attacks.pgd import pgd

__all__ = ["NORMS", "fgsm", "pgd"]
