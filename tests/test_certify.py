"""CERTIFY, T-CERTIFY and PREDICT from counts.

Hand-checked values, the statistical guarantee (coverage over thousands of
simulated count vectors from known class probabilities), an analytic base
classifier whose certified radius is known exactly, and argument checks.
"""

import zlib

import numpy as np
import pytest
from scipy import optimize, stats

from kerasrobust.smoothing.certify import (
    ABSTAIN,
    certify_counts_batch,
    certify_from_counts,
    default_alpha_prime_grid,
    predict_from_counts,
)


def _cp_lower_ref(k, n, alpha):
    return stats.beta.ppf(alpha, k, n - k + 1)


def _runner_up_ref(others, n, alpha):
    f = lambda p: float(np.sum(stats.binom.cdf(others, n, p))) - alpha  # noqa
    return optimize.brentq(f, 0.0, 1.0, xtol=1e-15, rtol=1e-13)


# ---------------------------------------------------------------------------
# CERTIFY (Cohen et al.)
# ---------------------------------------------------------------------------

def test_certify_hand_checked_example():
    label, radius = certify_from_counts([2, 97, 1], [4, 990, 6], sigma=0.5,
                                        alpha=0.001)
    assert label == 1 and isinstance(label, int)
    expected = 0.5 * stats.norm.ppf(stats.beta.ppf(0.001, 990, 11))
    assert radius == pytest.approx(expected, rel=1e-12)
    assert radius == pytest.approx(0.98900479107, rel=1e-9)


def test_certify_uses_the_selection_class_and_abstains():
    # Selection says class 0; the estimation count of class 0 is tiny, so
    # CERTIFY abstains even though class 1 dominates the estimation counts.
    assert certify_from_counts([60, 40], [100, 900], 0.25, 0.001) == (
        ABSTAIN, 0.0)
    # pABar < 0.5 -> abstain; just above -> a small radius.
    assert certify_from_counts([10, 0], [520, 480], 1.0, 0.01)[0] == ABSTAIN
    label, radius = certify_from_counts([10, 0], [600, 400], 1.0, 0.01)
    assert label == 0
    assert radius == pytest.approx(stats.norm.ppf(_cp_lower_ref(600, 1000,
                                                                0.01)))
    # Ties in the selection counts go to the first class, as np.argmax.
    assert certify_from_counts([5, 5], [900, 100], 1.0, 0.01)[0] == 0


def test_certify_scales_with_sigma():
    r1 = certify_from_counts([0, 10, 0], [5, 980, 15], 1.0, 0.001)[1]
    r2 = certify_from_counts([0, 10, 0], [5, 980, 15], 0.25, 0.001)[1]
    assert r2 == pytest.approx(0.25 * r1, rel=1e-12)


# ---------------------------------------------------------------------------
# PREDICT
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("counts,alpha", [
    ([10, 60, 30], 0.001), ([10, 60, 30], 0.01), ([50, 50, 0], 0.5),
    ([0, 7, 0, 0], 0.01), ([3, 0, 90, 7], 0.001), ([1, 0], 0.6),
])
def test_predict_matches_the_binomial_test(counts, alpha):
    order = np.argsort(counts)[::-1]
    nA, nB = counts[order[0]], counts[order[1]]
    pvalue = stats.binomtest(nA, nA + nB, 0.5).pvalue
    expected = int(order[0]) if pvalue <= alpha and nA > nB else ABSTAIN
    assert predict_from_counts(counts, alpha) == expected


def test_predict_examples():
    assert predict_from_counts([10, 60, 30], 0.01) == 1  # p = 0.0026
    assert predict_from_counts([10, 60, 30], 0.001) == ABSTAIN
    assert predict_from_counts([50, 50, 0], 0.5) == ABSTAIN  # tie: p = 1
    assert predict_from_counts([0, 7, 0, 0], 0.02) == 1  # 7 of 7: p = 1/64
    assert predict_from_counts([0, 7, 0, 0], 0.01) == ABSTAIN


