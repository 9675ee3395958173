"""Tests for `kerasrobust.models`: shapes, parameter counts, normalization,
dropout, serialization, `channel_stats` and argument checks.

Parameter counts are computed by hand from the architecture formulas
(a k x k convolution has k*k*c_in*c_out weights, plus c_out with a bias; a
batch normalization has 2*c trainable weights; a dense layer d*K + K).
"""

import sys
import tracemalloc

import keras
import numpy as np
import pytest

from kerasrobust import models

# name -> builder arguments for a small but complete model of each kind.
BUILDERS = {
    "small_cnn": {},
    "preact_resnet18": {},
    "vgg16": {},
    "cifar_resnet": {"depth": 20},
    "cifar_resnet110": {},
    "resnet50": {},
}
# Smaller set for the checks that build every model a second time.
FAST_BUILDERS = ["small_cnn", "preact_resnet18", "vgg16", "cifar_resnet"]


def _build(name, **kwargs):
    return models.get_model(name, **{**BUILDERS[name], **kwargs})


def _images(shape=(2, 32, 32, 3), seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _conv(k, c_in, c_out, bias=False):
    return k * k * c_in * c_out + (c_out if bias else 0)


def _bn(c):
    return 2 * c


def _dense(d, k):
    return d * k + k


def _sub_model(model, layer_name):
    return keras.Model(model.input, model.get_layer(layer_name).output)


def _assert_round_trip(model, x, tmp_path):
    """Saves `model` as `.keras`, reloads it, compares the outputs."""
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.name == model.name
    np.testing.assert_array_equal(
        np.asarray(loaded(x, training=False)),
        np.asarray(model(x, training=False)),
    )


# --- Output shape and dtype -------------------------------------------------


@pytest.mark.parametrize("name", list(BUILDERS))
def test_output_is_float32_logits(name):
    model = _build(name, num_classes=7)
    logits = np.asarray(model(_images(), training=False))
    assert logits.shape == (2, 7)
    assert model.output.dtype == "float32"
    assert logits.dtype == np.float32
    assert np.all(np.isfinite(logits))
    # Logits, not probabilities: rows neither sum to 1 nor stay in [0, 1].
    assert not np.allclose(logits.sum(axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_first_layer_is_normalization_and_head_is_dense(name):
    model = _build(name)
    norm = model.get_layer("normalization")
    assert isinstance(norm, keras.layers.Normalization)
    assert norm.input is model.input
    logits = model.get_layer("logits")
    assert isinstance(logits, keras.layers.Dense)
    assert logits.output is model.output
    assert logits.input is model.get_layer("avg_pool").output
    assert not any(isinstance(l, keras.layers.Softmax) for l in model.layers)


def test_small_cnn_runs_on_sklearn_digits_shape():
    model = models.small_cnn(input_shape=(8, 8, 1), num_classes=10)
    assert model(_images((3, 8, 8, 1))).shape == (3, 10)


def test_vgg16_runs_on_64x64():
    model = models.vgg16(input_shape=(64, 64, 3), num_classes=5)
    assert model(_images((1, 64, 64, 3))).shape == (1, 5)


@pytest.mark.parametrize(
    "name", ["small_cnn", "preact_resnet18", "cifar_resnet"]
)
def test_unknown_height_and_width(name):
    model = _build(name, input_shape=(None, None, 3))
    assert model(_images((1, 16, 24, 3))).shape == (1, 10)
    assert model(_images((1, 32, 8, 3))).shape == (1, 10)


def test_resnet50_runs_on_64x64():
    model = models.resnet50(input_shape=(64, 64, 3), num_classes=3)
    assert model(_images((2, 64, 64, 3))).shape == (2, 3)


def test_logits_are_float32_under_mixed_precision():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = models.small_cnn(width=4)
        assert model.get_layer("block1_conv1").compute_dtype == "bfloat16"
        assert model(_images()).dtype == "float32"
    finally:
        keras.config.set_dtype_policy(previous)


# --- Trainable parameter counts, by hand --------------------------------------


def test_small_cnn_parameter_count():
    def expected(c_in, width, classes, batch_norm):
        total, prev = 0, c_in
        for filters in (width, width, 2 * width, 2 * width, 4 * width,
                        4 * width):
            total += _conv(3, prev, filters, bias=not batch_norm)
            total += _bn(filters) if batch_norm else 0
            prev = filters
        return total + _dense(4 * width, classes)

    # 864 + 9216 + 18432 + 36864 + 73728 + 147456 + BN 896 + dense 1290.
    assert expected(3, 32, 10, True) == 288_746
    assert _trainable_count(models.small_cnn()) == 288_746
    assert _trainable_count(models.small_cnn(batch_norm=False)) == expected(
        3, 32, 10, False
    )
    assert _trainable_count(
        models.small_cnn(input_shape=(8, 8, 1), width=8, num_classes=4)
    ) == expected(1, 8, 4, True)


def test_preact_resnet18_parameter_count():
    def block(c_in, c_out, stride):
        count = _bn(c_in) + _conv(3, c_in, c_out)
        count += _bn(c_out) + _conv(3, c_out, c_out)
        if stride != 1 or c_in != c_out:
            count += _conv(1, c_in, c_out)
        return count

    expected, c_in = _conv(3, 3, 64), 64
    for filters, stride in zip((64, 128, 256, 512), (1, 2, 2, 2)):
        expected += block(c_in, filters, stride) + block(filters, filters, 1)
        c_in = filters
    expected += _bn(512) + _dense(512, 10)
    # The PyTorch reference without the final BN has 11,171,146.
    assert expected == 11_171_146 + _bn(512)
    assert _trainable_count(models.preact_resnet18()) == expected


def test_vgg16_parameter_count():
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
           512, 512, 512, "M", 512, 512, 512, "M"]
    expected, c_in = 0, 3
    for item in cfg:
        if item != "M":
            expected += _conv(3, c_in, item) + _bn(item)
            c_in = item
    expected += _dense(512, 10)
    assert expected == 14_724_042
    assert _trainable_count(models.vgg16()) == expected


@pytest.mark.parametrize("depth", [20, 110])
def test_cifar_resnet_parameter_count(depth):
    n = (depth - 2) // 6

    def block(c_in, c_out, stride):
        count = _conv(3, c_in, c_out) + _bn(c_out)
        count += _conv(3, c_out, c_out) + _bn(c_out)
        if stride != 1 or c_in != c_out:
            count += _conv(1, c_in, c_out) + _bn(c_out)
        return count

    expected, c_in = _conv(3, 3, 16) + _bn(16), 16
    for filters, stride in zip((16, 32, 64), (1, 2, 2)):
        expected += block(c_in, filters, stride)
        expected += (n - 1) * block(filters, filters, 1)
        c_in = filters
    expected += _dense(64, 10)
    model = (models.cifar_resnet110() if depth == 110
             else models.cifar_resnet(depth))
    assert model.name == f"cifar_resnet{depth}"
    assert _trainable_count(model) == expected


def _conv_names(model, suffix):
    return sorted(
        l.name for l in model.layers
        if isinstance(l, keras.layers.Conv2D) and l.name.endswith(suffix)
    )


def test_preact_resnet18_wiring():
    model = models.preact_resnet18()
    layer = model.get_layer
    # He et al. (2016): the projection sees the pre-activated input ...
    assert _conv_names(model, "_shortcut") == [
        "stage2_block1_shortcut", "stage3_block1_shortcut",
        "stage4_block1_shortcut",
    ]
    shortcut = layer("stage2_block1_shortcut")
    assert shortcut.input is layer("stage2_block1_relu1").output
    assert shortcut.strides == (2, 2) and shortcut.kernel_size == (1, 1)
    assert layer("stage2_block1_conv1").strides == (2, 2)
    # ... and an identity shortcut is the raw block input.
    add = layer("stage1_block2_add")
    assert add.input[1] is layer("stage1_block1_add").output
    assert add.input[0] is layer("stage1_block2_conv2").output
    assert layer("final_relu").output.shape == (None, 4, 4, 512)


def test_cifar_resnet_wiring():
    model = models.cifar_resnet(20)
    layer = model.get_layer
    assert _conv_names(model, "_proj_conv") == [
        "stage2_block1_proj_conv", "stage3_block1_proj_conv",
    ]
    # The projection sees the block input (post-activation ResNet).
    assert (layer("stage2_block1_proj_conv").input
            is layer("stage1_block3_out_relu").output)
    add = layer("stage1_block1_add")
    assert add.input[0] is layer("stage1_block1_bn2").output
    assert add.input[1] is layer("stem_relu").output
    assert layer("stage3_block3_out_relu").output.shape == (None, 8, 8, 64)


def test_resnet50_parameter_count():
    body = keras.applications.ResNet50(
        include_top=False, weights=None, input_shape=(32, 32, 3),
        pooling="avg",
    )
    expected = _trainable_count(body) + _dense(2048, 10)
    assert _trainable_count(models.resnet50()) == expected


# --- Normalization layer ------------------------------------------------------


@pytest.mark.parametrize(
    "mean, std",
    [
        ([0.1, 0.5, 0.9], [0.2, 0.3, 0.4]),
        (0.5, 0.25),
        (np.array([0.49, 0.48, 0.45]), np.array([0.25, 0.24, 0.26])),
    ],
)
def test_normalization_matches_numpy(mean, std):
    model = models.small_cnn(input_shape=(6, 6, 3), mean=mean, std=std,
                             width=4)
    x = _images((2, 6, 6, 3))
    got = np.asarray(_sub_model(model, "normalization")(x))
    mean_c = np.broadcast_to(np.asarray(mean, np.float64), (3,))
    std_c = np.broadcast_to(np.asarray(std, np.float64), (3,))
    want = (x.astype(np.float64) - mean_c) / std_c
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_normalization_is_identity_by_default():
    model = models.small_cnn(width=4, input_shape=(6, 6, 1))
    x = _images((2, 6, 6, 1))
    got = np.asarray(_sub_model(model, "normalization")(x))
    np.testing.assert_allclose(got, x, rtol=0, atol=1e-7)


def test_channel_stats_standardize_the_training_set():
    x = _images((20, 8, 8, 3)) * np.array([0.5, 0.2, 1.0], np.float32)
    mean, std = models.channel_stats(x)
    model = models.small_cnn(input_shape=(8, 8, 3), mean=mean, std=std,
                             width=4)
    z = np.asarray(_sub_model(model, "normalization")(x))
    np.testing.assert_allclose(z.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=(0, 1, 2)), 1.0, atol=1e-4)


# --- Dropout on the penultimate features -------------------------------------


@pytest.mark.parametrize("name", list(BUILDERS))
def test_dropout_layer_feeds_the_last_dense(name):
    model = _build(name, dropout=0.5)
    drop = model.get_layer("dropout")
    assert isinstance(drop, keras.layers.Dropout)
    assert drop.rate == 0.5
    assert drop.input is model.get_layer("avg_pool").output
    assert model.get_layer("logits").input is drop.output
    assert model.layers[-1].name == "logits"


def test_no_dropout_layer_by_default():
    model = models.small_cnn(width=4)
    assert not any(isinstance(l, keras.layers.Dropout) for l in model.layers)


def test_dropout_is_random_in_training_only():
    x = _images((4, 8, 8, 3))
    model = models.small_cnn(input_shape=(8, 8, 3), width=8, dropout=0.5)
    train_a = np.asarray(model(x, training=True))
    train_b = np.asarray(model(x, training=True))
    assert not np.allclose(train_a, train_b)
    np.testing.assert_array_equal(
        np.asarray(model(x, training=False)),
        np.asarray(model(x, training=False)),
    )
    # Control: without dropout the training-mode pass is deterministic.
    plain = models.small_cnn(input_shape=(8, 8, 3), width=8)
    np.testing.assert_array_equal(
        np.asarray(plain(x, training=True)),
        np.asarray(plain(x, training=True)),
    )


def test_inference_head_is_dense_on_pooled_features():
    x = _images((3, 8, 8, 3))
    model = models.small_cnn(input_shape=(8, 8, 3), width=4, dropout=0.5)
    features = np.asarray(_sub_model(model, "avg_pool")(x, training=False))
    kernel, bias = model.get_layer("logits").get_weights()
    np.testing.assert_allclose(
        np.asarray(model(x, training=False)),
        features @ kernel + bias,
        rtol=1e-5,
        atol=1e-5,
    )


# --- Serialization -----------------------------------------------------------


@pytest.mark.parametrize("name", FAST_BUILDERS)
def test_keras_round_trip(name, tmp_path):
    model = _build(
        name, mean=[0.4, 0.5, 0.6], std=0.25, dropout=0.5, num_classes=4
    )
    _assert_round_trip(model, _images(), tmp_path)


@pytest.mark.large
def test_resnet50_keras_round_trip(tmp_path):
    model = models.resnet50(mean=0.5, std=0.25, dropout=0.5)
    _assert_round_trip(model, _images(), tmp_path)


# --- channel_stats -----------------------------------------------------------


def test_channel_stats_uint8_matches_numpy():
    x = np.random.default_rng(1).integers(0, 256, (30, 7, 5, 3), np.uint8)
    mean, std = models.channel_stats(x)
    scaled = x.astype(np.float64) / 255.0
    assert mean.dtype == np.float32 and std.dtype == np.float32
    assert mean.shape == std.shape == (3,)
    np.testing.assert_allclose(mean, scaled.mean(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(std, scaled.std(axis=(0, 1, 2)), rtol=1e-6)


def test_channel_stats_float_matches_numpy():
    x = _images((25, 6, 6, 2)) * np.array([0.3, 1.0], np.float32)
    mean, std = models.channel_stats(x)
    np.testing.assert_allclose(
        mean, x.astype(np.float64).mean(axis=(0, 1, 2)), rtol=1e-6
    )
    np.testing.assert_allclose(
        std, x.astype(np.float64).std(axis=(0, 1, 2)), rtol=1e-6
    )


def test_channel_stats_is_chunked(monkeypatch):
    module = sys.modules["kerasrobust.models.channel_stats"]
    x = np.random.default_rng(2).integers(0, 256, (500, 16, 16, 3), np.uint8)
    # Uneven chunks of a few rows each.
    monkeypatch.setattr(module, "_CHUNK_VALUES", 3 * 16 * 16 * 3 + 5)
    tracemalloc.start()
    try:
        mean, std = models.channel_stats(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    scaled = x.astype(np.float64) / 255.0
    np.testing.assert_allclose(mean, scaled.mean(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(std, scaled.std(axis=(0, 1, 2)), rtol=1e-6)
    # A float64 copy of x would take x.size * 8 bytes.
    assert peak < x.size * 8 / 10


def test_channel_stats_rejects_bad_images():
    with pytest.raises(ValueError, match=r"`images`.*\[0, 1\]"):
        models.channel_stats(np.full((2, 4, 4, 3), 255.0, np.float32))
    with pytest.raises(TypeError, match="`images`.*int32"):
        models.channel_stats(np.zeros((2, 4, 4, 3), np.int32))
    with pytest.raises(ValueError, match="`images`"):
        models.channel_stats(np.zeros((0, 4, 4, 3), np.uint8))


# --- Registry ----------------------------------------------------------------


def test_get_model_builds_by_name():
    assert set(models.MODELS) == set(BUILDERS)
    model = models.get_model("cifar_resnet", depth=8, num_classes=3)
    assert model.name == "cifar_resnet8"
    assert model.output.shape == (None, 3)


def test_get_model_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError,
                       match="`architecture`.*'preact_resnet18'.*resnet18"):
        models.get_model("resnet18")


def test_get_model_forwards_the_model_name():
    model = models.get_model("small_cnn", input_shape=(8, 8, 1),
                             num_classes=3, name="custom")
    assert model.name == "custom"


# --- Argument checks ---------------------------------------------------------


@pytest.mark.parametrize("name", list(BUILDERS))
@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"std": 0.0}, ValueError, r"`std` must be in \(0, inf.*got 0.0"),
        ({"std": [0.2, -1.0, 0.3]}, ValueError, r"`std\[1\]`.*-1.0"),
        ({"mean": [0.1, 0.2]}, ValueError, r"`mean`.*per input channel \(3\)"),
        ({"mean": [[0.1, 0.2, 0.3]]}, ValueError, r"`mean`.*shape \(1, 3\)"),
        ({"mean": "zero"}, TypeError, r"`mean`.*'zero'"),
        ({"num_classes": 1}, ValueError, r"`num_classes`.*\[2, inf.*got 1"),
        ({"num_classes": 2.5}, ValueError, r"`num_classes`.*2.5"),
        ({"dropout": 1.0}, ValueError, r"`dropout`.*\[0, 1\).*1.0"),
        ({"dropout": -0.1}, ValueError, r"`dropout`.*-0.1"),
        ({"input_shape": (32, 32)}, ValueError, r"`input_shape`.*\(32, 32\)"),
        ({"input_shape": (32, 0, 3)}, ValueError, r"`input_shape`.*entry 1"),
        ({"input_shape": (32, 32, None)}, ValueError,
         r"`input_shape`.*entry 2"),
        ({"input_shape": 32}, TypeError, r"`input_shape`.*32"),
    ],
)
def test_bad_arguments_name_the_parameter(name, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        _build(name, **kwargs)


@pytest.mark.parametrize("depth", [21, 2, 111, 20.5])
def test_cifar_resnet_rejects_bad_depth(depth):
    with pytest.raises(ValueError, match=f"`depth`.*{depth}"):
        models.cifar_resnet(depth)


@pytest.mark.parametrize("name", ["vgg16", "resnet50"])
def test_too_small_input_is_rejected(name):
    pattern = r"`input_shape`.*>= 32.*\(16, 16, 3\)"
    with pytest.raises(ValueError, match=pattern):
        _build(name, input_shape=(16, 16, 3))


def test_small_cnn_rejects_bad_width_and_batch_norm():
    with pytest.raises(ValueError, match="`width`.*0"):
        models.small_cnn(width=0)
    with pytest.raises(TypeError, match="`batch_norm`.*'yes'"):
        models.small_cnn(batch_norm="yes")
