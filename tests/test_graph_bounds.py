"""The in-graph binomial bounds against scipy (independent implementations:
Boost's incomplete-beta inverse and binomial CDF)."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from kerasrobust.smoothing import graph_bounds

CASES = [(k, n) for n in (1, 7, 100, 1000, 100_000)
         for k in sorted({0, 1, n // 3, n // 2, (9 * n) // 10, n - 1, n})]


@pytest.mark.parametrize("alpha", [1e-3, 0.05, 0.3])
def test_clopper_pearson_lower_is_the_beta_quantile(alpha):
    k = np.array([c[0] for c in CASES], np.float64)
    n = np.array([c[1] for c in CASES], np.float64)
    got = graph_bounds.clopper_pearson_lower(k, n, alpha).numpy()
    with np.errstate(invalid="ignore"):
        want = np.where(k > 0, stats.beta.ppf(alpha, np.maximum(k, 1),
                                              n - k + 1), 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-14)
    # The bisection keeps the valid side: P(Bin(n, p) >= k) <= alpha.
    tail = stats.binom.sf(k - 1, n, got)
    assert np.all(tail[k > 0] <= alpha * (1 + 1e-7))


def _runner_up_sum(other_counts, n, p):
    return stats.binom.cdf(np.asarray(other_counts), n, p).sum()


@pytest.mark.parametrize("n", [10, 100, 1000, 100_000])
@pytest.mark.parametrize("alpha", [1e-4, 1e-2, 0.3])
def test_runner_up_upper_solves_eq_14(n, alpha):
    rng = np.random.default_rng(n)
    problems = [rng.multinomial(n // 2, rng.dirichlet(np.ones(4)))
                for _ in range(6)]
    problems.append(np.zeros(4, np.int64))
    got = graph_bounds.runner_up_upper(np.array(problems), n, alpha).numpy()
    for other, p in zip(problems, got):
        # f(p) <= alpha at the bound, f > alpha just below it (the infimum).
        assert _runner_up_sum(other, n, p) <= alpha * (1 + 1e-9)
        below = p * (1 - 1e-7) - 1e-15
        assert _runner_up_sum(other, n, below) > alpha * (1 - 1e-6)


def test_runner_up_with_one_other_class_is_clopper_pearson_upper():
    counts = np.array([[0], [3], [50], [99]])
    got = graph_bounds.runner_up_upper(counts, 100, 0.01).numpy()
    want = stats.beta.ppf(0.99, counts[:, 0] + 1, 100 - counts[:, 0])
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_runner_up_edge_cases_are_one():
    # alpha = 0, and another class holding every sample: no p < 1 works.
    got = graph_bounds.runner_up_upper(
        np.array([[5, 0], [10, 0]]), 10, np.array([0.0, 0.1])).numpy()
    np.testing.assert_array_equal(got, [1.0, 1.0])


@pytest.mark.parametrize("n_a,n_b", [(1, 0), (5, 4), (4, 5), (7, 7), (30, 2),
                                     (500, 480), (0, 3), (60, 0)])
def test_binomial_test_pvalue_is_scipys(n_a, n_b):
    got = float(graph_bounds.binomial_test_pvalue(
        tf.constant([n_a]), tf.constant([n_b]))[0])
    want = stats.binomtest(n_a, n_a + n_b, 0.5).pvalue
    assert got == pytest.approx(want, rel=1e-10, abs=1e-300)
