"""FGSM and PGD: constraints, closed form, strength, caching (bad input:
tests/test_bad_input.py)."""

import gc
import weakref

import keras
import numpy as np
import pytest

from kerasrobust.attacks import fgsm
from kerasrobust.attacks import pgd
from kerasrobust.attacks.fgsm import fgsm_step
from kerasrobust.attacks.pgd import pgd_loop
from kerasrobust.data import load_dataset
from kerasrobust.models import channel_stats
from kerasrobust.models import small_cnn
from kerasrobust.training import ERM
from kerasrobust.training import paper_optimizer

from helpers import mirrored_strategy
from helpers import tiny_base_model
from helpers import tiny_data


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def trained(digits):
    """small_cnn trained briefly on the 8x8 digits (the ERM wrapper)."""
    keras.utils.set_random_seed(0)
    mean, std = channel_stats(digits.x_train)
    base = small_cnn(digits.input_shape, 10, mean=mean, std=std, width=16)
    model = ERM(base, seed=0)
    model.compile(optimizer=paper_optimizer(12, 8), metrics=["accuracy"])
    model.fit(digits.train_dataset(128, seed=0), epochs=8, verbose=0)
    return model


def _accuracy(model, x, y):
    logits = np.asarray(model(x, training=False))
    return float((logits.argmax(1) == y).mean())


def _norms(delta, norm):
    flat = np.asarray(delta, np.float64).reshape(len(delta), -1)
    if norm == "inf":
        return np.abs(flat).max(1)
    return np.sqrt((flat ** 2).sum(1))


def test_trained_model_is_accurate(trained, digits):
    assert _accuracy(trained, digits.x_test, digits.y_test) > 0.9


# ------------------------------------------------------------- constraints
@pytest.mark.parametrize("norm,epsilon", [("inf", 0.1), ("2", 0.5)])
@pytest.mark.parametrize("attack", ["fgsm", "pgd", "pgd_random"])
def test_perturbation_respects_epsilon_and_box(trained, digits, norm,
                                               epsilon, attack):
    x, y = digits.x_test[:64], digits.y_test[:64]
    if attack == "fgsm":
        x_adv = fgsm(trained, x, y, epsilon, norm=norm)
    else:
        x_adv = pgd(trained, x, y, epsilon, epsilon / 3, 7, norm=norm,
                    random_start=attack == "pgd_random", seed=1)
    x_adv = np.asarray(x_adv)
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    norms = _norms(x_adv - x, norm)
    assert norms.max() <= epsilon * (1 + 1e-5)
    # The attack does move the images (digits have many 0 pixels where the
    # box binds, yet the ball is used).
    assert norms.mean() > 0.3 * epsilon


def test_custom_clip_range_and_no_box(trained, digits):
    x = 0.25 + 0.5 * digits.x_test[:32]
    y = digits.y_test[:32]
    x_adv = np.asarray(pgd(trained, x, y, 0.2, 0.05, 5, clip=(0.2, 0.8)))
    assert x_adv.min() >= 0.2 - 1e-7 and x_adv.max() <= 0.8 + 1e-7
    assert np.abs(x_adv - x).max() <= 0.2 + 1e-6
    # Without a box, L-inf FGSM moves every pixel by exactly 0 or eps.
    unboxed = np.asarray(fgsm(trained, x, y, 0.3, clip=None))
    moved = np.abs(unboxed - x)
    assert np.all((moved < 1e-6) | (np.abs(moved - 0.3) < 1e-6))
    assert unboxed.min() < 0.0 or unboxed.max() > 1.0


# -------------------------------------------------------------- closed form
def _linear_model(seed=0, shape=(4, 4, 1)):
    """logits = W flatten(x) + b with 2 classes."""
    rng = np.random.default_rng(seed)
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    w = rng.normal(size=(int(np.prod(shape)), 2)).astype(np.float32)
    b = rng.normal(size=2).astype(np.float32)
    model.set_weights([w, b])
    return model, w.astype(np.float64), b.astype(np.float64)


