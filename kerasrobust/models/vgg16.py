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


def _features(x):
    """The body: the 13 convolutions and 5 poolings, then global pooling."""
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
    return _common.global_pool(x)


def vgg16(input_shape=(32, 32, 3), num_classes=10, mean=None, std=None,
          dropout=0.0, name=None, **extra):
    """Builds the CIFAR VGG16 with batch normalization.

    The 16-layer network of Simonyan and Zisserman (2015), "Very Deep
    Convolutional Networks for Large-Scale Image Recognition" (ICLR), in the
    CIFAR form with batch normalization used by Guo et al. (2021), "Robust
    Regularization with Adversarial Labelling of Perturbed Samples" (ALPS):
    13 3x3 'same' convolutions (64, 64, M, 128, 128, M, 256 x3, M, 512 x3,
    M, 512 x3, M), each followed by batch normalization and a ReLU, where M
    is a 2x2 max pooling. The five poolings need inputs of at least 32x32.
    The common head follows: its global average pooling lets 64x64 inputs
    work too; ALPS uses dropout 0.5 for its dropout baseline. 14.72M
    parameters for 10 classes.

    Takes the builders' common arguments (`kerasrobust.models`) for images
    of at least 32x32 and returns their logits model, named `"vgg16"` by
    default.

    Example:

    ```python
    # Tiny ImageNet (64x64, 200 classes), ALPS' dropout baseline.
    model = kerasrobust.models.vgg16((64, 64, 3), 200, dropout=0.5)
    ```
    """
    return _common.build(name or "vgg16", _features, input_shape,
                         num_classes, mean, std, dropout, min_size=32,
                         **extra)
