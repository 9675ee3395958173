"""Image classifiers used by the papers kerasrobust implements.

- `small_cnn`: a 0.29M-parameter CNN for fast runs on CPU.
- `preact_resnet18`, `vgg16`: the models of the ALPS paper (Guo et al., 2021).
- `cifar_resnet`, `cifar_resnet110`, `resnet50`: the base classifiers of
  randomized smoothing (Cohen et al., 2019) and ADRE (Feng et al., 2021).

Every builder returns a functional `keras.Model` from a batch of NHWC
float32 images in [0, 1], shape `(batch, *input_shape)`, to float32 logits
(no softmax), shape `(batch, num_classes)`, and takes these common arguments
(its own, documented with it, come first or after them as keywords):

- `input_shape=(32, 32, 3)`: `(height, width, channels)` of the input
  images; height and width may be `None` (any size at least the
  architecture's minimum), `channels` must be known.
- `num_classes=10`: number of classes (>= 2), the size of the logits.
- `mean=None`: per-channel mean subtracted by the first layer; `None` for 0,
  a scalar for every channel, or one value per channel.
- `std=None`: per-channel standard deviation (> 0) the centered input is
  divided by; `None` for 1, a scalar, or one value per channel.
- `dropout=0.0`: dropout rate in [0, 1) on the penultimate features.
- `name=None`: model name; `None` for the builder's own name.
- `**extra`: forwarded to `keras.Model`.

The model's layers are, in order: the input `"images"`; `"normalization"`,
a serializable `keras.layers.Normalization` computing `(x - mean) / std`
(fill `mean` and `std` from the training set with `channel_stats`), so that
noise and attack radii stay in [0, 1] pixel units outside the model; the
architecture's body; `"avg_pool"`, the global average pooling to the
penultimate features; `"dropout"` (only when `dropout > 0`); and
`"logits"`, a float32 `keras.layers.Dense` with the Keras default
`glorot_uniform` initializer.

Convolutions of the bodies written here use the `he_normal` initializer
(He et al., 2015, "Delving Deep into Rectifiers") and no bias where a batch
normalization follows; batch normalization uses momentum 0.9 and epsilon
1e-5, the PyTorch defaults of the reference implementations the builders
follow (`resnet50` keeps the settings of `keras.applications`).
"""

from kerasrobust.models.channel_stats import channel_stats
from kerasrobust.models.cifar_resnet import cifar_resnet
from kerasrobust.models.cifar_resnet import cifar_resnet110
from kerasrobust.models.preact_resnet18 import preact_resnet18
from kerasrobust.models.registry import MODELS
from kerasrobust.models.registry import get_model
from kerasrobust.models.resnet50 import resnet50
from kerasrobust.models.small_cnn import small_cnn
from kerasrobust.models.vgg16 import vgg16

__all__ = [
    "MODELS",
    "channel_stats",
    "cifar_resnet",
    "cifar_resnet110",
    "get_model",
    "preact_resnet18",
    "resnet50",
    "small_cnn",
    "vgg16",
]
