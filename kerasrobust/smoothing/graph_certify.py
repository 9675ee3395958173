"""CERTIFY, T-CERTIFY and PREDICT from class counts, as TensorFlow graph ops.

The same algorithms as `kerasrobust.smoothing.certify` (which documents
them and their guarantees), for a batch of inputs at once and written with
TensorFlow ops only, so that an exported SavedModel certifies without
Python, scipy or kerasrobust (`kerasrobust.export_saved_model`):

* `certify_cohen`: CERTIFY of Cohen, Rosenfeld and Kolter (2019): ``pABar =
  clopper_pearson_lower(nA, n, alpha)``; abstain if ``pABar < 1/2``, else
  radius ``sigma * Phi^-1(pABar)``.
* `certify_tight`: T-CERTIFY (Algorithm 2 of the ADRE / T-CERTIFY paper)
  with the library's default choice of ``alpha'`` (``alpha_prime=
  "selection"``, from the selection counts only, over the grid ``alpha *
  (0.1, ..., 1.0)``) and the runner-up bound capped at ``1 - pABar``;
  radius ``sigma / 2 * (Phi^-1(pABar) - Phi^-1(pBBar))``, abstain unless
  it is ``> 0``.
* `predict`: PREDICT of Cohen et al. (two-sided binomial test between the
  top two counts).

Every tie-break and rounding rule is the one of the NumPy version (first
index among tied top counts; last grid point among tied forecasts; the grid
point nearest ``alpha / 2`` when every forecast is 0; round-half-to-even in
the plug-in forecast), so for the same counts both return the same labels,
and radii equal up to the bisection's resolution (tested to 1e-6 on many
random count vectors, `tests/test_graph_certify.py`).

Counts are ``(N, K)`` tensors (any integer or float dtype); ``n``, ``sigma``
and ``alpha`` are scalars. Labels are int64 (``-1`` = abstain), radii
float64.
"""

import numpy as np
import tensorflow as tf

from kerasrobust.smoothing import graph_bounds
from kerasrobust.smoothing.graph_bounds import as_float64

ABSTAIN = -1

#: T-CERTIFY's default grid, as fractions of alpha (`default_alpha_prime_grid`).
GRID_FRACTIONS = np.arange(1, 11, dtype=np.float64) / 10.0

_F64 = tf.float64


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


def _f64(value):
    return tf.constant(value, _F64)


def certify_cohen(counts_selection, counts_estimation, n, sigma, alpha):
    """CERTIFY (Cohen et al. 2019) for a batch: ``(labels, radii)``."""
    counts_estimation = as_float64(counts_estimation)
    top = first_argmax(as_float64(counts_selection))
    n_a = tf.gather(counts_estimation, top, batch_dims=1)
    p_a = graph_bounds.clopper_pearson_lower(n_a, n, alpha)
    abstain = p_a < 0.5
    radius = as_float64(sigma) * tf.math.ndtri(tf.where(abstain, _f64(0.5), p_a))
    return (tf.where(abstain, tf.constant(ABSTAIN, tf.int64), top),
            tf.where(abstain, tf.zeros_like(radius), radius))


def _t_certify_radius(n_a, others, n, sigma, alpha, alpha_prime):
    """T-CERTIFY's radius ``r_{alpha'}`` (0 when none), capped runner-up.

    ``n_a``: ``(N,)``; ``others``: ``(N, K - 1)``; ``alpha_prime``:
    ``(N, G)``. Returns ``(N, G)``. See `certify._t_certify_radius`.
    """
    sigma = as_float64(sigma)
    n = as_float64(n)
    alpha = as_float64(alpha)
    num_alpha = tf.shape(alpha_prime)[-1]
    p_a = graph_bounds.clopper_pearson_lower(
        n_a[:, tf.newaxis], n, alpha_prime)
    confident = p_a > 0.5  # the paper's strict inequality
    z_a = tf.math.ndtri(tf.where(confident, p_a, _f64(0.75)))
    others = tf.tile(others[:, tf.newaxis, :], tf.stack([1, num_alpha, 1]))
    p_b = graph_bounds.runner_up_upper(
        others, n, tf.maximum(alpha - alpha_prime, 0.0))
    capped = p_b >= 1.0 - p_a  # then pBBar = 1 - pABar: CERTIFY's radius
    p_b = tf.where(capped, _f64(0.25), p_b)
    uncapped = sigma / 2.0 * (z_a - tf.math.ndtri(p_b))
    uncapped = tf.where(tf.math.is_finite(uncapped) & (uncapped > 0.0),
                        uncapped, tf.zeros_like(uncapped))
    radius = tf.where(capped, sigma * z_a, uncapped)
    return tf.where(confident, radius, tf.zeros_like(radius))


