"""CERTIFY, T-CERTIFY and PREDICT from class counts.

The Monte Carlo algorithms of randomized smoothing split into two parts: draw
noisy copies of an input and count the base classifier's predictions (done by
`kerasrobust.smoothing.SmoothedClassifier`, or in the graph of an exported
SavedModel), then turn the counts into a prediction or a certified L2 radius
with exact binomial statistics (this file):

* CERTIFY of Cohen, Rosenfeld and Kolter (2019), *Certified Adversarial
  Robustness via Randomized Smoothing*, ICML: radius ``sigma *
  Phi^-1(pABar)``.
* T-CERTIFY (Algorithm 2 of Feng et al., the ADRE / T-CERTIFY paper), which
  bounds the top and the runner-up probabilities separately (eq. 14) and
  certifies ``sigma / 2 * (Phi^-1(pABar) - Phi^-1(pBBar))``.
* PREDICT of Cohen et al. (the two-sided binomial test between the top two
  counts).

There is ONE implementation of the control flow (top class, plug-in
forecast, choice of ``alpha'`` and its ties, runner-up cap, abstention):
`certify_tensors` and `predict_tensors`, vectorized TensorFlow ops over a
batch of count vectors, float64 throughout. The Python functions
(`certify_from_counts`, `certify_counts_batch`, `predict_from_counts`) check
their arguments and run them eagerly (one traced `tf.function`); the
exported SavedModel traces the same functions into its ``certify``,
``certify_options`` and ``predict_smoothed`` signatures
(`kerasrobust.export_saved_model`), with the same argument checks
(`check_arguments`) raising `tf.errors.InvalidArgumentError` there.

The radii follow from Cohen et al.'s Theorem 1: if ``p_A >= pABar > 1/2 >=
pBBar >= p_B`` then the smoothed classifier ``g`` is constant on the L2 ball
of radius ``sigma / 2 * (Phi^-1(pABar) - Phi^-1(pBBar))`` around ``x``.
"""

import numbers

import numpy as np
import tensorflow as tf

from kerasrobust._names import CERTIFY_METHODS
from kerasrobust._validation import (
    check_counts,
    check_number,
    require,
    short_repr,
)
from kerasrobust.smoothing.bounds import (
    as_float64,
    binomial_test_pvalue,
    cp_lower,
    runner_up_bound,
)

# Returned as the label when an algorithm abstains (Cohen et al.'s convention).
ABSTAIN = -1

METHODS = CERTIFY_METHODS

#: How T-CERTIFY picks ``alpha'``: from the selection counts, the maximum
#: over the grid, or a fixed value (the Python API's ``alpha_prime`` takes
#: the first two names or a number; served models take the rule by name and
#: the value separately).
ALPHA_PRIME_RULES = ("selection", "grid", "fixed")

#: T-CERTIFY's default grid, as fractions of alpha (`default_alpha_prime_grid`).
GRID_FRACTIONS = np.arange(1, 11, dtype=np.float64) / 10.0

#: Pseudo-samples shared by the classes unseen in the selection counts, in
#: the spread-out forecast of the ``"selection"`` rule (`plug_in_counts`,
#: `select_alpha_prime`; the other forecast uses none).
PSEUDO_COUNT = 0.5

_F64 = tf.float64


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
    return alpha * GRID_FRACTIONS


# ---------------------------------------------------------------------------
# The algorithms as tensor ops (unchecked; run eagerly and traced into graphs)
# ---------------------------------------------------------------------------

def first_argmax(counts):
    """Index of the largest entry of each row, the first one among ties.

    (`tf.argmax` does not promise which of tied entries it returns.)
    """
    num_classes = tf.shape(counts)[-1]
    index = tf.range(num_classes, dtype=tf.int64)
    is_top = counts == tf.reduce_max(counts, axis=-1, keepdims=True)
    return tf.reduce_min(
        tf.where(is_top, index, tf.cast(num_classes, tf.int64)), axis=-1)


