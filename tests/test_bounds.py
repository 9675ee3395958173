"""Confidence bounds against independent SciPy computations.

The references solve the defining equations with `scipy.optimize.brentq` on
`scipy.stats.binom` (no Beta quantiles, no statsmodels), so they share no
code path with `kerasrobust.smoothing.bounds` (which inverts the incomplete
beta function).
"""

import numpy as np
import pytest
from scipy import optimize, stats

from kerasrobust.smoothing.bounds import (
    clopper_pearson_lower,
    clopper_pearson_upper,
    runner_up_upper,
)

CASES = [  # (k, n, alpha), k = 0 and k = n included
    (0, 10, 0.05), (1, 10, 0.05), (5, 10, 0.05), (9, 10, 0.05),
    (10, 10, 0.05), (0, 1, 0.1), (1, 1, 0.1), (37, 100, 0.001),
    (990, 1000, 0.001), (1000, 1000, 0.001), (0, 1000, 0.001),
    (99_000, 100_000, 1e-5), (3, 100_000, 0.01), (50, 100, 0.4),
]


def _lower_ref(k, n, alpha):
    """sup{p : P(Bin(n, p) >= k) <= alpha}: root of sf(k - 1) = alpha."""
    if k == 0:
        return 0.0
    return optimize.brentq(lambda p: stats.binom.sf(k - 1, n, p) - alpha,
                           0.0, 1.0, xtol=1e-15, rtol=1e-13)


def _upper_ref(k, n, alpha):
    """inf{p : P(Bin(n, p) <= k) <= alpha}: root of cdf(k) = alpha."""
    if k == n:
        return 1.0
    return optimize.brentq(lambda p: stats.binom.cdf(k, n, p) - alpha,
                           0.0, 1.0, xtol=1e-15, rtol=1e-13)


def _runner_up_ref(others, n, alpha):
    """Root of sum_j binom.cdf(N_j, n, p) = alpha on the whole of [0, 1]."""
    f = lambda p: float(np.sum(stats.binom.cdf(others, n, p))) - alpha  # noqa
    return optimize.brentq(f, 0.0, 1.0, xtol=1e-15, rtol=1e-13)


@pytest.mark.parametrize("k,n,alpha", CASES)
def test_clopper_pearson_lower_matches_binomial_root(k, n, alpha):
    got = clopper_pearson_lower(k, n, alpha)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, _lower_ref(k, n, alpha), rtol=1e-9,
                               atol=1e-14)


@pytest.mark.parametrize("k,n,alpha", CASES)
def test_clopper_pearson_upper_matches_binomial_root(k, n, alpha):
    got = clopper_pearson_upper(k, n, alpha)
    np.testing.assert_allclose(got, _upper_ref(k, n, alpha), rtol=1e-9,
                               atol=1e-14)


def test_closed_forms_at_the_ends():
    # k = n: P(Bin(n, p) >= n) = p**n, so the lower bound is alpha**(1/n);
    # k = 0: P(Bin(n, p) <= 0) = (1 - p)**n, upper bound 1 - alpha**(1/n).
    for n, alpha in [(1, 0.1), (10, 0.05), (1000, 0.001)]:
        np.testing.assert_allclose(clopper_pearson_lower(n, n, alpha),
                                   alpha ** (1 / n), rtol=1e-12)
        np.testing.assert_allclose(clopper_pearson_upper(0, n, alpha),
                                   1 - alpha ** (1 / n), rtol=1e-10)
    assert clopper_pearson_lower(0, 7, 0.05) == 0.0
    assert clopper_pearson_upper(7, 7, 0.05) == 1.0


def test_vectorized_over_arrays_and_broadcasting():
    k = np.array([0, 3, 10])
    lower = clopper_pearson_lower(k, 10, 0.05)
    upper = clopper_pearson_upper(k, np.array([10, 10, 10]), 0.05)
    assert lower.shape == upper.shape == (3,)
    for i, ki in enumerate(k):
        assert lower[i] == clopper_pearson_lower(int(ki), 10, 0.05)
        assert upper[i] == clopper_pearson_upper(int(ki), 10, 0.05)
    grid = clopper_pearson_lower(60, 100, np.array([0.01, 0.05, 0.1]))
    assert np.all(np.diff(grid) > 0)  # a larger error gives a larger bound
    # Whole-number float counts (e.g. summed one-hot vectors) are accepted.
    assert clopper_pearson_lower(np.float32(3.0), 10.0, 0.05) == \
        clopper_pearson_lower(3, 10, 0.05)


