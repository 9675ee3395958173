"""Checkpoint every epoch in one atomic write, and resume an interrupted run."""

import json
import zipfile
from pathlib import Path

import keras
import tensorflow as tf

from kerasrobust._io import atomic_path
from kerasrobust.training import is_chief

_MODEL_FILE = "last.keras"
# The training state travels inside the .keras archive (an extra member
# that `keras.saving.load_model` ignores), so model and state are one file
# renamed into place once: there is no moment where one is newer than the
# other.
_STATE_MEMBER = "kerasrobust_state.json"
# Temporary files of `atomic_path` writes interrupted by a kill.
_TEMP_GLOB = f".{_MODEL_FILE}.*.tmp.keras"


class ResumableCheckpoint(keras.callbacks.Callback):
    """Saves the whole model (weights, optimizer, RNG state) every epoch.

    Each epoch writes one file, `directory/last.keras`: the model in Keras'
    format with the number of finished epochs and the history added as one
    more archive member. It is written to a temporary file and renamed into
    place, a single atomic step: a run killed at any moment leaves the
    previous complete checkpoint and loses at most one epoch. Temporary
    files left by a killed write are removed when the next run starts.
    `ResumableCheckpoint.restore(directory)` gives back the model and the
    epoch to pass as `initial_epoch` to `fit`.

    Unlike `keras.callbacks.BackupAndRestore`, the checkpoint is a complete
    `.keras` file that `keras.saving.load_model` reads (the classes it
    names, e.g. `kerasrobust.training.ALPS`, must be importable) and it is
    kept after training ends.

    Under `MultiWorkerMirroredStrategy` only the chief (task "chief", or
    worker 0 when the cluster has no chief) writes: a `.keras` save is not
    a collective operation, so the other workers, whose weights are
    identical, write nothing (Keras' temporary-directory convention exists
    for the collective `tf.train.Checkpoint`). Every worker restores from
    the chief's file, so `directory` must be on a file system all workers
    see, as for `BackupAndRestore`.

    Args:
        directory: folder for the checkpoint; created if missing.

    Example (create the model, and restore, inside the strategy's scope;
    `restore_or` uses the scope of the model it is given):
    ```python
    strategy = tf.distribute.MirroredStrategy()
    with strategy.scope():
        model = kerasrobust.training.ALPS(base, seed=0)
        model.compile(optimizer="sgd", metrics=["accuracy"])
    ckpt = kerasrobust.callbacks.ResumableCheckpoint("runs/alps/checkpoint")
    model, initial_epoch, _ = ckpt.restore_or(model)
    model.fit(ds, epochs=200, initial_epoch=initial_epoch, callbacks=[ckpt])
    ```
    """

    def __init__(self, directory):
        super().__init__()
        self.directory = Path(directory)
        self.history = {}

    def on_train_begin(self, logs=None):
        if is_chief():
            self.remove_temporary_files(self.directory)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if not is_chief(self.model.distribute_strategy):
            return
        state = {"epochs_done": epoch + 1, "history": self.history}
        path = self.directory / _MODEL_FILE
        with atomic_path(path, ".tmp.keras") as tmp:
            self.model.save(tmp)
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(_STATE_MEMBER, json.dumps(state))

    @staticmethod
    def remove_temporary_files(directory):
        """Deletes the temporary files of writes interrupted by a kill;
        returns their paths."""
        directory = Path(directory)
        if not directory.is_dir():
            return []
        removed = sorted(directory.glob(_TEMP_GLOB))
        for path in removed:
            path.unlink(missing_ok=True)
        return removed

    @staticmethod
    def exists(directory):
        """Whether `directory` holds a checkpoint."""
        return (Path(directory) / _MODEL_FILE).is_file()

    @staticmethod
    def read_state(directory):
        """`(epochs_done, history)` of the checkpoint in `directory`."""
        path = Path(directory) / _MODEL_FILE
        try:
            with zipfile.ZipFile(path) as archive:
                state = json.loads(archive.read(_STATE_MEMBER))
        except (zipfile.BadZipFile, KeyError, ValueError) as error:
            raise ValueError(
                f"The checkpoint {path} is corrupt or was not written by "
                f"ResumableCheckpoint ({error}); delete it to start over."
            ) from None
        return int(state["epochs_done"]), state.get("history", {})

    @staticmethod
    def restore(directory):
        """Loads a checkpoint: returns `(model, epochs_done, history)`.

        The model's variables are created in the current strategy scope;
        `restore_or` uses the scope of the model it replaces.
        """
        directory = Path(directory)
        if not ResumableCheckpoint.exists(directory):
            raise FileNotFoundError(
                f"No checkpoint to resume from in {directory}: expected "
                f"{_MODEL_FILE} there."
            )
        epochs_done, history = ResumableCheckpoint.read_state(directory)
        model = keras.saving.load_model(directory / _MODEL_FILE)
        return model, epochs_done, history

    def restore_or(self, model):
        """`restore(self.directory)` if a checkpoint exists, else
        `(model, 0, {})`; the history continues from the checkpoint.

        The checkpoint is loaded in `model`'s distribution strategy scope
        (the one it was created in), so a model built under a strategy
        resumes under it even when `restore_or` is called outside the
        `with strategy.scope():` block.
        """
        strategy = model.distribute_strategy
        if is_chief(strategy):
            self.remove_temporary_files(self.directory)
        if strategy.extended._in_multi_worker_mode():
            # Every worker waits here until all arrive, so none reads the
            # chief's file while the chief is still writing it.
            strategy.reduce("SUM", strategy.run(
                tf.function(lambda: tf.constant(1.0))), axis=None)
        if not self.exists(self.directory):
            return model, 0, {}
        with model.distribute_strategy.scope():
            model, epochs_done, history = self.restore(self.directory)
        self.history = {k: list(v) for k, v in history.items()}
        return model, epochs_done, history
