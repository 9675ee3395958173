"""MixUp: partner permutation, lambda distribution, train step."""

import keras
import numpy as np
import pytest
import scipy.stats

from kerasrobust.training import MixUp
from kerasrobust.training import mix

from helpers import assert_same_training
from helpers import assert_save_load_continues
from helpers import softmax_cross_entropy
from helpers import tiny_base_model
from helpers import tiny_data
from helpers import train_with_and_without_strategy


def test_mix_operator_hand_computation():
    s = np.array([[1.0, 0.0], [0.0, 1.0]])
    got = np.asarray(mix(s, s[::-1], np.array([0.25, 1.0])))
    np.testing.assert_allclose(got, [[0.25, 0.75], [0.0, 1.0]])


def test_partner_is_a_uniform_permutation():
    model = MixUp(tiny_base_model(), seed=0)
    first_partner = []
    for _ in range(300):
        lam, perm = model.draw_mixing(6)
        perm = np.asarray(perm)
        assert sorted(perm.tolist()) == list(range(6))
        assert np.asarray(lam).shape == ()
        first_partner.append(perm[0])
    counts = np.bincount(first_partner, minlength=6)
    assert scipy.stats.chisquare(counts).pvalue > 1e-3


def test_vicinal_batch_mixes_inputs_and_labels():
    x, y = tiny_data(n=8)
    targets = np.eye(3, dtype=np.float32)[y]
    model = MixUp(tiny_base_model(), alpha=0.7, seed=9)
    twin = MixUp(tiny_base_model(), alpha=0.7, seed=9)
    x_mix, t_mix = (np.asarray(t) for t in model.vicinal_batch(x, targets))
    lam, perm = (np.asarray(t) for t in twin.draw_mixing(8))
    np.testing.assert_allclose(x_mix, lam * x + (1 - lam) * x[perm],
                               rtol=1e-6)
    np.testing.assert_allclose(
        t_mix, lam * targets + (1 - lam) * targets[perm], rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 2.0])
def test_lambda_follows_beta_alpha_alpha(alpha):
    """Empirical CDF at interior points against scipy's Beta(alpha, alpha),
    within 4.5 binomial standard errors. (A KS test is not used: in float32,
    Beta(0.2, 0.2) draws within 6e-8 of 1 round to exactly 1.0.)"""
    model = MixUp(tiny_base_model(), alpha=alpha, lambda_sampling="sample",
                  seed=3)
    n = 20000
    draws = np.asarray(model.sample_lambda((n,)))
    assert draws.min() >= 0.0 and draws.max() <= 1.0
    for t in (0.05, 0.2, 0.5, 0.8, 0.95):
        p = scipy.stats.beta(alpha, alpha).cdf(t)
        assert abs((draws <= t).mean() - p) < 4.5 * np.sqrt(p * (1 - p) / n)


def test_train_step_loss_matches_independent_computation():
    x, y = tiny_data(n=8)
    base = tiny_base_model()
    w0 = base.get_weights()
    model = MixUp(base, alpha=1.0, seed=21)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0,
                        shuffle=False)
    lam, perm = (np.asarray(t) for t in
                 MixUp(tiny_base_model(), seed=21).draw_mixing(8))
    reference = tiny_base_model()
    reference.set_weights(w0)
    logits = np.asarray(reference(lam * x + (1 - lam) * x[perm]))
    onehot = np.eye(3)[y]
    targets = lam * onehot + (1 - lam) * onehot[perm]
    assert history.history["loss"][0] == pytest.approx(
        softmax_cross_entropy(logits, targets), rel=1e-5)


@pytest.mark.parametrize("sampling", ["batch", "sample"])
def test_same_under_mirrored_strategy(sampling):
    x, y = tiny_data(n=21)
    results = train_with_and_without_strategy(
        lambda base: MixUp(base, alpha=0.5, lambda_sampling=sampling,
                           seed=8), x, y)
    assert_same_training(results)


def test_save_load_and_continue(tmp_path):
    x, y = tiny_data(n=16)
    model = MixUp(tiny_base_model(), alpha=0.4, seed=2)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert assert_save_load_continues(
        model, x, y, tmp_path / "mixup.keras").alpha == 0.4


@pytest.mark.parametrize("alpha", [0.0, -1.0])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match=r"`alpha` must be in \(0, inf\)"):
        MixUp(tiny_base_model(), alpha=alpha)
