"""A small six-convolution CNN, the fast baseline for side-by-side runs."""

import keras

from kerasrobust._validation import check_number
from kerasrobust.models import _common


def small_cnn(
    input_shape=(32, 32, 3),
    num_classes=10,
    mean=None,
    std=None,
    dropout=0.0,
    name=None,
    *,
    width=32,
    batch_norm=True,
    **extra,
):
    """Builds a small VGG-style CNN classifier.

    Three blocks of two 3x3 'same' convolutions with `width`, `2 * width`
    and `4 * width` filters; each convolution is followed by batch
    normalization (when `batch_norm`) and a ReLU. A 2x2 max pooling follows
    blocks 1 and 2, global average pooling follows block 3, then dropout on
    the pooled features (when `dropout > 0`) and a dense layer to the
    logits. About 0.29M parameters at `width=32` on 32x32x3 inputs; it also
    runs on inputs as small as 4x4 (e.g. the 8x8x1 sklearn digits).

    Convolutions use the `he_normal` initializer and have a bias only when
    `batch_norm=False` (batch normalization's offset replaces it). The dense
    layer uses the Keras default `glorot_uniform`. This is the model to use
    for benchmarks on CPU: it is not from a paper, it is a small stand-in
    for the PreActResNet18/VGG16 of Guo et al. (2021), "Robust
    Regularization with Adversarial Labelling of Perturbed Samples" (ALPS),
    whose dropout baseline drops 50% of the penultimate features.

    Args:
        input_shape: `(height, width, channels)` of the input images;
            height and width may be `None`. Images are float32 in [0, 1].
        num_classes: number of classes (>= 2), the size of the logits.
        mean: per-channel mean subtracted by the first layer; `None` for 0,
            a scalar for every channel, or one value per channel.
        std: per-channel standard deviation (> 0) the centered input is
            divided by; `None` for 1, a scalar, or one value per channel.
        dropout: dropout rate in [0, 1) on the penultimate features.
        name: model name, `"small_cnn"` by default.
        width: number of filters of the first block (integer >= 1).
        batch_norm: whether to add batch normalization after every
            convolution.
        **extra: forwarded to `keras.Model`.

    Returns:
        A functional `keras.Model` from images `(batch, *input_shape)` to
        float32 logits `(batch, num_classes)`.

    Example:

    ```python
    mean, std = kerasrobust.models.channel_stats(x_train)
    model = kerasrobust.models.small_cnn(
        input_shape=(32, 32, 3), num_classes=10, mean=mean, std=std,
        dropout=0.5,
    )
    logits = model(x_train[:8])
    ```
    """
    input_shape = _common.check_input_shape(input_shape, min_size=4)
    num_classes, dropout = _common.check_head_args(num_classes, dropout)
    width = check_number("width", width, low=1, integer=True)
    batch_norm = _common.check_bool("batch_norm", batch_norm)

    inputs, x = _common.normalized_input(input_shape, mean, std)
    for block, filters in enumerate((width, 2 * width, 4 * width), start=1):
        for index in (1, 2):
            prefix = f"block{block}_"
            x = _common.conv(
                x,
                filters,
                use_bias=not batch_norm,
                name=f"{prefix}conv{index}",
            )
            if batch_norm:
                x = _common.batch_norm(x, name=f"{prefix}bn{index}")
            x = _common.relu(x, name=f"{prefix}relu{index}")
        if block < 3:
            x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    features = _common.global_pool(x)
    return _common.classifier(
        inputs,
        features,
        num_classes,
        dropout,
        name=name or "small_cnn",
        **extra,
    )
