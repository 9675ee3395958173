"""ResNet-50 from `keras.applications`, the ImageNet-scale base model."""

import keras

from kerasrobust.models import _common


def _features(x):
    """The body: `keras.applications.ResNet50` on the normalized images."""
    return keras.applications.ResNet50(
        include_top=False,
        weights=None,
        input_tensor=x,
        input_shape=tuple(x.shape[1:]),
        pooling="avg",
    ).output


def resnet50(input_shape=(32, 32, 3), num_classes=10, mean=None, std=None,
             dropout=0.0, name=None, **extra):
    """Builds ResNet-50 behind the per-channel normalization layer.

    The 50-layer bottleneck network of He et al. (2015), "Deep Residual
    Learning for Image Recognition" (CVPR 2016), the ImageNet base
    classifier of Cohen et al. (2019), "Certified Adversarial Robustness via
    Randomized Smoothing", and of Feng et al. (2021) (ADRE), whose first
    layer is a channel-wise standardization. The body is
    `keras.applications.ResNet50(include_top=False, weights=None,
    pooling="avg")`, randomly initialized (no weights are ever downloaded)
    and built on the normalized input, so its layers sit directly in the
    returned model (its `avg_pool` is the penultimate layer, as in every
    builder here). The common head's dropout and dense layer give the
    logits. 23.61M parameters for 10 classes.

    The body keeps the `keras.applications` initializers (Keras defaults,
    `glorot_uniform`) and its convolutions keep their biases.

    Takes the builders' common arguments (`kerasrobust.models`) for images
    of at least 32x32 and returns their logits model, named `"resnet50"` by
    default.

    Example:

    ```python
    model = kerasrobust.models.resnet50(
        input_shape=(224, 224, 3), num_classes=1000,
        mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
    )
    ```
    """
    return _common.build(name or "resnet50", _features, input_shape,
                         num_classes, mean, std, dropout, min_size=32,
                         **extra)
