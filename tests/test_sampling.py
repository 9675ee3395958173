"""The noise stream and the replicas of `sampling` (issue 10, items 1-2).

The reference counts are rebuilt here from the documented stream alone:
block k of the input with index i is `stateless_normal((25, *shape),
seed=fold_in(fold_in(seed, i), k))`, and a linear model's votes are computed
in NumPy; so the tests fail if the stream depended on the batch size, the
grouping of inputs, the replicas, or anything else.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrobust.smoothing import sampling
from helpers import mirrored_strategy
from test_smoothed_classifier import SHAPE
from test_smoothed_classifier import SIGMA
from test_smoothed_classifier import linear_model
from test_smoothed_classifier import smoothed_classifier
from test_smoothed_classifier import make_problem


def reference_counts(x, w, b, seed, indices, start, num):
    """Counts of draws [start, start + num) from the documented stream."""
    block = sampling.NOISE_BLOCK
    counts = np.zeros((len(x), 2), np.int64)
    for row, (image, index) in enumerate(zip(x, indices)):
        for k in range(start // block, -(-(start + num) // block)):
            item_seed = tf.random.experimental.stateless_fold_in(
                tf.random.experimental.stateless_fold_in(
                    tf.constant(seed, tf.int32), int(index)), k)
            noise = tf.random.stateless_normal(
                (block,) + SHAPE, seed=item_seed).numpy()
            noisy = image[None].astype(np.float32) + np.float32(SIGMA) * noise
            score = noisy.reshape(block, -1) @ w + b
            draws = np.arange(k * block, (k + 1) * block)
            keep = (draws >= start) & (draws < start + num)
            votes = (score > 0).astype(int)[keep]
            counts[row] += np.bincount(votes, minlength=2)
    return counts


def test_counts_follow_the_documented_stream_whatever_the_split():
    x, w, b = make_problem(np.array([0.0, 0.02, -0.03, 0.01, 0.0]), seed=21)
    indices = np.array([7, 0, 42, 3, 1000])
    seed = np.array([5, 11], np.int32)
    expected = reference_counts(x, w, b, seed, indices, 0, 130)
    smoothed = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=0)
    # One call, another batch size, one input at a time in reverse order,
    # and two calls continuing the streams (start).
    for batch_size in (1000, 60, 25):
        np.testing.assert_array_equal(smoothed.sample_counts(
            x, 130, batch_size, indices=indices, seed=seed), expected)
    single = [smoothed.sample_counts(x[i], 130, 50, indices=[indices[i]],
                                     seed=seed)[0] for i in range(4, -1, -1)]
    np.testing.assert_array_equal(single[::-1], expected)
    first = smoothed.sample_counts(x, 60, 1000, indices=indices, seed=seed)
    rest = smoothed.sample_counts(x, 70, 1000, indices=indices, seed=seed,
                                  start=60)
    np.testing.assert_array_equal(first + rest, expected)
    np.testing.assert_array_equal(
        rest, reference_counts(x, w, b, seed, indices, 60, 70))


def test_certify_is_the_same_per_image_however_the_set_is_split():
    x, w, b = make_problem(np.linspace(-0.1, 0.2, 6), seed=22)
    smoothed = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=0)
    whole = smoothed.certify(x, 50, 300, 0.01, batch_size=100, verbose=0,
                             indices=np.arange(10, 16), seed=9)
    parts = [smoothed.certify(x[i:i + 2], 50, 300, 0.01, batch_size=1000,
                              verbose=0, indices=np.arange(10 + i, 12 + i),
                              seed=9) for i in (4, 0, 2)]
    parts = [parts[1], parts[2], parts[0]]
    for key in ("label", "radius", "counts_selection", "counts_estimation"):
        np.testing.assert_array_equal(
            whole[key], np.concatenate([p[key] for p in parts]))
    # Selection and estimation use independent streams of the same seed.
    sel_seed = sampling.stream_seed(np.array([9, 0]), sampling.SELECTION)
    np.testing.assert_array_equal(
        whole.counts_selection,
        reference_counts(x, w, b, sel_seed.numpy(), np.arange(10, 16), 0, 50))


def test_two_replicas_give_the_same_counts_and_both_work():
    x, w, b = make_problem(np.array([0.05, -0.1, 0.0]), seed=13)
    strategy = mirrored_strategy()
    seed = np.array([3, 4], np.int32)
    expected = reference_counts(x, w, b, seed, np.arange(3), 0, 260)
    alone = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=3)
    assert alone.num_replicas() == 1
    np.testing.assert_array_equal(
        alone.sample_counts(x, 260, 100, seed=seed), expected)
    # (a) called inside the scope of a strategy;
    with strategy.scope():
        assert alone.num_replicas() == 2
        counts = alone.sample_counts(x, 260, 100, seed=seed)
    np.testing.assert_array_equal(counts, expected)
    draws = alone.last_replica_draws
    assert draws.shape == (2,) and draws.sum() == 3 * 260
    assert min(draws) >= 0.4 * draws.sum()          # both replicas work
    # (b) a layer created in a scope, called outside it;
    with strategy.scope():
        inside = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=3)
    np.testing.assert_array_equal(
        inside.sample_counts(x, 260, 100, seed=seed), expected)
    assert inside.last_replica_draws.min() > 0
    # (c) certify, whose groups fill a pass on each replica.
    reference = alone.certify(x, 20, 200, 0.01, verbose=0, seed=1)
    result = inside.certify(x, 20, 200, 0.01, verbose=0, seed=1)
    for key in ("label", "radius", "counts_selection", "counts_estimation"):
        np.testing.assert_array_equal(result[key], reference[key])


@keras.saving.register_keras_serializable(package="test_sampling")
class CountImages(keras.layers.Layer):
    """Identity that counts the images it sees in a sync-on-read variable:
    each replica adds to its own copy, which lives on its own device."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = tf.Variable(
            0.0, trainable=False,
            synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.SUM)

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, x):
        self.seen.assign_add(tf.cast(tf.shape(x)[0], tf.float32))
        return x


