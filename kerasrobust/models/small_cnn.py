"""A small six-convolution CNN, the fast baseline for side-by-side runs."""

import keras

from kerasrobust._validation import check_number
from kerasrobust.models import _common


def small_cnn(input_shape=(32, 32, 3), num_classes=10, mean=None,
              std=None, dropout=0.0, name=None, *, width=32, batch_norm=True,
              **extra):
    """Builds a small VGG-style CNN classifier.

    Three blocks of two 3x3 'same' convolutions with `width`, `2 * width`
    and `4 * width` filters; each convolution is followed by batch
    normalization (when `batch_norm`) and a ReLU. A 2x2 max pooling follows
    blocks 1 and 2, the common head (global average pooling, dropout, dense
    logits) follows block 3. About 0.29M parameters at `width=32` on
    32x32x3 inputs; it also runs on inputs as small as 4x4 (e.g. the 8x8x1
    sklearn digits). Convolutions have a bias only when `batch_norm=False`.

    This is the model to use for benchmarks on CPU: it is not from a paper,
    it is a small stand-in for the PreActResNet18/VGG16 of Guo et al.
    (2021), "Robust Regularization with Adversarial Labelling of Perturbed
    Samples" (ALPS), whose dropout baseline drops 50% of the penultimate
    features.

    Besides `width` and `batch_norm`, it takes the builders' common
    arguments (`kerasrobust.models`) for images of at least 4x4 and returns
    their logits model, named `"small_cnn"` by default.

    Args:
        width: number of filters of the first block (integer >= 1).
        batch_norm: whether to add batch normalization after every
            convolution.

    Example:

    ```python
    # The 8x8 grey sklearn digits, with a narrower first block.
    model = kerasrobust.models.small_cnn((8, 8, 1), width=16, dropout=0.5)
    ```
    """
    width = check_number("width", width, low=1, integer=True)
    batch_norm = _common.check_bool("batch_norm", batch_norm)

    def features(x):
        for block, filters in enumerate((width, 2 * width, 4 * width),
                                        start=1):
            for index in (1, 2):
                prefix = f"block{block}_"
                x = _common.conv(x, filters, use_bias=not batch_norm,
                                 name=f"{prefix}conv{index}")
                if batch_norm:
                    x = _common.batch_norm(x, name=f"{prefix}bn{index}")
                x = _common.relu(x, name=f"{prefix}relu{index}")
            if block < 3:
                x = keras.layers.MaxPooling2D(
                    2, name=f"block{block}_pool")(x)
        return _common.global_pool(x)

    return _common.build(name or "small_cnn", features, input_shape,
                         num_classes, mean, std, dropout, min_size=4,
                         **extra)
