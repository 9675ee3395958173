"""Callbacks for `model.fit`."""

from kerasrobust.callbacks.certified_accuracy import CertifiedAccuracy
from kerasrobust.callbacks.resumable_checkpoint import ResumableCheckpoint
from kerasrobust.callbacks.robust_accuracy import RobustAccuracy

__all__ = ["CertifiedAccuracy", "ResumableCheckpoint", "RobustAccuracy"]
