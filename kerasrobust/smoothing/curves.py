"""Certified-accuracy summaries of certification results.

Certified accuracy at a radius (Cohen et al. 2019), the average certified
radius (ACR, Zhai et al. 2020) and a high-probability lower bound on the
true certified accuracy.

``results`` arguments accept either the list of row dicts returned by
`read_certify_tsv` or a mapping of columns (``{"radius": array, "correct":
array, "predict": array}``; ``predict`` is optional, and ``correct`` may be
replaced by ``predict`` and ``label``).
"""

from collections.abc import Mapping

import numpy as np
from scipy import stats

from kerasrobust._validation import check_number
from kerasrobust.smoothing.certify import ABSTAIN as _ABSTAIN

def _correct_of(get, has):
    """The 'correct' column, or ``predict == label`` when it is absent."""
    if has("correct"):
        return get("correct")
    if has("predict") and has("label"):
        return np.asarray(get("predict")) == np.asarray(get("label"))
    raise KeyError("correct")


def _columns(results):
    """``(certified_correct bool array, radius float array)`` of results.

    ``correct`` may be left out when ``predict`` and ``label`` are given.
    """
    if isinstance(results, Mapping):
        try:
            radius = np.asarray(results["radius"], dtype=np.float64)
            correct = np.asarray(_correct_of(
                results.__getitem__, results.__contains__)).astype(bool)
        except KeyError as e:
            raise ValueError(
                "`results` given as columns must have 'radius' and "
                "'correct' (or 'predict' and 'label'); missing "
                f"{e}."
            ) from None
        predict = results.get("predict")
    else:
        rows = list(results)
        if rows and not all(isinstance(r, Mapping) for r in rows):
            raise TypeError(
                "`results` must be a list of row dicts (read_certify_tsv) "
                "or a mapping of columns."
            )
        try:
            radius = np.array([r["radius"] for r in rows], dtype=np.float64)
            correct = np.array(
                [bool(_correct_of(r.__getitem__, r.__contains__))
                 for r in rows], dtype=bool)
        except KeyError as e:
            raise ValueError(
                "every row of `results` must have 'radius' and 'correct' "
                f"(or 'predict' and 'label'); missing {e}."
            ) from None
        predict = ([r["predict"] for r in rows]
                   if all("predict" in r for r in rows) else None)
    if radius.ndim != 1 or correct.shape != radius.shape:
        raise ValueError(
            "`results` columns 'radius' and 'correct' must be 1-D and of the "
            f"same length, got shapes {radius.shape} and {correct.shape}."
        )
    if radius.size == 0:
        raise ValueError("`results` must hold at least one input, got 0.")
    if not np.all(np.isfinite(radius)) or np.any(radius < 0):
        raise ValueError(
            "`results` radii must be finite and in [0, inf), got "
            f"{radius[~np.isfinite(radius) | (radius < 0)][0].item()!r}."
        )
    if predict is not None:
        # An abstention is never a correct certified prediction.
        correct = correct & (np.asarray(predict) != _ABSTAIN)
    return correct, radius


def _check_radii(radii):
    arr = np.asarray(radii, dtype=np.float64)
    if arr.ndim > 1:
        raise ValueError(
            f"`radii` must be a number or a 1-D array, got shape {arr.shape}."
        )
    bad = ~np.isfinite(arr) | (arr < 0)
    if np.any(bad):
        raise ValueError(
            "`radii` must be in [0, inf), got "
            f"{np.ravel(arr)[np.ravel(bad)][0].item()!r}."
        )
    return arr


def certified_correct(results, radii):
    """Per input, whether it is certified correctly at each radius.

    ``correct & (radius >= r)`` (abstentions are wrong): the inputs that
    `certified_accuracy` counts, e.g. to compare two certifiers input by
    input.

    Args:
        results: list of row dicts or a mapping of columns.
        radii: a radius ``>= 0`` or a 1-D array of them.

    Returns:
        bool array ``(N,)`` for a scalar ``radii``, else ``(N, R)``.
    """
    correct, radius = _columns(results)
    r = _check_radii(radii)
    out = correct[:, None] & (radius[:, None] >= np.ravel(r)[None, :])
    return out[:, 0] if r.ndim == 0 else out


def _certified_counts(results, radii):
    certified = np.atleast_2d(certified_correct(results, radii).T).T
    return (certified.sum(axis=0), certified.shape[0],
            np.ndim(radii) == 0)


