"""kerasrobust._validation: images, labels, counts (issue 13, item 4).

Every case states the input and the expected message; accepted inputs are
compared with values computed by hand.
"""

import numpy as np
import pytest
import tensorflow as tf

from kerasrobust._validation import RANGE_TOLERANCE
from kerasrobust._validation import check_count
from kerasrobust._validation import check_images
from kerasrobust._validation import check_labels
from kerasrobust._validation import infer_num_classes


def _images(n=3, shape=(4, 4, 1)):
    return np.linspace(0.0, 1.0, n * int(np.prod(shape)),
                       dtype=np.float64).reshape((n,) + shape)


# ------------------------------------------------------------------ images
def test_valid_images_become_float32_of_the_same_kind():
    x = _images()
    out = check_images(x, image_shape=(4, 4, 1))
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, x.astype(np.float32))
    tensor = check_images(tf.constant(x), image_shape=(None, None, 1))
    assert tf.is_tensor(tensor) and tensor.dtype == tf.float32


def test_rounding_outside_the_range_is_accepted():
    x = _images()
    x[0, 0, 0, 0] = 1.0 + RANGE_TOLERANCE / 2
    x[0, 0, 1, 0] = -RANGE_TOLERANCE / 2
    check_images(x)


@pytest.mark.parametrize("make,match", [
    (lambda x: (x * 255).astype(np.uint8),
     r"Images `x` must be floating point, got dtype uint8; divide uint8 "
     r"images by 255"),
    (lambda x: x * 255, r"Images `x` range from 0 to 255, outside "
                        r"`value_range`=\[0, 1\]"),
    (lambda x: x - 0.01, r"range from -0.01 to 0.99"),
    (lambda x: np.where(x > 0.5, np.nan, x), r"contain 24 non-finite"),
    (lambda x: np.full_like(x, np.inf), r"contain 48 non-finite"),
    (lambda x: x[:, :3], r"shape \(3, 4, 1\) per image but the model takes "
                         r"\(4, 4, 1\)"),
    (lambda x: x[0, 0, 0], r"must be a batch \(N, ...\), got shape \(1,\)"),
    (lambda x: x.astype(str), r"must be floating point, got dtype str"),
])
def test_bad_images(make, match):
    with pytest.raises(ValueError, match=match):
        check_images(make(_images()), image_shape=(4, 4, 1))


def test_bad_tensor_images():
    with pytest.raises(ValueError, match=r"contain 1 non-finite"):
        check_images(tf.constant([[np.nan, 0.5]]))
    with pytest.raises(ValueError, match=r"dtype uint8; divide"):
        check_images(tf.zeros((2, 3), tf.uint8))


def test_range_opt_out_and_custom_range():
    x = _images() * 255
    np.testing.assert_allclose(check_images(x, value_range=None), x)
    check_images(x - 128, value_range=(-128, 127))
    with pytest.raises(ValueError, match=r"`clip`=\[-1, 1\]: fix it"):
        check_images(x, value_range=(-1, 1), range_param="clip",
                     hint="fix it")


def test_traced_images_get_static_checks_only():
    @tf.function(input_signature=[tf.TensorSpec((None, 2), tf.float32)])
    def f(x):
        return check_images(x, image_shape=(2,))

    # Values are unknown while tracing: 255 passes, the shape is checked.
    np.testing.assert_array_equal(f(tf.constant([[255.0, 0.0]])),
                                  [[255.0, 0.0]])
    with pytest.raises(ValueError, match=r"per image but the model takes"):
        tf.function(lambda x: check_images(x, image_shape=(3,)))(
            tf.zeros((1, 2)))


# ------------------------------------------------------------------ labels
def test_valid_labels_forms():
    np.testing.assert_array_equal(check_labels([0, 2, 1], 3), [0, 2, 1])
    np.testing.assert_array_equal(check_labels([[0], [2]], 3), [0, 2])
    np.testing.assert_array_equal(check_labels([0.0, 2.0], 3), [0, 2])
    rows = check_labels(np.eye(3)[[2, 0]], 3)
    assert rows.dtype == np.float32 and rows.shape == (2, 3)
    soft = check_labels([[0.25, 0.75, 0.0]], 3)
    np.testing.assert_allclose(soft, [[0.25, 0.75, 0.0]])
    tensor = check_labels(tf.constant([1, 0]), 2, n=2)
    assert tensor.dtype == tf.int64


@pytest.mark.parametrize("y,kwargs,match", [
    ([0, 3], {}, r"class ids in \[0, 3\) \(the model has 3 outputs\); got "
                 r"values from 0 to 3"),
    ([-1, 0], {}, r"from -1 to 0"),
    ([0.5, 1], {}, r"Class ids `y` must be integers"),
    ([0, np.nan], {}, r"must be integers"),
    ([0, 1], dict(n=3), r"`x` has 3 images but `y` has 2 labels"),
    (np.eye(4)[[0, 1]], {}, r"one-hot vectors \(N, 3\), got shape \(2, 4\)"),
    ([[0.5, 0.6, 0.0]], {}, r"non-negative rows summing to 1"),
    ([[-0.5, 1.5, 0.0]], {}, r"non-negative rows summing to 1"),
    (np.eye(3)[[0]], dict(one_hot=False), r"class ids \(N,\), got shape"),
    (3, {}, r"got shape \(\)"),
    (["a", "b"], {}, r"must be numbers, got dtype str"),
])
def test_bad_labels(y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_labels(y, 3, **kwargs)


def test_num_classes_from_labels():
    assert infer_num_classes([0, 1, 2, 2]) == 3
    assert infer_num_classes(np.array([[1], [0]])) == 2
    with pytest.raises(ValueError, match=r"go from 5 to 14 but class\(es\) "
                                         r"0, 1, 2, 3, 4 never occur"):
        infer_num_classes(np.arange(5, 15))
    with pytest.raises(ValueError, match=r"class\(es\) 1 never occur"):
        infer_num_classes([0, 2])
    with pytest.raises(ValueError, match=r"from -1"):
        infer_num_classes([-1, 0])


# ------------------------------------------------------------------ counts
def test_counts():
    assert check_count("n", 10.0) == 10
    assert check_count("n0", 100, high=1000, high_name="n") == 100
    with pytest.raises(ValueError, match=r"`n0` must be <= `n` = 100, got "
                                         r"1000"):
        check_count("n0", 1000, high=100, high_name="n")
    with pytest.raises(ValueError, match=r"`n` must be in \[1, inf\), got 0"):
        check_count("n", 0)
    with pytest.raises(ValueError, match=r"`n` must be an integer"):
        check_count("n", 2.5)
    with pytest.raises(TypeError, match=r"`n` must be an integer"):
        check_count("n", "10")
