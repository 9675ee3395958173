"""One-sided binomial confidence bounds for randomized-smoothing certification.

These are the bounds of Cohen, Rosenfeld and Kolter (2019), *Certified
Adversarial Robustness via Randomized Smoothing* (CERTIFY's ``pABar``), and
of the T-CERTIFY paper (Feng et al., *Regularized Training and Tight
Certification for Randomized Smoothed Classifier with Provable Robustness*,
eq. 14: the Clopper-Pearson bound on the top class and its generalization to
the runner-up class), plus the two-sided binomial test of PREDICT.

One implementation, in TensorFlow float64 ops: the Python functions below
(`clopper_pearson_lower`, `clopper_pearson_upper`, `runner_up_upper`) check
their arguments and run the same tensor ops eagerly that the exported
SavedModel runs in its graph (`kerasrobust.export_saved_model`). SciPy is
not used here; the tests compare against it.

All bounds are exact binomial bounds (no normal approximation). They invert
the regularized incomplete beta function `tf.math.betainc`, ``P(Bin(n, p)
>= k) = I_p(k, n - k + 1)`` and ``P(Bin(n, p) <= N) = I_{1-p}(n - N, N +
1)``, by bisection on [0, 1] with `BISECTION_STEPS` halvings (the interval
ends 2**-80 apart, far below float64's resolution of the bounds that
matter). Bisection keeps the side on which the bound is valid: a lower bound
is the largest point known to satisfy its condition, an upper bound the
smallest, so rounding never makes a certified radius larger than the exact
one. (`tfp.math.betaincinv` was measured here at 1.5e-12 relative error
against `scipy.special.betaincinv`, accurate enough, but it rounds to either
side and would not serve the runner-up bound, which is no Beta quantile.)

``alpha`` is always the *one-sided* error: Cohen et al.'s code obtains the
same lower bound as ``proportion_confint(k, n, alpha=2 * alpha,
method="beta")[0]`` (a two-sided interval at level ``2 * alpha``);
forgetting that factor 2 doubles the failure rate.
"""

import numpy as np
import tensorflow as tf

from kerasrobust._validation import check_counts, check_number, short_repr

#: Halvings of [0, 1] in every bisection.
BISECTION_STEPS = 80

_F64 = tf.float64


def as_float64(value):
    """``value`` as a float64 tensor without a float32 detour.

    (`tf.cast` of a Python float first makes a float32 constant: 0.001
    would become 0.0010000000475.)
    """
    if isinstance(value, (tf.Tensor, tf.Variable)):
        return tf.cast(value, _F64)
    return tf.convert_to_tensor(value, _F64)


def _bisect(condition, shape):
    """Bisection for the boundary of a monotone predicate on [0, 1].

    ``condition(p)`` must be True on ``[0, t]`` and False on ``(t, 1]``
    (elementwise, tensors of ``shape``); returns ``(lo, hi)`` with
    ``condition(lo)`` True (or ``lo = 0``), ``condition(hi)`` False (or
    ``hi = 1``) and ``hi - lo = 2**-BISECTION_STEPS``.
    """
    def body(i, lo, hi):
        mid = 0.5 * (lo + hi)
        ok = condition(mid)
        return i + 1, tf.where(ok, mid, lo), tf.where(ok, hi, mid)

    lo = tf.zeros(shape, _F64)
    hi = tf.ones(shape, _F64)
    _, lo, hi = tf.while_loop(
        lambda i, lo, hi: i < BISECTION_STEPS, body,
        (tf.constant(0), lo, hi))
    return lo, hi


def _broadcast(*tensors):
    shape = tf.shape(tensors[0])
    for t in tensors[1:]:
        shape = tf.broadcast_dynamic_shape(shape, tf.shape(t))
    return shape, [tf.broadcast_to(t, shape) for t in tensors]


# ---------------------------------------------------------------------------
# Tensor ops (unchecked; traced into graphs)
# ---------------------------------------------------------------------------

def cp_lower(k, n, alpha):
    """`clopper_pearson_lower` as unchecked float64 tensor ops.

    The largest ``p`` found with ``P(Bin(n, p) >= k) = I_p(k, n - k + 1) <=
    alpha``; 0 where ``k = 0``. Arguments broadcast together.
    """
    shape, (k, n, alpha) = _broadcast(
        as_float64(k), as_float64(n), as_float64(alpha))
    a = tf.maximum(k, 1.0)  # betainc needs a > 0; k = 0 is masked below
    b = n - k + 1.0
    lo, _ = _bisect(lambda p: tf.math.betainc(a, b, p) <= alpha, shape)
    return tf.where(k > 0.0, lo, tf.zeros_like(lo))