def drop_class(counts, label):
    """``counts`` ``(N, K)`` without column ``label[i]`` in row ``i``."""
    num_classes = tf.shape(counts)[-1]
    keep = tf.range(num_classes - 1, dtype=tf.int64)[tf.newaxis, :]
    keep = keep + tf.cast(keep >= label[:, tf.newaxis], tf.int64)
    return tf.gather(counts, keep, batch_dims=1)


def t_certify_radii(n_a, others, n, sigma, alpha, alpha_prime, cap,
                    return_p_a=False):
    """T-CERTIFY's radius ``r_{alpha'}`` (Algorithm 2; 0 when none).

    ``pABar`` is the Clopper-Pearson bound at level ``alpha'``, ``pBBar``
    the runner-up bound at level ``alpha - alpha'`` (eq. 14); the radius is
    ``sigma / 2 * (Phi^-1(pABar) - Phi^-1(pBBar))`` if ``pABar > 1/2`` (the
    paper's strict inequality), else 0. With ``cap``, ``pBBar`` is replaced
    by ``1 - pABar`` when that is smaller (valid because ``p_B <= 1 - p_A <=
    1 - pABar`` whenever ``pABar <= p_A``); then the radius is exactly
    CERTIFY's ``sigma * Phi^-1(pABar)``, which is why ``alpha' = alpha``
    reproduces CERTIFY.

    Args:
        n_a: ``(N,)`` count of the top class.
        others: ``(N, K - 1)`` counts of all other classes.
        n: ``(N,)`` number of samples.
        sigma, alpha: scalars.
        alpha_prime: ``(N, G)`` or ``(1, G)`` values of ``alpha'``.
        cap: scalar bool.
        return_p_a: also return ``pABar``.

    Returns:
        float64 ``(N, G)`` radii (with ``return_p_a``: ``(pABar, radii)``).
    """
    sigma = as_float64(sigma)
    alpha = as_float64(alpha)
    n = as_float64(n)[:, tf.newaxis]
    p_a = cp_lower(as_float64(n_a)[:, tf.newaxis], n, alpha_prime)
    shape = tf.shape(p_a)
    confident = p_a > 0.5
    z_a = tf.math.ndtri(tf.where(confident, p_a, tf.constant(0.75, _F64)))
    others = as_float64(others)[:, tf.newaxis, :]
    others = tf.broadcast_to(
        others, tf.concat([shape, tf.shape(others)[-1:]], axis=0))
    p_b = runner_up_bound(others, n,
                          tf.maximum(alpha - alpha_prime, 0.0))
    capped = tf.logical_and(cap, p_b >= 1.0 - p_a)
    p_b = tf.where(capped, tf.constant(0.25, _F64), p_b)
    uncapped = sigma / 2.0 * (z_a - tf.math.ndtri(p_b))
    uncapped = tf.where(tf.math.is_finite(uncapped) & (uncapped > 0.0),
                        uncapped, tf.zeros_like(uncapped))
    radius = tf.where(capped, sigma * z_a, uncapped)
    radius = tf.where(confident, radius, tf.zeros_like(radius))
    return (p_a, radius) if return_p_a else radius


def plug_in_counts(counts_selection, n, pseudo_count=None):
    """The selection proportions as counts of ``n`` samples (a forecast).

    Classes never seen among the ``n0`` selection samples share
    ``pseudo_count`` pseudo-samples (default `PSEUDO_COUNT`; so "all 100
    samples on the top class" does not forecast a runner-up of exactly 0);
    the total stays ``n0 + pseudo_count`` however many classes there are,
    so 1000 unseen ImageNet classes do not swamp the forecast. The
    proportions are scaled to ``n`` (``(N,)``) and rounded half to even.
    """
    pseudo = PSEUDO_COUNT if pseudo_count is None else pseudo_count
    raw = as_float64(counts_selection)
    n = as_float64(n)[:, tf.newaxis]
    unseen = tf.cast(raw == 0.0, _F64)
    num_unseen = tf.reduce_sum(unseen, axis=-1, keepdims=True)
    any_unseen = num_unseen > 0.0
    c = tf.where(any_unseen,
                 raw + unseen * (pseudo / tf.maximum(num_unseen, 1.0)), raw)
    total = tf.reduce_sum(raw, axis=-1, keepdims=True) + tf.where(
        any_unseen, tf.constant(pseudo, _F64), tf.constant(0.0, _F64))
    return tf.clip_by_value(tf.math.rint(c * (n / total)), 0.0, n)