# ---------------------------------------------------------------------------
# T-CERTIFY
# ---------------------------------------------------------------------------

def test_t_certify_fixed_alpha_prime_hand_checked():
    cs, ce = [3, 60, 12, 25], [40, 6000, 1500, 2460]
    sigma, alpha, ap = 0.5, 0.001, 0.0004
    label, radius = certify_from_counts(cs, ce, sigma, alpha, method="tight",
                                        alpha_prime=ap)
    pA = _cp_lower_ref(6000, 10_000, ap)
    pB = _runner_up_ref([40, 1500, 2460], 10_000, alpha - ap)
    assert pB < 1 - pA  # the cap is not active here
    expected = sigma / 2 * (stats.norm.ppf(pA) - stats.norm.ppf(pB))
    assert label == 1
    assert radius == pytest.approx(expected, rel=1e-9)
    # CERTIFY on the same counts only uses pB = 1 - pA: a smaller radius.
    assert certify_from_counts(cs, ce, sigma, alpha)[1] < radius


def test_t_certify_at_alpha_prime_equal_alpha_is_certify():
    rng = np.random.default_rng(0)
    p = np.array([0.7, 0.2, 0.1])
    for _ in range(20):
        cs, ce = rng.multinomial(100, p), rng.multinomial(1000, p)
        cohen = certify_from_counts(cs, ce, 0.5, 0.01)
        tight = certify_from_counts(cs, ce, 0.5, 0.01, method="tight",
                                    alpha_prime=0.01)
        assert tight == cohen  # exactly, thanks to the cap
    # Without the cap alpha' = alpha leaves no error for pBBar (= 1): abstain.
    assert certify_from_counts([0, 10], [10, 990], 0.5, 0.01, method="tight",
                               alpha_prime=0.01, cap_runner_up=False) == (
        ABSTAIN, 0.0)


def test_t_certify_cap_only_helps_and_is_at_least_certify_at_alpha_prime():
    cs, ce = [1, 9, 0], [20, 950, 30]
    sigma, alpha = 1.0, 0.001
    for ap in default_alpha_prime_grid(alpha):
        capped = certify_from_counts(cs, ce, sigma, alpha, method="tight",
                                     alpha_prime=ap)[1]
        uncapped = certify_from_counts(cs, ce, sigma, alpha, method="tight",
                                       alpha_prime=ap, cap_runner_up=False)[1]
        floor = sigma * stats.norm.ppf(_cp_lower_ref(950, 1000, ap))
        assert capped >= uncapped
        assert capped >= floor - 1e-12


def test_grid_is_the_maximum_over_fixed_alpha_primes():
    cs, ce = [5, 50, 20, 25], [480, 5200, 2000, 2320]
    grid = default_alpha_prime_grid(0.001)
    np.testing.assert_allclose(grid, 0.001 * np.arange(1, 11) / 10)
    fixed = [certify_from_counts(cs, ce, 0.5, 0.001, method="tight",
                                 alpha_prime=a)[1] for a in grid]
    grid_radius = certify_from_counts(cs, ce, 0.5, 0.001, method="tight",
                                      alpha_prime="grid")[1]
    assert grid_radius == max(fixed)
    selection = certify_from_counts(cs, ce, 0.5, 0.001, method="tight")[1]
    assert selection in fixed and selection <= grid_radius
    # A custom grid (absolute alpha' values) is honoured.
    only = certify_from_counts(cs, ce, 0.5, 0.001, method="tight",
                               alpha_prime="grid", grid=[0.0003])[1]
    assert only == pytest.approx(fixed[2], rel=1e-9)