def test_symmetry_between_lower_and_upper():
    for k, n, alpha in CASES:
        np.testing.assert_allclose(
            clopper_pearson_upper(k, n, alpha),
            1 - clopper_pearson_lower(n - k, n, alpha), rtol=1e-9,
            atol=1e-14)


@pytest.mark.parametrize("n,alpha", [(20, 0.05), (50, 0.1), (200, 0.01)])
def test_exact_coverage_of_the_one_sided_bounds(n, alpha):
    # P(lower > p) and P(upper < p), summed exactly over k ~ Bin(n, p), are
    # at most alpha for every p; with 2 * alpha (the factor-2 mistake) or
    # with the two-sided alpha / 2 the check below would fail or be slack.
    ks = np.arange(n + 1)
    lower = clopper_pearson_lower(ks, n, alpha)
    upper = clopper_pearson_upper(ks, n, alpha)
    worst = 0.0
    for p in np.linspace(0.001, 0.999, 499):
        pmf = stats.binom.pmf(ks, n, p)
        miss_low = pmf[lower > p].sum()
        miss_up = pmf[upper < p].sum()
        assert miss_low <= alpha + 1e-12
        assert miss_up <= alpha + 1e-12
        worst = max(worst, miss_low)
    assert worst > 0.6 * alpha  # the bound is not trivially loose either


def test_runner_up_with_one_class_is_clopper_pearson_upper():
    for k, n, alpha in CASES:
        if k == n:
            continue
        np.testing.assert_allclose(runner_up_upper([k], n, alpha),
                                   clopper_pearson_upper(k, n, alpha),
                                   rtol=1e-12)
        np.testing.assert_allclose(runner_up_upper([k], n, alpha),
                                   _upper_ref(k, n, alpha), rtol=1e-9)


@pytest.mark.parametrize("others,n,alpha", [
    ([30, 20, 10, 0], 100, 0.05),
    ([100, 100, 100, 100], 1000, 0.001),
    ([5, 5, 0, 0, 0, 0, 0, 0, 0], 1000, 0.0005),
    ([120, 40, 3, 0, 1], 500, 0.01),
    ([0] * 999, 100_000, 0.001),
])
def test_runner_up_several_classes(others, n, alpha):
    got = runner_up_upper(others, n, alpha)
    np.testing.assert_allclose(got, _runner_up_ref(others, n, alpha),
                               rtol=1e-9)
    # The sum condition of eq. 14 holds with equality at the root ...
    np.testing.assert_allclose(
        np.sum(stats.binom.cdf(others, n, got)), alpha, rtol=1e-7)
    # ... and never exceeds alpha there (the bound errs upwards).
    assert np.sum(stats.binom.cdf(others, n, got)) <= alpha * (1 + 1e-9)
    # At least each class's own Clopper-Pearson bound (union bound; equal
    # to float64 precision when the other classes' terms are negligible).
    for k in set(others):
        assert got >= clopper_pearson_upper(k, n, alpha)
    # Order of the classes does not matter.
    assert runner_up_upper(others[::-1], n, alpha) == pytest.approx(
        got, rel=1e-12)


def test_runner_up_counts_unseen_classes():
    # All other counts zero: (K - 1) (1 - p)**n = alpha in closed form, so
    # the number of classes matters even when none of them was predicted.
    n, alpha = 1000, 0.001
    for m in (1, 9, 999):
        np.testing.assert_allclose(runner_up_upper([0] * m, n, alpha),
                                   1 - (alpha / m) ** (1 / n), rtol=1e-9)
    assert runner_up_upper([0] * 999, n, alpha) > \
        runner_up_upper([0] * 9, n, alpha)


def test_runner_up_edge_cases():
    assert runner_up_upper([], 10, 0.05) == 0.0  # no other class at all
    assert runner_up_upper([3, 2], 10, 0.0) == 1.0  # no error allowed
    assert runner_up_upper([10, 0], 10, 0.05) == 1.0  # one class has all n
    assert runner_up_upper([10], 10, 0.05) == clopper_pearson_upper(
        10, 10, 0.05) == 1.0
    smaller = [runner_up_upper([10, 5, 0], 100, a)
               for a in (0.001, 0.01, 0.1, 0.5)]
    assert np.all(np.diff(smaller) < 0)


