"""CERTIFY, T-CERTIFY and PREDICT from class counts.

The Monte Carlo algorithms of randomized smoothing split into two parts: draw
noisy copies of an input and count the base classifier's predictions (done by
`kerasrobust.smoothing.SmoothedClassifier`), then turn the counts into a
prediction or a certified L2 radius with exact binomial statistics (this
file). Each algorithm is one function, named as in its paper:

* `certify_from_counts(..., method="cohen")`: CERTIFY of Cohen, Rosenfeld
  and Kolter (2019), *Certified Adversarial Robustness via Randomized
  Smoothing*, ICML. Radius ``sigma * Phi^-1(pABar)``.
* `certify_from_counts(..., method="tight")`: T-CERTIFY (Algorithm 2 of the
  ADRE / T-CERTIFY paper, ``/work/shared/papers``), which bounds the top and
  the runner-up probabilities separately (eq. 14) and certifies
  ``sigma / 2 * (Phi^-1(pABar) - Phi^-1(pBBar))``.
* `predict_from_counts`: PREDICT of Cohen et al. (the two-sided binomial
  test between the top two counts).

The radii follow from Cohen et al.'s Theorem 1: if ``p_A >= pABar > 1/2 >=
pBBar >= p_B`` then the smoothed classifier ``g`` is constant on the L2 ball
of radius ``sigma / 2 * (Phi^-1(pABar) - Phi^-1(pBBar))`` around ``x``.
"""

import numbers

import numpy as np
from scipy import special, stats

from kerasrobust._validation import check_choice, check_number
from kerasrobust.smoothing.bounds import (
    _as_count_array,
    _cp_lower_scalar,
    _runner_up_upper,
    _short,
)

# Returned as the label when an algorithm abstains (Cohen et al.'s convention).
ABSTAIN = -1

METHODS = ("cohen", "tight")
ALPHA_PRIME_RULES = ("selection", "grid")


def default_alpha_prime_grid(alpha):
    """T-CERTIFY's default grid: ``alpha * (0.1, 0.2, ..., 1.0)``.

    The paper's experiments "search over alpha = 0.1, 0.2, ..., 1.0, where
    at alpha = 1.0 it returns the same certified radius as in CERTIFY". The
    significance level itself is 0.001 there, and CERTIFY's radius is
    obtained when all of the error goes to the top class (``alpha' =
    alpha``), so we read the grid as the *fraction* ``alpha' / alpha`` of
    the error given to ``pABar``: ``alpha' in alpha * {0.1, ..., 1.0}``.
    """
    alpha = check_number("alpha", alpha, low=0.0, high=1.0, low_open=True,
                         high_open=True)
    return alpha * (np.arange(1, 11, dtype=np.float64) / 10.0)


# ---------------------------------------------------------------------------
# The algorithms on validated counts
# ---------------------------------------------------------------------------

def _certify(cAHat, nA, n, sigma, alpha):
    """CERTIFY's last step: the radius from ``nA`` of ``n`` samples."""
    pABar = _cp_lower_scalar(nA, n, alpha)
    if pABar < 0.5:
        return ABSTAIN, 0.0
    return int(cAHat), float(sigma * special.ndtri(pABar))


def _t_certify_radius(nA, others, n, sigma, alpha, alpha_prime, cap,
                      rtol=1e-12):
    """T-CERTIFY's radius ``r_{alpha'}`` for one ``alpha'`` (0 if none).

    ``pABar`` is the Clopper-Pearson bound at level ``alpha'``, ``pBBar`` the
    runner-up bound at level ``alpha - alpha'``. With ``cap``, ``pBBar`` is
    replaced by ``1 - pABar`` when that is smaller (valid because ``p_B <=
    1 - p_A <= 1 - pABar`` whenever ``pABar <= p_A``); then the radius is
    exactly CERTIFY's ``sigma * Phi^-1(pABar)``, which is why
    ``alpha' = alpha`` reproduces CERTIFY.
    """
    pABar = _cp_lower_scalar(nA, n, alpha_prime)
    if not pABar > 0.5:  # the paper's strict inequality
        return 0.0
    z_A = float(special.ndtri(pABar))
    pBBar = _runner_up_upper(others, n, max(alpha - alpha_prime, 0.0), rtol,
                             at_most=1.0 - pABar if cap else None)
    if cap and pBBar >= 1.0 - pABar:
        return float(sigma * z_A)
    with np.errstate(divide="ignore", invalid="ignore"):
        radius = sigma / 2.0 * (z_A - float(special.ndtri(pBBar)))
    return float(radius) if np.isfinite(radius) and radius > 0.0 else 0.0


