"""Pre-activation ResNet-18, the CIFAR variant of the mixup and ALPS papers."""

import keras

from kerasrobust.models import _common

STAGE_FILTERS = (64, 128, 256, 512)
STAGE_STRIDES = (1, 2, 2, 2)
BLOCKS_PER_STAGE = 2


def _preact_block(x, filters, strides, name):
    """One PreActBlock: BN-ReLU -> conv3x3(strides) -> BN-ReLU -> conv3x3.

    The shortcut is a 1x1 convolution of the pre-activated input when the
    block changes the resolution or the number of channels, the raw input
    otherwise.
    """
    in_channels = x.shape[-1]
    out = _common.batch_norm(x, name=f"{name}_bn1")
    out = _common.relu(out, name=f"{name}_relu1")
    if strides != 1 or in_channels != filters:
        shortcut = _common.conv(
            out, filters, kernel_size=1, strides=strides,
            name=f"{name}_shortcut",
        )
    else:
        shortcut = x
    out = _common.conv(out, filters, strides=strides, name=f"{name}_conv1")
    out = _common.batch_norm(out, name=f"{name}_bn2")
    out = _common.relu(out, name=f"{name}_relu2")
    out = _common.conv(out, filters, name=f"{name}_conv2")
    return keras.layers.Add(name=f"{name}_add")([out, shortcut])


def _features(x):
    """The body: stem, 4 stages of 2 PreActBlocks, final BN-ReLU, pooling."""
    x = _common.conv(x, STAGE_FILTERS[0], name="stem_conv")
    for stage, (filters, strides) in enumerate(
        zip(STAGE_FILTERS, STAGE_STRIDES), start=1
    ):
        for block in range(1, BLOCKS_PER_STAGE + 1):
            x = _preact_block(x, filters, strides if block == 1 else 1,
                              name=f"stage{stage}_block{block}")
    x = _common.batch_norm(x, name="final_bn")
    x = _common.relu(x, name="final_relu")
    return _common.global_pool(x)


def preact_resnet18(input_shape=(32, 32, 3), num_classes=10, mean=None,
                    std=None, dropout=0.0, name=None, **extra):
    """Builds the CIFAR pre-activation ResNet-18.

    The network of He et al. (2016), "Identity Mappings in Deep Residual
    Networks" (ECCV), in the CIFAR form used by the reference code of Zhang
    et al. (2018), "mixup: Beyond Empirical Risk Minimization", and by Guo et
    al. (2021), "Robust Regularization with Adversarial Labelling of
    Perturbed Samples" (ALPS): a 3x3 stride-1 convolution with 64 filters,
    then 4 stages of 2 PreActBlocks with 64/128/256/512 filters and strides
    1/2/2/2. A block is BN-ReLU -> conv3x3(stride) -> BN-ReLU -> conv3x3,
    added to a shortcut that is a 1x1 convolution (stride) of the
    pre-activated input when the shape changes and the identity otherwise.
    A final BN-ReLU and the common head (global average pooling, dropout,
    dense logits; ALPS uses dropout 0.5 for its dropout baseline) follow.
    11.17M parameters for 10 classes.

    Strided convolutions use 'same' padding (Keras pads right/bottom,
    PyTorch pads both sides; the output shapes agree).

    Takes the builders' common arguments and returns their logits model
    (`kerasrobust.models`), named `"preact_resnet18"` by default.

    Example:

    ```python
    mean, std = kerasrobust.models.channel_stats(x_train)
    model = kerasrobust.models.preact_resnet18(
        num_classes=10, mean=mean, std=std, dropout=0.5
    )
    logits = model(x_train[:8])
    ```
    """
    return _common.build(name or "preact_resnet18", _features, input_shape,
                         num_classes, mean, std, dropout, **extra)
