"""Checkpoint every epoch, atomically, and resume an interrupted run."""

import json
from pathlib import Path

import keras

from kerasrobust._io import atomic_save_model
from kerasrobust._io import atomic_write_json

_MODEL_FILE = "last.keras"
_STATE_FILE = "state.json"


class ResumableCheckpoint(keras.callbacks.Callback):
    """Saves the whole model (weights, optimizer, RNG state) every epoch.

    The model goes to `directory/last.keras` and the number of finished
    epochs plus the history to `directory/state.json`, each written to a
    temporary file and renamed into place, so a run killed at any moment
    leaves the previous complete checkpoint and loses at most one epoch.
    `ResumableCheckpoint.restore(directory)` gives back the model and the
    epoch to pass as `initial_epoch` to `fit`.

    Unlike `keras.callbacks.BackupAndRestore`, the checkpoint is a complete
    `.keras` file (architecture, weights and optimizer state in one archive:
    `keras.saving.load_model` rebuilds it, given the classes it uses, i.e.
    after `import kerasrobust` for the library's own) and it is kept after
    training ends.

    Args:
        directory: folder for the checkpoint; created if missing.

    Example:
    ```python
    ckpt = kerasrobust.callbacks.ResumableCheckpoint("runs/alps/checkpoint")
    model, initial_epoch, _ = ckpt.restore_or(model)
    model.fit(ds, epochs=200, initial_epoch=initial_epoch, callbacks=[ckpt])
    ```
    """

    def __init__(self, directory):
        super().__init__()
        self.directory = Path(directory)
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        atomic_save_model(self.model, self.directory / _MODEL_FILE)
        atomic_write_json(
            self.directory / _STATE_FILE,
            {"epochs_done": epoch + 1, "history": self.history},
        )

    @staticmethod
    def exists(directory):
        """Whether `directory` holds a complete checkpoint."""
        directory = Path(directory)
        return ((directory / _MODEL_FILE).is_file()
                and (directory / _STATE_FILE).is_file())

    @staticmethod
    def restore(directory):
        """Loads a checkpoint: returns `(model, epochs_done, history)`."""
        directory = Path(directory)
        if not ResumableCheckpoint.exists(directory):
            raise FileNotFoundError(
                f"No checkpoint to resume from in {directory}: expected "
                f"{_MODEL_FILE} and {_STATE_FILE} there."
            )
        with open(directory / _STATE_FILE) as f:
            state = json.load(f)
        model = keras.saving.load_model(directory / _MODEL_FILE)
        return model, int(state["epochs_done"]), state.get("history", {})

    def restore_or(self, model):
        """`restore(self.directory)` if a checkpoint exists, else
        `(model, 0, {})`; the history continues from the checkpoint."""
        if not self.exists(self.directory):
            return model, 0, {}
        model, epochs_done, history = self.restore(self.directory)
        self.history = {k: list(v) for k, v in history.items()}
        return model, epochs_done, history