def test_selection_rule_does_not_look_at_the_estimation_counts():
    # The alpha' that "selection" uses must be the same for any estimation
    # counts: find it on one estimation vector and check it on others.
    sigma, alpha = 0.5, 0.001
    grid = default_alpha_prime_grid(alpha)
    rng = np.random.default_rng(1)
    probabilities = ([0.05, 0.6, 0.15, 0.2], [0.1, 0.7, 0.1, 0.1],
                     [0.02, 0.9, 0.05, 0.03], [0.2, 0.55, 0.15, 0.1])
    for cs in ([0, 58, 14, 28], [2, 97, 1, 0], [30, 31, 20, 19]):
        estimations = [rng.multinomial(10_000, p) for p in probabilities]
        matches = None
        for ce in estimations:
            radius = certify_from_counts(cs, ce, sigma, alpha,
                                         method="tight")[1]
            if radius == 0.0:
                continue
            fixed = np.array([certify_from_counts(
                cs, ce, sigma, alpha, method="tight", alpha_prime=a)[1]
                for a in grid])
            here = set(np.flatnonzero(fixed == radius))
            matches = here if matches is None else matches & here
        assert matches is not None
        assert matches, f"no single alpha' explains selection for {cs}"


def test_t_certify_beats_certify_when_mass_is_spread():
    rng = np.random.default_rng(2)
    p = np.array([0.6, 0.1, 0.1, 0.1, 0.1])
    cs, ce = rng.multinomial(100, p, size=300), rng.multinomial(10_000, p,
                                                                 size=300)
    _, cohen = certify_counts_batch(cs, ce, 0.5, 0.001)
    _, tight = certify_counts_batch(cs, ce, 0.5, 0.001, method="tight")
    # About 0.107 vs 0.355 on average (true radius 0.384).
    assert tight.mean() > 2.5 * cohen.mean()
    assert np.mean(tight >= cohen) > 0.95


def test_batch_matches_single_calls():
    rng = np.random.default_rng(3)
    p = np.array([0.5, 0.3, 0.2])
    cs, ce = rng.multinomial(50, p, size=25), rng.multinomial(500, p, size=25)
    for kw in ({}, {"method": "tight"}, {"method": "tight",
                                         "alpha_prime": "grid"}):
        labels, radii = certify_counts_batch(cs, ce, 0.25, 0.01, **kw, n=500,
                                             n0=np.full(25, 50))
        assert labels.dtype == np.int64 and radii.shape == (25,)
        for i in range(25):
            assert (labels[i], radii[i]) == certify_from_counts(
                cs[i], ce[i], 0.25, 0.01, **kw)


# ---------------------------------------------------------------------------
# Coverage: the guarantee, checked by simulation
# ---------------------------------------------------------------------------

def _failure_rate(p, n0, n, alpha, trials, seed, sigma=0.5, check_alpha=None,
                  **kwargs):
    """Fraction of wrong certificates for counts drawn from probabilities p.

    A certificate is wrong when it returns a label other than the true top
    class, or a radius above sigma/2 (Phi^-1(p_A) - Phi^-1(p_B)), the radius
    the exact p_A, p_B give (Cohen et al.'s Theorem 1; for the worst-case
    base classifier nothing larger holds). ``check_alpha`` certifies at a
    different level than the one the caller will compare with.
    """
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p)[::-1]
    top, pA, pB = int(order[0]), p[order[0]], p[order[1]]
    assert pA > pB
    true_radius = sigma / 2 * (stats.norm.ppf(pA) - stats.norm.ppf(pB))
    rng = np.random.default_rng(seed)
    cs = rng.multinomial(n0, p, size=trials)
    ce = rng.multinomial(n, p, size=trials)
    labels, radii = certify_counts_batch(
        cs, ce, sigma, check_alpha or alpha, **kwargs)
    wrong = ((labels != ABSTAIN) & (labels != top)) | (
        radii > true_radius * (1 + 1e-12))
    return float(wrong.mean()), float(np.mean(labels != ABSTAIN))


def _limit(alpha, trials):
    return alpha + 3 * np.sqrt(alpha * (1 - alpha) / trials)


COVERAGE_CASES = {
    # name: (p, n0, n)
    "2 classes": ([0.8, 0.2], 100, 500),
    "10 classes, 4 share the mass": ([0.55, 0.2, 0.15, 0.1] + [0] * 6,
                                     100, 500),
    "10 classes, concentrated": ([0.9] + [0.1 / 9] * 9, 100, 500),
    "boundary p_A = 0.55, 2 classes": ([0.55, 0.45], 10, 1000),
    "boundary p_A = 0.55, 3 classes": ([0.3, 0.55, 0.15], 10, 1000),
}


