"""The certification callback writes certified accuracy into fit's logs."""

import keras
import numpy as np
import pytest
import scipy.stats

from kerasrobust.callbacks import CertifiedAccuracy
from kerasrobust.training import GaussianAugment

from helpers import tiny_data


def _constant_classifier():
    """Always predicts class 0, whatever the noise."""
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    kernel, _ = model.layers[-1].get_weights()
    model.layers[-1].set_weights([np.zeros_like(kernel),
                                  np.array([20.0, 0.0, 0.0], "float32")])
    return model


def test_logs_match_the_closed_form_for_a_constant_classifier():
    """All n draws vote class 0, so pABar = alpha ** (1 / n) (the
    Clopper-Pearson bound with k = n) and every input labelled 0 is
    certified with radius sigma * Phi^-1(alpha ** (1 / n))."""
    x, y = tiny_data(n=12)
    sigma, n, alpha = 0.5, 200, 0.01
    model = GaussianAugment(_constant_classifier(), sigma=sigma, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.0), metrics=["accuracy"])
    callback = CertifiedAccuracy(x, y, n0=10, n=n, alpha=alpha,
                                 radii=(0.0, 0.5, 2.0), every=2)
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0,
                        callbacks=[callback]).history
    radius = sigma * scipy.stats.norm.ppf(alpha ** (1 / n))
    share = (y == 0).mean()
    # Epoch 2 and the last epoch (3) are certified; epoch 1 is not.
    assert "val_acr" in history and len(history["val_acr"]) == 2
    np.testing.assert_allclose(history["val_acr"], share * radius,
                               rtol=1e-9)
    np.testing.assert_allclose(history["val_certified_accuracy_0"], share)
    np.testing.assert_allclose(history["val_certified_accuracy_0.5"],
                               share if radius >= 0.5 else 0.0)
    np.testing.assert_allclose(history["val_certified_accuracy_2"], 0.0)


def test_sigma_needed_for_models_without_one():
    x, y = tiny_data(n=4)
    model = _constant_classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"`sigma` must be given"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[CertifiedAccuracy(x, y, n0=5, n=10)])


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=0), r"`n` must be in \[1"),
    (dict(alpha=1.0), r"`alpha` must be in \(0, 1\)"),
    (dict(sigma=0.0), r"`sigma` must be in \(0"),
    (dict(every=0), r"`every` must be in \[1"),
])
def test_bad_arguments(kwargs, match):
    x, y = tiny_data(n=4)
    with pytest.raises(ValueError, match=match):
        CertifiedAccuracy(x, y, **kwargs)


def test_under_a_strategy_certifies_once_over_both_replicas():
    """fit under MirroredStrategy (2 logical CPUs) logs what one device
    logs, and the certification's forward passes ran on both replicas."""
    from helpers import one_device_and_mirrored
    from helpers import tiny_base_model

    x, y = tiny_data(n=8)
    histories, callbacks = [], []
    for _, scope in one_device_and_mirrored():
        with scope:
            model = GaussianAugment(tiny_base_model(seed=3), sigma=0.5,
                                    seed=0)
            model.compile(optimizer=keras.optimizers.SGD(0.0))
        callback = CertifiedAccuracy(x, y, n0=20, n=300, alpha=0.01,
                                     radii=(0.0, 0.1), batch_size=100)
        histories.append(model.fit(x, y, epochs=1, batch_size=4, verbose=0,
                                   shuffle=False,
                                   callbacks=[callback]).history)
        callbacks.append(callback)
    for key in ("val_acr", "val_certified_accuracy_0",
                "val_certified_accuracy_0.1"):
        assert histories[0][key] == histories[1][key]
    # Selection and estimation draws of the 8 images, once in all.
    assert callbacks[0].last_replica_draws.tolist() == [8 * 320]
    draws = callbacks[1].last_replica_draws
    assert draws.sum() == 8 * 320 and draws.min() >= 0.4 * 8 * 320


@pytest.mark.parametrize("radii,mean_samples,certified", [
    ((0.0, 0.5), 100, True),          # decided at the first look
    ((0.0, 0.5, 0.875), 200, True),   # Phi(1.75) = 0.960: second look
    ((0.0, 0.5, 2.0), 100, False),    # Phi(4) out of reach: given up
])
def test_sequential_logs_match_the_closed_form(radii, mean_samples,
                                               certified):
    """All draws vote class 0. Sequential CERTIFY with n_max = 1000 looks
    at 100, 200, 400, 800, 1000 draws, spending alpha / 8 at each of the
    first four looks and alpha / 2 at the last: with k of k draws the lower
    bound is (alpha_k) ** (1 / k). After 100 draws it is 0.935 >
    Phi(0.5 / 0.5) = 0.841: radius 0.5 is certified at the first look;
    Phi(0.875 / 0.5) = 0.960 needs the second look (0.967); Phi(2 / 0.5) =
    0.99997 is above the best bound any look can reach, (alpha / 2) **
    (1 / 1000) = 0.9947, so radius 2 is given up at once."""
    x, y = tiny_data(n=12)
    sigma, n, alpha = 0.5, 1000, 0.01
    phi = scipy.stats.norm.cdf
    assert (alpha / 8) ** (1 / 100) > phi(0.5 / sigma)
    assert (alpha / 8) ** (1 / 100) < phi(0.875 / sigma) < (
        alpha / 8) ** (1 / 200)
    assert (alpha / 2) ** (1 / 1000) < phi(2.0 / sigma)
    model = GaussianAugment(_constant_classifier(), sigma=sigma, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.0), metrics=["accuracy"])
    callback = CertifiedAccuracy(x, y, n0=10, n=n, alpha=alpha, radii=radii,
                                 sequential=True)
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0,
                        callbacks=[callback]).history
    share = (y == 0).mean()
    np.testing.assert_allclose(history["val_certified_accuracy_0"], share)
    np.testing.assert_allclose(history["val_certified_accuracy_0.5"], share)
    r = radii[-1]
    np.testing.assert_allclose(history[f"val_certified_accuracy_{r:g}"],
                               share if certified else 0.0)
    np.testing.assert_allclose(history["val_mean_samples"], mean_samples)
    assert "val_acr" not in history


def test_sequential_bad_arguments():
    x, y = tiny_data(n=4)
    with pytest.raises(ValueError, match="`method` must be 'cohen'"):
        CertifiedAccuracy(x, y, sigma=0.5, method="tight", sequential=True)
    with pytest.raises(ValueError, match="n_max of the sequential"):
        CertifiedAccuracy(x, y, sigma=0.5, n0=100, n=50, sequential=True)
    with pytest.raises(TypeError, match="`sequential` must be True"):
        CertifiedAccuracy(x, y, sigma=0.5, sequential="yes")