def select_alpha_prime(counts_selection, top, n, sigma, alpha, grid, cap):
    """T-CERTIFY's ``alpha'`` from the selection counts only (``"selection"``).

    Forecasts the radius of every ``alpha'`` of the (ascending) ``grid`` on
    two plausible estimation outcomes built from the selection proportions
    scaled to ``n`` samples (`plug_in_counts`): one where the classes unseen
    among the ``n0`` selection samples stay unseen (pseudo-count 0), one
    where they share `PSEUDO_COUNT` pseudo-samples. Each forecast is divided
    by its best value, and the rule keeps the ``alpha'`` whose smaller
    relative forecast is largest (ties to the largest ``alpha'``): the
    choice with the least relative loss in the worse of the two outcomes
    (minimax regret). When both forecasts are 0 everywhere (the selection
    samples alone do not predict ``pABar > 1/2``) the grid value nearest
    ``alpha / 2`` is used.

    Why two outcomes: with every selection vote on the top class, the n0
    samples cannot tell a saturated class (all estimation votes on it too;
    CERTIFY's split ``alpha' = alpha`` is best) from one at, say, 99% spread
    over the other classes (a small ``alpha'`` wins by 10%). Forecasting
    the spread outcome alone (the rule before) picked ``alpha' = 0.4
    alpha`` on saturated counts and lost 1.1% of radius against CERTIFY;
    forecasting the saturated one alone loses 8% in the spread case. The
    minimax choice was measured within 0.3% of the best grid value in every
    simulated case (`benchmarks/tcertify_alpha_prime.py`, BENCHMARKS.md);
    a margin on the spread forecast ("keep ``alpha' = alpha`` unless the
    forecast gain exceeds m") was measured too and was worse for every m.

    Nothing here looks at the estimation counts, so ``alpha'`` is fixed
    given the selection samples and Proposition 1 applies to the estimation
    step.

    Returns:
        float64 ``(N,)`` values of ``alpha'``.
    """
    alpha = as_float64(alpha)
    plug = tf.concat([plug_in_counts(counts_selection, n, 0.0),
                      plug_in_counts(counts_selection, n)], axis=0)
    top2 = tf.concat([top, top], axis=0)
    both = t_certify_radii(
        tf.gather(plug, top2, batch_dims=1), drop_class(plug, top2),
        tf.concat([n, n], axis=0), sigma, alpha, grid[tf.newaxis, :], cap)
    num_inputs = tf.shape(top)[0]
    forecasts = tf.stack([both[:num_inputs], both[num_inputs:]])  # 2, N, G
    best = tf.reduce_max(forecasts, axis=-1, keepdims=True)
    relative = tf.where(best > 0.0, forecasts / tf.maximum(best, 1e-300),
                        tf.ones_like(forecasts))
    worse = tf.reduce_min(relative, axis=0)  # N, G
    num_grid = tf.shape(grid, out_type=tf.int64)[0]
    index = tf.range(num_grid, dtype=tf.int64)
    last_best = tf.reduce_max(tf.where(
        worse == tf.reduce_max(worse, axis=-1, keepdims=True), index, -1),
        axis=-1)
    distance = tf.abs(grid - alpha / 2.0)
    nearest_half = tf.reduce_min(
        tf.where(distance == tf.reduce_min(distance), index, num_grid))
    any_forecast = tf.reduce_max(best, axis=[0, 2]) > 0.0
    return tf.gather(grid, tf.where(any_forecast, last_best, nearest_half))


