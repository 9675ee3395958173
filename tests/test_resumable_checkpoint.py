"""Checkpoints are atomic and an interrupted run resumes exactly."""

import json

import keras
import numpy as np
import pytest

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
    state = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    assert state["epochs_done"] == 2

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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.keras",
                                                          "state.json"]
    restored, epochs_done, _ = ResumableCheckpoint.restore(tmp_path)
    assert epochs_done == 1 and isinstance(restored, ALPS)


def test_restore_without_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint to resume"):
        ResumableCheckpoint.restore(tmp_path)
