"""Look-up of the model builders by name."""

from kerasrobust._validation import check_choice
from kerasrobust.models.cifar_resnet import cifar_resnet
from kerasrobust.models.cifar_resnet import cifar_resnet110
from kerasrobust.models.preact_resnet18 import preact_resnet18
from kerasrobust.models.resnet50 import resnet50
from kerasrobust.models.small_cnn import small_cnn
from kerasrobust.models.vgg16 import vgg16

MODELS = {
    "small_cnn": small_cnn,
    "preact_resnet18": preact_resnet18,
    "vgg16": vgg16,
    "cifar_resnet": cifar_resnet,
    "cifar_resnet110": cifar_resnet110,
    "resnet50": resnet50,
}


def get_model(architecture, /, **kwargs):
    """Builds the model registered under `architecture` in `MODELS`.

    Lets scripts and configuration files pick the architecture by a string,
    e.g. a command-line flag. `"cifar_resnet"` needs `depth=...`.

    Args:
        architecture: (positional) one of the keys of
            `kerasrobust.models.MODELS`
            (`"small_cnn"`, `"preact_resnet18"`, `"vgg16"`,
            `"cifar_resnet"`, `"cifar_resnet110"`, `"resnet50"`).
        **kwargs: forwarded to the builder (`input_shape`, `num_classes`,
            `mean`, `std`, `dropout`, `name`, ...).

    Returns:
        The `keras.Model` returned by the builder.

    Example:

    ```python
    model = kerasrobust.models.get_model(
        "preact_resnet18", num_classes=100, dropout=0.5
    )
    ```
    """
    check_choice("architecture", architecture, tuple(MODELS))
    return MODELS[architecture](**kwargs)