def certified_accuracy(results, radii):
    """Approximate certified accuracy at each radius (Cohen et al. 2019).

    The fraction of inputs whose certified prediction is correct with a
    certified radius ``>= r``: ``mean(correct & (radius >= r))``.
    Abstentions (``predict = -1``) count as wrong. At ``r = 0`` this is the
    accuracy of the certifying algorithm.

    "Approximate" because each certificate holds only with probability
    ``>= 1 - alpha``; see `certified_accuracy_lower_bound`.

    Args:
        results: list of row dicts or a mapping of columns.
        radii: a radius ``>= 0`` or a 1-D array of them.

    Returns:
        A float for a scalar ``radii``, else a float64 array like ``radii``.
    """
    counts, m, scalar = _certified_counts(results, radii)
    out = counts / m
    return float(out[0]) if scalar else out


def average_certified_radius(results):
    """ACR: the mean over all inputs of ``radius if correct else 0``.

    Abstentions and wrong predictions contribute 0 (Zhai et al. 2020,
    *MACER*, use this summary).
    """
    correct, radius = _columns(results)
    return float(np.mean(np.where(correct, radius, 0.0)))


def certified_accuracy_lower_bound(results, radii, alpha, confidence):
    """A lower bound on the TRUE certified accuracy, w.p. ``confidence``.

    The approximate certified accuracy (`certified_accuracy`) counts inputs
    whose *certificate* says "correct with radius >= r"; each certificate is
    wrong with probability at most ``alpha`` (CERTIFY / T-CERTIFY guarantee),
    so it can overstate the true certified accuracy (the fraction of inputs
    where ``g(x) = y`` and ``g`` is constant on the ball of radius ``r``).

    What Cohen et al. state: the T-CERTIFY paper notes that "the approximate
    certified accuracy is not equivalent to the lower bound of the true
    accuracy that holds with probability at least 1 - alpha over the
    randomness of the CERTIFY algorithm, but the difference is negligible
    when alpha is small" and refers to Cohen et al. (2019). Cohen et al.'s
    analysis code (locuslab/smoothing ``code/analyze.py``, class
    ``HighProbAccuracy``, their "Approximate vs. High-Probability" plot)
    reports ``approx - alpha - sqrt(alpha (1 - alpha) log(1/rho) / m) -
    log(1/rho) / (3 m)`` with ``rho = 1 - confidence``, a Bernstein-type
    correction. We could not read their appendix here to quote the exact
    theorem, and those constants are smaller than the textbook Bernstein
    inequality gives (``sqrt(2 alpha (1 - alpha) log(1/rho) / m) + 2
    log(1/rho) / (3 m)``), so we implement the exact argument instead:

    Let ``W_i`` be the event that the certificate of input ``i`` is wrong
    (a returned label that is not ``g(x_i)``, or a radius larger than the
    one ``g`` has). Each ``P(W_i) <= alpha`` and the ``W_i`` are independent
    (fresh noise for every input), so the number of wrong certificates is
    stochastically dominated by ``Bin(m, alpha)`` with ``m`` the number of
    inputs. Let ``q`` be the ``confidence`` quantile of ``Bin(m, alpha)``
    (``scipy.stats.binom.ppf``), so ``P(Bin(m, alpha) > q) <= 1 -
    confidence``. With probability at least ``confidence``, at most ``q``
    certificates are wrong, hence for EVERY radius ``r`` at once

        true_count(r) >= approx_count(r) - q,

    (an input with a right certificate that is counted at ``r`` is truly
    certified at ``r``). The bound returned is ``max(approx_count(r) - q, 0)
    / m``. Since ``P(Bin(m, alpha) >= m alpha + t) <= rho`` for the
    textbook Bernstein ``t``, ``q <= m alpha + t``: this bound is never
    looser than the textbook Bernstein correction.

    Args:
        results: list of row dicts or a mapping of columns (all ``m``
            inputs, abstentions included).
        radii: a radius or a 1-D array of radii.
        alpha: the failure probability each certificate was made with,
            in ``(0, 1)``.
        confidence: ``1 - rho``, the probability in ``(0, 1)`` with which
            the bound holds (over the certification noise).

    Returns:
        A float for a scalar ``radii``, else a float64 array.
    """
    alpha = check_number("alpha", alpha, low=0.0, high=1.0, low_open=True,
                         high_open=True)
    confidence = check_number("confidence", confidence, low=0.0, high=1.0,
                              low_open=True, high_open=True)
    counts, m, scalar = _certified_counts(results, radii)
    q = float(stats.binom.ppf(confidence, m, alpha))
    out = np.maximum(counts - q, 0.0) / m
    return float(out[0]) if scalar else out


__all__ = [
    "average_certified_radius",
    "certified_accuracy",
    "certified_correct",
    "certified_accuracy_lower_bound",
]
