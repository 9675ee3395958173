"""The shared training-wrapper base: decay, input checks, compile."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrobust.training import ERM
from kerasrobust.training import RobustTrainer

from helpers import tiny_base_model
from helpers import tiny_data


def test_coupled_weight_decay_matches_pytorch_sgd_formula():
    """One plain SGD step: w1 = w0 - lr * (grad + wd * w0)."""
    x, y = tiny_data(n=8)
    lr, wd = 0.1, 0.05
    steps = {}
    for decay in (0.0, wd):
        base = tiny_base_model()
        w0 = base.get_weights()
        model = ERM(base, weight_decay=decay)
        model.compile(optimizer=keras.optimizers.SGD(lr))
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        steps[decay] = model.base_model.get_weights()
    for a, b, w in zip(steps[wd], steps[0.0], w0):
        np.testing.assert_allclose(a - b, -lr * wd * w, atol=1e-6)


def test_nan_images_rejected_before_training():
    x, y = tiny_data(n=8)
    x[3, 0, 0, 0] = np.nan
    model = ERM(tiny_base_model())
    model.compile(optimizer="sgd")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"1 non-finite values"):
        model.fit(x, y, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_labels_out_of_range_rejected_before_training():
    x, y = tiny_data(n=8)
    y[0] = 3
    model = ERM(tiny_base_model())
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        model.fit(x, y, verbose=0)


def test_labels_out_of_range_in_a_dataset_fail_in_graph():
    x, y = tiny_data(n=8)
    y[5] = 7
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    model = ERM(tiny_base_model())
    model.compile(optimizer="sgd")
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"class ids in \[0, 3\)"):
        model.fit(dataset, verbose=0)


def test_nan_in_a_dataset_fails_in_graph():
    x, y = tiny_data(n=8)
    x[6] = np.inf
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    model = ERM(tiny_base_model())
    model.compile(optimizer="sgd")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"NaN or inf"):
        model.fit(dataset, verbose=0)


def test_image_shape_mismatch():
    model = ERM(tiny_base_model())
    model.compile(optimizer="sgd")
    x = np.zeros((4, 5, 5, 1), "float32")
    with pytest.raises(ValueError, match=r"Image shape \(5, 5, 1\) does not "
                                         r"match .* \(4, 4, 1\)"):
        model.fit(x, np.zeros(4), verbose=0)


def test_compile_rejects_a_loss():
    model = ERM(tiny_base_model())
    with pytest.raises(ValueError, match=r"`loss` must not be given"):
        model.compile(optimizer="sgd", loss="mse")


def test_base_model_must_be_a_keras_model():
    with pytest.raises(TypeError, match=r"`base_model` must be a keras"):
        ERM(lambda x: x)


def test_num_classes_inferred_and_checked():
    assert RobustTrainer(tiny_base_model(num_classes=5)).num_classes == 5
    with pytest.raises(ValueError, match=r"`num_classes` must be in"):
        RobustTrainer(tiny_base_model(), num_classes=1)


def test_num_classes_must_match_the_base_model():
    # Checked at construction as SmoothedClassifier does (one check for
    # both wrappers); before, the mismatch failed later inside `fit`.
    with pytest.raises(ValueError, match=r"`num_classes` is 3 but the base "
                                         r"model returns 5 logits"):
        RobustTrainer(tiny_base_model(num_classes=5), num_classes=3)


def test_negative_weight_decay():
    with pytest.raises(ValueError, match=r"`weight_decay` must be in \[0"):
        ERM(tiny_base_model(), weight_decay=-1e-4)


def test_label_count_mismatch():
    x, y = tiny_data(n=8)
    model = ERM(tiny_base_model())
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"8 images but `y` has 7 labels"):
        model.fit(x, y[:7], verbose=0)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_bad_dataset_batches_fail_with_and_without_xla(jit_compile):
    """XLA drops in-graph asserts; the checks run in the input pipeline."""
    x, y = tiny_data(n=8)
    bad_x = x.copy()
    bad_x[6, 1, 1, 0] = np.nan
    bad_y = y.copy()
    bad_y[2] = 12
    cases = [((bad_x, y), r"NaN or inf"),
             ((x, bad_y), r"class ids in \[0, 3\)")]
    for (xs, ys), message in cases:
        model = ERM(tiny_base_model())
        model.compile(optimizer="sgd", jit_compile=jit_compile)
        before = model.base_model.get_weights()
        dataset = tf.data.Dataset.from_tensor_slices((xs, ys)).batch(8)
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            model.fit(dataset, verbose=0)
        for a, b in zip(before, model.base_model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_unchecked_input_type_refused_under_xla():
    x, y = tiny_data(n=8)

    def batches():
        while True:
            yield x, y

    model = ERM(tiny_base_model())
    model.compile(optimizer="sgd", jit_compile=True)
    with pytest.raises(ValueError, match="cannot check inputs of type"):
        model.fit(batches(), steps_per_epoch=1, verbose=0)


class _policy:
    """Keras' global dtype policy `name` while layers are built."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(self.name)

    def __exit__(self, *args):
        keras.mixed_precision.set_global_policy(self.previous)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_every_method_trains_in_mixed_precision(policy):
    """Same weights as float32 training up to the half-precision forward
    pass; variables, targets and the loss stay float32."""
    from kerasrobust.training import make_trainer
    from multi_worker_job import METHODS

    x, y = tiny_data(n=16)
    for method in METHODS:
        weights = {}
        for name in ("float32", policy):
            with _policy(name):
                model = make_trainer(method, tiny_base_model(), seed=0)
            model.compile(optimizer=keras.optimizers.SGD(0.1))
            history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
            assert np.isfinite(history.history["loss"]).all(), method
            assert all(w.dtype == "float32" for w in model.weights
                       if w.path.endswith(("kernel", "bias"))), method
            weights[name] = model.base_model.get_weights()
        assert model.base_model.layers[0].compute_dtype == policy[6:]
        targets = model.as_targets(y)
        assert targets.dtype == "float32"
        # bfloat16 keeps 8 bits of mantissa (relative error 4e-3 per op);
        # the attack's normalized PGD direction amplifies it to a few 1e-2
        # after 2 steps at lr 0.1. A missing or doubled loss scale, or a
        # NaN, is far outside.
        for a, b in zip(weights["float32"], weights[policy]):
            np.testing.assert_allclose(a, b, atol=6e-2, err_msg=method)


