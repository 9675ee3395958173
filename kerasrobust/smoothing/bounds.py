"""One-sided binomial confidence bounds for randomized-smoothing certification.

These are the confidence bounds of Cohen, Rosenfeld and Kolter (2019),
*Certified Adversarial Robustness via Randomized Smoothing* (CERTIFY's
``pABar``), and of the T-CERTIFY paper (*Adaptive Radius Enhancing
regularization and T-CERTIFY*, eq. 14: the Clopper-Pearson bound on the top
class and its generalization to the runner-up class).

All three functions are exact (no normal approximation): they invert the
binomial distribution function through the regularized incomplete beta
function, ``P(Bin(n, p) >= k) = I_p(k, n - k + 1)`` for ``k >= 1``, so that

* ``clopper_pearson_lower(k, n, alpha) =
  scipy.stats.beta.ppf(alpha, k, n - k + 1)`` (computed with
  ``scipy.special.betaincinv``, the same Boost routine), and
* ``clopper_pearson_upper(k, n, alpha) =
  scipy.stats.beta.ppf(1 - alpha, k + 1, n - k)`` (computed with
  ``scipy.special.betainccinv`` so that a tiny ``alpha`` does not round
  ``1 - alpha`` to one).

``alpha`` is always the *one-sided* error: Cohen et al.'s code obtains the
same lower bound as ``proportion_confint(k, n, alpha=2 * alpha,
method="beta")[0]`` (a two-sided interval at level ``2 * alpha``);
forgetting that factor 2 doubles the failure rate.
"""

import numbers

import numpy as np
from scipy import optimize, special

from kerasrobust._validation import check_number


# ---------------------------------------------------------------------------
# Argument checks (shared with certify.py)
# ---------------------------------------------------------------------------

