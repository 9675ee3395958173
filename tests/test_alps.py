"""ALPS: targets (Theorem 1), Beta parametrization, the train step."""

import keras
import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from kerasrobust.training import ALPS
from kerasrobust.training import alps_targets
from kerasrobust.training import beta_params

from helpers import assert_same_training
from helpers import assert_save_load_continues
from helpers import softmax_cross_entropy
from helpers import tiny_base_model
from helpers import tiny_data
from helpers import train_with_and_without_strategy


def test_alps_targets_hand_computation():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, -3.0, 1.0], [1.0, 1.0, 1.0]])
    y = np.eye(3)[[0, 1, 2]]
    got = np.asarray(alps_targets(logits, y, 0.4))
    expected = np.array(
        [
            [0.8, 0.0, 0.2],  # least likely class 2 gets eps/2
            [0.0, 1.0, 0.0],  # least likely is the true class: unchanged
            [0.2, 0.0, 0.8],  # tie: lowest index (0)
        ]
    )
    np.testing.assert_allclose(got, expected, atol=1e-7)


@pytest.mark.parametrize("epsilon", [0.1, 0.5, 1.3, 2.0])
def test_alps_targets_maximize_loss_over_l1_ball(epsilon):
    """Theorem 1 against an LP solved by scipy: maximize the cross-entropy
    (linear in the label) over the simplex intersected with the L1 ball."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        k = 5
        logits = rng.normal(size=k)
        label = rng.integers(k)
        y = np.eye(k)[label]
        neg_log_p = -(logits - scipy.special.logsumexp(logits))
        # Variables: t (k), u (k) with |t - y| <= u, sum u <= eps.
        c = np.concatenate([-neg_log_p, np.zeros(k)])
        a_ub = np.block([[np.eye(k), -np.eye(k)], [-np.eye(k), -np.eye(k)],
                         [np.zeros((1, k)), np.ones((1, k))]])
        b_ub = np.concatenate([y, -y, [epsilon]])
        a_eq = np.concatenate([np.ones(k), np.zeros(k)])[None]
        lp = scipy.optimize.linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq,
                                    b_eq=[1.0], bounds=[(0, None)] * (2 * k))
        assert lp.success
        rho = np.asarray(alps_targets(logits[None], y[None], epsilon))[0]
        assert np.abs(rho - y).sum() <= epsilon + 1e-6
        np.testing.assert_allclose(rho @ neg_log_p, -lp.fun, rtol=1e-6)


@pytest.mark.parametrize("mode,kappa", [(0.9, 10.0), (0.75, 4.0),
                                        (0.99, 50.0)])
def test_beta_params_mode_and_mean(mode, kappa):
    a, b = beta_params(mode, kappa)
    dist = scipy.stats.beta(a, b)
    found = scipy.optimize.minimize_scalar(
        lambda t: -dist.pdf(t), bounds=(1e-6, 1 - 1e-6), method="bounded",
        options={"xatol": 1e-10},
    ).x
    assert found == pytest.approx(mode, abs=1e-5)
    assert a + b == pytest.approx(kappa)
    assert dist.mean() == pytest.approx((1 + mode * (kappa - 2)) / kappa)


def test_lambda_draws_follow_the_beta_distribution():
    model = ALPS(tiny_base_model(), beta_mode=0.85, beta_concentration=8.0,
                 seed=11)
    draws = np.asarray(model.sample_lambda((20000,)))
    a, b = beta_params(0.85, 8.0)
    ks = scipy.stats.kstest(draws, scipy.stats.beta(a, b).cdf)
    assert ks.pvalue > 1e-3
    assert draws.mean() == pytest.approx(a / (a + b), abs=0.005)


def test_train_step_loss_matches_independent_computation():
    """One step: the logged loss equals the cross-entropy of the ALPS label
    on the mixed input, recomputed in NumPy from the same random draws."""
    x, y = tiny_data(n=8)
    base = tiny_base_model()
    w0 = base.get_weights()
    model = ALPS(base, epsilon=0.3, seed=5)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False,
                        verbose=0)

    twin = ALPS(tiny_base_model(), epsilon=0.3, seed=5)
    lam, perm = (np.asarray(t) for t in twin.draw_mixing(8))
    assert sorted(perm.tolist()) == list(range(8))
    lam4 = lam.reshape(-1, 1, 1, 1)
    x_mix = lam4 * x + (1 - lam4) * x[perm]
    reference = tiny_base_model()
    reference.set_weights(w0)
    logits = np.asarray(reference(x_mix))
    targets = np.eye(3)[y] * (1 - 0.15)
    targets[np.arange(8), logits.argmin(1)] += 0.15
    assert history.history["loss"][0] == pytest.approx(
        softmax_cross_entropy(logits, targets), rel=1e-5)


def test_one_forward_pass_per_step():
    class CountCalls(keras.layers.Layer):
        def build(self, input_shape):
            self.calls = self.add_weight(shape=(), initializer="zeros",
                                         trainable=False)

        def call(self, x, training=None):
            if training:
                self.calls.assign_add(1.0)
            return x

    counter = CountCalls()
    base = keras.Sequential([keras.Input((4, 4, 1)), counter,
                             keras.layers.Flatten(), keras.layers.Dense(3)])
    model = ALPS(base, seed=0)
    model.compile(optimizer="sgd")
    x, y = tiny_data(n=24)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert float(counter.calls.numpy()) == 3.0


def test_same_under_mirrored_strategy():
    x, y = tiny_data(n=22)  # last batch of 6 is split 3/3, the one of 22
    results = train_with_and_without_strategy(
        lambda base: ALPS(base, epsilon=0.4, seed=2), x, y)
    assert_same_training(results)


def test_same_under_mirrored_strategy_uneven_last_batch():
    x, y = tiny_data(n=21)  # last global batch of 5: shards of 3 and 2
    results = train_with_and_without_strategy(
        lambda base: ALPS(base, seed=4), x, y)
    assert_same_training(results)


def test_save_load_and_continue(tmp_path):
    x, y = tiny_data(n=16)
    model = ALPS(tiny_base_model(), epsilon=0.3, beta_mode=0.8,
                 beta_concentration=6.0, seed=1, weight_decay=1e-3)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    loaded = assert_save_load_continues(model, x, y, tmp_path / "alps.keras")
    assert loaded.epsilon == 0.3 and loaded.beta_mode == 0.8


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(epsilon=0.0), r"`epsilon` must be in \(0, 2\]"),
        (dict(epsilon=2.5), r"`epsilon` must be in \(0, 2\], got 2.5"),
        (dict(beta_mode=1.0), r"`beta_mode` must be in \(0, 1\)"),
        (dict(beta_mode=0.0), r"`beta_mode`"),
        (dict(beta_concentration=2.0), r"`beta_concentration` must be in "
                                       r"\(2, inf\)"),
        (dict(lambda_sampling="pair"), r"`lambda_sampling` must be one of"),
    ],
)
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ALPS(tiny_base_model(), **kwargs)