def _plug_in_counts(counts_selection, n):
    """The selection proportions as counts of ``n`` samples (a forecast).

    Classes never seen among the ``n0`` selection samples share half a
    pseudo-sample (so "all 100 samples on the top class" does not forecast
    a runner-up of exactly 0, which would wrongly favour ``alpha' =
    alpha``); the total stays ``n0 + 1/2`` however many classes there are,
    so 1000 unseen ImageNet classes do not swamp the forecast.
    """
    c = np.asarray(counts_selection, dtype=np.float64)
    unseen = c == 0
    # The total is n0 + 1/2 written out (not c.sum() after the pseudo-counts)
    # so that the in-graph copy (`kerasrobust.smoothing.graph_certify`)
    # rounds exactly like this one.
    total = float(np.sum(counts_selection))
    if unseen.any():
        c = c + unseen * (0.5 / unseen.sum())
        total += 0.5
    return np.clip(np.rint(c * (n / total)), 0, n).astype(np.int64)


def _select_alpha_prime(counts_selection, cAHat, n, sigma, alpha, grid, cap):
    """``alpha'`` chosen from the selection counts only.

    For every ``alpha'`` of the grid, forecast the T-CERTIFY radius that the
    estimation step would give if its counts had the selection proportions
    (`_plug_in_counts`, scaled to ``n`` samples) and keep the ``alpha'`` with
    the largest forecast (ties to the largest ``alpha'``, i.e. towards
    CERTIFY). When every forecast is 0 (the selection samples alone do not
    predict ``pABar > 1/2``) the forecast carries no information and the
    grid value nearest ``alpha / 2`` is used: in our simulations it was
    within 0.5% of the best grid point on average in every configuration,
    while falling back to ``alpha' = alpha`` (CERTIFY) lost 70% of the radius
    in those draws when the mass is spread over several classes.

    Nothing here looks at the estimation counts, so ``alpha'`` is fixed
    given the selection samples and Proposition 1 applies to the estimation
    step.
    """
    plug = _plug_in_counts(counts_selection, n)
    nA_hat = plug[cAHat]
    others_hat = np.delete(plug, cAHat)
    forecasts = np.array([
        _t_certify_radius(nA_hat, others_hat, n, sigma, alpha, a, cap)
        for a in grid
    ])
    if not forecasts.max() > 0.0:
        return float(grid[np.argmin(np.abs(grid - alpha / 2.0))])
    best = np.flatnonzero(forecasts == forecasts.max())[-1]
    return float(grid[best])


def _certify_one(counts_selection, counts_estimation, n, sigma, alpha,
                 method, alpha_prime, grid, cap):
    cAHat = int(np.argmax(counts_selection))  # first index among ties
    nA = int(counts_estimation[cAHat])
    if method == "cohen":
        return _certify(cAHat, nA, n, sigma, alpha)
    others = np.delete(counts_estimation, cAHat)
    if alpha_prime == "grid":
        radius = max(
            _t_certify_radius(nA, others, n, sigma, alpha, a, cap)
            for a in grid
        )
    else:
        if alpha_prime == "selection":
            alpha_prime = _select_alpha_prime(
                counts_selection, cAHat, n, sigma, alpha, grid, cap)
        radius = _t_certify_radius(nA, others, n, sigma, alpha, alpha_prime,
                                   cap)
    if radius > 0.0:
        return cAHat, float(radius)
    return ABSTAIN, 0.0


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------

