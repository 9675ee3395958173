"""ResNet-50 from `keras.applications`, the ImageNet-scale base model."""

import keras

from kerasrobust.models import _common


def resnet50(
    input_shape=(32, 32, 3),
    num_classes=10,
    mean=None,
    std=None,
    dropout=0.0,
    name=None,
    **extra,
):
    """Builds ResNet-50 behind the per-channel normalization layer.

    The 50-layer bottleneck network of He et al. (2015), "Deep Residual
    Learning for Image Recognition" (CVPR 2016), the ImageNet base
    classifier of Cohen et al. (2019), "Certified Adversarial Robustness via
    Randomized Smoothing", and of Feng et al. (2021) (ADRE), whose first
    layer is a channel-wise standardization. The body is
    `keras.applications.ResNet50(include_top=False, weights=None,
    pooling="avg")`, randomly initialized (no weights are ever downloaded)
    and built on the normalized input, so its layers sit directly in the
    returned model (`avg_pool` is the penultimate layer, as in every
    builder here). Dropout on the pooled features (when `dropout > 0`) and
    a dense layer give the logits. 23.61M parameters for 10 classes.

    The body keeps the `keras.applications` initializers (Keras defaults,
    `glorot_uniform`) and its convolutions keep their biases; the dense
    layer uses `glorot_uniform`.

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
        name: model name, `"resnet50"` by default.
        **extra: forwarded to `keras.Model`.

    Returns:
        A functional `keras.Model` from images `(batch, *input_shape)` to
        float32 logits `(batch, num_classes)`.

    Example:

    ```python
    model = kerasrobust.models.resnet50(
        input_shape=(224, 224, 3), num_classes=1000,
        mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
    )
    ```
    """
    input_shape = _common.check_input_shape(input_shape, min_size=32)
    num_classes, dropout = _common.check_head_args(num_classes, dropout)

    inputs, x = _common.normalized_input(input_shape, mean, std)
    body = keras.applications.ResNet50(
        include_top=False,
        weights=None,
        input_tensor=x,
        input_shape=input_shape,
        pooling="avg",
    )
    return _common.classifier(
        inputs,
        body.output,
        num_classes,
        dropout,
        name=name or "resnet50",
        **extra,
    )
