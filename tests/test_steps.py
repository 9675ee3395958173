"""kerasrobust.attacks.steps: each step against a hand computation."""

import math

import numpy as np
import pytest
import tensorflow as tf

from kerasrobust.attacks import steps


def test_ascent_step_linf_and_l2():
    x = tf.zeros((1, 2, 2, 1))
    g = tf.constant([3.0, -4.0, 0.0, 0.0], shape=(1, 2, 2, 1))
    np.testing.assert_allclose(
        np.ravel(steps.ascent_step(x, g, 0.1, "inf")), [0.1, -0.1, 0, 0])
    # g / ||g||_2 = (0.6, -0.8, 0, 0).
    np.testing.assert_allclose(
        np.ravel(steps.ascent_step(x, g, 0.5, "2")), [0.3, -0.4, 0, 0],
        atol=1e-7)
    # A zero gradient gives no step.
    np.testing.assert_array_equal(
        steps.ascent_step(x, tf.zeros_like(g), 0.5, "2"), x)


def test_project_ball_then_box():
    x = tf.constant([[0.5, 0.9]])
    far = tf.constant([[1.5, -0.5]])
    np.testing.assert_allclose(steps.project(far, x, 0.2, "inf", (0, 1)),
                               [[0.7, 0.7]], atol=1e-7)
    # delta (1, -1.4) has norm sqrt(2.96); rescaled to norm 0.5, then the
    # box [0, 1] clips nothing that the ball left inside.
    scale = 0.5 / math.sqrt(1 + 1.4 ** 2)
    np.testing.assert_allclose(
        steps.project(far, x, 0.5, "2", None),
        [[0.5 + scale, 0.9 - 1.4 * scale]], atol=1e-6)
    # Unbounded: the box only.
    np.testing.assert_allclose(
        steps.project(far, x, 0.0, "inf", (0, 1), bounded=False),
        [[1.0, 0.0]])


@pytest.mark.parametrize("norm", ["inf", "2"])
def test_random_start_lies_in_ball_and_box(norm):
    x = tf.fill((64, 3, 3, 1), 0.5)
    start = steps.random_start(x, 0.3, norm, (0.0, 1.0),
                               tf.constant([1, 2], tf.int64))
    delta = np.asarray(start - x).reshape(64, -1)
    size = (np.abs(delta).max(1) if norm == "inf"
            else np.sqrt((delta ** 2).sum(1)))
    assert size.max() <= 0.3 + 1e-6 and size.min() > 0
    again = steps.random_start(x, 0.3, norm, (0.0, 1.0),
                               tf.constant([1, 2], tf.int64))
    np.testing.assert_array_equal(start, again)


def test_loss_gradient_of_a_linear_model():
    """Softmax cross-entropy of logits W x: gradient W^T (p - y)."""
    w = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)  # (classes, pixels)

    def model(x, training=False):
        return tf.matmul(x, w.T)

    x = tf.constant([[0.2, 0.4]])
    y = tf.constant([[1.0, 0.0]])
    logits = x.numpy() @ w.T
    p = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(steps.loss_gradient(model, x, y),
                               (p - y.numpy()) @ w, rtol=1e-5)


def test_parameter_checks():
    assert steps.canonical_norm("Linf") == "inf"
    assert steps.canonical_norm(np.inf) == "inf"
    assert steps.canonical_norm(2) == "2"
    with pytest.raises(ValueError, match=r"`norm` must be one of 'inf', '2'"):
        steps.canonical_norm("l1")
    with pytest.raises(ValueError, match=r"`clip` must be a pair of finite"):
        steps.check_clip((0, math.inf))
    with pytest.raises(ValueError, match=r"`step_size` must be finite"):
        steps.check_step_size(math.inf)