def plug_in_counts(counts_selection, n):
    """The selection proportions as counts of ``n`` samples (a forecast).

    As `certify._plug_in_counts`: unseen classes share half a pseudo-sample,
    then the proportions are scaled to ``n`` and rounded half to even.
    """
    c = as_float64(counts_selection)
    n = as_float64(n)
    unseen = tf.cast(c == 0.0, _F64)
    num_unseen = tf.reduce_sum(unseen, axis=-1, keepdims=True)
    any_unseen = num_unseen > 0.0
    c = tf.where(any_unseen,
                 c + unseen * (0.5 / tf.maximum(num_unseen, 1.0)), c)
    total = tf.reduce_sum(as_float64(counts_selection), axis=-1,
                          keepdims=True)
    total = total + tf.where(any_unseen, _f64(0.5), _f64(0.0))
    return tf.clip_by_value(tf.math.rint(c * (n / total)), 0.0, n)


def select_alpha_prime(counts_selection, top, n, sigma, alpha):
    """T-CERTIFY's ``alpha'`` from the selection counts (``"selection"``).

    As `certify._select_alpha_prime`: the grid point with the largest
    forecast radius on `plug_in_counts` (ties to the largest ``alpha'``), or
    the grid point nearest ``alpha / 2`` when every forecast is 0.
    """
    alpha = as_float64(alpha)
    grid = alpha * tf.constant(GRID_FRACTIONS, _F64)
    num_grid = len(GRID_FRACTIONS)
    plug = plug_in_counts(counts_selection, n)
    n_a = tf.gather(plug, top, batch_dims=1)
    others = drop_class(plug, top)
    batch = tf.shape(n_a)[0]
    forecasts = _t_certify_radius(
        n_a, others, n, sigma, alpha,
        tf.broadcast_to(grid, tf.stack([batch, num_grid])))
    index = tf.range(num_grid, dtype=tf.int64)
    best = tf.reduce_max(forecasts, axis=-1, keepdims=True)
    last_best = tf.reduce_max(
        tf.where(forecasts == best, index, -1), axis=-1)
    distance = tf.abs(grid - alpha / 2.0)
    nearest_half = tf.reduce_min(
        tf.where(distance == tf.reduce_min(distance), index, num_grid))
    chosen = tf.where(best[:, 0] > 0.0, last_best, nearest_half)
    return tf.gather(grid, chosen)


def certify_tight(counts_selection, counts_estimation, n, sigma, alpha):
    """T-CERTIFY (Algorithm 2, ``alpha'`` from the selection counts)."""
    counts_selection = as_float64(counts_selection)
    counts_estimation = as_float64(counts_estimation)
    top = first_argmax(counts_selection)
    alpha_prime = select_alpha_prime(counts_selection, top, n, sigma, alpha)
    n_a = tf.gather(counts_estimation, top, batch_dims=1)
    others = drop_class(counts_estimation, top)
    radius = _t_certify_radius(n_a, others, n, sigma, alpha,
                               alpha_prime[:, tf.newaxis])[:, 0]
    certified = radius > 0.0
    return (tf.where(certified, top, tf.constant(ABSTAIN, tf.int64)),
            tf.where(certified, radius, tf.zeros_like(radius)))


def predict(counts, alpha):
    """PREDICT (Cohen et al. 2019) for a batch: int64 labels ``(N,)``."""
    counts = as_float64(counts)
    top = first_argmax(counts)
    n_a = tf.gather(counts, top, batch_dims=1)
    n_b = tf.reduce_max(drop_class(counts, top), axis=-1)
    pvalue = graph_bounds.binomial_test_pvalue(n_a, n_b)
    return tf.where(pvalue > as_float64(alpha),
                    tf.constant(ABSTAIN, tf.int64), top)