@pytest.mark.parametrize("method", ["cohen", "tight"])
@pytest.mark.parametrize("case", list(COVERAGE_CASES))
def test_coverage(case, method):
    p, n0, n = COVERAGE_CASES[case]
    alpha, trials = 0.1, 2000
    rate, certified = _failure_rate(p, n0, n, alpha, trials,
                                    seed=zlib.crc32(case.encode()),
                                    method=method)
    assert certified > 0.3  # the check is not vacuous
    assert rate <= _limit(alpha, trials), (case, method, rate)


def test_coverage_check_has_power():
    # The same check catches a certifier that spends 2 * alpha (Cohen's
    # factor 2 forgotten) where the bound is nearly exact (2 classes).
    alpha, trials = 0.1, 2000
    p, n0, n = COVERAGE_CASES["2 classes"]
    rate, _ = _failure_rate(p, n0, n, alpha, trials, seed=5,
                            check_alpha=2 * alpha)
    assert rate > _limit(alpha, trials)
    rate, _ = _failure_rate(p, n0, n, alpha, trials, seed=5,
                            check_alpha=2 * alpha, method="tight")
    assert rate > _limit(alpha, trials)


@pytest.mark.large
@pytest.mark.parametrize("alpha_prime", ["selection", "grid"])
@pytest.mark.parametrize("case", list(COVERAGE_CASES) + ["spread"])
def test_coverage_large(case, alpha_prime):
    """20,000 trials per case; "grid" is measured, not required to hold.

    Measured (alpha = 0.1, 20,000 trials, seed 7) -- see the README table.
    """
    p, n0, n = COVERAGE_CASES.get(case, ([0.6, 0.1, 0.1, 0.1, 0.1], 100,
                                         1000))
    alpha, trials = 0.1, 20_000
    rate, _ = _failure_rate(p, n0, n, alpha, trials, seed=7, method="tight",
                            alpha_prime=alpha_prime)
    print(f"{case}: alpha_prime={alpha_prime} failure rate {rate:.4f}")
    if alpha_prime == "selection":
        assert rate <= _limit(alpha, trials)


# ---------------------------------------------------------------------------
# An analytic base classifier
# ---------------------------------------------------------------------------

def test_linear_classifier_radius_is_sound_and_tight():
    # f(x) = 1[w.x + b > 0] under N(0, sigma^2 I) noise predicts class 1
    # with probability Phi((w.x + b) / (sigma ||w||)) exactly, and g = f, so
    # the true certified radius is the distance |w.x + b| / ||w|| to the
    # decision boundary.
    rng = np.random.default_rng(11)
    d, sigma, alpha, trials = 20, 0.5, 0.05, 3000
    w, b = rng.normal(size=d), 0.3
    x = rng.normal(size=(trials, d)) * 0.4
    margin = x @ w + b
    norm_w = np.linalg.norm(w)
    true_radius = np.abs(margin) / norm_w
    true_label = (margin > 0).astype(int)
    p1 = stats.norm.cdf(margin / (sigma * norm_w))

    def counts(num):
        ones = rng.binomial(num, p1)
        return np.stack([num - ones, ones], axis=1)

    cs, ce = counts(100), counts(2000)
    for method in ("cohen", "tight"):
        labels, radii = certify_counts_batch(cs, ce, sigma, alpha,
                                             method=method)
        wrong = ((labels != ABSTAIN) & (labels != true_label)) | (
            radii > true_radius)
        assert wrong.mean() <= _limit(alpha, trials), method
        assert np.mean(labels == true_label) > 0.5

    # The certified radius approaches the true one as n grows.
    x0 = np.full(d, 0.0)
    x0[0] = (1.5 * sigma * norm_w - b) / w[0]  # p_A = Phi(1.5)
    m0 = x0 @ w + b
    p_true = stats.norm.cdf(m0 / (sigma * norm_w))
    gaps = []
    for n in (1000, 10_000, 100_000, 1_000_000):
        draws = rng.binomial(n, p_true, size=20)
        rel = [certify_from_counts([0, 10], [n - k, k], sigma, 0.001)[1]
               / (abs(m0) / norm_w) for k in draws]
        gaps.append(1 - np.mean(rel))
    assert np.all(np.diff(gaps) < 0)
    assert gaps[-1] < 0.01


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

