"""Sequential CERTIFY: the anytime-valid guarantee, the savings, bad input.

Reference values are independent of the code under test:

* a base classifier with closed-form smoothed probabilities: class 0 iff
  the first pixel of x + delta is below t, so ``p_A = Phi((t - x0) /
  sigma)`` (scipy) and the exact certified radius of g is ``t - x0``;
* fixed-n CERTIFY's certification probability for a known ``p``: ``P(S >=
  k*)`` with ``S ~ Bin(n, p)`` (scipy) and ``k*`` the smallest count whose
  Clopper-Pearson bound reaches ``Phi(r / sigma)`` (``scipy.stats.beta``);
* the beta-binomial mixture ``M_n(p) = betabinom.pmf(S; n, a, b) /
  binom.pmf(S; n, p)`` (scipy.stats), against our closed-form bisection.

Coverage checks use a larger alpha (0.05 to 0.2) so that thousands of trials
have the power to see a violation; the naive rule (full alpha at every
look) is the negative control showing the check can fail.
"""

import keras
import numpy as np
import pytest
from scipy import special, stats

from kerasrobust.smoothing import certify_sequential as cs
from test_smoothed_classifier import smoothed_classifier

SHAPE = (2, 2, 1)


def threshold_model(t):
    """Logits ``[t - x[0], 0]``: class 0 iff the first pixel is below t."""
    kernel = np.zeros((int(np.prod(SHAPE)), 2), np.float32)
    kernel[0, 0] = -1.0
    model = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    model.layers[-1].set_weights([kernel, np.array([t, 0.0], np.float32)])
    return model


def inputs_with_radius(true_radius, t):
    """Images whose exact smoothed radius is ``true_radius`` (x0 = t - R)."""
    true_radius = np.atleast_1d(np.asarray(true_radius, np.float64))
    x = np.full((len(true_radius),) + SHAPE, 0.5, np.float32)
    x[:, 0, 0, 0] = (t - true_radius).astype(np.float32)
    # The radius actually represented in float32.
    exact = t - x[:, 0, 0, 0].astype(np.float64)
    return x, exact


def fixed_n_certify_probability(p, radius, sigma, n, alpha):
    """P(fixed-n CERTIFY certifies at `radius`), for p_A = p (closed form)."""
    target = special.ndtr(radius / sigma)
    k = np.arange(n + 1)
    lower = np.where(k > 0, stats.beta.ppf(alpha, np.maximum(k, 1),
                                           n - k + 1), 0.0)
    k_star = int(np.flatnonzero(lower >= target)[0])
    return stats.binom.sf(k_star - 1, n, np.asarray(p))


def upper_3se(rate_bound, trials):
    return rate_bound + 3 * np.sqrt(rate_bound * (1 - rate_bound) / trials)


# ------------------------------------------------------------ pure statistics
def test_look_schedule_and_alphas_by_hand():
    np.testing.assert_array_equal(cs.look_schedule(1000, 100, 2.0),
                                  [100, 200, 400, 800, 1000])
    np.testing.assert_array_equal(cs.look_schedule(50, 100, 2.0), [50])
    np.testing.assert_array_equal(cs.look_schedule(100_000, 100, 2.0)[-2:],
                                  [51_200, 100_000])
    a = cs.look_alphas(0.01, 5, "final_half")
    np.testing.assert_allclose(a, [0.00125] * 4 + [0.005])
    np.testing.assert_allclose(cs.look_alphas(0.01, 4, "uniform"), 0.0025)
    pi2 = cs.look_alphas(0.01, 3, "pi2")
    np.testing.assert_allclose(pi2, 0.01 * 6 / np.pi ** 2 / np.array(
        [1, 4, 9]))
    for split in cs.SPLITS:
        assert cs.look_alphas(0.01, 11, split).sum() <= 0.01 + 1e-15


def test_union_bounds_are_clopper_pearson_at_the_look_level():
    looks = cs.look_schedule(800, 100, 2.0)  # 100, 200, 400, 800
    s = np.array([0, 150, 399, 400])
    lower, upper = cs.sequence_bounds(s, 2, looks, 0.08, "union", "uniform")
    a_k = 0.02
    expect_lo = np.where(s > 0, stats.beta.ppf(a_k, np.maximum(s, 1),
                                               400 - s + 1), 0.0)
    expect_up = np.where(s < 400, stats.beta.ppf(1 - a_k, s + 1,
                                                 np.maximum(400 - s, 1)), 1.0)
    np.testing.assert_allclose(lower, expect_lo, rtol=1e-9)
    np.testing.assert_allclose(upper, expect_up, rtol=1e-9)


