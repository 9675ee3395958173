"""Image classifiers used by the papers kerasrobust implements.

Every builder takes `(input_shape=(32, 32, 3), num_classes=10, mean=None,
std=None, dropout=0.0, name=None, **extra)` and returns a functional
`keras.Model` from NHWC float32 images in [0, 1] to float32 logits. The first
layer, `"normalization"`, standardizes each channel with `mean` and `std`
(fill them from the training set with `channel_stats`); `dropout` acts on the
penultimate features (`"avg_pool"`) right before the final dense layer
(`"logits"`).

- `small_cnn`: a 0.29M-parameter CNN for fast runs on CPU.
- `preact_resnet18`, `vgg16`: the models of the ALPS paper (Guo et al., 2021).
- `cifar_resnet`, `cifar_resnet110`, `resnet50`: the base classifiers of
  randomized smoothing (Cohen et al., 2019) and ADRE (Feng et al., 2021).
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