def _as_count_array(name, value, ndim=None):
    """``value`` as an int64 array of non-negative integers.

    Accepts Python/NumPy integers, integer arrays, and float arrays whose
    entries are whole numbers (counts made by summing one-hot vectors);
    rejects booleans, NaN/inf, fractions and negative entries.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"`{name}` must be a non-negative integer count (or an array of "
            f"them), got {value!r} (type bool)."
        )
    try:
        arr = np.asarray(value)
    except Exception as e:  # pragma: no cover - exotic inputs
        raise TypeError(
            f"`{name}` must be a non-negative integer count (or an array of "
            f"them), got {value!r}."
        ) from e
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(
            f"`{name}` must hold non-negative integer counts, got {value!r} "
            f"(dtype {arr.dtype})."
        )
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"`{name}` must be a {ndim}-D array of counts, got shape "
            f"{arr.shape}."
        )
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if np.any(bad):
            raise ValueError(
                f"`{name}` must hold whole-number counts, got "
                f"{arr[bad].ravel()[0].item()!r} in {_short(arr)}."
            )
    if np.any(arr < 0):
        raise ValueError(
            f"`{name}` must hold counts in [0, inf), got "
            f"{arr[arr < 0].ravel()[0].item()!r} in {_short(arr)}."
        )
    return arr.astype(np.int64)


def _short(arr, limit=12):
    flat = np.asarray(arr).ravel()
    text = np.array2string(flat[:limit], separator=", ")
    return text[:-1] + ", ...]" if flat.size > limit else text


def _check_alpha_array(name, alpha, low=0.0, high=1.0, high_open=True):
    """``alpha`` (scalar or array) as float64 inside ``[low, high)``."""
    if np.ndim(alpha) == 0 and isinstance(alpha, (numbers.Real, np.generic)):
        return np.float64(check_number(name, alpha, low=low, high=high,
                                       high_open=high_open))
    arr = np.asarray(alpha, dtype=np.float64)
    top = arr >= high if high_open else arr > high
    bad = ~np.isfinite(arr) | (arr < low) | top
    if np.any(bad):
        right = ")" if high_open else "]"
        raise ValueError(
            f"`{name}` must be in [{low:g}, {high:g}{right}, got "
            f"{arr[bad].ravel()[0].item()!r} in {_short(arr)}."
        )
    return arr


def _check_k_n(k, n, k_name="k", n_name="n"):
    k = _as_count_array(k_name, k)
    n = _as_count_array(n_name, n)
    if np.any(n < 1):
        raise ValueError(
            f"`{n_name}` (the number of samples) must be in [1, inf), got "
            f"{_short(n) if n.ndim else int(n)}."
        )
    try:
        kb, nb = np.broadcast_arrays(k, n)
    except ValueError as e:
        raise ValueError(
            f"`{k_name}` (shape {k.shape}) and `{n_name}` (shape {n.shape}) "
            "must broadcast together."
        ) from e
    if np.any(kb > nb):
        i = np.flatnonzero((kb > nb).ravel())[0]
        raise ValueError(
            f"`{k_name}` must be in [0, {n_name}], got {k_name}="
            f"{kb.ravel()[i]} with {n_name}={nb.ravel()[i]}."
        )
    return k, n


def _scalar_or_array(out):
    out = np.asarray(out, dtype=np.float64)
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------
# Clopper-Pearson
# ---------------------------------------------------------------------------

def _cp_lower(k, n, alpha):
    """Unchecked `clopper_pearson_lower` on arrays (k, n int; alpha float)."""
    k = np.asarray(k)
    with np.errstate(invalid="ignore"):
        out = special.betaincinv(np.maximum(k, 1), n - k + 1, alpha)
    return np.where(k == 0, 0.0, out)


def _cp_lower_scalar(k, n, alpha):
    """`_cp_lower` for Python scalars (called once per certified input)."""
    if k <= 0:
        return 0.0
    return float(special.betaincinv(k, n - k + 1, alpha))


def _cp_upper(k, n, alpha):
    """Unchecked `clopper_pearson_upper` on arrays (k, n int; alpha float)."""
    k = np.asarray(k)
    n = np.asarray(n)
    with np.errstate(invalid="ignore"):
        out = special.betainccinv(k + 1, np.maximum(n - k, 1), alpha)
    return np.where(k >= n, 1.0, out)


def clopper_pearson_lower(k, n, alpha):
    """One-sided ``(1 - alpha)`` Clopper-Pearson lower bound on a proportion.

    ``pLower = sup{p : P(Bin(n, p) >= k) <= alpha}``, which is the Beta
    quantile ``scipy.stats.beta.ppf(alpha, k, n - k + 1)`` for ``k >= 1``
    and ``0`` for ``k = 0``. This is CERTIFY's ``pABar`` (Cohen et al. 2019)
    and the ``underline{p}_A`` of T-CERTIFY's eq. 14.

    Guarantee: if ``k ~ Bin(n, p)`` then ``P(pLower > p) <= alpha`` for
    every ``p``.

    Args:
        k: number of successes (int or integer array), ``0 <= k <= n``.
        n: number of trials (int or integer array), ``n >= 1``.
        alpha: one-sided error in ``[0, 1)`` (float or array); ``alpha = 0``
            gives the trivial bound 0.

    Returns:
        A float, or a float64 array of the broadcast shape of the arguments.
    """
    k, n = _check_k_n(k, n)
    alpha = _check_alpha_array("alpha", alpha)
    return _scalar_or_array(_cp_lower(k, n, alpha))


def clopper_pearson_upper(k, n, alpha):
    """One-sided ``(1 - alpha)`` Clopper-Pearson upper bound on a proportion.

    ``pUpper = inf{p : P(Bin(n, p) <= k) <= alpha}``, which is the Beta
    quantile ``scipy.stats.beta.ppf(1 - alpha, k + 1, n - k)`` for ``k < n``
    and ``1`` for ``k = n``.

    Guarantee: if ``k ~ Bin(n, p)`` then ``P(pUpper < p) <= alpha``.

    Args:
        k: number of successes (int or integer array), ``0 <= k <= n``.
        n: number of trials (int or integer array), ``n >= 1``.
        alpha: one-sided error in ``[0, 1)``; ``alpha = 0`` gives 1.

    Returns:
        A float, or a float64 array of the broadcast shape of the arguments.
    """
    k, n = _check_k_n(k, n)
    alpha = _check_alpha_array("alpha", alpha)
    return _scalar_or_array(_cp_upper(k, n, alpha))


# ---------------------------------------------------------------------------
# Runner-up bound (T-CERTIFY eq. 14)
# ---------------------------------------------------------------------------

def _cp_upper_scalar(k, n, alpha):
    """`_cp_upper` for Python scalars (the hot path of the root finder)."""
    if k >= n:
        return 1.0
    return float(special.betainccinv(k + 1, n - k, alpha))


def _runner_up_upper(other_counts, n, alpha, rtol=1e-12, at_most=None):
    """Unchecked `runner_up_upper` (other_counts: 1-D int array, n int).

    Root of ``f(p) = sum_j P(Bin(n, p) <= N_j) = alpha``, found with
    ``scipy.optimize.brentq`` inside a bracket that is valid by monotonicity
    (``M = max_j N_j``, ``m`` the number of other classes):

    * ``lo = CPupper(M, n, alpha)``: the largest term of ``f`` alone equals
      ``alpha`` there, so ``f(lo) >= alpha``;
    * ``hi = CPupper(M, n, alpha / m)``: every term is at most
      ``P(Bin(n, hi) <= M) = alpha / m`` there, so ``f(hi) <= alpha``.

    The returned value always satisfies ``f(p) <= alpha`` (brentq's answer
    is moved up by its tolerance if needed), so it is never below the exact
    infimum; it exceeds it by at most about ``rtol`` relative.

    With ``at_most``, returns ``min(bound, at_most)`` and skips the root
    when ``f(at_most) >= alpha`` (then the bound is at least ``at_most``).
    """
    def capped(value):
        return value if at_most is None else min(value, at_most)

    m = other_counts.size
    if m == 0 or alpha >= m:
        return capped(0.0)  # f(p) <= m <= alpha for all p: the infimum is 0
    if alpha <= 0.0:
        return capped(1.0)
    top = int(other_counts.max())
    if top >= n:
        # A class with every sample: f(p) >= 1 > alpha for all p, the set in
        # the infimum is empty and the only honest bound is 1.
        return capped(1.0)
    lo = _cp_upper_scalar(top, n, alpha)
    hi = _cp_upper_scalar(top, n, alpha / m)
    if not hi > lo:  # one other class: lo == hi is the root
        return capped(hi)
    if m > 32:  # many classes share few distinct counts (e.g. zeros)
        values, multiplicity = np.unique(other_counts, return_counts=True)
        values = values.astype(np.float64)
        multiplicity = multiplicity.astype(np.float64)
        g = lambda p: float(  # noqa: E731
            np.dot(multiplicity, special.bdtr(values, n, p))) - alpha
    else:
        values = other_counts.astype(np.float64)
        g = lambda p: float(special.bdtr(values, n, p).sum()) - alpha  # noqa
    if at_most is not None and at_most < hi:
        if at_most <= 0.0 or g(at_most) >= 0.0:
            return max(at_most, 0.0)
        hi = at_most
        if hi <= lo:  # f(lo) >= alpha > f(at_most): rounding in lo
            lo = 0.0
    g_lo, g_hi = g(lo), g(hi)
    if g_hi > 0.0:  # betainccinv rounding; fall back to the full interval
        hi, g_hi = 1.0, g(1.0)
    if g_lo < 0.0:
        lo, g_lo = 0.0, g(0.0)
    if g_hi == 0.0:
        return hi
    if g_lo == 0.0:
        return lo
    xtol = 1e-300
    p = optimize.brentq(g, lo, hi, xtol=xtol, rtol=rtol, maxiter=200)
    if g(p) > 0.0:
        p = min(hi, p + 2 * (xtol + rtol * abs(p)))
    return float(p)


def runner_up_upper(other_counts, n, alpha):
    """Upper confidence bound on the runner-up probability (T-CERTIFY eq. 14).

    ``pBBar = inf{p : sum_j P(Bin(n, p) <= N_j) <= alpha}``, the sum running
    over ALL classes ``j`` other than the top class (so a class that was
    never predicted still contributes ``(1 - p)**n``: the number of classes
    matters, pass all ``K - 1`` other counts).

    ``f(p) = sum_j P(Bin(n, p) <= N_j)`` is continuous and decreasing from
    ``f(0) = K - 1`` to ``f(1) = #{j : N_j >= n}``; the bound is the root of
    ``f(p) = alpha``, found with ``scipy.optimize.brentq`` (see
    `_runner_up_upper` for the bracket). For a single other class this is
    exactly ``clopper_pearson_upper(N, n, alpha)``; with more classes it is
    larger than each class's own Clopper-Pearson upper bound.

    Guarantee (proof of the paper's Proposition 1): if the counts come from
    ``n`` samples, ``P(pBBar < max_j p_j) <= sum_j P(pBBar < p_j) <=
    alpha`` (a union bound over the classes).

    Edge cases:
        * ``alpha >= K - 1`` (only possible here with no other class, since
          ``alpha < 1``): every ``p`` qualifies, the bound is 0.
        * ``alpha = 0``: the bound is 1.
        * some ``N_j = n`` (every sample in one other class): ``f(p) >= 1 >
          alpha`` for all ``p``, the set is empty and the bound is 1.

    Args:
        other_counts: 1-D integer counts of the ``K - 1`` other classes
            (``N_j <= n`` and ``sum_j N_j <= n``).
        n: number of samples the counts come from, ``n >= 1``.
        alpha: one-sided error in ``[0, 1)``.

    Returns:
        The bound as a float in ``[0, 1]``.
    """
    other = _as_count_array("other_counts", other_counts, ndim=1)
    n = int(check_number("n", n, low=1, integer=True))
    alpha = float(check_number("alpha", alpha, low=0.0, high=1.0,
                               high_open=True))
    if other.size and other.max() > n:
        raise ValueError(
            f"`other_counts` must be in [0, n={n}], got {int(other.max())}."
        )
    if other.sum() > n:
        raise ValueError(
            f"`other_counts` must sum to at most n={n} (they are counts of "
            f"n samples), got a sum of {int(other.sum())}."
        )
    return _runner_up_upper(other, n, alpha)
