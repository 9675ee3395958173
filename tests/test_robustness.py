"""`kerasrobust.evaluate.robustness`: figures, presets, exports, inputs."""

import csv
import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrobust.attacks import fgsm
from kerasrobust.attacks import pgd
from kerasrobust.data import load_dataset
from kerasrobust.evaluate import PAPER_ATTACKS
from kerasrobust.evaluate import PAPER_FGSM
from kerasrobust.evaluate import PAPER_PGD
from kerasrobust.evaluate import SANITY_PGD
from kerasrobust.evaluate import AttackConfig
from kerasrobust.evaluate import craft
from kerasrobust.evaluate import error_percent
from kerasrobust.evaluate import named_attacks
from kerasrobust.evaluate import robustness
from kerasrobust.models import channel_stats
from kerasrobust.models import small_cnn
from kerasrobust.training import ERM


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("digits")
    return data


def _train(wrapper_cls, digits, seed, epochs=3):
    keras.utils.set_random_seed(seed)
    mean, std = channel_stats(digits.x_train)
    base = small_cnn(digits.input_shape, 10, mean=mean, std=std, width=8)
    model = wrapper_cls(base, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  metrics=["accuracy"])
    model.fit(digits.train_dataset(128, seed=seed), epochs=epochs,
              verbose=0)
    return model


@pytest.fixture(scope="module")
def models(digits):
    """A briefly trained model and an untrained source model (the black-box
    plumbing only needs two different classifiers)."""
    keras.utils.set_random_seed(5)
    source = small_cnn(digits.input_shape, 10, width=8)
    return _train(ERM, digits, 2, epochs=2), source


def _independent_error(model, x, y):
    logits = np.asarray(model.predict(np.asarray(x), verbose=0))
    return 100.0 * float((logits.argmax(1) != y).mean())


def test_paper_presets():
    assert PAPER_FGSM.attack == "fgsm"
    assert PAPER_FGSM.epsilon == pytest.approx(4 / 255)
    assert (PAPER_PGD.epsilon, PAPER_PGD.step_size, PAPER_PGD.steps) == (
        pytest.approx(4 / 255), pytest.approx(1 / 255), 10)
    assert PAPER_PGD.norm == "inf" and not PAPER_PGD.random_start
    assert math.isinf(SANITY_PGD.epsilon)
    assert (SANITY_PGD.step_size, SANITY_PGD.steps) == (0.01, 200)
    assert dict(PAPER_ATTACKS) == {"fgsm": PAPER_FGSM, "pgd": PAPER_PGD}
    assert PAPER_PGD.describe() == "PGD-10 Linf eps=4/255 step=1/255"
    with pytest.raises(AttributeError):
        PAPER_PGD.steps = 20  # frozen


def test_white_and_black_box_errors_match_direct_computation(models,
                                                             digits):
    model, source = models
    x, y = digits.x_test[:150], digits.y_test[:150]
    result = robustness(model, (x, y), source_model=source, batch_size=64)
    assert set(result) >= {"n", "clean_error", "white_box", "black_box",
                           "attacks", "units"}
    assert result["n"] == 150 and result["units"] == "percent"
    assert result["clean_error"] == pytest.approx(
        _independent_error(model, x, y))
    # White-box: crafted on the model itself; black-box: on the source.
    assert result["white_box"]["fgsm"] == pytest.approx(_independent_error(
        model, fgsm(model, x, y, 4 / 255), y))
    assert result["white_box"]["pgd"] == pytest.approx(_independent_error(
        model, pgd(model, x, y, 4 / 255, 1 / 255, 10), y))
    assert result["black_box"]["fgsm"] == pytest.approx(_independent_error(
        model, fgsm(source, x, y, 4 / 255), y))
    assert result["black_box"]["pgd"] == pytest.approx(_independent_error(
        model, pgd(source, x, y, 4 / 255, 1 / 255, 10), y))
    assert 0 <= result["clean_error"] <= result["white_box"]["pgd"] <= 100
    assert json.loads(json.dumps(result)) == dict(result)


def test_no_source_model_no_black_box(models, digits):
    result = robustness(models[0], (digits.x_test[:20], digits.y_test[:20]),
                        attacks={"weak": {"attack": "fgsm",
                                          "epsilon": 0.01}})
    assert result["black_box"] == {}
    assert list(result["white_box"]) == ["weak"]
    assert result["attacks"]["weak"]["label"] == "FGSM Linf eps=0.01"