def certify_tensors(counts_selection, counts_estimation, n, sigma, alpha,
                    method, alpha_prime_rule, alpha_prime, grid,
                    cap_runner_up):
    """CERTIFY or T-CERTIFY for a batch of count vectors (unchecked).

    See `certify_from_counts` for the algorithms and their guarantees; this
    is its implementation, also traced into exported SavedModels.

    Args:
        counts_selection, counts_estimation: ``(N, K)`` counts (any numeric
            dtype).
        n: ``(N,)`` (or scalar) number of estimation samples.
        sigma, alpha: float64 scalars.
        method: string scalar, ``"cohen"`` or ``"tight"``.
        alpha_prime_rule: string scalar, one of `ALPHA_PRIME_RULES`.
        alpha_prime: float64 scalar, ``alpha'`` for the ``"fixed"`` rule.
        grid: float64 ``(G,)`` absolute ``alpha'`` values; empty for
            `default_alpha_prime_grid`.
        cap_runner_up: bool scalar.

    Returns:
        ``(labels, radii)``: int64 ``(N,)`` (``ABSTAIN = -1``) and float64
        ``(N,)`` (0 where abstaining).
    """
    cs = as_float64(counts_selection)
    ce = as_float64(counts_estimation)
    n = tf.broadcast_to(as_float64(n), tf.shape(ce)[:1])
    sigma = as_float64(sigma)
    alpha = as_float64(alpha)
    top = first_argmax(cs)
    is_cohen = tf.not_equal(method, "tight")
    batch = tf.shape(ce)[:1]

    def column(value):
        return tf.broadcast_to(tf.reshape(as_float64(value), [1, 1]),
                               tf.concat([batch, [1]], axis=0))

    def tight_alpha_primes():
        grid_ = tf.sort(tf.cond(tf.size(grid) > 0, lambda: as_float64(grid),
                                lambda: alpha * GRID_FRACTIONS))
        return tf.case([
            (tf.equal(alpha_prime_rule, "grid"), lambda: tf.broadcast_to(
                grid_[tf.newaxis, :],
                tf.concat([batch, tf.shape(grid_)], axis=0))),
            (tf.equal(alpha_prime_rule, "fixed"),
             lambda: column(alpha_prime)),
        ], default=lambda: select_alpha_prime(
            cs, top, n, sigma, alpha, grid_, cap_runner_up)[:, tf.newaxis])

    # CERTIFY is T-CERTIFY at alpha' = alpha with the cap (then pBBar = 1 -
    # pABar exactly, radius sigma * Phi^-1(pABar)); only its abstention rule
    # differs: pABar < 1/2 (Cohen et al.) instead of a radius not > 0.
    alpha_primes = tf.cond(is_cohen, lambda: column(alpha),
                           tight_alpha_primes)
    cap = tf.logical_or(is_cohen, cap_runner_up)
    p_a, radii = t_certify_radii(
        tf.gather(ce, top, batch_dims=1), drop_class(ce, top), n, sigma,
        alpha, alpha_primes, cap, return_p_a=True)
    radius = tf.reduce_max(radii, axis=-1)
    cohen_radius = sigma * tf.math.ndtri(tf.maximum(p_a[:, 0], 0.5))
    abstain = tf.where(is_cohen, p_a[:, 0] < 0.5, tf.logical_not(radius > 0.0))
    radius = tf.where(is_cohen, cohen_radius, radius)
    return (tf.where(abstain, tf.constant(ABSTAIN, tf.int64), top),
            tf.where(abstain, tf.zeros_like(radius), radius))


def predict_tensors(counts, alpha):
    """PREDICT (Cohen et al. 2019) for a batch: int64 labels ``(N,)``."""
    counts = as_float64(counts)
    top = first_argmax(counts)
    n_a = tf.gather(counts, top, batch_dims=1)
    n_b = tf.reduce_max(drop_class(counts, top), axis=-1)
    pvalue = binomial_test_pvalue(n_a, n_b)
    return tf.where(pvalue > as_float64(alpha),
                    tf.constant(ABSTAIN, tf.int64), top)


# ---------------------------------------------------------------------------
# Argument checks, the same eagerly (ValueError) and in graphs
# (InvalidArgumentError): see `kerasrobust._validation.require`
# ---------------------------------------------------------------------------

def check_alpha(alpha):
    """``alpha`` in (0, 1); returns the graph assertions (none eagerly)."""
    alpha = as_float64(alpha)
    check = require((alpha > 0.0) & (alpha < 1.0), "`alpha` must be in (0, 1)",
                    alpha)
    return [check] if check is not None else []


