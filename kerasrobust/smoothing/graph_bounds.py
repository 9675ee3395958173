"""The binomial confidence bounds of `bounds.py` as TensorFlow graph ops.

The exported SavedModel (`kerasrobust.export_saved_model`) certifies inside
the graph, in a process that may not have scipy or kerasrobust. These are
the same bounds as `kerasrobust.smoothing.bounds`, in float64:

* `clopper_pearson_lower(k, n, alpha)`: ``sup{p : I_p(k, n - k + 1) <=
  alpha}`` (0 for ``k = 0``), CERTIFY's ``pABar`` (Cohen et al. 2019) and
  ``underline{p}_A`` of T-CERTIFY's eq. 14.
* `runner_up_upper(other_counts, n, alpha)`: ``inf{p : sum_j P(Bin(n, p) <=
  N_j) <= alpha}`` over all ``K - 1`` other classes, T-CERTIFY's
  ``overline{p}_B`` (eq. 14).
* `binomial_test_pvalue(nA, nB)`: the two-sided p-value of ``nA`` successes
  in ``nA + nB`` trials against ``p = 1/2`` (PREDICT).

The regularized incomplete beta function is `tf.math.betainc` (``P(Bin(n,
p) >= k) = I_p(k, n - k + 1)``, ``P(Bin(n, p) <= N) = I_{1-p}(n - N, N +
1)``); its inverse is found by bisection on [0, 1], `BISECTION_STEPS`
halvings (the interval ends 2^-80 apart, far below float64's spacing near
the bounds that matter). Bisection keeps the side of the interval on which
the bound is valid: the lower bound is the largest point known to satisfy
``I_p <= alpha``, the upper bound the smallest point known to satisfy the
sum ``<= alpha``, so rounding never makes a radius larger than the exact
one by more than the spacing of the final interval.
"""

import tensorflow as tf

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


def clopper_pearson_lower(k, n, alpha):
    """One-sided ``(1 - alpha)`` Clopper-Pearson lower bound, in the graph.

    Args:
        k: successes, an integer or float tensor (broadcast with the rest).
        n: trials, ``n >= 1``.
        alpha: one-sided error in ``(0, 1)``.

    Returns:
        float64 tensor of the broadcast shape: the largest ``p`` found with
        ``P(Bin(n, p) >= k) <= alpha`` (0 where ``k = 0``).
    """
    k = as_float64(k)
    n = as_float64(n)
    alpha = as_float64(alpha)
    shape = tf.broadcast_dynamic_shape(
        tf.shape(k), tf.broadcast_dynamic_shape(tf.shape(n), tf.shape(alpha)))
    k, n, alpha = (tf.broadcast_to(t, shape) for t in (k, n, alpha))
    a = tf.maximum(k, 1.0)  # betainc needs a > 0; k = 0 is masked below
    b = n - k + 1.0
    lo, _ = _bisect(lambda p: tf.math.betainc(a, b, p) <= alpha, shape)
    return tf.where(k > 0.0, lo, tf.zeros_like(lo))


def binomial_cdf(counts, n, p):
    """``P(Bin(n, p) <= counts)`` elementwise (float64; 1 where counts >= n).

    ``p`` broadcasts against ``counts``.
    """
    counts = as_float64(counts)
    n = as_float64(n)
    below = counts < n
    a = tf.where(below, n - counts, tf.ones_like(counts))
    cdf = tf.math.betainc(a, counts + 1.0, tf.broadcast_to(
        1.0 - as_float64(p), tf.shape(a)))
    return tf.where(below, cdf, tf.ones_like(cdf))


def runner_up_upper(other_counts, n, alpha):
    """T-CERTIFY's runner-up bound (eq. 14) for a batch of problems.

    Args:
        other_counts: ``(..., K - 1)`` counts of the classes other than the
            top class (all of them: an unseen class still contributes
            ``(1 - p)**n``).
        n: trials, broadcast to ``other_counts.shape[:-1]``.
        alpha: the error given to the runner-up, broadcast likewise; where
            ``alpha <= 0`` the bound is 1.

    Returns:
        float64 ``(...)``: the smallest ``p`` found with ``sum_j P(Bin(n, p)
        <= N_j) <= alpha``; 1 where no ``p < 1`` qualifies (``alpha <= 0``,
        or an other class holding every sample).
    """
    other_counts = as_float64(other_counts)
    batch_shape = tf.shape(other_counts)[:-1]
    n = tf.broadcast_to(as_float64(n), batch_shape)
    alpha = tf.broadcast_to(as_float64(alpha), batch_shape)

    def small_enough(p):
        total = tf.reduce_sum(binomial_cdf(
            other_counts, n[..., tf.newaxis], p[..., tf.newaxis]), axis=-1)
        return total <= alpha

    # small_enough is False on [0, t) and True on [t, 1]: bisect its negation.
    _, hi = _bisect(lambda p: tf.logical_not(small_enough(p)), batch_shape)
    # alpha <= 0: only p = 1 qualifies, but P(Bin(n, p) <= N) underflows to
    # 0 long before p = 1 when N << n; the exact answer is 1.
    return tf.where(alpha > 0.0, hi, tf.ones_like(hi))


def binomial_test_pvalue(n_a, n_b):
    """Two-sided binomial test p-value of ``n_a`` in ``n_a + n_b`` vs 1/2.

    For ``p = 1/2`` the distribution is symmetric, so scipy's
    ``binomtest(n_a, n_a + n_b, 0.5).pvalue`` is ``min(1, 2 * P(X >=
    max(n_a, n_b)))`` when the counts differ and 1 when they are equal, with
    ``P(X >= m) = I_{1/2}(m, n_a + n_b - m + 1)``.
    """
    n_a = as_float64(n_a)
    n_b = as_float64(n_b)
    top = tf.maximum(n_a, n_b)
    low = tf.minimum(n_a, n_b)
    tail = tf.math.betainc(tf.maximum(top, 1.0), low + 1.0,
                           tf.fill(tf.shape(top), tf.constant(0.5, _F64)))
    pvalue = tf.minimum(2.0 * tail, 1.0)
    return tf.where(n_a == n_b, tf.ones_like(pvalue), pvalue)