def binomial_cdf(counts, n, p):
    """``P(Bin(n, p) <= counts)`` elementwise (float64; 1 where counts >= n).

    Arguments broadcast together.
    """
    _, (counts, n, p) = _broadcast(
        as_float64(counts), as_float64(n), as_float64(p))
    below = counts < n
    a = tf.where(below, n - counts, tf.ones_like(counts))
    cdf = tf.math.betainc(a, counts + 1.0, 1.0 - p)
    return tf.where(below, cdf, tf.ones_like(cdf))


def runner_up_bound(other_counts, n, alpha):
    """`runner_up_upper` as unchecked float64 tensor ops, batched.

    Args:
        other_counts: ``(..., M)`` counts of the classes other than the top
            class (all of them: an unseen class still contributes ``(1 -
            p)**n``).
        n: trials, broadcast to ``other_counts.shape[:-1]``.
        alpha: the error given to the bound, broadcast likewise.

    Returns:
        float64 ``(...)``: the smallest ``p`` found with ``sum_j P(Bin(n, p)
        <= N_j) <= alpha``; 0 where already ``p = 0`` qualifies (``M <=
        alpha``, e.g. no other class); 1 where no ``p < 1`` does (``alpha <=
        0``, or an other class holding every sample).
    """
    other_counts = as_float64(other_counts)
    batch_shape = tf.shape(other_counts)[:-1]
    n = tf.broadcast_to(as_float64(n), batch_shape)
    alpha = tf.broadcast_to(as_float64(alpha), batch_shape)

    def total(p):
        return tf.reduce_sum(binomial_cdf(
            other_counts, n[..., tf.newaxis], p[..., tf.newaxis]), axis=-1)

    # total(p) <= alpha is False on [0, t) and True on [t, 1]: bisect its
    # negation and keep the upper end (a point known to satisfy it).
    _, hi = _bisect(lambda p: total(p) > alpha, batch_shape)
    num_others = tf.cast(tf.shape(other_counts)[-1], _F64)
    hi = tf.where(num_others <= alpha, tf.zeros_like(hi), hi)
    # alpha <= 0: only p = 1 qualifies, but P(Bin(n, p) <= N) underflows to
    # 0 long before p = 1 when N << n; the exact answer is 1.
    return tf.where(alpha > 0.0, hi, tf.ones_like(hi))


def cp_upper(k, n, alpha):
    """`clopper_pearson_upper` as unchecked float64 tensor ops: the
    runner-up bound with one other class, ``inf{p : P(Bin(n, p) <= k) <=
    alpha}`` (1 where ``k = n``)."""
    shape, (k, n, alpha) = _broadcast(
        as_float64(k), as_float64(n), as_float64(alpha))
    return runner_up_bound(k[..., tf.newaxis], n, alpha)


def binomial_test_pvalue(n_a, n_b):
    """Two-sided binomial test p-value of ``n_a`` in ``n_a + n_b`` vs 1/2.

    For ``p = 1/2`` the distribution is symmetric, so the two-sided p-value
    (scipy's ``binomtest(n_a, n_a + n_b, 0.5).pvalue``) is ``min(1, 2 * P(X
    >= max(n_a, n_b)))`` when the counts differ and 1 when they are equal,
    with ``P(X >= m) = I_{1/2}(m, n_a + n_b - m + 1)``.
    """
    n_a = as_float64(n_a)
    n_b = as_float64(n_b)
    top = tf.maximum(n_a, n_b)
    low = tf.minimum(n_a, n_b)
    tail = tf.math.betainc(tf.maximum(top, 1.0), low + 1.0,
                           tf.fill(tf.shape(top), tf.constant(0.5, _F64)))
    pvalue = tf.minimum(2.0 * tail, 1.0)
    return tf.where(n_a == n_b, tf.ones_like(pvalue), pvalue)


# Traced once each (explicit control flow: no AutoGraph, which would
# dominate the tracing time).
_VECTOR = tf.TensorSpec([None], _F64)
_cp_lower_fn = tf.function(cp_lower, input_signature=[_VECTOR] * 3,
                           autograph=False)
_cp_upper_fn = tf.function(cp_upper, input_signature=[_VECTOR] * 3,
                           autograph=False)
_runner_up_fn = tf.function(
    runner_up_bound, input_signature=[tf.TensorSpec([None, None], _F64),
                                      _VECTOR, _VECTOR], autograph=False)


# ---------------------------------------------------------------------------
# Python API (checked; runs the tensor ops above eagerly)
# ---------------------------------------------------------------------------

def _check_alpha_array(name, alpha):
    """``alpha`` (scalar or array) as float64 inside ``[0, 1)``."""
    if np.ndim(alpha) == 0:
        return np.float64(check_number(name, alpha, low=0.0, high=1.0,
                                       high_open=True))
    try:
        arr = np.asarray(alpha, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"`{name}` must be numbers in [0, 1), got "
                        f"{alpha!r}.") from e
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr >= 1.0)
    if np.any(bad):
        raise ValueError(f"`{name}` must be in [0, 1), got "
                         f"{arr[bad].ravel()[0].item()!r} in {short_repr(arr)}.")
    return arr