def test_mixture_bounds_solve_the_betabinomial_likelihood_ratio():
    a, b = cs.MIXTURE_PRIOR
    n = 500
    s = np.array([3, 120, 250, 431, 499])
    alpha = 0.01
    lower, upper = cs.mixture_bounds(s, n, alpha)

    def m(p):  # independent: scipy's beta-binomial and binomial pmfs
        return stats.betabinom.pmf(s, n, a, b) / stats.binom.pmf(s, n, p)

    np.testing.assert_allclose(m(lower), 1 / alpha, rtol=1e-6)
    np.testing.assert_allclose(m(upper), 1 / alpha, rtol=1e-6)
    assert np.all(lower < s / n) and np.all(upper > s / n)
    # All successes: the upper end is 1, the lower end solves
    # B(a + n, b) / B(a, b) / p^n = 1 / alpha.
    lo, up = cs.mixture_bounds(np.array([n]), n, alpha)
    expect = np.exp((special.betaln(a + n, b) - special.betaln(a, b)
                     + np.log(alpha)) / n)
    np.testing.assert_allclose(lo, expect, rtol=1e-9)
    assert up[0] == 1.0


def test_reachable_lower_and_curtailment_by_hand():
    """All-success streams: at look k the bound is alpha_k ** (1 / n_k)."""
    looks = cs.look_schedule(1000)  # 100, 200, 400, 800, 1000
    alphas = cs.look_alphas(0.01, 5)
    best = max(a ** (1 / n) for a, n in zip(alphas, looks))
    np.testing.assert_allclose(
        cs.reachable_lower(np.array([100]), 0, looks, 0.01), best,
        rtol=1e-9)
    # One failure in the first 100: the best is the last look's bound on
    # 999 of 1000 (scipy).
    np.testing.assert_allclose(
        cs.reachable_lower(np.array([99]), 0, looks, 0.01)[0],
        max(stats.beta.ppf(a, n - 1, 2) for a, n in zip(alphas, looks)),
        rtol=1e-9)
    # A threshold above every reachable bound is given up at the first
    # look; one below is certified there; n_max is never reached.
    out = cs.simulate_sequential(np.ones(50), [0.9, 0.9999], 1000, 0.01,
                                 np.random.default_rng(0))
    np.testing.assert_array_equal(out["decision"], [[1, -1]] * 50)
    np.testing.assert_array_equal(out["num_samples"], 100)


def test_decide():
    d = cs.decide([0.7, 0.2, 0.55], [0.9, 0.45, 0.8], [0.5, 0.6])
    np.testing.assert_array_equal(d, [[1, 1], [-1, -1], [1, 0]])


@pytest.mark.parametrize("scheme,split,alpha,n_max,threshold", [
    ("union", "final_half", 0.1, 3200, 0.6),
    ("union", "final_half", 0.05, 10_000, 0.85),
    ("union", "uniform", 0.2, 1600, 0.7),
    ("union", "pi2", 0.1, 3200, 0.6),
    ("mixture", None, 0.1, 3200, 0.6),
])
def test_stopping_rule_coverage_on_bernoulli_streams(scheme, split, alpha,
                                                     n_max, threshold):
    """p_A exactly at the threshold (the worst case: true radius = r, so
    "certified" is wrong): certified in at most alpha (+3 s.e.) of 40,000
    simulated streams."""
    trials = 40_000
    rng = np.random.default_rng(1)
    out = cs.simulate_sequential(np.full(trials, threshold), [threshold],
                                 n_max, alpha, rng, scheme=scheme,
                                 split=split or "final_half")
    rate = float(np.mean(out["decision"][:, 0] == cs.CERTIFIED))
    assert rate <= upper_3se(alpha, trials), (rate, alpha)
    # The lower sequence at the stop covers p_A as often.
    miss = float(np.mean(out["lower"] > threshold))
    assert miss <= upper_3se(alpha, trials)


def test_naive_per_look_test_fails_the_same_check():
    """Negative control: alpha at every look (no split) certifies a p_A
    exactly at the threshold far more often than alpha."""
    trials, alpha, threshold = 40_000, 0.1, 0.6
    rng = np.random.default_rng(2)
    naive = cs.simulate_sequential(np.full(trials, threshold), [threshold],
                                   3200, alpha, rng, look_alpha=alpha)
    rate = float(np.mean(naive["decision"][:, 0] == cs.CERTIFIED))
    assert rate > upper_3se(alpha, trials), rate
    assert rate > 1.5 * alpha  # measured: about 0.25 with 6 looks