def _check_common(sigma, alpha, method, alpha_prime, grid, cap_runner_up):
    sigma = check_number("sigma", sigma, low=0.0, low_open=True)
    alpha = check_number("alpha", alpha, low=0.0, high=1.0, low_open=True,
                         high_open=True)
    check_choice("method", method, METHODS)
    if isinstance(alpha_prime, str):
        check_choice("alpha_prime", alpha_prime, ALPHA_PRIME_RULES)
    elif isinstance(alpha_prime, numbers.Real) and not isinstance(
            alpha_prime, (bool, np.bool_)):
        alpha_prime = check_number("alpha_prime", alpha_prime, low=0.0,
                                   high=alpha, low_open=True)
    else:
        raise TypeError(
            "`alpha_prime` must be 'selection', 'grid' or a number in "
            f"(0, alpha={alpha:g}], got {alpha_prime!r}."
        )
    if grid is None:
        grid = default_alpha_prime_grid(alpha)
    else:
        try:
            grid = np.asarray(grid, dtype=np.float64).ravel()
        except (TypeError, ValueError) as e:
            raise TypeError(
                "`grid` must be a sequence of numbers in "
                f"(0, alpha={alpha:g}], got {grid!r}."
            ) from e
        if grid.size == 0:
            raise ValueError(
                f"`grid` must hold at least one value in (0, alpha={alpha:g}],"
                " got an empty grid."
            )
        bad = ~np.isfinite(grid) | (grid <= 0.0) | (grid > alpha)
        if np.any(bad):
            raise ValueError(
                f"`grid` values must be in (0, alpha={alpha:g}], got "
                f"{grid[bad][0].item()!r} in {_short(grid)}."
            )
        grid = np.unique(grid)  # sorted ascending
    if not isinstance(cap_runner_up, (bool, np.bool_)):
        raise TypeError(
            f"`cap_runner_up` must be True or False, got {cap_runner_up!r}."
        )
    return sigma, alpha, alpha_prime, grid, bool(cap_runner_up)


def _check_total(name, counts_name, counts, given, batch=False):
    """Sums of ``counts`` (last axis) >= 1 and equal to ``given`` if given."""
    total = counts.sum(axis=-1)
    if np.any(total < 1):
        where = f" (row {int(np.flatnonzero(total < 1)[0])})" if batch else ""
        raise ValueError(
            f"`{counts_name}` must sum to at least 1 (the number of samples "
            f"`{name}`){where}, got a sum of 0."
        )
    if given is None:
        return total
    if batch and np.ndim(given) > 0:
        given_arr = _as_count_array(name, given, ndim=1)
        if given_arr.shape != total.shape:
            raise ValueError(
                f"`{name}` must be an int or have shape {total.shape}, got "
                f"shape {given_arr.shape}."
            )
    else:
        given_arr = np.full(total.shape,
                            check_number(name, given, low=1, integer=True))
    if np.any(given_arr != total):
        i = int(np.flatnonzero(np.ravel(given_arr != total))[0])
        where = f" in row {i}" if batch else ""
        raise ValueError(
            f"`{counts_name}` must sum to `{name}`: got {name}="
            f"{int(np.ravel(given_arr)[i])} but the counts sum to "
            f"{int(np.ravel(total)[i])}{where}."
        )
    return total


def _check_counts_pair(counts_selection, counts_estimation, n0, n, batch):
    ndim = 2 if batch else 1
    cs = _as_count_array("counts_selection", counts_selection, ndim=ndim)
    ce = _as_count_array("counts_estimation", counts_estimation, ndim=ndim)
    if cs.shape != ce.shape:
        raise ValueError(
            "`counts_selection` and `counts_estimation` must have the same "
            f"shape (one count per class), got {cs.shape} and {ce.shape}."
        )
    if cs.shape[-1] < 2:
        raise ValueError(
            "`counts_estimation` must have K >= 2 classes, got "
            f"K={cs.shape[-1]}."
        )
    n0 = _check_total("n0", "counts_selection", cs, n0, batch)
    n = _check_total("n", "counts_estimation", ce, n, batch)
    return cs, ce, n0, n


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

