"""`RobustAccuracy`: robust accuracy in the logs of `fit`."""

import csv

import keras
import numpy as np
import pytest

from kerasrobust.attacks import pgd
from kerasrobust.callbacks import RobustAccuracy
from kerasrobust.data import load_dataset
from kerasrobust.evaluate import PAPER_FGSM
from kerasrobust.evaluate import PAPER_PGD
from kerasrobust.training import ERM

from helpers import mirrored_strategy
from helpers import tiny_base_model


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


class _LogsSeen(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.keys = {}

    def on_epoch_end(self, epoch, logs=None):
        self.keys[epoch] = dict(logs)


def _wrapper(digits, seed=0):
    keras.utils.set_random_seed(seed)
    model = ERM(tiny_base_model(input_shape=digits.input_shape,
                                num_classes=10, seed=seed), seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  metrics=["accuracy"])
    return model


def test_logs_every_n_epochs_and_at_the_end(digits, tmp_path):
    model = _wrapper(digits)
    x_val, y_val = digits.x_test[:64], digits.y_test[:64]
    callback = RobustAccuracy(x_val, y_val, attack=PAPER_PGD, every=2,
                              name="pgd", batch_size=32)
    seen = _LogsSeen()
    log_file = tmp_path / "log.csv"
    history = model.fit(digits.x_train, digits.y_train, batch_size=128,
                        epochs=5, verbose=0,
                        callbacks=[callback, seen,
                                   keras.callbacks.CSVLogger(log_file)])
    # Epochs 2 and 4 (1-based) and the last one, 5; NaN in between so
    # that History, CSVLogger and keras-tuner see one value per epoch.
    assert sorted(callback.history) == [1, 3, 4]
    assert all("val_pgd_accuracy" in logs for logs in seen.keys.values())
    values = history.history["val_pgd_accuracy"]
    assert len(values) == 5
    assert np.isnan(values[0]) and np.isnan(values[2])
    assert [values[e] for e in (1, 3, 4)] == pytest.approx(
        [callback.history[e] for e in (1, 3, 4)])
    errors = history.history["val_pgd_error"]
    assert np.allclose(np.add(values, errors)[[1, 3, 4]], 1.0)
    # The last value is the accuracy of the final model under PGD,
    # recomputed independently.
    x_adv = pgd(model.base_model, x_val, y_val, 4 / 255, 1 / 255, 10)
    predicted = np.asarray(model.base_model(x_adv)).argmax(1)
    assert values[-1] == pytest.approx((predicted == y_val).mean())
    clean = np.asarray(model.base_model(x_val)).argmax(1)
    assert values[-1] <= (clean == y_val).mean()
    with open(log_file) as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["val_pgd_accuracy"] == "nan"
    assert float(rows[-1]["val_pgd_accuracy"]) == pytest.approx(values[-1])


def test_under_a_strategy_matches_plain_evaluation(digits):
    strategy = mirrored_strategy()
    with strategy.scope():
        model = _wrapper(digits, seed=1)
    callback = RobustAccuracy(digits.x_test[:40], digits.y_test[:40],
                              attack=PAPER_FGSM, name="fgsm")
    history = model.fit(digits.x_train[:256], digits.y_train[:256],
                        batch_size=64, epochs=1, verbose=0,
                        callbacks=[callback])
    assert "val_fgsm_accuracy" in history.history
    assert history.history["val_fgsm_accuracy"][-1] == pytest.approx(
        callback.evaluate())


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(every=0), ValueError, r"`every` must be in \[1"),
        (dict(name="pgd acc"), ValueError, r"`name` must be a word"),
        (dict(attack="cw"), ValueError, r"`attack` must be one of"),
        (dict(batch_size=0), ValueError, r"`batch_size` must be in \[1"),
    ],
)
def test_bad_arguments(digits, kwargs, error, match):
    with pytest.raises(error, match=match):
        RobustAccuracy(digits.x_test[:4], digits.y_test[:4], **kwargs)
    with pytest.raises(ValueError, match=r"`x` has 4 images but `y` has 3"):
        RobustAccuracy(digits.x_test[:4], digits.y_test[:3])


def test_bad_validation_data_fails_before_training(digits):
    model = _wrapper(digits)
    callback = RobustAccuracy(digits.x_test[:8], digits.y_test[:8] + 10)
    with pytest.raises(ValueError, match=r"class ids in \[0, 10\)"):
        model.fit(digits.x_train[:64], digits.y_train[:64], epochs=1,
                  verbose=0, callbacks=[callback])
    softmax = keras.Sequential([keras.Input(digits.input_shape),
                                keras.layers.Flatten(),
                                keras.layers.Dense(10, activation="softmax")])
    softmax.compile("sgd", "sparse_categorical_crossentropy")
    callback = RobustAccuracy(digits.x_test[:8], digits.y_test[:8])
    with pytest.raises(ValueError, match=r"appears to output probabilities"):
        softmax.fit(digits.x_train[:64], digits.y_train[:64], epochs=1,
                    verbose=0, callbacks=[callback])
