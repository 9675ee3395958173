"""Image arrays of the data loaders (float32 NHWC in [0, 1]).

The checks themselves are `kerasrobust._validation`'s, shared with every
other boundary; this module adds what only stored datasets need: uint8
files are converted (divided by 255) and grayscale gets a channel axis.
"""

import numpy as np

from kerasrobust._validation import check_images
from kerasrobust._validation import check_labels


def validate_images(x, name="x"):
    """Checks that `x` is a batch of images in the library's convention.

    The convention is a rank-4 array `(N, H, W, C)` of finite floats in
    `[0, 1]`; noise levels and attack radii elsewhere in the library are in
    these pixel units. The checks are `kerasrobust._validation.check_images`
    (dtype, finite, range up to rounding) plus rank 4 and at least one
    image.

    Args:
        x: array-like of images.
        name: parameter name used in error messages.

    Returns:
        `x` as a float32 NumPy array (not copied when it already is one).

    Raises:
        ValueError: if `x` is not rank 4, is empty, not floating point
            (uint8: divide by 255), contains NaN or infinite values, or has
            values outside `[0, 1]`.
    """
    _check_batch_shape(x, name)
    return check_images(x, name)


def _check_batch_shape(x, name):
    """Rank 4 `(N, H, W, C)` with N >= 1."""
    shape = np.shape(x)
    if len(shape) != 4:
        raise ValueError(
            f"`{name}` must be a rank-4 array of images (N, H, W, C), got "
            f"shape {shape}. Add a channel axis to grayscale images "
            "(x[..., None]) and a batch axis to a single image (x[None])."
        )
    if shape[0] == 0:
        raise ValueError(f"`{name}` holds no images (shape {shape}).")


def _with_channel_axis(x):
    x = np.asarray(x)
    return x[..., None] if x.ndim == 3 else x


def to_unit_float(x, name="x"):
    """Converts an image array to float32 in `[0, 1]` with a channel axis.

    `uint8` arrays are divided by 255; floating-point arrays must already be
    in `[0, 1]`. A rank-3 array `(N, H, W)` is read as grayscale and gets a
    channel axis.

    Args:
        x: array-like of images, `(N, H, W)` or `(N, H, W, C)`.
        name: parameter name used in error messages.

    Returns:
        float32 array `(N, H, W, C)`.
    """
    x = _with_channel_axis(x)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / np.float32(255.0)
    elif np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32, copy=False)
    else:
        raise ValueError(
            f"`{name}` must be uint8 (0..255) or floating point in [0, 1], "
            f"got dtype {x.dtype}. Convert it with x.astype('uint8') or "
            "x.astype('float32') / 255 first."
        )
    return validate_images(x, name)


def stored_pixels(x, name="x"):
    """Images as stored in memory by the pipelines: `uint8` 0..255 kept as
    is (a quarter of float32's memory; rank 4 and non-empty checked),
    anything else checked by `validate_images` and returned as float32.

    Only the data pipelines and `ImageDataset` take `uint8` this way,
    converting batch by batch; the training and certification APIs take
    float32 in `[0, 1]` and refuse `uint8`.
    """
    if np.asarray(x).dtype != np.uint8:
        return validate_images(x, name)
    _check_batch_shape(x, name)
    return np.asarray(x)


def to_stored_pixels(x, name="x"):
    """What the loaders store: `uint8` files stay `uint8` (0..255, with a
    channel axis added to grayscale `(N, H, W)`); floating point is
    `to_unit_float`'s float32 in `[0, 1]`. Used with
    `ImageDataset(keep_uint8=True)`."""
    x = _with_channel_axis(x)
    if x.dtype == np.uint8:
        return stored_pixels(x, name)
    return to_unit_float(x, name)


def to_labels(y, name="y"):
    """Class ids `(N,)` or `(N, 1)` as an int64 vector (integers >= 0;
    `kerasrobust._validation.check_labels`)."""
    return check_labels(y, None, name, one_hot=False)