def certify_from_counts(counts_selection, counts_estimation, sigma, alpha,
                        method="cohen", alpha_prime="selection", grid=None,
                        cap_runner_up=True, *, n=None, n0=None):
    """CERTIFY (Cohen et al. 2019) or T-CERTIFY (Algorithm 2) from counts.

    ``counts_selection`` are the class counts of ``n0`` noisy copies of
    ``x`` (used only to guess the top class ``cAHat = argmax``, the first
    index among ties, and, for T-CERTIFY's default, ``alpha'``);
    ``counts_estimation`` are the counts of ``n`` *independent* noisy copies
    (used for the bounds).

    ``method="cohen"`` (CERTIFY): ``pABar =
    clopper_pearson_lower(nA, n, alpha)`` with ``nA`` the estimation count of
    ``cAHat``; abstain if ``pABar < 0.5``, else radius ``sigma *
    Phi^-1(pABar)``.

    ``method="tight"`` (T-CERTIFY): for one ``alpha'``, ``pABar =
    clopper_pearson_lower(nA, n, alpha')`` and ``pBBar =
    runner_up_upper(other estimation counts, n, alpha - alpha')``, capped at
    ``1 - pABar`` when ``cap_runner_up``; if ``pABar > 0.5`` the radius is
    ``sigma / 2 * (Phi^-1(pABar) - Phi^-1(pBBar))``, else 0; a radius that
    is not ``> 0`` is an abstention. With the cap, ``alpha' = alpha`` gives
    exactly CERTIFY's radius (as the paper remarks), and every ``alpha'``
    gives a radius at least ``sigma * Phi^-1(clopper_pearson_lower(nA, n,
    alpha'))``.

    Guarantee: with probability at least ``1 - alpha`` over the estimation
    samples (for any selection samples), if the returned label is not
    ``ABSTAIN`` then it equals ``g(x)`` and ``g`` is constant on the L2 ball
    of the returned radius around ``x``. For ``"tight"`` this holds for the
    default ``alpha_prime="selection"`` and for a fixed float ``alpha'``
    (Proposition 1 and Theorem 1 of the paper), NOT for ``"grid"``.

    Choice of ``alpha'`` (``method="tight"`` only):

    * ``"selection"`` (default): chosen from the selection counts alone,
      independently of the estimation counts: for each ``alpha'`` of
      ``grid``, forecast the radius with the selection proportions scaled to
      ``n`` samples, and keep the best (ties to the largest ``alpha'``; if
      every forecast is 0, the grid value nearest ``alpha / 2``). Given the
      selection samples ``alpha'`` is fixed, so Proposition 1 covers it. Its
      average radius was within 0.4% of ``"grid"``'s in every simulated
      configuration (see the README).
    * ``"grid"``: the paper's literal Algorithm 2, the maximum of the
      radius over ``grid`` computed on the same estimation counts. This is
      a search over several tests of the same data: Proposition 1 covers
      each ``alpha'`` separately, not the maximum, so no guarantee is
      proved for it. Use it to reproduce the paper's numbers. Measured (not
      proved): in 41 simulated configurations (K = 2 to 10, n = 30 to 1000,
      alpha = 0.1 to 0.3, 3,000 to 20,000 repetitions) its failure rate
      never exceeded alpha (at most 0.98 alpha with 2 classes, where the
      maximum is CERTIFY's radius; at most 0.81 alpha with 3 or more
      classes), but it was higher than the
      ``"selection"`` rule's in most multi-class configurations (e.g.
      0.138 vs 0.118 at alpha = 0.3 for p = (0.85, 0.135, 0.015), n =
      1000). To first order the failure event of each ``alpha'`` is a
      half-space with the same normal, so their union is one of them; the
      residual excess comes from discreteness and the nonlinearity.
    * a float in ``(0, alpha]``: that ``alpha'``.

    Args:
        counts_selection: length-K integer counts of the ``n0`` selection
            samples (``K >= 2``).
        counts_estimation: length-K integer counts of the ``n`` estimation
            samples.
        sigma: noise standard deviation, ``> 0`` (in input units).
        alpha: failure probability in ``(0, 1)`` (0.001 in both papers).
        method: ``"cohen"`` (CERTIFY) or ``"tight"`` (T-CERTIFY).
        alpha_prime: ``"selection"``, ``"grid"`` or a float in
            ``(0, alpha]``; the error given to ``pABar``.
        grid: the ``alpha'`` values searched (absolute values in ``(0,
            alpha]``); default `default_alpha_prime_grid` ``(alpha)`` =
            ``alpha * (0.1, ..., 1.0)``.
        cap_runner_up: replace ``pBBar`` by ``1 - pABar`` when smaller.
        n: optional number of estimation samples; an error unless it equals
            ``sum(counts_estimation)``.
        n0: optional number of selection samples; an error unless it equals
            ``sum(counts_selection)``.

    Returns:
        ``(label, radius)``: an int class (or ``ABSTAIN = -1``) and a float
        radius (``0.0`` when abstaining). Abstentions are results, not
        errors.
    """
    sigma, alpha, alpha_prime, grid, cap = _check_common(
        sigma, alpha, method, alpha_prime, grid, cap_runner_up)
    cs, ce, n0, n = _check_counts_pair(counts_selection, counts_estimation,
                                       n0, n, batch=False)
    return _certify_one(cs, ce, int(n), sigma, alpha, method, alpha_prime,
                        grid, cap)