GOOD = dict(counts_selection=[1, 9, 0], counts_estimation=[10, 80, 10],
            sigma=0.5, alpha=0.01)


@pytest.mark.parametrize("change,name", [
    ({"sigma": 0.0}, "`sigma`"),
    ({"sigma": -1.0}, "`sigma`"),
    ({"alpha": 0.0}, "`alpha`"),
    ({"alpha": 1.0}, "`alpha`"),
    ({"alpha": "0.1"}, "`alpha`"),
    ({"method": "tcertify"}, "`method`"),
    ({"counts_selection": [1, -9, 0]}, "`counts_selection`"),
    ({"counts_selection": [1.5, 9, 0]}, "`counts_selection`"),
    ({"counts_estimation": [10, 80]}, "`counts_selection` and "
                                      "`counts_estimation`"),
    ({"counts_selection": [1], "counts_estimation": [100]}, "K >= 2"),
    ({"counts_estimation": [[10, 80, 10]]}, "`counts_estimation`"),
    ({"counts_estimation": [0, 0, 0]}, "`counts_estimation`"),
    ({"counts_selection": [0, 0, 0]}, "`counts_selection`"),
    ({"n": 99}, "`n`"),
    ({"n": 0}, "`n`"),
    ({"n0": 11}, "`n0`"),
    ({"method": "tight", "alpha_prime": "max"}, "`alpha_prime`"),
    ({"method": "tight", "alpha_prime": 0.02}, "`alpha_prime`"),
    ({"method": "tight", "alpha_prime": 0.0}, "`alpha_prime`"),
    ({"method": "tight", "alpha_prime": None}, "`alpha_prime`"),
    ({"method": "tight", "grid": []}, "`grid`"),
    ({"method": "tight", "grid": [0.001, 0.05]}, "`grid`"),
    ({"method": "tight", "grid": [0.0, 0.005]}, "`grid`"),
    ({"method": "tight", "cap_runner_up": "yes"}, "`cap_runner_up`"),
])
def test_certify_bad_input_names_the_parameter(change, name):
    with pytest.raises((ValueError, TypeError)) as info:
        certify_from_counts(**{**GOOD, **change})
    assert name in str(info.value)


def test_counts_that_do_not_sum_to_n_are_a_clear_error():
    with pytest.raises(ValueError) as info:
        certify_from_counts([1, 9, 0], [10, 80, 10], 0.5, 0.01, n=1000)
    message = str(info.value)
    assert "`counts_estimation` must sum to `n`" in message
    assert "1000" in message and "100" in message
    assert certify_from_counts([1, 9, 0], [10, 80, 10], 0.5, 0.01,
                               n=100, n0=10)[0] == 1


def test_batch_bad_input():
    cs = np.array([[1, 9], [5, 5]])
    ce = np.array([[10, 90], [50, 50]])
    with pytest.raises(ValueError, match="`counts_selection`"):
        certify_counts_batch(cs[0], ce[0], 0.5, 0.01)
    with pytest.raises(ValueError, match="row 1"):
        certify_counts_batch(cs, ce, 0.5, 0.01, n=[100, 99])
    with pytest.raises(ValueError, match="`n`"):
        certify_counts_batch(cs, ce, 0.5, 0.01, n=[100, 100, 100])
    with pytest.raises(ValueError, match="row 1"):
        certify_counts_batch(cs, np.array([[10, 90], [0, 0]]), 0.5, 0.01)