@pytest.mark.parametrize("norm", ["inf", "2"])
def test_linear_model_matches_closed_form_worst_case(norm):
    model, w, b = _linear_model()
    eps = 0.1
    x = np.full((6, 4, 4, 1), 0.5, np.float32)
    y = np.array([0, 1, 0, 1, 1, 0])
    other = 1 - y
    # Worst case of the margin (w_true - w_other) . x under ||d|| <= eps:
    # d = -eps * sign(w_true - w_other) (L-inf), or the unit vector (L2).
    direction = (w[:, other] - w[:, y]).T  # (N, pixels)
    if norm == "inf":
        expected = eps * np.sign(direction)
        dual = np.abs(direction).sum(1)
    else:
        expected = eps * direction / np.linalg.norm(direction, axis=1,
                                                    keepdims=True)
        dual = np.linalg.norm(direction, axis=1)
    flat_x = x.reshape(6, -1).astype(np.float64)
    clean_margin = (np.einsum("np,pn->n", flat_x, w[:, y])
                    + b[y] - np.einsum("np,pn->n", flat_x, w[:, other])
                    - b[other])
    for x_adv in (fgsm(model, x, y, eps, norm=norm),
                  pgd(model, x, y, eps, eps / 4, 10, norm=norm),
                  # From a random start the L2 iterates approach the
                  # worst case geometrically (the part of the start
                  # orthogonal to it shrinks by about 0.8 per step).
                  pgd(model, x, y, eps, eps / 4, 80, norm=norm,
                      random_start=True, seed=3)):
        delta = np.asarray(x_adv, np.float64).reshape(6, -1) - flat_x
        np.testing.assert_allclose(delta, expected, atol=1e-5)
        logits = np.asarray(model(x_adv), np.float64)
        margin = logits[np.arange(6), y] - logits[np.arange(6), other]
        np.testing.assert_allclose(margin, clean_margin - eps * dual,
                                   rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------- strength
def test_pgd_never_weaker_than_fgsm(trained, digits):
    x, y = digits.x_test, digits.y_test
    for eps in (0.05, 0.1):
        fgsm_acc = _accuracy(trained, fgsm(trained, x, y, eps), y)
        pgd_acc = _accuracy(trained, pgd(trained, x, y, eps, eps / 4, 10),
                            y)
        assert pgd_acc <= fgsm_acc
        assert fgsm_acc < _accuracy(trained, x, y)


def test_unbounded_pgd_drives_accuracy_to_zero(trained, digits):
    x, y = digits.x_test, digits.y_test
    assert _accuracy(trained, x, y) > 0.9
    x_adv = pgd(trained, x, y, float("inf"), 0.01, 200, batch_size=180)
    assert _accuracy(trained, x_adv, y) < 0.02
    assert np.asarray(x_adv).min() >= 0 and np.asarray(x_adv).max() <= 1


# ------------------------------------------------------------- conventions
def test_wrapper_base_model_and_one_hot_labels_agree(trained, digits):
    x, y = digits.x_test[:40], digits.y_test[:40]
    a = pgd(trained, x, y, 0.1, 0.03, 4)
    b = pgd(trained.base_model, x, keras.utils.to_categorical(y, 10), 0.1,
            0.03, 4)
    c = pgd(trained.base_model, x, y[:, None], 0.1, 0.03, 4)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(c))


def test_random_start_is_seeded(trained, digits):
    x, y = digits.x_test[:20], digits.y_test[:20]
    run = lambda seed: np.asarray(pgd(trained, x, y, 0.1, 0.02, 2,  # noqa
                                      random_start=True, seed=seed))
    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


def test_batches_give_the_same_result(trained, digits):
    x, y = digits.x_test[:50], digits.y_test[:50]
    whole = np.asarray(pgd(trained, x, y, 0.1, 0.03, 3))
    parts = np.asarray(pgd(trained, x, y, 0.1, 0.03, 3, batch_size=16))
    np.testing.assert_allclose(whole, parts, atol=1e-6)


def test_one_compiled_function_per_model_and_config():
    model = tiny_base_model()
    x, y = tiny_data(n=12)
    pgd(model, x, y, 0.1, 0.01, 3)
    fgsm(model, x, y, 0.1)
    run = pgd_loop(model, (4, 4, 1), 3, "inf", False, (0.0, 1.0), True)
    step = fgsm_step(model, (4, 4, 1), 3, "inf", (0.0, 1.0))
    # New radius, step size, step count and batch sizes: no retracing.
    pgd(model, x[:5], y[:5], 0.2, 0.05, 7)
    fgsm(model, x[:7], y[:7], 0.3)
    fgsm(model, x, y, 0.2, batch_size=5)
    pgd(model, x, y, 0.1, 0.01, 3, batch_size=5)
    assert run.experimental_get_tracing_count() == 1
    assert step.experimental_get_tracing_count() == 1


def test_cache_does_not_keep_models_alive():
    model = tiny_base_model()
    x, y = tiny_data(n=4)
    fgsm(model, x, y, 0.1)
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


def test_same_result_inside_and_outside_a_strategy_scope(digits):
    strategy = mirrored_strategy()
    reference = tiny_base_model(input_shape=(8, 8, 1), num_classes=10)
    with strategy.scope():
        model = tiny_base_model(input_shape=(8, 8, 1), num_classes=10)
        model.set_weights(reference.get_weights())
    x, y = digits.x_test[:30], digits.y_test[:30]
    expected = np.asarray(pgd(reference, x, y, 0.1, 0.02, 5))
    with strategy.scope():
        inside = np.asarray(pgd(model, x, y, 0.1, 0.02, 5))
        inside_fgsm = np.asarray(fgsm(model, x, y, 0.1, norm="2"))
    outside = np.asarray(pgd(model, x, y, 0.1, 0.02, 5))
    np.testing.assert_allclose(inside, expected, atol=1e-6)
    np.testing.assert_allclose(outside, expected, atol=1e-6)
    np.testing.assert_allclose(
        inside_fgsm, np.asarray(fgsm(reference, x, y, 0.1, norm="2")),
        atol=1e-6)
    assert np.abs(inside - x).max() > 0
