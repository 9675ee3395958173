"""Per-row noise streams of the noise methods (`row_normal`)."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from kerasrobust.training import GaussianAugment
from kerasrobust.training.gaussian_augment import row_normal

from helpers import mirrored_strategy
from helpers import tiny_base_model
from helpers import tiny_data

SEED = tf.constant([11, 5], tf.int64)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("row_shape", [(2, 3, 3, 1), (4, 4), (7,)])
def test_any_rows_equal_those_of_the_whole_batch(jit_compile, row_shape):
    draw = tf.function(row_normal, jit_compile=jit_compile,
                       reduce_retracing=True)
    whole = draw(SEED, tf.constant(0), tf.constant(10), row_shape).numpy()
    assert whole.shape == (10,) + row_shape
    for first, count in [(0, 4), (4, 6), (5, 3), (9, 1)]:
        part = draw(SEED, tf.constant(first), tf.constant(count), row_shape)
        np.testing.assert_array_equal(part, whole[first:first + count])


def test_rows_are_independent_standard_normals():
    values = row_normal(SEED, 0, 400, (7, 5)).numpy()
    assert stats.kstest(values.ravel(), stats.norm.cdf).pvalue > 0.01
    # Neighbouring rows (adjacent counter blocks) are uncorrelated.
    flat = values.reshape(400, -1)
    r = np.corrcoef(flat[:-1].ravel(), flat[1:].ravel())[0, 1]
    assert abs(r) < 4 / np.sqrt(flat[1:].size)
    other = row_normal(tf.constant([11, 6], tf.int64), 0, 400, (7, 5))
    assert not np.allclose(values, other)


def test_each_replica_generates_its_own_rows_only():
    """Under two replicas each draws its half of the rows; together they
    are exactly one device's noise."""
    x, _ = tiny_data(n=8)
    single = GaussianAugment(tiny_base_model(), sigma=0.5, num_noise=3,
                             seed=4)
    expected = single.draw_noise(tf.constant(x)).numpy()
    strategy = mirrored_strategy()
    with strategy.scope():
        model = GaussianAugment(tiny_base_model(), sigma=0.5, num_noise=3,
                                seed=4)
    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(x).batch(8))
    batch = next(iter(dataset))
    noise = strategy.run(tf.function(model.draw_noise), args=(batch,))
    parts = [t.numpy() for t in strategy.experimental_local_results(noise)]
    assert [p.shape[1] for p in parts] == [4, 4]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), expected,
                               rtol=1e-6)
    assert abs(expected.std() - 0.5) < 0.05