def check_sample_sizes(n, n0=None):
    """``n >= 1``, ``n0 >= 1`` and ``n0 <= n`` (the selection step guesses
    the class, the estimation step needs at least as many draws)."""
    checks = [require(n >= 1, "`n` must be an integer >= 1", n)]
    if n0 is not None:
        checks += [
            require(n0 >= 1, "`n0` must be an integer >= 1", n0),
            require(n0 <= n, "`n0` (selection draws) must be <= `n` "
                    "(estimation draws); (n0, n)",
                    tf.stack([tf.cast(n0, _F64), tf.cast(n, _F64)], -1)),
        ]
    return [c for c in checks if c is not None]


def check_arguments(n0, n, alpha, method, alpha_prime_rule="selection",
                    alpha_prime=None, grid=None):
    """Every statistics argument of CERTIFY / T-CERTIFY, once for both the
    Python API and the served signatures.

    Eagerly raises ``ValueError`` naming the argument; in a graph returns
    `tf.debugging.Assert` ops (``InvalidArgumentError`` when they fail).
    ``alpha_prime`` is checked (in ``(0, alpha]``) only for the ``"fixed"``
    rule; ``grid`` values must be in ``(0, alpha]`` (empty = default).
    """
    alpha = as_float64(alpha)
    checks = check_sample_sizes(n, n0) + check_alpha(alpha)
    checks.append(require(
        tf.reduce_any(tf.equal(method, METHODS)),
        f"`method` must be one of {', '.join(map(repr, METHODS))}", method))
    checks.append(require(
        tf.reduce_any(tf.equal(alpha_prime_rule, ALPHA_PRIME_RULES)),
        "`alpha_prime_rule` must be one of "
        f"{', '.join(map(repr, ALPHA_PRIME_RULES))}", alpha_prime_rule))
    if alpha_prime is not None:
        alpha_prime = as_float64(alpha_prime)
        checks.append(require(
            tf.logical_or(tf.not_equal(alpha_prime_rule, "fixed"),
                          (alpha_prime > 0.0) & (alpha_prime <= alpha)),
            "`alpha_prime` must be in (0, alpha]", alpha_prime))
    if grid is not None:
        grid = as_float64(grid)
        checks.append(require(
            (grid > 0.0) & (grid <= alpha), "`grid` values must be in "
            "(0, alpha]", grid))
    return [c for c in checks if c is not None]


# ---------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------

_SCALAR = tf.TensorSpec([], _F64)
_COUNTS = tf.TensorSpec([None, None], _F64)
_CERTIFY_SIGNATURE = [
    _COUNTS, _COUNTS, tf.TensorSpec([None], _F64), _SCALAR, _SCALAR,
    tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.string), _SCALAR,
    tf.TensorSpec([None], _F64), tf.TensorSpec([], tf.bool)]
#: `certify_tensors` and `predict_tensors` traced once, for the Python API
#: and the exported signatures (which store one copy of each). Explicit
#: control flow (tf.while_loop, tf.cond): no AutoGraph, whose conversion
#: took 90 % of the tracing time.
certify_function = tf.function(certify_tensors, autograph=False,
                               input_signature=_CERTIFY_SIGNATURE)
predict_function = tf.function(predict_tensors, autograph=False,
                               input_signature=[_COUNTS, _SCALAR])