def certify_counts_batch(counts_selection, counts_estimation, sigma, alpha,
                         method="cohen", alpha_prime="selection", grid=None,
                         cap_runner_up=True, *, n=None, n0=None):
    """`certify_from_counts` for ``N`` inputs at once.

    Args:
        counts_selection: ``(N, K)`` integer counts of the selection samples.
        counts_estimation: ``(N, K)`` integer counts of the estimation
            samples.
        n, n0: optional ints or length-``N`` arrays, checked against the row
            sums.
        sigma, alpha, method, alpha_prime, grid, cap_runner_up: as in
            `certify_from_counts`, shared by all rows.

    Returns:
        ``(labels, radii)``: an int64 array ``(N,)`` (``ABSTAIN = -1`` where
        a row abstains) and a float64 array ``(N,)``. Each row carries the
        guarantee of `certify_from_counts` on its own (the rows are separate
        tests; see `kerasrobust.smoothing.certified_accuracy_lower_bound`
        for a statement about all of them together).
    """
    sigma, alpha, alpha_prime, grid, cap = _check_common(
        sigma, alpha, method, alpha_prime, grid, cap_runner_up)
    cs, ce, n0, n = _check_counts_pair(counts_selection, counts_estimation,
                                       n0, n, batch=True)
    labels = np.empty(cs.shape[0], dtype=np.int64)
    radii = np.empty(cs.shape[0], dtype=np.float64)
    for i in range(cs.shape[0]):
        labels[i], radii[i] = _certify_one(
            cs[i], ce[i], int(n[i]), sigma, alpha, method, alpha_prime, grid,
            cap)
    return labels, radii


def predict_from_counts(counts, alpha, *, n=None):
    """PREDICT (Cohen et al. 2019) from the class counts of ``n`` samples.

    Takes the top two counts ``nA`` (class ``cAHat``, the first index among
    ties) and ``nB`` and returns ``cAHat`` if the two-sided binomial test of
    ``nA`` successes in ``nA + nB`` trials against ``p = 1/2``
    (``scipy.stats.binomtest(nA, nA + nB, 0.5).pvalue``, the replacement for
    the removed ``binom_test``) has p-value ``<= alpha``; otherwise
    ``ABSTAIN``.

    Guarantee: with probability at least ``1 - alpha`` over the samples,
    the returned label is ``ABSTAIN`` or equals ``g(x)`` (Hung and Fithian's
    test for the top category of a multinomial, arXiv:1610.03944).

    Args:
        counts: length-K integer counts (``K >= 2``, sum ``>= 1``).
        alpha: failure probability in ``(0, 1)``.
        n: optional number of samples; an error unless it equals
            ``sum(counts)``.

    Returns:
        An int class or ``ABSTAIN = -1``.
    """
    alpha = check_number("alpha", alpha, low=0.0, high=1.0, low_open=True,
                         high_open=True)
    counts = _as_count_array("counts", counts, ndim=1)
    if counts.shape[0] < 2:
        raise ValueError(
            f"`counts` must have K >= 2 classes, got K={counts.shape[0]}."
        )
    _check_total("n", "counts", counts, n)
    top2 = np.argsort(-counts, kind="stable")[:2]
    nA, nB = int(counts[top2[0]]), int(counts[top2[1]])
    if stats.binomtest(nA, nA + nB, 0.5).pvalue > alpha:
        return ABSTAIN
    return int(top2[0])
