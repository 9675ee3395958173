"""`load_dataset`: one entry point for every dataset the library supports.

| name            | source                          | image   | augmentation |
|-----------------|---------------------------------|---------|--------------|
| `digits`        | scikit-learn (bundled, offline) | 8x8x1   | crop, pad 1  |
| `cifar10`       | tensorflow-datasets             | 32x32x3 | crop+flip, 4 |
| `cifar100`      | tensorflow-datasets             | 32x32x3 | crop+flip, 4 |
| `svhn_cropped`  | tensorflow-datasets             | 32x32x3 | crop, pad 4  |
| `mnist`         | tensorflow-datasets             | 28x28x1 | crop, pad 4  |
| `tiny_imagenet` | local folder                    | 64x64x3 | crop+flip, 4 |
| `mnist_idx`     | local MNIST IDX files           | 28x28x1 | crop, pad 4  |
| `npz`           | local `.npz` archive            | any     | per kwargs   |

`digits` is the project's default: it needs nothing but installed packages.
"""

import inspect
import os

import numpy as np

from kerasrobust._validation import check_choice
from kerasrobust.data import files
from kerasrobust.data import tfds_loader
from kerasrobust.data import tiny_imagenet
from kerasrobust.data.image_dataset import ImageDataset

DATA_DIR_ENV = "KERASROBUST_DATA_DIR"
DIGITS_TEST_SIZE = 0.2
DIGITS_SPLIT_SEED = 0
# The papers pad 32x32 images by 4 pixels (1/8 of the side) before the random
# crop; the same fraction of an 8x8 digit is 1 pixel.
DIGITS_CROP_PADDING = 1


def load_digits():
    """Loads scikit-learn's bundled handwritten digits (1,797 8x8 images).

    Pixel values 0..16 are divided by 16. The split is
    `train_test_split(test_size=0.2, random_state=0, stratify=y)`: 1,437
    train and 360 test images, classes in the same proportions in both.
    Augmentation: random crop with 1 pixel of padding (the papers' 4 pixels
    on 32x32 images, scaled to 8x8), no flip.
    """
    from sklearn import datasets as sk_datasets
    from sklearn.model_selection import train_test_split

    digits = sk_datasets.load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=DIGITS_TEST_SIZE, random_state=DIGITS_SPLIT_SEED,
        stratify=y,
    )
    return ImageDataset(
        name="digits",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        num_classes=10,
        augmentation="crop",
        crop_padding=DIGITS_CROP_PADDING,
        class_names=[str(c) for c in digits.target_names],
        split_note=(
            f"scikit-learn load_digits ({len(x)} images), "
            f"train_test_split(test_size={DIGITS_TEST_SIZE}, "
            f"random_state={DIGITS_SPLIT_SEED}, stratify=y): "
            f"{len(x_train)} train / {len(x_test)} test"
        ),
    )


_LOCAL_LOADERS = {
    "tiny_imagenet": tiny_imagenet.load_tiny_imagenet,
    "mnist_idx": files.load_mnist_idx,
    "npz": files.load_npz,
}
DATASET_NAMES = (
    ("digits",) + tuple(tfds_loader.TFDS_DATASETS) + tuple(_LOCAL_LOADERS)
)


def _extra_kwargs(loader, skip):
    params = inspect.signature(loader).parameters
    return tuple(p for p in params if p not in skip)


def _check_kwargs(name, kwargs, allowed):
    unexpected = sorted(set(kwargs) - set(allowed))
    if unexpected:
        accepted = ", ".join(allowed) if allowed else "none"
        raise TypeError(
            f"load_dataset({name!r}) got unexpected keyword argument(s) "
            f"{', '.join(unexpected)}; {name!r} accepts: {accepted}."
        )


def load_dataset(name, data_dir=None, download=False, **kwargs):
    """Loads a dataset by name into an `ImageDataset`.

    Args:
        name: one of `DATASET_NAMES` (see the module docstring).
        data_dir: for tfds datasets, the tfds data directory (`None`: tfds's
            default, `$TFDS_DATA_DIR` or `~/tensorflow_datasets`). For the
            local loaders (`tiny_imagenet`, `mnist_idx`, `npz`), the folder or
            file to read (`None`: `$KERASROBUST_DATA_DIR`); a parent folder
            also works when the data sit in the conventional subfolder
            (`tiny-imagenet-200/`, `mnist/`, or one subfolder with one `.npz`).
            Not used by `digits`.
        download: tfds datasets only: download and prepare the dataset if it
            is not prepared. Without it, an unprepared dataset raises
            `DatasetUnavailableError` at once.
        **kwargs: loader options: `n_train` for `mnist_idx`;
            `num_classes`, `augmentation`, `crop_padding`, `class_names` for
            `npz`.

    Returns:
        `ImageDataset`.

    Raises:
        ValueError: unknown name, or an argument the dataset does not use.
        DatasetUnavailableError: a tfds dataset is not available.
        FileNotFoundError: local files are missing.
    """
    check_choice("name", name, DATASET_NAMES)
    if download and name not in tfds_loader.TFDS_DATASETS:
        raise ValueError(
            f"`download=True` applies only to the tensorflow-datasets "
            f"datasets ({', '.join(tfds_loader.TFDS_DATASETS)}); "
            f"{name!r} is read from local files or installed packages."
        )
    if name == "digits":
        if data_dir is not None:
            raise ValueError(
                f"'digits' ships with scikit-learn and reads no files; got "
                f"data_dir={data_dir!r}. Drop `data_dir`."
            )
        _check_kwargs(name, kwargs, ())
        return load_digits()
    if name in tfds_loader.TFDS_DATASETS:
        _check_kwargs(name, kwargs, ())
        return tfds_loader.load_tfds(name, data_dir=data_dir,
                                     download=download)

    loader = _LOCAL_LOADERS[name]
    _check_kwargs(name, kwargs, _extra_kwargs(loader, ("data_dir",)))
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or None
    if data_dir is None:
        raise ValueError(
            f"load_dataset({name!r}) reads local files: pass `data_dir` "
            f"(--data-dir on the command line) or set the environment "
            f"variable {DATA_DIR_ENV}; got neither."
        )
    return loader(data_dir, **kwargs)