def _check_options(sigma, alpha, method, alpha_prime, grid, cap_runner_up):
    """Python types, then the shared range checks of `check_arguments`.

    Returns ``(sigma, alpha, method, rule, alpha_prime value, grid, cap)``.
    """
    sigma = check_number("sigma", sigma, low=0.0, low_open=True)
    alpha = check_number("alpha", alpha)
    if not isinstance(method, str):
        raise TypeError(f"`method` must be one of {METHODS}, got {method!r}.")
    if isinstance(alpha_prime, str) and alpha_prime in ("selection", "grid"):
        rule, value = alpha_prime, alpha
    elif isinstance(alpha_prime, numbers.Real) and not isinstance(
            alpha_prime, (bool, np.bool_)):
        rule, value = "fixed", check_number("alpha_prime", alpha_prime)
    else:
        raise (ValueError if isinstance(alpha_prime, str) else TypeError)(
            "`alpha_prime` must be 'selection', 'grid' or a number in "
            f"(0, alpha={alpha:g}], got {alpha_prime!r}.")
    if grid is None:
        grid = GRID_FRACTIONS * alpha
    else:
        try:
            grid = np.asarray(grid, dtype=np.float64).ravel()
        except (TypeError, ValueError) as e:
            raise TypeError(
                "`grid` must be a sequence of numbers in "
                f"(0, alpha={alpha:g}], got {grid!r}.") from e
        if grid.size == 0:
            raise ValueError(
                f"`grid` must hold at least one value in (0, alpha={alpha:g}],"
                " got an empty grid.")
        grid = np.unique(grid)  # sorted ascending
    if not isinstance(cap_runner_up, (bool, np.bool_)):
        raise TypeError(
            f"`cap_runner_up` must be True or False, got {cap_runner_up!r}.")
    check_arguments(None, 1, alpha, method, rule, value, grid)
    return sigma, alpha, method, rule, value, grid, bool(cap_runner_up)


def _check_total(name, counts_name, counts, given, batch=False):
    """Sums of ``counts`` (last axis) >= 1 and equal to ``given`` if given."""
    total = counts.sum(axis=-1)
    if np.any(total < 1):
        where = f" (row {int(np.flatnonzero(total < 1)[0])})" if batch else ""
        raise ValueError(
            f"`{counts_name}` must sum to at least 1 (the number of samples "
            f"`{name}`){where}, got a sum of 0.")
    if given is None:
        return total
    if batch and np.ndim(given) > 0:
        given_arr = check_counts(name, given, ndim=1)
        if given_arr.shape != total.shape:
            raise ValueError(
                f"`{name}` must be an int or have shape {total.shape}, got "
                f"shape {given_arr.shape}.")
    else:
        given_arr = np.full(total.shape,
                            check_number(name, given, low=1, integer=True))
    if np.any(given_arr != total):
        i = int(np.flatnonzero(np.ravel(given_arr != total))[0])
        where = f" in row {i}" if batch else ""
        raise ValueError(
            f"`{counts_name}` must sum to `{name}`: got {name}="
            f"{int(np.ravel(given_arr)[i])} but the counts sum to "
            f"{int(np.ravel(total)[i])}{where}.")
    return total


def _check_counts_pair(counts_selection, counts_estimation, n0, n, batch):
    """The two count arrays, their shapes and totals; ``(cs, ce, n0, n)``."""
    ndim = 2 if batch else 1
    cs = check_counts("counts_selection", counts_selection, ndim=ndim)
    ce = check_counts("counts_estimation", counts_estimation, ndim=ndim)
    if cs.shape != ce.shape:
        raise ValueError(
            "`counts_selection` and `counts_estimation` must have the same "
            f"shape (one count per class), got {cs.shape} and {ce.shape}.")
    if cs.shape[-1] < 2:
        raise ValueError(
            "`counts_estimation` must have K >= 2 classes, got "
            f"K={cs.shape[-1]}.")
    n0 = _check_total("n0", "counts_selection", cs, n0, batch)
    n = _check_total("n", "counts_estimation", ce, n, batch)
    check_sample_sizes(n, n0)
    return cs, ce, n0, n


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
    sigma, alpha, method, rule, value, grid, cap = _check_options(
        sigma, alpha, method, alpha_prime, grid, cap_runner_up)
    cs, ce, n0, n = _check_counts_pair(counts_selection, counts_estimation,
                                       n0, n, batch=True)
    if cs.shape[0] == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    labels, radii = certify_function(
        tf.constant(cs, _F64), tf.constant(ce, _F64), tf.constant(n, _F64),
        tf.constant(sigma, _F64), tf.constant(alpha, _F64),
        tf.constant(method), tf.constant(rule), tf.constant(value, _F64),
        tf.constant(grid, _F64), tf.constant(cap))
    return labels.numpy(), radii.numpy()


