"""Certified accuracy, ACR and the high-probability lower bound."""

import numpy as np
import pytest
from scipy import stats

from kerasrobust.smoothing import average_certified_radius
from kerasrobust.smoothing import certified_accuracy
from kerasrobust.smoothing import certified_accuracy_lower_bound
from kerasrobust.smoothing import certified_correct
from kerasrobust.smoothing.certify import ABSTAIN
from kerasrobust.smoothing.certify import certify_counts_batch

from test_logs import ROWS


def test_certified_accuracy_and_acr_by_hand():
    radii = [0.0, 0.1, 0.2, 0.5, 0.6, 1.2, 1.3]
    # correct radii: 0.1, 0.3, 0.5, 0.5, 1.2 of 8 inputs
    expected = np.array([5, 5, 4, 3, 1, 1, 0]) / 8
    np.testing.assert_allclose(certified_accuracy(ROWS, radii), expected)
    assert certified_accuracy(ROWS, 0.5) == 3 / 8
    assert isinstance(certified_accuracy(ROWS, 0.5), float)
    assert average_certified_radius(ROWS) == pytest.approx(
        (0.1 + 0.3 + 0.5 + 0.5 + 1.2) / 8)


def test_columns_and_abstentions_count_as_wrong():
    columns = {"radius": np.array([0.0, 0.4, 0.2]),
               "correct": np.array([1, 1, 0]),
               "predict": np.array([ABSTAIN, 3, 1])}
    # The abstention is wrong even if someone marked it "correct".
    np.testing.assert_allclose(certified_accuracy(columns, [0.0, 0.3, 0.5]),
                               [1 / 3, 1 / 3, 0.0])
    assert average_certified_radius(columns) == pytest.approx(0.4 / 3)
    without_predict = {"radius": [0.5, 0.1], "correct": [True, False]}
    assert certified_accuracy(without_predict, 0.0) == 0.5


def test_certified_correct_per_input_by_hand():
    columns = {"radius": [0.0, 0.4, 0.2, 0.7], "predict": [ABSTAIN, 3, 1, 2],
               "label": [0, 3, 1, 5]}
    # Input 0 abstained, 1 is right with 0.4, 2 right with 0.2, 3 wrong.
    np.testing.assert_array_equal(
        certified_correct(columns, [0.0, 0.2, 0.3]),
        [[False, False, False], [True, True, True], [True, True, False],
         [False, False, False]])
    np.testing.assert_array_equal(certified_correct(columns, 0.3),
                                  [False, True, False, False])


def test_lower_bound_by_hand():
    # m = 8, alpha = 0.05: P(Bin(8, .05) = 0) = 0.663, <= 1: 0.943,
    # <= 2: 0.9942, so the 0.99 quantile is q = 2 wrong certificates.
    assert stats.binom.ppf(0.99, 8, 0.05) == 2
    got = certified_accuracy_lower_bound(ROWS, [0.0, 0.5, 0.6, 1.3], 0.05,
                                         0.99)
    np.testing.assert_allclose(got, [(5 - 2) / 8, (3 - 2) / 8, 0.0, 0.0])
    # With a tiny alpha no certificate is expected to fail: q = 0.
    assert certified_accuracy_lower_bound(ROWS, 0.0, 1e-6, 0.99) == 5 / 8
    # Never looser than the textbook Bernstein correction, and below the
    # approximate accuracy.
    m, alpha, rho = 500, 0.001, 0.001
    rows = [{"radius": 1.0, "correct": 1, "predict": 0}] * m
    exact = certified_accuracy_lower_bound(rows, 0.5, alpha, 1 - rho)
    log = np.log(1 / rho)
    bernstein = 1 - alpha - np.sqrt(2 * alpha * (1 - alpha) * log / m) - \
        2 * log / (3 * m)
    assert bernstein <= exact < 1.0
    assert exact == pytest.approx(1 - 4 / 500)


def test_lower_bound_holds_with_the_stated_probability():
    # m inputs of a 2-class problem with P(class 0) = 0.8 and label 0: g is
    # correct everywhere and its true radius (worst-case base classifier) is
    # R = sigma * Phi^-1(0.8). The true certified accuracy is 1 up to R and 0
    # just above it, where the approximate accuracy counts exactly the
    # failed certificates. Repeat the whole evaluation many times.
    rng = np.random.default_rng(4)
    m, sigma, alpha, confidence, reps = 200, 0.5, 0.2, 0.9, 300
    R = sigma * stats.norm.ppf(0.8)
    radii = np.array([0.0, 0.9 * R, R * (1 + 1e-9)])
    truth = np.array([1.0, 1.0, 0.0])
    above = approx_above = 0
    for _ in range(reps):
        k0 = rng.binomial(1000, 0.8, size=m)
        s0 = rng.binomial(20, 0.8, size=m)
        labels, rads = certify_counts_batch(
            np.stack([s0, 20 - s0], 1), np.stack([k0, 1000 - k0], 1), sigma,
            alpha)
        res = {"radius": rads, "predict": labels, "label": np.zeros(m, int)}
        bound = certified_accuracy_lower_bound(res, radii, alpha, confidence)
        above += np.any(bound > truth)
        approx_above += np.any(certified_accuracy(res, radii) > truth)
    rate = above / reps
    assert rate <= (1 - confidence) + 3 * np.sqrt(0.09 / reps)
    assert approx_above / reps > 0.9  # the uncorrected accuracy overshoots


def test_summary_bad_input():
    with pytest.raises(ValueError, match="`results`"):
        certified_accuracy([], 0.0)
    with pytest.raises(ValueError, match="`radii`"):
        certified_accuracy(ROWS, [-0.1])
    with pytest.raises(ValueError, match="`results`"):
        certified_accuracy({"radius": [0.1]}, 0.0)
    with pytest.raises(ValueError, match="`radii`"):
        certified_correct(ROWS, [[0.1]])
    with pytest.raises(ValueError, match="`results`"):
        certified_correct([], 0.0)
    with pytest.raises(ValueError, match="`alpha`"):
        certified_accuracy_lower_bound(ROWS, 0.0, 0.0, 0.99)
    with pytest.raises(ValueError, match="`confidence`"):
        certified_accuracy_lower_bound(ROWS, 0.0, 0.01, 1.0)