# -------------------------------------------------- the guarantee, end to end
@pytest.mark.parametrize("sigma,r,alpha,n_max", [
    (0.25, 0.1, 0.1, 2000),
    (0.5, 0.5, 0.2, 1000),
    (0.12, 0.12, 0.05, 4000),
])
def test_inputs_just_below_the_radius_are_rarely_certified(sigma, r, alpha,
                                                           n_max):
    """Exact radius 0.99 r: certified at r in at most alpha (+3 s.e.) of
    the trials, through the real sampling path (model, noise, counts). A
    second radius r / 2 is asked at the same time and must be certified
    almost always (the curve shares one alpha)."""
    trials, t = 3000, 0.5
    x, exact = inputs_with_radius(np.full(trials, 0.99 * r), t)
    assert np.all(exact < r)
    smoothed = smoothed_classifier(threshold_model(t), 2, sigma, seed=3)
    result = smoothed.certify_sequential(
        x, [r / 2, r], n_max=n_max, alpha=alpha, n0=100, batch_size=20_000,
        verbose=0)
    assert result.label.shape == (trials, 2)
    wrong = float(np.mean(result.label[:, 1] != -1))
    assert wrong <= upper_3se(alpha, trials), (wrong, alpha)
    # Certified only as class 0, and never at r without r / 2.
    assert set(np.unique(result.label)) <= {-1, 0}
    assert not np.any((result.label[:, 1] != -1) & (result.label[:, 0] == -1))
    assert np.mean(result.label[:, 0] == 0) > 0.9
    # The reported radius is a valid lower bound as often.
    assert np.mean(result.radius_lower > exact) <= upper_3se(alpha, trials)
    assert np.all(result.num_samples <= n_max)


# ------------------------------------------------------------------- savings
def test_easy_inputs_stop_early_and_certify_like_fixed_n():
    sigma, r, alpha, n_max, t = 0.25, 0.25, 0.001, 10_000, 0.5
    x, exact = inputs_with_radius(np.linspace(4 * r, 6 * r, 100), t)
    smoothed = smoothed_classifier(threshold_model(t), 2, sigma, seed=4)
    seq = smoothed.certify_sequential(x, r, n_max=n_max, alpha=alpha,
                                      batch_size=10_000, verbose=0)
    fixed = smoothed.certify(x, n0=100, n=n_max, alpha=alpha,
                             batch_size=10_000, verbose=0)
    fixed_certified = int(np.sum((fixed.label == 0) & (fixed.radius >= r)))
    assert int(np.sum(seq.label == 0)) >= fixed_certified
    assert fixed_certified == len(x)
    mean = float(np.mean(seq.num_samples))
    assert mean <= n_max / 10
    assert mean <= n_max / 100  # measured: 100, the first look


def test_near_threshold_certifies_within_3_points_of_fixed_n():
    """True radii uniform in [0.9 r, 1.1 r]: the sequential rule's certified
    fraction vs fixed-n CERTIFY's exact expected fraction at n = n_max."""
    sigma, r, alpha, n_max, t = 0.25, 0.25, 0.01, 2000, 0.5
    trials = 4000
    rng = np.random.default_rng(5)
    x, exact = inputs_with_radius(rng.uniform(0.9 * r, 1.1 * r, trials), t)
    smoothed = smoothed_classifier(threshold_model(t), 2, sigma, seed=6)
    seq = smoothed.certify_sequential(x, r, n_max=n_max, alpha=alpha,
                                      batch_size=20_000, verbose=0)
    p = special.ndtr(exact / sigma)
    fixed = float(np.mean(fixed_n_certify_probability(p, r, sigma, n_max,
                                                      alpha)))
    rate = float(np.mean(seq.label == 0))
    assert rate >= fixed - 0.03, (rate, fixed)
    # It cannot beat the exact power of the best fixed-n test by much.
    assert rate <= fixed + 3 * np.sqrt(0.25 / trials)