def certify_from_counts(counts_selection, counts_estimation, sigma, alpha,
                        method="cohen", alpha_prime="selection", grid=None,
                        cap_runner_up=True, *, n=None, n0=None):
    """CERTIFY (Cohen et al. 2019) or T-CERTIFY (Algorithm 2) from counts.

    ``counts_selection`` are the class counts of ``n0`` noisy copies of
    ``x`` (used only to guess the top class ``cAHat = argmax``, the first
    index among ties, and, for T-CERTIFY's default, ``alpha'``);
    ``counts_estimation`` are the counts of ``n >= n0`` *independent* noisy
    copies (used for the bounds).

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
      independently of the estimation counts (`select_alpha_prime`): for
      each ``alpha'`` of ``grid``, forecast the radius with the selection
      proportions scaled to ``n`` samples, once with the unseen classes
      left empty and once with half a pseudo-sample shared among them, and
      keep the ``alpha'`` with the smallest worst relative loss (ties to
      the largest ``alpha'``); if every forecast is 0, the grid value
      nearest ``alpha / 2``. Given the selection samples ``alpha'`` is
      fixed, so Proposition 1 covers it. Its mean radius against
      ``"grid"``'s and CERTIFY's is measured in BENCHMARKS.md ("T-CERTIFY's
      alpha' rule").
    * ``"grid"``: the paper's literal Algorithm 2, the maximum of the
      radius over ``grid`` computed on the same estimation counts. This is
      a search over several tests of the same data: Proposition 1 covers
      each ``alpha'`` separately, not the maximum, so no guarantee is
      proved for it. Use it to reproduce the paper's numbers. Measured (not
      proved): in 41 simulated configurations (K = 2 to 10, n = 30 to 1000,
      alpha = 0.1 to 0.3, 3,000 to 20,000 repetitions) its failure rate
      never exceeded alpha (at most 0.98 alpha with 2 classes, where the
      maximum is CERTIFY's radius; at most 0.81 alpha with 3 or more
      classes), but it was higher than the ``"selection"`` rule's in most
      multi-class configurations.
    * a float in ``(0, alpha]``: that ``alpha'``.

    Args:
        counts_selection: length-K integer counts of the ``n0`` selection
            samples (``K >= 2``).
        counts_estimation: length-K integer counts of the ``n`` estimation
            samples (``n >= n0``).
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
    check_counts("counts_selection", counts_selection, ndim=1)
    check_counts("counts_estimation", counts_estimation, ndim=1)
    sigma, alpha, method, rule, value, grid, cap = _check_options(
        sigma, alpha, method, alpha_prime, grid, cap_runner_up)
    cs, ce, _, _ = _check_counts_pair(counts_selection, counts_estimation,
                                      n0, n, batch=False)
    labels, radii = certify_counts_batch(
        cs[np.newaxis], ce[np.newaxis], sigma, alpha, method,
        alpha_prime, grid, cap)
    return int(labels[0]), float(radii[0])


def predict_from_counts(counts, alpha, *, n=None):
    """PREDICT (Cohen et al. 2019) from the class counts of ``n`` samples.

    Takes the top two counts ``nA`` (class ``cAHat``, the first index among
    ties) and ``nB`` and returns ``cAHat`` if the two-sided binomial test of
    ``nA`` successes in ``nA + nB`` trials against ``p = 1/2``
    (``scipy.stats.binomtest(nA, nA + nB, 0.5).pvalue``; computed here with
    `tf.math.betainc`, `kerasrobust.smoothing.bounds.binomial_test_pvalue`)
    has p-value ``<= alpha``; otherwise ``ABSTAIN``.

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
    check_alpha(check_number("alpha", alpha))
    counts = check_counts("counts", counts, ndim=1)
    if counts.shape[0] < 2:
        raise ValueError(
            f"`counts` must have K >= 2 classes, got K={counts.shape[0]}.")
    _check_total("n", "counts", counts, n)
    label = predict_function(tf.constant(counts[np.newaxis], _F64),
                        tf.constant(float(alpha), _F64))
    return int(label[0])