def test_the_second_device_runs_forward_passes():
    x, w, b = make_problem(np.array([0.0, 0.1, 0.2]), seed=1)
    strategy = mirrored_strategy()
    with strategy.scope():
        linear = linear_model(w, b)
        counter = CountImages()
        inputs = keras.Input(SHAPE)
        model = keras.Model(inputs, linear(counter(inputs)))
    smoothed = smoothed_classifier(model, 2, SIGMA, seed=0)
    smoothed.sample_counts(x, 500, 100)
    copies = strategy.experimental_local_results(counter.seen)
    devices = [c.device for c in copies]
    seen = [float(c.numpy()) for c in copies]
    assert devices[0].endswith("CPU:0") and devices[1].endswith("CPU:1")
    # Both replicas worked; padding of the last passes is under one pass
    # (100 images) per replica.
    assert min(seen) >= 0.4 * 3 * 500, seen
    assert 0 <= sum(seen) - 3 * 500 < 2 * 100, seen
    draws = smoothed.last_replica_draws
    assert draws.sum() == 3 * 500 and np.all(draws <= seen)
    assert np.all(draws > 0.4 * 3 * 500)


def test_bad_stream_arguments_name_the_parameter():
    x, w, b = make_problem(np.array([0.1, 0.2]))
    smoothed = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=0)
    with pytest.raises(ValueError, match="`indices`.*distinct"):
        smoothed.sample_counts(x, 10, indices=[1, 1])
    with pytest.raises(ValueError, match="`indices` must be 2 integers"):
        smoothed.certify(x, 10, 10, 0.1, indices=[1])
    with pytest.raises(ValueError, match=r"`indices` must be in \[0"):
        smoothed.predict(x, 10, 0.1, indices=[-1, 2])
    with pytest.raises(ValueError, match="`start`"):
        smoothed.sample_counts(x, 10, start=-1)
    with pytest.raises(ValueError, match="`seed`"):
        smoothed.sample_counts(x, 10, seed=[1, 2, 3])
    with pytest.raises(ValueError, match="`sampling_precision`"):
        smoothed_classifier(linear_model(w, b), 2, SIGMA,
                           sampling_precision="float8")


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_worker_processes_match_one_process(tmp_path):
    """MultiWorkerMirroredStrategy, two workers on 127.0.0.1: both get the
    single-process counts, and both workers counted draws."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(2):
        env = dict(os.environ, PYTHONPATH=str(tests.parent),
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {
                       "type": "worker", "index": i}}))
        procs.append(subprocess.Popen(
            [sys.executable, str(tests / "mwms_certify_worker.py"),
             str(tmp_path / f"w{i}.json")], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-3000:]
    workers = [json.loads((tmp_path / f"w{i}.json").read_text())
               for i in range(2)]
    x, w, b = make_problem(np.array([0.05, -0.1, 0.0]), seed=13)
    alone = smoothed_classifier(linear_model(w, b), 2, SIGMA, seed=3)
    reference = alone.certify(x, 20, 400, 0.01, batch_size=100, verbose=0,
                              seed=5)
    for worker in workers:
        assert worker["replicas"] == 2
        np.testing.assert_array_equal(worker["counts_selection"],
                                      reference.counts_selection)
        np.testing.assert_array_equal(worker["counts_estimation"],
                                      reference.counts_estimation)
        np.testing.assert_array_equal(worker["radius"], reference.radius)
        assert sum(worker["draws"]) == 3 * 420
        assert min(worker["draws"]) > 0.3 * 3 * 420
