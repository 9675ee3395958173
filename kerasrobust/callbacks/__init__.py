"""Callbacks for `model.fit`."""

from kerasrobust.callbacks.resumable_checkpoint import ResumableCheckpoint

__all__ = ["ResumableCheckpoint"]