def test_dataset_forms_agree(models, digits):
    model = models[1]
    attacks = {"pgd": dict(attack="pgd", epsilon=0.1, step_size=0.05,
                           steps=2)}
    n = len(digits.x_test)
    reference = robustness(model, digits, attacks=attacks, batch_size=100)
    assert reference["n"] == n
    pairs = robustness(model, (digits.x_test, digits.y_test),
                       attacks=attacks)
    batched = robustness(model, digits.test_dataset(batch_size=50),
                         attacks=attacks)
    unbatched = robustness(model, tf.data.Dataset.from_tensor_slices(
        (digits.x_test, digits.y_test)), attacks=attacks, batch_size=70)
    for other in (pairs, batched, unbatched):
        assert other["n"] == n
        assert other["clean_error"] == pytest.approx(
            reference["clean_error"])
        assert other["white_box"]["pgd"] == pytest.approx(
            reference["white_box"]["pgd"], abs=100 / n + 1e-9)


def test_exports(models, digits, tmp_path):
    model, source = models
    result = robustness(model, (digits.x_test[:30], digits.y_test[:30]),
                        source_model=source)
    result.to_json(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == dict(result)
    result.to_csv(tmp_path / "r.csv")
    with open(tmp_path / "r.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["setting"], r["attack"]) for r in rows] == [
        ("clean", ""), ("white_box", "fgsm"), ("white_box", "pgd"),
        ("black_box", "fgsm"), ("black_box", "pgd")]
    assert float(rows[2]["error_percent"]) == pytest.approx(
        result["white_box"]["pgd"], abs=1e-4)
    assert all(int(r["n"]) == 30 for r in rows)
    text = result.table()
    assert "white-box" in text and "black-box" in text
    assert f"{result['clean_error']:.2f}" in text
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_craft_reuses_examples_for_transfer(models, digits):
    model, source = models
    x, y = digits.x_test[:70], digits.y_test[:70]
    x_adv = craft(source, x, y, PAPER_PGD, batch_size=32)
    np.testing.assert_allclose(
        x_adv, np.asarray(pgd(source, x, y, 4 / 255, 1 / 255, 10)),
        atol=1e-6)
    assert error_percent(model, x_adv, y) == pytest.approx(
        _independent_error(model, x_adv, y))
    assert error_percent(model, x, keras.utils.to_categorical(y, 10)) == (
        pytest.approx(_independent_error(model, x, y)))


def test_naming_attacks():
    named = named_attacks([PAPER_FGSM, PAPER_PGD, SANITY_PGD])
    assert list(named) == ["fgsm", "pgd", "pgd_2"]
    named = named_attacks({"a": "paper_pgd", "b": {"attack": "fgsm",
                                                   "epsilon": 0.1}})
    assert named["a"] is PAPER_PGD and named["b"].epsilon == 0.1
    assert named_attacks(None) == dict(PAPER_ATTACKS)
    assert list(named_attacks(SANITY_PGD)) == ["pgd"]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(attack="cw", epsilon=0.1), r"`attack` must be one of"),
        (dict(attack="fgsm", epsilon=0.1, steps=3), r"FGSM is one step"),
        (dict(attack="fgsm", epsilon=float("inf")), r"must be finite"),
        (dict(attack="pgd", epsilon=0.1), r"PGD needs a `step_size`"),
        (dict(attack="pgd", epsilon=-1, step_size=0.1), r"`epsilon` must"),
        (dict(attack="pgd", epsilon=0.1, step_size=0.1, steps=0),
         r"`steps` must be in \[1"),
        (dict(attack="pgd", epsilon=0.1, step_size=0.1, norm="1"),
         r"`norm` must be one of"),
    ],
)
def test_bad_attack_configs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AttackConfig(**kwargs)


def test_bad_dataset(models, digits):
    with pytest.raises(ValueError, match=r"`x` has 5 images but `y` has 4"):
        robustness(models[0], (digits.x_test[:5], digits.y_test[:4]))
    with pytest.raises(TypeError, match=r"`dataset` must be"):
        robustness(models[0], digits.x_test)
    with pytest.raises(ValueError, match=r"no images"):
        robustness(models[0], (digits.x_test[:0], digits.y_test[:0]))