def _check_k_n(k, n, k_name="k", n_name="n"):
    k = check_counts(k_name, k)
    n = check_counts(n_name, n)
    if np.any(n < 1):
        raise ValueError(
            f"`{n_name}` (the number of samples) must be in [1, inf), got "
            f"{short_repr(n) if n.ndim else int(n)}.")
    try:
        kb, nb = np.broadcast_arrays(k, n)
    except ValueError as e:
        raise ValueError(
            f"`{k_name}` (shape {k.shape}) and `{n_name}` (shape {n.shape}) "
            "must broadcast together.") from e
    if np.any(kb > nb):
        i = np.flatnonzero((kb > nb).ravel())[0]
        raise ValueError(
            f"`{k_name}` must be in [0, {n_name}], got {k_name}="
            f"{kb.ravel()[i]} with {n_name}={nb.ravel()[i]}.")
    return k, n


def _clopper_pearson(fn, k, n, alpha):
    """``fn`` on the checked, broadcast arguments of a Clopper-Pearson
    bound; a float or a float64 array."""
    k, n = _check_k_n(k, n)
    alpha = _check_alpha_array("alpha", alpha)
    k, n, alpha = np.broadcast_arrays(k, n, alpha)
    # The bound is elementwise: compute it once per distinct (k, n, alpha)
    # (many inputs share counts: simulations, easy images with k = n).
    triples = np.stack([np.ravel(v).astype(np.float64)
                        for v in (k, n, alpha)], axis=1)
    unique, inverse = np.unique(triples, axis=0, return_inverse=True)
    out = fn(*(tf.constant(unique[:, j], _F64) for j in range(3)))
    out = out.numpy()[np.ravel(inverse)].reshape(k.shape)
    return float(out) if out.ndim == 0 else out


def clopper_pearson_lower(k, n, alpha):
    """One-sided ``(1 - alpha)`` Clopper-Pearson lower bound on a proportion.

    ``pLower = sup{p : P(Bin(n, p) >= k) <= alpha}``, the Beta quantile
    ``scipy.stats.beta.ppf(alpha, k, n - k + 1)`` for ``k >= 1`` and ``0``
    for ``k = 0``. This is CERTIFY's ``pABar`` (Cohen et al. 2019) and the
    ``underline{p}_A`` of T-CERTIFY's eq. 14.

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
    return _clopper_pearson(_cp_lower_fn, k, n, alpha)


def clopper_pearson_upper(k, n, alpha):
    """One-sided ``(1 - alpha)`` Clopper-Pearson upper bound on a proportion.

    ``pUpper = inf{p : P(Bin(n, p) <= k) <= alpha}``, the Beta quantile
    ``scipy.stats.beta.ppf(1 - alpha, k + 1, n - k)`` for ``k < n`` and
    ``1`` for ``k = n``.

    Guarantee: if ``k ~ Bin(n, p)`` then ``P(pUpper < p) <= alpha``.

    Arguments and result as in `clopper_pearson_lower`; ``alpha = 0`` gives
    the trivial bound 1.
    """
    return _clopper_pearson(_cp_upper_fn, k, n, alpha)


def runner_up_upper(other_counts, n, alpha):
    """Upper confidence bound on the runner-up probability (T-CERTIFY eq. 14).

    ``pBBar = inf{p : sum_j P(Bin(n, p) <= N_j) <= alpha}``, the sum running
    over ALL classes ``j`` other than the top class (so a class that was
    never predicted still contributes ``(1 - p)**n``: the number of classes
    matters, pass all ``K - 1`` other counts).

    ``f(p) = sum_j P(Bin(n, p) <= N_j)`` is continuous and decreasing from
    ``f(0) = K - 1`` to ``f(1) = #{j : N_j >= n}``; the bound is found by
    bisection (`runner_up_bound`) and always satisfies ``f(p) <= alpha``.
    For a single other class it is exactly ``clopper_pearson_upper(N, n,
    alpha)``; with more classes it is larger than each class's own bound.

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
    other = check_counts("other_counts", other_counts, ndim=1)
    n = check_number("n", n, low=1, integer=True)
    alpha = check_number("alpha", alpha, low=0.0, high=1.0, high_open=True)
    if other.size and other.max() > n:
        raise ValueError(
            f"`other_counts` must be in [0, n={n}], got {int(other.max())}.")
    if other.sum() > n:
        raise ValueError(
            f"`other_counts` must sum to at most n={n} (they are counts of "
            f"n samples), got a sum of {int(other.sum())}.")
    out = _runner_up_fn(tf.constant(other[np.newaxis], _F64),
                        tf.constant([n], _F64), tf.constant([alpha], _F64))
    return float(out[0])
