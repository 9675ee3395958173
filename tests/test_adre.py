"""Gaussian augmentation and ADRE_REG (ADRE paper, Algorithm 1, eq. 6-8)."""

import keras
import numpy as np
import pytest

from kerasrobust.training import ADRE
from kerasrobust.training import GaussianAugment
from kerasrobust.training import adre_loss

from helpers import assert_same_training
from helpers import assert_save_load_continues
from helpers import softmax_cross_entropy
from helpers import tiny_base_model
from helpers import tiny_data
from helpers import train_with_and_without_strategy


def test_adre_loss_hand_computation():
    # Two draws whose softmax is known exactly; true class 0.
    p1, p2 = np.array([0.7, 0.2, 0.1]), np.array([0.5, 0.1, 0.4])
    logits = np.log(np.stack([p1, p2]))[:, None, :]
    y = np.array([[1.0, 0.0, 0.0]])
    # G^ = (0.6, 0.15, 0.25): the runner-up is class 2.
    l_per = (-np.log(0.7) - np.log(0.5)) / 2
    l_adre = -np.log(0.25)
    got = np.asarray(adre_loss(logits, y, 0.3))
    np.testing.assert_allclose(got, [l_per - 0.3 * l_adre], rtol=1e-6)
    single = np.asarray(adre_loss(logits, y, 0.3, single_draw_per=True))
    np.testing.assert_allclose(single, [-np.log(0.7) - 0.3 * l_adre],
                               rtol=1e-6)
    np.testing.assert_allclose(adre_loss(logits, y, 0.0), [l_per], rtol=1e-6)


def test_runner_up_is_the_top_class_when_misclassified():
    p = np.array([0.2, 0.5, 0.3])  # one draw, true class 0, top class 1
    logits = np.log(p)[None, None, :]
    got = np.asarray(adre_loss(logits, np.array([[1.0, 0, 0]]), 1.0))
    np.testing.assert_allclose(got, [-np.log(0.2) + np.log(0.5)], rtol=1e-6)


def _one_step_loss(model_cls, **kwargs):
    x, y = tiny_data(n=8)
    base = tiny_base_model()
    w0 = base.get_weights()
    model = model_cls(base, seed=7, **kwargs)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    logged = model.fit(x, y, batch_size=8, epochs=1, verbose=0,
                       shuffle=False).history["loss"][0]
    twin = model_cls(tiny_base_model(), seed=7, **kwargs)
    noise = np.asarray(twin.draw_noise(x))
    reference = tiny_base_model()
    reference.set_weights(w0)
    logits = np.stack([np.asarray(reference(x + n)) for n in noise])
    return logged, logits, np.eye(3)[y], noise


def test_gaussian_augment_loss_is_mean_cross_entropy_over_draws():
    logged, logits, y, noise = _one_step_loss(GaussianAugment, sigma=0.5,
                                              num_noise=3)
    assert noise.shape == (3, 8, 4, 4, 1)
    assert noise.std() == pytest.approx(0.5, rel=0.15)
    expected = np.mean([softmax_cross_entropy(l, y) for l in logits])
    assert logged == pytest.approx(expected, rel=1e-5)


def test_adre_logged_loss_matches_numpy():
    lam = 0.2
    logged, logits, y, _ = _one_step_loss(ADRE, sigma=0.25, num_noise=4,
                                          lam=lam)
    z = logits - logits.max(-1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)     # (k, B, K)
    l_per = -np.log((p * y).sum(-1)).mean(0)
    g = p.mean(0)
    runner = np.where(y > 0, -1.0, g).argmax(1)
    l_adre = -np.log(g[np.arange(len(g)), runner])
    assert logged == pytest.approx((l_per - lam * l_adre).mean(), rel=1e-4)


def test_lambda_zero_equals_gaussian_augmentation_with_k_draws():
    x, y = tiny_data(n=16)
    weights = []
    for make in (lambda b: GaussianAugment(b, sigma=0.3, num_noise=4, seed=1),
                 lambda b: ADRE(b, sigma=0.3, num_noise=4, lam=0.0, seed=1)):
        model = make(tiny_base_model())
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0,
                            shuffle=False)
        weights.append((history.history["loss"], model.get_weights()))
    np.testing.assert_allclose(weights[0][0], weights[1][0], rtol=1e-5)
    for a, b in zip(weights[0][1], weights[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda b: GaussianAugment(b, sigma=0.25, num_noise=2, seed=3),
    lambda b: ADRE(b, sigma=0.5, num_noise=3, lam=0.2, seed=3),
])
def test_same_under_mirrored_strategy(make):
    x, y = tiny_data(n=21)
    assert_same_training(train_with_and_without_strategy(make, x, y))


def test_save_load_and_continue(tmp_path):
    x, y = tiny_data(n=16)
    model = ADRE(tiny_base_model(), sigma=0.25, num_noise=2, lam=0.1,
                 single_draw_per=True, seed=2)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    loaded = assert_save_load_continues(model, x, y, tmp_path / "adre.keras")
    assert loaded.lam == 0.1 and loaded.single_draw_per


def test_training_accuracy_is_the_smoothed_prediction():
    x, y = tiny_data(n=8)
    model = GaussianAugment(tiny_base_model(), sigma=0.1, num_noise=3,
                            seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.0), metrics=["accuracy"])
    acc = model.fit(x, y, batch_size=8, epochs=1, verbose=0,
                    shuffle=False).history["accuracy"][0]
    twin = GaussianAugment(tiny_base_model(), sigma=0.1, num_noise=3, seed=0)
    noise = np.asarray(twin.draw_noise(x))
    base = tiny_base_model()
    probs = [keras.ops.softmax(base(x + n)) for n in noise]
    predicted = np.mean([np.asarray(p) for p in probs], 0).argmax(1)
    assert acc == pytest.approx((predicted == y).mean())


@pytest.mark.parametrize(
    "cls,kwargs,match",
    [
        (GaussianAugment, dict(sigma=0.0), r"`sigma` must be in \(0, inf\)"),
        (GaussianAugment, dict(num_noise=0), r"`num_noise` must be in \[1"),
        (ADRE, dict(lam=-0.1), r"`lam` must be in \[0, inf\)"),
    ],
)
def test_bad_hyperparameters(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(tiny_base_model(), **kwargs)
