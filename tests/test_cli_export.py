"""`kerasrobust export`: a .keras file in, a served SavedModel out."""

import numpy as np
import pytest
import tensorflow as tf

from kerasrobust.cli import main
from kerasrobust.training import make_trainer

from helpers import tiny_base_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "base.keras"
    tiny_base_model(input_shape=(8, 8, 1), num_classes=10, seed=0).save(path)
    return path


def test_export_with_sigma_serves_every_signature(model_path, tmp_path,
                                                  capsys):
    out = tmp_path / "served"
    assert main(["export", "--model", str(model_path), "--out", str(out),
                 "--sigma", "0.25", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert "serving_default, predict_smoothed, certify" in text
    loaded = tf.saved_model.load(str(out))
    x = tf.constant(np.random.default_rng(0).random((3, 8, 8, 1),
                                                    dtype=np.float32))
    result = loaded.certify(x, 10, 50, tf.constant(0.01, tf.float64), "tight")
    np.testing.assert_array_equal(
        result["counts_estimation"].numpy().sum(axis=1), 50)


def test_export_of_a_training_wrapper_file(tmp_path):
    base = tiny_base_model(input_shape=(8, 8, 1), num_classes=10, seed=0)
    trainer = make_trainer("alps", base)
    trainer(np.zeros((1, 8, 8, 1), np.float32))
    trainer.save(tmp_path / "wrapper.keras")
    out = tmp_path / "served"
    assert main(["export", "--model", str(tmp_path / "wrapper.keras"),
                 "--out", str(out)]) == 0
    loaded = tf.saved_model.load(str(out))
    assert set(loaded.signatures) == {"serving_default"}


def test_existing_out_and_bad_values_exit_2(model_path, tmp_path, capsys):
    out = tmp_path / "served"
    out.mkdir()
    assert main(["export", "--model", str(model_path), "--out",
                 str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export", "--model", str(model_path), "--out",
                 str(tmp_path / "x"), "--sigma", "-1"]) == 2
    assert "sigma" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["export", "--model", str(tmp_path / "missing.keras")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_default_out_is_the_next_version_folder(model_path, tmp_path,
                                                monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--model", str(model_path)]) == 0
    printed = capsys.readouterr().out
    folders = list((tmp_path / "saved_models").iterdir())
    assert len(folders) == 1
    assert (folders[0] / "1" / "saved_model.pb").is_file()
    assert f"saved: {folders[0].relative_to(tmp_path) / '1'}" in printed
    (folders[0] / "7").mkdir()
    assert main(["export", "--model", str(model_path)]) == 0
    assert (folders[0] / "8" / "saved_model.pb").is_file()
