"""ERM and label smoothing (ALPS paper eq. 1 and eq. 6-8)."""

import keras
import numpy as np
import pytest

from kerasrobust.training import ERM
from kerasrobust.training import smooth_labels

from helpers import assert_same_training
from helpers import assert_save_load_continues
from helpers import softmax_cross_entropy
from helpers import tiny_base_model
from helpers import tiny_data
from helpers import train_with_and_without_strategy


def test_smooth_labels_hand_computation():
    y = np.array([[0.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(smooth_labels(y, 0.1, "paper"),
                               [[0.1 / 3, 0.9, 0.1 / 3, 0.1 / 3]])
    np.testing.assert_allclose(smooth_labels(y, 0.1, "uniform"),
                               [[0.025, 0.925, 0.025, 0.025]])


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_logged_loss_is_the_real_loss(smoothing):
    """One step: the logged loss is the cross-entropy at the initial
    weights, computed in NumPy (not 0, not divided by replicas)."""
    x, y = tiny_data(n=8)
    base = tiny_base_model()
    logits = np.asarray(base(x))
    model = ERM(base, label_smoothing=smoothing)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    targets = np.eye(3)[y] * (1 - smoothing) + smoothing / 2 * (
        1 - np.eye(3)[y])
    assert history.history["loss"][0] == pytest.approx(
        softmax_cross_entropy(logits, targets), rel=1e-5)


def test_integer_and_onehot_labels_train_identically():
    x, y = tiny_data(n=16)
    weights = []
    for labels in (y, y.reshape(-1, 1), np.eye(3, dtype="float32")[y]):
        model = ERM(tiny_base_model())
        model.compile(optimizer="sgd", metrics=["accuracy"])
        model.fit(x, labels, batch_size=8, epochs=1, shuffle=False,
                  verbose=0)
        weights.append(model.get_weights())
    for other in weights[1:]:
        for a, b in zip(weights[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-6)


def test_evaluate_accuracy_matches_numpy():
    x, y = tiny_data(n=32)
    model = ERM(tiny_base_model())
    model.compile(optimizer="sgd", metrics=["accuracy"])
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    predicted = np.asarray(model.base_model(x)).argmax(1)
    assert result["accuracy"] == pytest.approx((predicted == y).mean())


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_same_under_mirrored_strategy(smoothing):
    x, y = tiny_data(n=21)
    results = train_with_and_without_strategy(
        lambda base: ERM(base, label_smoothing=smoothing,
                         weight_decay=1e-2), x, y)
    assert_same_training(results)


def test_save_load_and_continue(tmp_path):
    x, y = tiny_data(n=16)
    model = ERM(tiny_base_model(), label_smoothing=0.1,
                smoothing_style="uniform")
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    loaded = assert_save_load_continues(model, x, y, tmp_path / "erm.keras")
    assert loaded.smoothing_style == "uniform"


def test_bad_label_smoothing():
    with pytest.raises(ValueError, match=r"`label_smoothing` must be in"):
        ERM(tiny_base_model(), label_smoothing=1.0)
    with pytest.raises(ValueError, match=r"`smoothing_style` must be one"):
        ERM(tiny_base_model(), smoothing_style="keras")
