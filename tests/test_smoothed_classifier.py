"""`SmoothedClassifier`: sampling, PREDICT / CERTIFY, the layer, saving.

The reference values are independent of the code under test: for a linear
two-class base model `logits = [0, w.x + b]` the vote for class 1 under
noise N(0, sigma^2 I) is a Bernoulli with p = Phi((w.x + b) / (sigma ||w||))
(scipy), the smoothed classifier's true L2 radius is |w.x + b| / ||w||
(the distance to the hyperplane), and the soft smoothed output is
E[sigmoid(z)], z ~ N(w.x + b, sigma^2 ||w||^2), computed by Gauss-Hermite
quadrature in NumPy.
"""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from kerasrobust.smoothing import SmoothedClassifier
from kerasrobust.smoothing import sampling
from helpers import assert_keras_round_trip
from helpers import one_device_and_mirrored
from helpers import tiny_base_model

SHAPE = (4, 4, 1)
SIGMA = 0.25


def smoothed_classifier(*args, **kwargs):
    """`SmoothedClassifier` for the test problems, whose inputs are features
    around 0 (linear and threshold models), not [0, 1] pixels:
    `value_range=None` unless given."""
    kwargs.setdefault("value_range", None)
    return SmoothedClassifier(*args, **kwargs)


def linear_model(w, b, probabilities=False):
    """`[0, w.x + b]` logits (or their softmax) on images of SHAPE."""
    d = int(np.prod(SHAPE))
    kernel = np.zeros((d, 2), np.float32)
    kernel[:, 1] = w
    layers = [keras.Input(SHAPE), keras.layers.Flatten(),
              keras.layers.Dense(2)]
    if probabilities:
        layers.append(keras.layers.Softmax())
    model = keras.Sequential(layers)
    model.layers[1].set_weights([kernel, np.array([0.0, b], np.float32)])
    return model


def make_problem(margins, seed=0):
    """Images whose signed distances to the hyperplane are `margins`."""
    rng = np.random.default_rng(seed)
    d = int(np.prod(SHAPE))
    w = rng.normal(size=d).astype(np.float32)
    w /= np.linalg.norm(w)
    w *= 2.0  # ||w|| = 2: the radius is |w.x + b| / 2
    b = 0.3
    base = rng.random((len(margins), d)).astype(np.float64)
    # Move each image along w to the wanted margin w.x + b = 2 * margin.
    current = base @ w + b
    target = 2.0 * np.asarray(margins, np.float64)
    x = base + np.outer((target - current) / (w @ w), w)
    return x.reshape((-1,) + SHAPE).astype(np.float32), w, b


def true_margin(x, w, b):
    """(w.x + b) / ||w|| in float64: the signed distance."""
    flat = x.reshape(len(x), -1).astype(np.float64)
    return (flat @ w.astype(np.float64) + b) / np.linalg.norm(w)


