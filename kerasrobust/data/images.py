"""Checks and conversions for image arrays (float32 NHWC in [0, 1])."""

import numpy as np


def validate_images(x, name="x"):
    """Checks that `x` is a batch of images in the library's convention.

    The convention is a rank-4 array `(N, H, W, C)` of finite values in
    `[0, 1]`; noise levels and attack radii elsewhere in the library are in
    these pixel units.

    Args:
        x: array-like of images.
        name: parameter name used in error messages.

    Returns:
        `x` as a NumPy array (not copied when it already is one).

    Raises:
        ValueError: if `x` is not rank 4, is empty, not numeric, contains NaN
            or infinite values, or has values outside `[0, 1]`.
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(
            f"`{name}` must be a rank-4 array of images (N, H, W, C), got "
            f"shape {x.shape}. Add a channel axis to grayscale images "
            "(x[..., None]) and a batch axis to a single image (x[None])."
        )
    if x.shape[0] == 0:
        raise ValueError(f"`{name}` holds no images (shape {x.shape}).")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise ValueError(
            f"`{name}` must hold numbers, got dtype {x.dtype}."
        )
    if np.issubdtype(x.dtype, np.inexact):
        n_bad = x.size - int(np.count_nonzero(np.isfinite(x)))
        if n_bad:
            raise ValueError(
                f"`{name}` contains {n_bad} non-finite values (NaN or inf) "
                f"out of {x.size}; images must be finite and in [0, 1]."
            )
    low, high = x.min(), x.max()
    if low < 0 or high > 1:
        hint = ""
        if high > 1 and high <= 255:
            hint = " Images stored as 0..255 must be divided by 255."
        raise ValueError(
            f"`{name}` must have values in [0, 1], got min {low:g} and "
            f"max {high:g}.{hint}"
        )
    return x


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
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
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


def to_labels(y, name="y"):
    """Flattens labels to an int64 vector, checking they are integers >= 0."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"`{name}` must be a vector of integer class labels (shape (N,) "
            f"or (N, 1)), got shape {y.shape}. One-hot labels must be "
            "converted with argmax first."
        )
    if not np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_:
        raise ValueError(
            f"`{name}` must hold integer class labels, got dtype {y.dtype}."
        )
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError(
                f"`{name}` must hold integer class labels, got non-integral "
                "floating-point values."
            )
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(
            f"`{name}` must hold class labels >= 0, got min {y.min()}."
        )
    return y
