"""VGG16 with batch normalization, the CIFAR variant of the ALPS paper."""

import keras

from kerasrobust.models import _common

# Filters of each 3x3 convolution; "M" is a 2x2 max pooling.
VGG16_CONFIG = (
    64, 64, "M",
    128, 128, "M",
    256, 256, 256, "M",
    512, 512, 512, "M",
    512, 512, 512, "M",
)


def vgg16(
    input_shape=(32, 32, 3),
    num_classes=10,
    mean=None,
    std=None,
    dropout=0.0,
    name=None,
    **extra,
):
    """Builds the CIFAR VGG16 with batch normalization.

    The 16-layer network of Simonyan and Zisserman (2015), "Very Deep
    Convolutional Networks for Large-Scale Image Recognition" (ICLR), in the
    CIFAR form with batch normalization used by Guo et al. (2021), "Robust
    Regularization with Adversarial Labelling of Perturbed Samples" (ALPS):
    13 3x3 'same' convolutions (64, 64, M, 128, 128, M, 256 x3, M, 512 x3,
    M, 512 x3, M), each followed by batch normalization and a ReLU, where M
    is a 2x2 max pooling. The five poolings need inputs of at least 32x32.
    Global average pooling (so 64x64 inputs work too), dropout on the
    pooled features (when `dropout > 0`; ALPS uses 0.5 for its dropout
    baseline) and a dense layer give the logits. 14.72M parameters for 10
    classes.

    Convolutions have no bias (batch normalization's offset replaces it)
    and use the `he_normal` initializer; the dense layer uses the Keras
    default `glorot_uniform`.

    Args:
        input_shape: `(height, width, channels)` of the input images, at
            least 32x32; height and width may be `None`. Images are float32
            in [0, 1].
        num_classes: number of classes (>= 2), the size of the logits.
        mean: per-channel mean subtracted by the first layer; `None` for 0,
            a scalar for every channel, or one value per channel.
        std: per-channel standard deviation (> 0) the centered input is
            divided by; `None` for 1, a scalar, or one value per channel.
        dropout: dropout rate in [0, 1) on the penultimate features.
        name: model name, `"vgg16"` by default.
        **extra: forwarded to `keras.Model`.

    Returns:
        A functional `keras.Model` from images `(batch, *input_shape)` to
        float32 logits `(batch, num_classes)`.

    Example:

    ```python
    mean, std = kerasrobust.models.channel_stats(x_train)
    model = kerasrobust.models.vgg16(
        num_classes=10, mean=mean, std=std, dropout=0.5
    )
    logits = model(x_train[:8])
    ```
    """
    input_shape = _common.check_input_shape(input_shape, min_size=32)
    num_classes, dropout = _common.check_head_args(num_classes, dropout)

    inputs, x = _common.normalized_input(input_shape, mean, std)
    block, index = 1, 1
    for item in VGG16_CONFIG:
        if item == "M":
            x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
            block, index = block + 1, 1
            continue
        prefix = f"block{block}_"
        x = _common.conv(x, item, name=f"{prefix}conv{index}")
        x = _common.batch_norm(x, name=f"{prefix}bn{index}")
        x = _common.relu(x, name=f"{prefix}relu{index}")
        index += 1
    features = _common.global_pool(x)
    return _common.classifier(
        inputs,
        features,
        num_classes,
        dropout,
        name=name or "vgg16",
        **extra,
    )
