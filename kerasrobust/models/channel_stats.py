"""Per-channel mean and standard deviation of a training set."""

import numpy as np

# Values (not bytes) converted to float64 at a time: 2**22 values = 32 MiB.
_CHUNK_VALUES = 2**22


def _chunks(images):
    """Yields `(n, channels)` slices of `images` of about `_CHUNK_VALUES`."""
    channels = images.shape[-1]
    per_row = images.size // images.shape[0]
    rows = max(1, _CHUNK_VALUES // per_row)
    for start in range(0, images.shape[0], rows):
        yield images[start:start + rows].reshape(-1, channels)


def channel_stats(images):
    """Computes the per-channel mean and standard deviation of images.

    These are the `mean` and `std` arguments of every builder in
    `kerasrobust.models`: as in Guo et al. (2021), "Robust Regularization
    with Adversarial Labelling of Perturbed Samples" (ALPS), "normalization
    is performed on both training and test set with the mean and standard
    deviation computed on training set", and as in the centering layer of
    Salman et al. (2019) used by Feng et al. (2021) (ADRE).

    The statistics are over every axis but the last one (channels last) in
    [0, 1] pixel units: `uint8` images are divided by 255, floating point
    images must already lie in [0, 1]. The standard deviation is the
    population one (`ddof=0`), like `numpy.std`. Both are accumulated in
    float64 over chunks of about 4M values (two passes: mean, then squared
    deviations from it), so a large `uint8` array or `numpy.memmap` is
    never copied to float64 as a whole. A constant channel gets a standard
    deviation of 0, which the builders reject.

    Args:
        images: array of shape `(N, H, W, C)` (any shape with channels
            last works), dtype `uint8` (0-255) or floating point in [0, 1].

    Returns:
        `(mean, std)`: two float32 numpy arrays of length `C`.

    Example:

    ```python
    mean, std = kerasrobust.models.channel_stats(x_train)
    model = kerasrobust.models.preact_resnet18(mean=mean, std=std)
    ```
    """
    images = np.asarray(images)
    if images.ndim < 2 or images.size == 0:
        raise ValueError(
            "`images` must be a non-empty array with channels last, "
            f"e.g. (N, H, W, C), got shape {images.shape}."
        )
    if images.dtype == np.uint8:
        scale = 1.0 / 255.0
    elif np.issubdtype(images.dtype, np.floating):
        scale = 1.0
    else:
        raise TypeError(
            "`images` must have dtype uint8 (0-255) or a floating point "
            f"dtype (values in [0, 1]), got dtype {images.dtype}."
        )

    channels = images.shape[-1]
    total = np.zeros(channels, dtype=np.float64)
    count = images.size // channels
    low, high = np.inf, -np.inf
    for chunk in _chunks(images):
        total += chunk.sum(axis=0, dtype=np.float64)
        if scale == 1.0:
            low = min(low, float(chunk.min()))
            high = max(high, float(chunk.max()))
    if scale == 1.0 and not (low >= 0.0 and high <= 1.0):
        raise ValueError(
            "`images` with a floating point dtype must hold values in "
            f"[0, 1], got values in [{low}, {high}]. Divide 0-255 images "
            "by 255 (or pass them as uint8)."
        )
    mean = total / count

    squares = np.zeros(channels, dtype=np.float64)
    for chunk in _chunks(images):
        deviation = chunk.astype(np.float64) - mean
        squares += np.einsum("ij,ij->j", deviation, deviation)
    std = np.sqrt(squares / count)
    return (mean * scale).astype(np.float32), (std * scale).astype(np.float32)