def expected_sigmoid(mu, s, order=80):
    """E[sigmoid(z)] and Var[sigmoid(z)] for z ~ N(mu, s^2) (quadrature)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(order)
    weights = weights / weights.sum()
    z = mu[:, None] + s * nodes[None, :]
    sig = 1.0 / (1.0 + np.exp(-z))
    mean = (sig * weights).sum(1)
    return mean, (sig ** 2 * weights).sum(1) - mean ** 2


# ------------------------------------------------------------- (a) counts
def test_counts_match_closed_form_probability():
    margins = np.array([-0.2, -0.05, 0.0, 0.03, 0.1, 0.25])
    x, w, b = make_problem(margins)
    smoothed = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=1)
    n = 4000
    counts = smoothed.sample_counts(x, n, batch_size=512)
    assert counts.shape == (len(x), 2) and counts.dtype == np.int64
    np.testing.assert_array_equal(counts.sum(1), n)
    p1 = stats.norm.cdf(true_margin(x, w, b) / SIGMA)
    sd = np.sqrt(p1 * (1 - p1) / n)
    assert np.all(np.abs(counts[:, 1] / n - p1) <= 4.5 * sd + 1.0 / n), (
        counts[:, 1] / n, p1)


def test_call_is_mean_softmax_under_noise():
    margins = np.array([-1.0, -0.4, 0.0, 0.2, 0.8])
    x, w, b = make_problem(margins, seed=1)
    m, sigma = 4000, 1.0
    smoothed = smoothed_classifier(linear_model(w, b), 2, sigma,
                                  num_samples=m, seed=2)
    out = np.asarray(smoothed(x))
    assert out.shape == (len(x), 2)
    np.testing.assert_allclose(out.sum(1), 1.0, atol=1e-5)
    mu = 2.0 * true_margin(x, w, b)          # w.x + b, ||w|| = 2
    mean, var = expected_sigmoid(mu, sigma * 2.0)
    assert np.all(np.abs(out[:, 1] - mean) <= 5 * np.sqrt(var / m) + 1e-4), (
        out[:, 1], mean)
    # Without noise the softmax would differ clearly for these margins.
    assert np.abs(1 / (1 + np.exp(-mu)) - mean).max() > 5 * np.sqrt(
        var / m).max()


# ---------------------------------------------------------- (b) certify
@pytest.mark.parametrize("method", ["cohen", "tight"])
def test_certified_radius_is_a_lower_bound_and_tight(method):
    rng = np.random.default_rng(3)
    signs = rng.choice([-1.0, 1.0], size=24)
    true = rng.uniform(0.06, 0.45, size=24)       # p_A in [0.59, 0.96]
    x, w, b = make_problem(signs * true, seed=2)
    true = np.abs(true_margin(x, w, b))
    alpha, n = 0.05, 20000
    smoothed = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=4)
    result = smoothed.certify(x, n0=100, n=n, alpha=alpha,
                              batch_size=2000, method=method, verbose=0)
    expected_label = (true_margin(x, w, b) > 0).astype(int)
    certified = result.label != -1
    assert certified.mean() >= 0.9
    np.testing.assert_array_equal(result.label[certified],
                                  expected_label[certified])
    # Each certificate fails w.p. <= alpha: allow that many failures.
    failures = int((result.radius > true + 1e-9).sum())
    assert failures <= stats.binom.ppf(0.999, len(x), alpha), (
        result.radius, true)
    # Close for large n: within what a 5-sd count deficit plus the
    # one-sided Clopper-Pearson margin can cost.
    p_a = stats.norm.cdf(true / SIGMA)
    sd = np.sqrt(p_a * (1 - p_a) / n)
    p_low = p_a - (5.0 + stats.norm.ppf(1 - alpha)) * sd
    tolerance = SIGMA * (stats.norm.ppf(p_a) - stats.norm.ppf(p_low))
    gap = true - result.radius
    assert np.all(gap[certified] <= tolerance[certified]), (gap, tolerance)


# --------------------------------------------- (c) shapes, dtypes, abstain
def test_counts_sum_to_n_shapes_and_abstentions():
    x, w, b = make_problem(np.array([0.0, 0.0, 0.0, 0.4]), seed=5)
    smoothed = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=0)
    # alpha = 1e-6: on the hyperplane an abstention fails w.p. <= 1e-6.
    result = smoothed.certify(x, n0=50, n=300, alpha=1e-6, batch_size=64,
                              verbose=0)
    for name in ("label", "radius", "time"):
        assert result[name].shape == (4,)
    assert result.label.dtype == np.int64
    assert result.radius.dtype == np.float64
    np.testing.assert_array_equal(result.counts_selection.sum(1), 50)
    np.testing.assert_array_equal(result.counts_estimation.sum(1), 300)
    # On the hyperplane p_A = 1/2: CERTIFY abstains, as a result.
    np.testing.assert_array_equal(result.label[:3], -1)
    np.testing.assert_array_equal(result.radius[:3], 0.0)
    assert result.label[3] == 1 and result.radius[3] > 0
    np.testing.assert_array_equal(result.predict, result.label)
    labels = smoothed.predict(x, n=300, alpha=1e-6, batch_size=64)
    assert labels.shape == (4,) and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, [-1, -1, -1, 1])
    # One image (no batch axis) is a batch of one.
    assert smoothed.sample_counts(x[3], 7).shape == (1, 2)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_noisy_copies_keep_shape_and_dtype(dtype):
    seen = []

    def base(noisy, training=False):
        seen.append((noisy.dtype, tuple(noisy.shape), training))
        flat = tf.reshape(tf.cast(noisy, tf.float32), [tf.shape(noisy)[0], -1])
        return tf.stack([tf.zeros_like(flat[:, 0]), flat[:, 0]], axis=1)

    count = sampling.make_counter(base, num_classes=2)
    x = tf.zeros((3,) + SHAPE, dtype)
    # 3 inputs x 2 noise blocks of 25 draws, 2 blocks per forward pass.
    counts = count(x, tf.constant(1.0, dtype), tf.constant([1, 2]),
                   tf.constant([0, 1, 2]), tf.constant(0), tf.constant(50),
                   tf.constant(2))
    np.testing.assert_array_equal(counts.numpy().sum(1), 50)
    # Noise around 0: about half the votes for class 1.
    assert 0.25 < counts.numpy()[:, 1].mean() / 50 < 0.75
    assert [(d, s[1:], t) for d, s, t in seen] == [
        (tf.as_dtype(dtype), SHAPE, False)]


def test_work_plan_packs_inputs_and_splits_draws():
    block = sampling.NOISE_BLOCK
    assert block == 25
    # n0 = 100 at batch 1000: 10 inputs fill a forward pass.
    assert sampling.plan_block(100, 1000) == 10
    assert sampling.plan_block(100000, 1000) == 1
    assert sampling.blocks_for(0, 100) == 4
    assert sampling.blocks_for(0, 101) == 5
    assert sampling.blocks_for(60, 70) == 4      # draws 60..129: blocks 2-5
    assert sampling.items_per_pass(1000, 400) == 40
    assert sampling.items_per_pass(1000, 4) == 4   # short call: no padding
    assert sampling.items_per_pass(1000, 5, num_replicas=2) == 3
    assert sampling.items_per_pass(10, 400) == 1   # at least one block


def test_draws_past_n_are_not_counted_and_no_retrace():
    x, w, b = make_problem(np.array([0.0, 0.1, -0.1]), seed=6)
    smoothed = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=0)
    counts = smoothed.sample_counts(x, 101, batch_size=40)
    np.testing.assert_array_equal(counts.sum(1), 101)
    traces = smoothed._counter.experimental_get_tracing_count()
    for num, start in ((120, 0), (160, 3), (400, 0), (7, 80)):
        counts = smoothed.sample_counts(x, num, batch_size=40, start=start)
        np.testing.assert_array_equal(counts.sum(1), num)
    assert smoothed._counter.experimental_get_tracing_count() == traces
    # Another number of inputs: one more, shape-relaxed trace, then none.
    smoothed.certify(x[:2], 10, 1000, 0.01, batch_size=400, verbose=0)
    traces = smoothed._counter.experimental_get_tracing_count()
    smoothed.certify(x, 10, 100, 0.01, batch_size=40, verbose=0)
    smoothed.certify(x[:1], 10, 300, 0.01, batch_size=400, verbose=0)
    assert smoothed._counter.experimental_get_tracing_count() == traces


def test_counting_compiles_under_xla():
    x, w, b = make_problem(np.array([0.1, -0.1]), seed=7)
    count = sampling.make_counter(linear_model(w, b), 2, jit_compile=True)
    counts = count(tf.constant(x), tf.constant(SIGMA), tf.constant([3, 4]),
                   tf.constant([5, 9]), tf.constant(10), tf.constant(70),
                   tf.constant(2)).numpy()
    np.testing.assert_array_equal(counts.sum(1), 70)
    # Under XLA too, the counts do not depend on the passes' size.
    np.testing.assert_array_equal(
        counts, count(tf.constant(x), tf.constant(SIGMA), tf.constant([3, 4]),
                      tf.constant([5, 9]), tf.constant(10), tf.constant(70),
                      tf.constant(3)).numpy())


# ------------------------------------------------------ (d) from_logits
def test_probabilities_model_is_not_softmaxed_twice():
    x, w, b = make_problem(np.array([-0.2, 0.0, 0.1, 0.3]), seed=8)
    logits = smoothed_classifier(linear_model(w, b), 2, SIGMA,
                                num_samples=64, seed=5)
    probs = smoothed_classifier(linear_model(w, b, probabilities=True), 2,
                               SIGMA, from_logits=False, num_samples=64,
                               seed=5)
    np.testing.assert_array_equal(logits.sample_counts(x, 200),
                                  probs.sample_counts(x, 200))
    out_logits, out_probs = np.asarray(logits(x)), np.asarray(probs(x))
    np.testing.assert_allclose(out_probs, out_logits, rtol=1e-5, atol=1e-6)
    # A second softmax would squash the outputs towards 1/2.
    squashed = np.exp(out_logits) / np.exp(out_logits).sum(1, keepdims=True)
    assert np.abs(squashed - out_probs).max() > 0.02


# ---------------------------------------------------- (e) reproducibility
def test_same_seed_same_results_other_seed_differs():
    x, w, b = make_problem(np.array([0.0, 0.01, -0.01, 0.02, 0.0]), seed=9)

    def run(seed):
        smoothed = smoothed_classifier(linear_model(w, b), 2, SIGMA,
                                      num_samples=16, seed=seed)
        result = smoothed.certify(x, n0=20, n=200, alpha=0.01,
                                  batch_size=64, method="tight", verbose=0)
        return result, np.asarray(smoothed(x))

    (r1, o1), (r2, o2), (r3, o3) = run(11), run(11), run(12)
    for key in ("label", "radius", "counts_selection", "counts_estimation"):
        np.testing.assert_array_equal(r1[key], r2[key])
    np.testing.assert_array_equal(o1, o2)
    assert not np.array_equal(r1.counts_estimation, r3.counts_estimation)
    assert not np.array_equal(o1, o3)


def test_selection_and_estimation_draws_are_independent():
    x, w, b = make_problem(np.array([0.0] * 6), seed=10)
    smoothed = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=0)
    result = smoothed.certify(x, n0=200, n=200, alpha=0.01, verbose=0)
    assert not np.array_equal(result.counts_selection,
                              result.counts_estimation)


# ------------------------------------------------------ (f) serialization
def test_keras_round_trip_of_a_model_with_the_layer(tmp_path):
    base = tiny_base_model(SHAPE, num_classes=3, seed=1)
    smoothed = SmoothedClassifier(base, 3, 0.5, num_samples=8, seed=7,
                                  value_range=(0.0, 2.0), name="smoothed")
    inputs = keras.Input(SHAPE)
    model = keras.Model(inputs, smoothed(inputs))
    x = np.random.default_rng(0).random((5,) + SHAPE).astype(np.float32)
    model(x)  # advance the stream before saving
    # Same config, weights and (noisy) outputs: the random stream continues
    # where the saved one was.
    loaded = assert_keras_round_trip(model, x, tmp_path / "smoothed.keras",
                                     layer="smoothed")
    layer = loaded.get_layer("smoothed")
    assert layer.value_range == (0.0, 2.0)
    np.testing.assert_array_equal(layer.seed_generator.state.numpy(),
                                  smoothed.seed_generator.state.numpy())
    np.testing.assert_array_equal(layer.sample_counts(x, 50),
                                  smoothed.sample_counts(x, 50))


# --------------------------------------------------------- (g) bad input
# In tests/test_bad_input.py (every boundary in one table).


# ------------------------------------------ (h) progress bar and memory
def test_progress_bar_over_inputs(capsys):
    x, w, b = make_problem(np.linspace(-0.3, 0.3, 12), seed=11)
    smoothed = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=0)
    smoothed.certify(x[:3], 10, 50, 0.01, batch_size=100, verbose=1)
    assert "3/3" in capsys.readouterr().out
    smoothed.certify(x[:3], 10, 50, 0.01, batch_size=100)  # auto: few
    assert "3/3" not in capsys.readouterr().out
    smoothed.certify(x, 10, 50, 0.01, batch_size=100)  # auto: many
    assert "12/12" in capsys.readouterr().out


def test_out_of_memory_halves_the_forward_batch():
    x, w, b = make_problem(np.array([0.1, -0.1, 0.2]), seed=12)
    smoothed = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=0)
    counter = smoothed._get_counter()
    calls = []

    def flaky(*args):
        calls.append(int(args[-1]) * sampling.NOISE_BLOCK)
        if len(calls) == 1:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM (test)")
        return counter(*args)

    smoothed._counter = flaky
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        counts = smoothed.sample_counts(x, 100, batch_size=300, seed=4)
    assert any("out of memory" in str(w.message) for w in caught)
    np.testing.assert_array_equal(counts.sum(1), 100)
    assert calls[0] == 300 and max(calls[1:]) <= 150
    assert smoothed.max_forward_batch == 150
    # The smaller passes count the same draws.
    fresh = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=0)
    np.testing.assert_array_equal(
        counts, fresh.sample_counts(x, 100, batch_size=300, seed=4))


def test_under_mirrored_strategy_matches_one_device():
    x, w, b = make_problem(np.array([0.05, -0.1]), seed=13)
    results = []
    for strategy, scope in one_device_and_mirrored():
        with scope:
            base = linear_model(w, b)
        smoothed = smoothed_classifier(base, 2, SIGMA, seed=3)
        results.append(smoothed.certify(x, 20, 200, 0.01, verbose=0))
        # A base model built in the scope: both replicas draw.
        assert len(smoothed.last_replica_draws) == (1 if strategy is None
                                                    else 2)
        assert smoothed.last_replica_draws.min() > 0
    np.testing.assert_array_equal(results[0].counts_estimation,
                                  results[1].counts_estimation)
    np.testing.assert_array_equal(results[0].radius, results[1].radius)


# ------------------------------------------------------------ README code
def test_readme_snippet_runs(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), re.S)
    block = next(b for b in blocks if "SmoothedClassifier(base" in b)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.label.shape == result.radius.shape == (20,)
    np.testing.assert_array_equal(result.counts_estimation.sum(1), 1000)
    assert namespace["probabilities"].shape == (8, 10)
    assert (tmp_path / "smoothed.keras").is_file()


# ------------------------------------------ mixed precision (issue 12.5)
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_sampling_in_16_bit_precision(precision):
    x, w, b = make_problem(np.array([-0.2, 0.05, 0.3]), seed=14)
    base = linear_model(w, b)
    full = smoothed_classifier(base, 2, SIGMA, seed=0)
    half = smoothed_classifier(base, 2, SIGMA, seed=0,
                              sampling_precision=precision)
    expected = full.sample_counts(x, 400, seed=2)
    counts = half.sample_counts(x, 400, seed=2)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts.sum(1), 400)
    # Same noise, 16-bit forward passes: a vote changes only where the
    # rounded score changes sign, a few draws at most.
    assert np.abs(counts - expected).sum() / 2 <= 0.02 * 3 * 400
    copy = half._sampling_model()
    assert copy is not base
    assert copy.layers[-1].compute_dtype == precision.split("_")[1]
    assert base.layers[-1].compute_dtype == "float32"   # not modified
    for a, b_ in zip(copy.get_weights(), base.get_weights()):
        np.testing.assert_array_equal(a, b_)
    result = half.certify(x, 20, 200, 0.01, verbose=0)
    assert result.radius.dtype == np.float64
    assert half.get_config()["sampling_precision"] == precision
