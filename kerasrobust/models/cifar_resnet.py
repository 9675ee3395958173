"""The CIFAR ResNets of He et al. (2015), randomized smoothing's base model."""

import keras

from kerasrobust._validation import check_number
from kerasrobust.models import _common

STAGE_FILTERS = (16, 32, 64)
STAGE_STRIDES = (1, 2, 2)


def _basic_block(x, filters, strides, name):
    """conv3x3(strides)-BN-ReLU-conv3x3-BN, added to the shortcut, ReLU.

    The shortcut is a 1x1 convolution (strides) + BN when the block changes
    the resolution or the number of channels, the identity otherwise.
    """
    in_channels = x.shape[-1]
    out = _common.conv(x, filters, strides=strides, name=f"{name}_conv1")
    out = _common.batch_norm(out, name=f"{name}_bn1")
    out = _common.relu(out, name=f"{name}_relu1")
    out = _common.conv(out, filters, name=f"{name}_conv2")
    out = _common.batch_norm(out, name=f"{name}_bn2")
    if strides != 1 or in_channels != filters:
        shortcut = _common.conv(
            x, filters, kernel_size=1, strides=strides,
            name=f"{name}_proj_conv",
        )
        shortcut = _common.batch_norm(shortcut, name=f"{name}_proj_bn")
    else:
        shortcut = x
    out = keras.layers.Add(name=f"{name}_add")([out, shortcut])
    return _common.relu(out, name=f"{name}_out_relu")


def cifar_resnet(depth, input_shape=(32, 32, 3), num_classes=10, mean=None,
                 std=None, dropout=0.0, name=None, **extra):
    """Builds a CIFAR ResNet of depth 6n + 2.

    The CIFAR networks of He et al. (2015), "Deep Residual Learning for
    Image Recognition" (CVPR 2016), as used for the base classifier by Cohen
    et al. (2019), "Certified Adversarial Robustness via Randomized
    Smoothing", and by Feng et al. (2021), "Regularized Training and Tight
    Certification for Randomized Smoothed Classifier with Provable
    Robustness" (ADRE): a 3x3 convolution with 16 filters + BN + ReLU, then
    3 stages of n = (depth - 2) / 6 basic blocks with 16/32/64 filters and
    strides 1/2/2. A basic block is conv3x3-BN-ReLU-conv3x3-BN, added to
    the shortcut, then ReLU; the shortcut is a 1x1 convolution + BN
    (option B of the paper, as in Cohen et al.'s code) when the shape
    changes and the identity otherwise. The common head (global average
    pooling, dropout, dense logits) follows. ResNet-20: 0.27M parameters,
    ResNet-110: 1.73M (10 classes).

    Besides `depth`, it takes the builders' common arguments and returns
    their logits model (`kerasrobust.models`), named `"cifar_resnet{depth}"`
    by default.

    Args:
        depth: number of weighted layers, `6 * n + 2` with `n >= 1`
            (20, 32, 44, 56, 110, ...).

    Example:

    ```python
    mean, std = kerasrobust.models.channel_stats(x_train)
    model = kerasrobust.models.cifar_resnet(20, mean=mean, std=std)
    logits = model(x_train[:8])
    ```
    """
    depth = check_number("depth", depth, low=8, integer=True)
    if (depth - 2) % 6 != 0:
        raise ValueError(
            f"`depth` must be 6 * n + 2 with n >= 1 (8, 14, 20, ..., 110), "
            f"got {depth!r}."
        )

    def features(x):
        x = _common.conv(x, STAGE_FILTERS[0], name="stem_conv")
        x = _common.batch_norm(x, name="stem_bn")
        x = _common.relu(x, name="stem_relu")
        for stage, (filters, strides) in enumerate(
            zip(STAGE_FILTERS, STAGE_STRIDES), start=1
        ):
            for block in range(1, (depth - 2) // 6 + 1):
                x = _basic_block(x, filters, strides if block == 1 else 1,
                                 name=f"stage{stage}_block{block}")
        return _common.global_pool(x)

    return _common.build(name or f"cifar_resnet{depth}", features,
                         input_shape, num_classes, mean, std, dropout,
                         **extra)


def cifar_resnet110(input_shape=(32, 32, 3), num_classes=10, mean=None,
                    std=None, dropout=0.0, name=None, **extra):
    """Builds the CIFAR ResNet-110, `cifar_resnet(110, ...)`.

    The 110-layer base classifier of Cohen et al. (2019), "Certified
    Adversarial Robustness via Randomized Smoothing", and of Feng et al.
    (2021) (ADRE) on CIFAR-10; see `kerasrobust.models.cifar_resnet` for the
    architecture (He et al., 2015). 1.73M parameters for 10 classes.

    Takes the builders' common arguments and returns their logits model
    (`kerasrobust.models`), named `"cifar_resnet110"` by default.

    Example:

    ```python
    model = kerasrobust.models.cifar_resnet110(
        mean=[0.4914, 0.4822, 0.4465], std=[0.2470, 0.2435, 0.2616]
    )
    ```
    """
    return cifar_resnet(110, input_shape, num_classes, mean, std, dropout,
                        name, **extra)