@pytest.mark.parametrize("call,name", [
    (lambda: clopper_pearson_lower(11, 10, 0.05), "`k`"),
    (lambda: clopper_pearson_lower(-1, 10, 0.05), "`k`"),
    (lambda: clopper_pearson_lower(2.5, 10, 0.05), "`k`"),
    (lambda: clopper_pearson_lower(np.nan, 10, 0.05), "`k`"),
    (lambda: clopper_pearson_lower(0, 0, 0.05), "`n`"),
    (lambda: clopper_pearson_upper(1, 10, 1.0), "`alpha`"),
    (lambda: clopper_pearson_upper(1, 10, -0.1), "`alpha`"),
    (lambda: clopper_pearson_upper(1, 10, [0.1, 1.5]), "`alpha`"),
    (lambda: clopper_pearson_upper([1, 2], [10, 10, 10], 0.1), "`k`"),
    (lambda: runner_up_upper([[1, 2]], 10, 0.1), "`other_counts`"),
    (lambda: runner_up_upper([11], 10, 0.1), "`other_counts`"),
    (lambda: runner_up_upper([6, 6], 10, 0.1), "`other_counts`"),
    (lambda: runner_up_upper([1, -1], 10, 0.1), "`other_counts`"),
    (lambda: runner_up_upper([1], 0, 0.1), "`n`"),
    (lambda: runner_up_upper([1], 10, 1.0), "`alpha`"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert name in str(info.value)


def test_bad_input_types():
    with pytest.raises(TypeError, match="`k`"):
        clopper_pearson_lower(True, 10, 0.05)
    with pytest.raises(TypeError, match="`k`"):
        clopper_pearson_lower("3", 10, 0.05)
    with pytest.raises(TypeError, match="`alpha`"):
        runner_up_upper([1], 10, "0.1")


# ---------------------------------------------------------------------------
# The tensor ops themselves (what the exported graphs run), batched
# ---------------------------------------------------------------------------

BETA_CASES = [(k, n) for n in (1, 7, 100, 1000, 100_000)
              for k in sorted({0, 1, n // 3, n // 2, (9 * n) // 10, n - 1,
                               n})]


@pytest.mark.parametrize("alpha", [1e-5, 1e-3, 0.05, 0.3])
def test_bounds_are_scipys_beta_quantiles_to_1e_9(alpha):
    k = np.array([c[0] for c in BETA_CASES])
    n = np.array([c[1] for c in BETA_CASES])
    lower = clopper_pearson_lower(k, n, alpha)
    upper = clopper_pearson_upper(k, n, alpha)
    with np.errstate(invalid="ignore"):
        want_lower = np.where(k > 0, stats.beta.ppf(alpha, np.maximum(k, 1),
                                                    n - k + 1), 0.0)
        want_upper = np.where(k < n, stats.beta.ppf(
            1 - alpha, k + 1, np.maximum(n - k, 1)), 1.0)
    np.testing.assert_allclose(lower, want_lower, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(upper, want_upper, rtol=1e-9, atol=1e-14)
    # Bisection keeps the valid side: P(Bin(n, p) >= k) <= alpha at the
    # lower bound, P(Bin(n, p) <= k) <= alpha at the upper bound.
    assert np.all(stats.binom.sf(k - 1, n, lower)[k > 0]
                  <= alpha * (1 + 1e-7))
    assert np.all(stats.binom.cdf(k, n, upper)[k < n] <= alpha * (1 + 1e-7))


def test_runner_up_bound_batched_equals_single_problems():
    import tensorflow as tf

    from kerasrobust.smoothing.bounds import runner_up_bound

    rng = np.random.default_rng(4)
    n = 1000
    problems = np.stack([rng.multinomial(n // 2, rng.dirichlet(np.ones(4)))
                         for _ in range(6)] + [np.zeros(4, np.int64)])
    alphas = np.array([1e-4, 1e-2, 0.3])
    # (problems, alphas, classes): the (N, G, K - 1) layout of T-CERTIFY.
    batch = np.broadcast_to(problems[:, None, :], (7, 3, 4))
    got = runner_up_bound(tf.constant(batch, tf.float64), float(n),
                          tf.constant(np.broadcast_to(alphas, (7, 3)))
                          ).numpy()
    for i, other in enumerate(problems):
        for j, alpha in enumerate(alphas):
            assert got[i, j] == runner_up_upper(other, n, alpha)
            np.testing.assert_allclose(
                got[i, j], _runner_up_ref(other, n, alpha), rtol=1e-9)


@pytest.mark.parametrize("n_a,n_b", [(1, 0), (5, 4), (4, 5), (7, 7), (30, 2),
                                     (500, 480), (0, 3), (60, 0)])
def test_binomial_test_pvalue_is_scipys(n_a, n_b):
    import tensorflow as tf

    from kerasrobust.smoothing.bounds import binomial_test_pvalue

    got = float(binomial_test_pvalue(tf.constant([n_a]),
                                     tf.constant([n_b]))[0])
    want = stats.binomtest(n_a, n_a + n_b, 0.5).pvalue
    assert got == pytest.approx(want, rel=1e-10, abs=1e-300)
