"""SmoothAdv and ADRE_ADV: the L2 attack on the soft smoothed classifier,
epsilon warm-up, training (ADRE paper eq. 12-13; Salman et al. 2019)."""

import keras
import numpy as np
import pytest

from kerasrobust.training import SmoothAdv
from kerasrobust.training import warmup_epsilon

from helpers import assert_same_training
from helpers import assert_save_load_continues
from helpers import tiny_base_model
from helpers import tiny_data
from helpers import train_with_and_without_strategy


def _smoothed_ce(model, x, y, noise, lam=0.0):
    """CE(G^, y) - lam CE(G^, y^) in NumPy from the base model's logits."""
    logits = np.stack([np.asarray(model.base_model(x + n)) for n in noise])
    z = logits - logits.max(-1, keepdims=True)
    g = (np.exp(z) / np.exp(z).sum(-1, keepdims=True)).mean(0)
    onehot = np.eye(g.shape[1])[y]
    runner = np.where(onehot > 0, -1.0, g).argmax(1)
    rows = np.arange(len(y))
    return -np.log(g[rows, y]) + lam * np.log(g[rows, runner])


@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_attack_stays_in_the_ball_and_box_and_increases_the_loss(lam):
    x, y = tiny_data(n=32)
    epsilon = 0.3
    model = SmoothAdv(tiny_base_model(), sigma=0.25, num_noise=4,
                      epsilon=epsilon, steps=3, lam=lam, seed=0)
    noise = model.draw_noise(x)
    x_adv = np.asarray(model.attack(x, np.eye(3, dtype="float32")[y],
                                    noise))
    norms = np.sqrt(((x_adv - x) ** 2).reshape(len(x), -1).sum(1))
    assert norms.max() <= epsilon + 1e-5
    assert norms.max() > 0.5 * epsilon
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    noise = np.asarray(noise)
    before = _smoothed_ce(model, x, y, noise, lam)
    after = _smoothed_ce(model, x_adv, y, noise, lam)
    assert (after > before).mean() >= 0.9
    assert after.mean() > before.mean()


def test_warmup_schedule_values():
    assert [warmup_epsilon(0.5, e, 4) for e in range(6)] == pytest.approx(
        [0.125, 0.25, 0.375, 0.5, 0.5, 0.5])
    assert warmup_epsilon(0.5, 0, 0) == 0.5


def test_warmup_during_fit():
    x, y = tiny_data(n=8)
    model = SmoothAdv(tiny_base_model(), sigma=0.25, epsilon=0.4,
                      warmup_epochs=2, seed=0)
    model.compile(optimizer="sgd")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: seen.append(
            float(model.current_epsilon.numpy())))
    model.fit(x, y, epochs=3, batch_size=8, callbacks=[record], verbose=0)
    assert seen == pytest.approx([0.2, 0.4, 0.4])


def test_warmup_longer_than_training_is_rejected_before_training():
    x, y = tiny_data(n=8)
    model = SmoothAdv(tiny_base_model(), warmup_epochs=5)
    model.compile(optimizer="sgd")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"`warmup_epochs` \(5\) must not "
                                         r"exceed .*epochs=3"):
        model.fit(x, y, epochs=3, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("lam", [0.0, 0.2])
def test_same_under_mirrored_strategy(lam):
    x, y = tiny_data(n=21)
    results = train_with_and_without_strategy(
        lambda b: SmoothAdv(b, sigma=0.25, num_noise=2, epsilon=0.2,
                            steps=2, lam=lam, seed=5), x, y)
    assert_same_training(results, rtol=1e-4, atol=1e-5)


def test_save_load_and_continue(tmp_path):
    x, y = tiny_data(n=16)
    model = SmoothAdv(tiny_base_model(), sigma=0.25, num_noise=2,
                      epsilon=0.25, steps=2, lam=0.1, warmup_epochs=1,
                      seed=2)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    loaded = assert_save_load_continues(model, x, y,
                                        tmp_path / "smoothadv.keras")
    assert loaded.steps == 2 and loaded.epsilon == 0.25


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(epsilon=-0.1), r"`epsilon` must be in \[0, inf\)"),
        (dict(steps=0), r"`steps` must be in \[1, inf\)"),
        (dict(warmup_epochs=-1), r"`warmup_epochs` must be in \[0"),
        (dict(sigma=-1.0), r"`sigma`"),
        (dict(lam=-1.0), r"`lam`"),
    ],
)
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SmoothAdv(tiny_base_model(), **kwargs)