def test_weight_decay_under_loss_scaling():
    """mixed_float16 scales the loss (and so the gradients); the coupled
    decay term must be scaled alike: w1 - w1' = -lr * wd * w0."""
    x, y = tiny_data(n=8)
    lr, wd = 0.1, 0.05
    steps = {}
    with _policy("mixed_float16"):
        for decay in (0.0, wd):
            base = tiny_base_model()
            w0 = base.get_weights()
            model = ERM(base, weight_decay=decay)
            model.compile(optimizer=keras.optimizers.SGD(lr))
            assert isinstance(model.optimizer,
                              keras.optimizers.LossScaleOptimizer)
            model.fit(x, y, batch_size=8, epochs=1, verbose=0)
            steps[decay] = model.base_model.get_weights()
    # The decay steps are up to 1.7e-3 here; float16 rounding alone makes
    # the two runs differ by 2.4e-5 (measured with auto_scale_loss=False).
    # An unscaled decay term would be 32768 times too small (error 1.7e-3).
    for a, b, w in zip(steps[wd], steps[0.0], w0):
        np.testing.assert_allclose(a - b, -lr * wd * w, atol=1.5e-4)


def test_shuffled_pipeline_trains_like_one_device_under_a_strategy():
    """Keras' symbolic build used to open an extra iterator under a
    strategy, so a reshuffling pipeline started at its second shuffle."""
    from kerasrobust.data import make_dataset
    from kerasrobust.training import ALPS

    from helpers import mirrored_strategy

    x, y = tiny_data(n=24)
    weights = []
    for strategy in (None, mirrored_strategy()):
        ds = make_dataset(x, y, 8, training=True, augmentation="crop",
                          crop_padding=1, seed=3)
        scope = strategy.scope() if strategy else _policy("float32")
        with scope:
            model = ALPS(tiny_base_model(), seed=1)
            model.compile(optimizer=keras.optimizers.SGD(0.1))
        model.fit(ds, epochs=2, verbose=0)
        weights.append(model.base_model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_pipeline_shards_by_data():
    from kerasrobust.data import make_dataset

    x, y = tiny_data(n=8)
    ds = make_dataset(x, y, 4, training=True)
    assert (ds.options().experimental_distribute.auto_shard_policy
            == tf.data.experimental.AutoShardPolicy.DATA)
