"""In-graph CERTIFY / T-CERTIFY / PREDICT equal the NumPy/scipy versions.

`kerasrobust.smoothing.certify` is the reference (it is itself tested
against hand computations and by coverage simulations in test_certify.py);
the graph version is a separate implementation (bisection on
tf.math.betainc instead of scipy's inverses and brentq)."""

import numpy as np
import pytest
import tensorflow as tf

from kerasrobust.smoothing import certify as reference
from kerasrobust.smoothing import graph_certify


def _counts(rng, num, num_classes, n0, n):
    """Count vectors of varied shapes: confident, spread, tied, extreme."""
    p = rng.dirichlet(np.full(num_classes, rng.choice([0.2, 1.0, 3.0])),
                      size=num)
    p[: num // 3, 0] += 4.0  # a clear top class for a third of the rows
    p /= p.sum(axis=1, keepdims=True)
    cs = np.stack([rng.multinomial(n0, q) for q in p])
    ce = np.stack([rng.multinomial(n, q) for q in p])
    # Edge rows: every sample on one class; an exact tie in the selection.
    cs[-1] = 0
    cs[-1, -1] = n0
    ce[-1] = 0
    ce[-1, -1] = n
    cs[-2] = 0
    cs[-2, :2] = [n0 // 2, n0 - n0 // 2]
    return cs, ce


@pytest.mark.parametrize("num_classes", [2, 3, 10])
@pytest.mark.parametrize("n", [10, 100, 1000, 100_000])
@pytest.mark.parametrize("alpha", [0.001, 0.05, 0.3])
def test_graph_certify_equals_certify_from_counts(num_classes, n, alpha):
    rng = np.random.default_rng([num_classes, n, int(alpha * 1000)])
    cs, ce = _counts(rng, 24, num_classes, 100, n)
    sigma = 0.5
    for method, fn in (("cohen", graph_certify.certify_cohen),
                       ("tight", graph_certify.certify_tight)):
        label, radius = fn(tf.constant(cs), tf.constant(ce), float(n), sigma,
                           alpha)
        want_label, want_radius = reference.certify_counts_batch(
            cs, ce, sigma, alpha, method=method)
        np.testing.assert_array_equal(label.numpy(), want_label)
        np.testing.assert_allclose(radius.numpy(), want_radius, rtol=0,
                                   atol=1e-6)


def test_cases_include_abstentions_and_certificates():
    rng = np.random.default_rng(0)
    cs, ce = _counts(rng, 24, 3, 100, 100)
    label, _ = graph_certify.certify_tight(tf.constant(cs), tf.constant(ce),
                                           100.0, 0.5, 0.001)
    assert (label.numpy() == -1).any() and (label.numpy() >= 0).any()


@pytest.mark.parametrize("n", [5, 100, 10_000])
@pytest.mark.parametrize("alpha", [0.001, 0.1])
def test_graph_predict_equals_predict_from_counts(n, alpha):
    rng = np.random.default_rng(n)
    _, counts = _counts(rng, 30, 4, 100, n)
    counts[0] = [n // 2, n - n // 2, 0, 0]  # tie or near tie: abstain
    got = graph_certify.predict(tf.constant(counts), alpha).numpy()
    want = [reference.predict_from_counts(c, alpha) for c in counts]
    np.testing.assert_array_equal(got, want)


def test_first_argmax_takes_the_first_of_ties():
    counts = tf.constant([[3, 5, 5, 1], [2, 2, 2, 2], [0, 0, 0, 9]])
    np.testing.assert_array_equal(
        graph_certify.first_argmax(counts).numpy(), [1, 0, 3])


def test_plug_in_counts_round_like_numpy():
    rng = np.random.default_rng(3)
    cs = rng.multinomial(100, rng.dirichlet(np.ones(7) * 0.3), size=50)
    for n in (10, 333, 1000, 12345):
        got = graph_certify.plug_in_counts(tf.constant(cs), float(n)).numpy()
        want = np.stack([reference._plug_in_counts(c, n) for c in cs])
        np.testing.assert_array_equal(got, want)