@pytest.mark.parametrize("change,name", [
    ({"alpha": 0.0}, "`alpha`"),
    ({"counts": [5]}, "K >= 2"),
    ({"counts": [5, -1]}, "`counts`"),
    ({"counts": [0, 0]}, "`counts`"),
    ({"n": 7}, "`n`"),
])
def test_predict_bad_input(change, name):
    with pytest.raises((ValueError, TypeError)) as info:
        predict_from_counts(**{"counts": [5, 1], "alpha": 0.1, **change})
    assert name in str(info.value)


def test_abstentions_are_results_not_errors():
    assert certify_from_counts([5, 5], [50, 50], 0.5, 0.01) == (ABSTAIN, 0.0)
    assert certify_from_counts([5, 5], [50, 50], 0.5, 0.01,
                               method="tight") == (ABSTAIN, 0.0)
    assert predict_from_counts([50, 50], 0.01) == ABSTAIN


def test_empty_batch_checks_the_arguments_only():
    # SmoothedClassifier validates its statistics arguments this way before
    # any sampling.
    empty = np.ones((0, 4), np.int64)
    labels, radii = certify_counts_batch(empty, empty, 0.5, 0.001,
                                         method="tight", alpha_prime="grid")
    assert labels.shape == radii.shape == (0,)
    with pytest.raises(ValueError, match="`alpha_prime`"):
        certify_counts_batch(empty, empty, 0.5, 0.001, method="tight",
                             alpha_prime=0.5)


# ---------------------------------------------------------------------------
# T-CERTIFY's alpha' rule on saturated counts; the plug-in forecast
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [10_000, 100_000])
@pytest.mark.parametrize("num_classes", [2, 10, 1000])
def test_saturated_counts_lose_little_against_certify(n, num_classes):
    # Every vote on the top class: CERTIFY's split (alpha' = alpha) is the
    # best one, radius sigma * Phi^-1(alpha ** (1 / n)) in closed form. The
    # selection rule cannot know that the estimation counts will be
    # saturated too; it must stay within 0.5 % of CERTIFY (before the
    # two-forecast rule it chose alpha' = 0.4 alpha and lost 1.1 %).
    sigma, alpha = 0.25, 0.001
    cs = np.zeros(num_classes, np.int64)
    ce = np.zeros(num_classes, np.int64)
    cs[1], ce[1] = 100, n
    certify = sigma * stats.norm.ppf(alpha ** (1 / n))
    assert certify_from_counts(cs, ce, sigma, alpha)[1] == pytest.approx(
        certify, rel=1e-9)
    label, radius = certify_from_counts(cs, ce, sigma, alpha, method="tight")
    assert label == 1
    assert 0.995 * certify <= radius <= certify * (1 + 1e-12)
    # The radius at the old choice, for comparison: lower than the rule's.
    old = certify_from_counts(cs, ce, sigma, alpha, method="tight",
                              alpha_prime=0.4 * alpha)[1]
    assert old < radius


def test_plug_in_counts_by_hand():
    import tensorflow as tf

    from kerasrobust.smoothing.certify import PSEUDO_COUNT, plug_in_counts

    cs = np.array([[100, 0, 0], [60, 30, 10], [7, 0, 3]], np.float64)
    n = np.array([1000.0, 1000.0, 333.0])
    got = plug_in_counts(tf.constant(cs), tf.constant(n)).numpy()
    e = PSEUDO_COUNT
    # Unseen classes share `e` pseudo-samples; total n0 + e; scaled to n,
    # rounded half to even (np.rint).
    want = np.rint(np.array([
        [100, e / 2, e / 2], [60, 30, 10], [7, e, 3]]) * (
        n / np.array([100 + e, 100, 10 + e]))[:, None])
    np.testing.assert_array_equal(got, want)


def test_n0_above_n_is_an_error():
    with pytest.raises(ValueError, match="`n0`.*`n`"):
        certify_from_counts([100, 0], [5, 5], 0.5, 0.01)
    with pytest.raises(ValueError, match="`n0`.*`n`"):
        certify_counts_batch([[1, 1], [100, 0]], [[5, 5], [5, 5]], 0.5, 0.01)