# ------------------------------------------------------------ API and errors
def test_result_and_reproducibility():
    t, sigma = 0.5, 0.25
    x, _ = inputs_with_radius([0.02, 0.3, 1.0], t)
    runs = [smoothed_classifier(threshold_model(t), 2, sigma, seed=7)
            .certify_sequential(x, 0.1, n_max=5000, alpha=0.01, verbose=0)
            for _ in range(2)]
    for name in ("label", "num_samples", "p_lower", "p_upper"):
        np.testing.assert_array_equal(getattr(runs[0], name),
                                      getattr(runs[1], name))
    res = runs[0]
    assert res.label.shape == (3,) and res.radii.tolist() == [0.1]
    assert res.label[0] == -1 and res.label[2] == 0
    assert res.num_samples[2] == 100
    assert np.all(res.p_lower <= res.p_upper)
    # Lower bound on p_A = Phi(1 / 0.25) ~ 1 from 100 of 100 draws at the
    # first look's level alpha / (2 * (K - 1)), K = 7 looks up to 5000.
    looks = cs.look_schedule(5000)
    assert len(looks) == 7
    np.testing.assert_allclose(
        res.p_lower[2], (0.01 / 12) ** (1 / 100), rtol=1e-9)
    assert "SequentialCertifyResult(3 inputs" in repr(res)


@pytest.mark.parametrize("kwargs,match", [
    ({"radius": 0.0}, "`radius` must be in \\(0, inf\\), got 0.0"),
    ({"radius": -1}, "`radius`"),
    ({"radius": [0.25, 0.0]}, "`radius`"),
    ({"radius": []}, "`radius` must hold at least one"),
    ({"n_max": 0}, "`n_max` must be in \\[1, inf\\), got 0"),
    ({"n_max": 50}, "`n_max` must be >= `n0`.*n_max=50 < n0=100"),
    ({"batch_size": 0}, "`batch_size` must be in \\[1, inf\\), got 0"),
    ({"alpha": 0.0}, "`alpha` must be in \\(0, 1\\), got 0.0"),
    ({"alpha": 1.0}, "`alpha` must be in \\(0, 1\\), got 1.0"),
    ({"growth": 1.0}, "`growth`"),
    ({"scheme": "betting"}, "`scheme` must be one of"),
    ({"split": "half"}, "`split` must be one of"),
])
def test_bad_input_fails_before_sampling(kwargs, match):
    smoothed = smoothed_classifier(threshold_model(0.5), 2, 0.25, seed=0)

    def no_sampling(*args, **kw):
        raise AssertionError("sampled before checking the arguments")

    smoothed.sample_counts = no_sampling
    x, _ = inputs_with_radius([0.1], 0.5)
    args = {"radius": 0.1, "n_max": 1000, "alpha": 0.001, "n0": 100,
            "batch_size": 100}
    args.update(kwargs)
    radius = args.pop("radius")
    with pytest.raises(ValueError, match=match):
        smoothed.certify_sequential(x, radius, **args)


def test_one_look_is_fixed_n_certify_on_the_same_draws():
    """With `first = n_max` there is one look with all of alpha: the rule
    is CERTIFY, and with the same seed it sees certify's draws, so p_lower
    is certify's Clopper-Pearson bound (scipy) on its own counts."""
    sigma, r, alpha, n, t = 0.25, 0.1, 0.01, 1000, 0.5
    x, _ = inputs_with_radius(np.linspace(0.05, 0.2, 12), t)
    smoothed = smoothed_classifier(threshold_model(t), 2, sigma, seed=0)
    fixed = smoothed.certify(x, n0=100, n=n, alpha=alpha, seed=5, verbose=0)
    seq = smoothed.certify_sequential(x, r, n_max=n, alpha=alpha, n0=100,
                                      first=n, seed=5, verbose=0)
    np.testing.assert_array_equal(seq.counts_selection,
                                  fixed.counts_selection)
    cand = seq.candidate
    n_a = fixed.counts_estimation[np.arange(len(x)), cand]
    np.testing.assert_allclose(
        seq.p_lower, np.where(n_a > 0, stats.beta.ppf(
            alpha, np.maximum(n_a, 1), n - n_a + 1), 0.0), rtol=1e-9)
    certified = (fixed.label != -1) & (fixed.radius > r)
    np.testing.assert_array_equal(seq.label != -1, certified)


def test_draws_do_not_depend_on_the_other_inputs():
    """An input's result depends on the seed and its index only."""
    t, sigma = 0.5, 0.25
    x, _ = inputs_with_radius(np.linspace(0.0, 0.3, 8), t)
    smoothed = smoothed_classifier(threshold_model(t), 2, sigma, seed=0)
    whole = smoothed.certify_sequential(x, 0.1, n_max=3000, alpha=0.01,
                                        seed=3, verbose=0)
    part = smoothed.certify_sequential(x[2:5], 0.1, n_max=3000, alpha=0.01,
                                       seed=3, indices=[2, 3, 4], verbose=0)
    for name in ("label", "num_samples", "p_lower", "p_upper"):
        np.testing.assert_array_equal(getattr(part, name),
                                      getattr(whole, name)[2:5])
