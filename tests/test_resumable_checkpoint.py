"""Checkpoints are atomic and an interrupted run resumes exactly."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrobust.callbacks import ResumableCheckpoint
from kerasrobust.training import ALPS

from helpers import tiny_base_model
from helpers import tiny_data


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt


def _new_model():
    model = ALPS(tiny_base_model(), seed=3, weight_decay=1e-3)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  metrics=["accuracy"])
    return model


def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    x, y = tiny_data(n=24)
    fit = dict(batch_size=8, shuffle=False, verbose=0)

    straight = _new_model()
    straight.fit(x, y, epochs=3, **fit)

    ckpt = ResumableCheckpoint(tmp_path / "ckpt")
    interrupted = _new_model()
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(x, y, epochs=3, callbacks=[ckpt, _Interrupt(2)],
                        **fit)
    assert ResumableCheckpoint.read_state(tmp_path / "ckpt")[0] == 2

    resume = ResumableCheckpoint(tmp_path / "ckpt")
    model, initial_epoch, history = resume.restore_or(_new_model())
    assert initial_epoch == 2 and len(history["loss"]) == 2
    model.fit(x, y, epochs=3, initial_epoch=initial_epoch,
              callbacks=[resume], **fit)
    for a, b in zip(straight.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert len(resume.history["loss"]) == 3


def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    x, y = tiny_data(n=16)
    model = _new_model()
    ckpt = ResumableCheckpoint(tmp_path)
    model.fit(x, y, epochs=1, batch_size=8, callbacks=[ckpt], verbose=0)
    saved = (tmp_path / "last.keras").read_bytes()

    def broken_save(path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        model.fit(x, y, epochs=2, initial_epoch=1, batch_size=8,
                  callbacks=[ckpt], verbose=0)
    assert (tmp_path / "last.keras").read_bytes() == saved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.keras"]
    restored, epochs_done, _ = ResumableCheckpoint.restore(tmp_path)
    assert epochs_done == 1 and isinstance(restored, ALPS)


def test_restore_without_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint to resume"):
        ResumableCheckpoint.restore(tmp_path)


def test_model_and_state_are_one_atomic_write(tmp_path, monkeypatch):
    """A kill between saving the model and recording the epoch must not
    resume one epoch ahead: both are one file, renamed once."""
    import os as os_module

    x, y = tiny_data(n=16)
    model = _new_model()
    ckpt = ResumableCheckpoint(tmp_path)
    model.fit(x, y, epochs=1, batch_size=8, callbacks=[ckpt], verbose=0)
    renames = []
    real_replace = os_module.replace

    def counting_replace(src, dst):
        renames.append(Path(dst).name)
        return real_replace(src, dst)

    monkeypatch.setattr("kerasrobust._io.os.replace", counting_replace)
    model.fit(x, y, epochs=2, initial_epoch=1, batch_size=8,
              callbacks=[ckpt], verbose=0)
    assert renames == ["last.keras"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.keras"]
    restored, epochs_done, history = ResumableCheckpoint.restore(tmp_path)
    assert epochs_done == 2 and len(history["loss"]) == 2
    # The optimizer in the same file has taken exactly 2 epochs of steps.
    assert int(restored.optimizer.iterations.numpy()) == 2 * 2


def test_temporary_files_of_a_killed_write_are_removed(tmp_path):
    x, y = tiny_data(n=16)
    leftover = tmp_path / ".last.keras.abc123.tmp.keras"
    tmp_path.mkdir(exist_ok=True)
    leftover.write_bytes(b"half a checkpoint")
    other = tmp_path / "notes.txt"
    other.write_text("kept")
    ckpt = ResumableCheckpoint(tmp_path)
    model, initial_epoch, _ = ckpt.restore_or(_new_model())
    assert initial_epoch == 0 and not leftover.exists() and other.exists()
    leftover.write_bytes(b"again")
    model.fit(x, y, epochs=1, batch_size=8, callbacks=[ckpt], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.keras",
                                                          "notes.txt"]


def test_corrupt_checkpoint_says_corrupt(tmp_path):
    (tmp_path / "last.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="corrupt"):
        ResumableCheckpoint.restore(tmp_path)


def test_restore_or_outside_the_scope_uses_the_model_strategy(tmp_path):
    from helpers import mirrored_strategy

    x, y = tiny_data(n=16)
    strategy = mirrored_strategy()
    with strategy.scope():
        model = _new_model()
    ckpt = ResumableCheckpoint(tmp_path)
    model.fit(x, y, epochs=1, batch_size=8, callbacks=[ckpt], verbose=0)
    # Called outside `strategy.scope()`.
    restored, initial_epoch, _ = ckpt.restore_or(model)
    assert initial_epoch == 1
    assert restored.distribute_strategy is strategy
    kernel = restored.base_model.weights[0].value
    assert isinstance(kernel, tf.distribute.DistributedValues)
    assert len(strategy.experimental_local_results(kernel)) == 2
