"""Datasets from the tensorflow-datasets catalog (CIFAR-10/100, SVHN, MNIST).

The loader never starts a download on its own: a dataset that is not prepared
in the data directory raises `DatasetUnavailableError` at once, unless
`download=True`. (Without network, a tfds download retries for minutes before
it fails.)
"""

import os

import numpy as np

from kerasrobust.data.image_dataset import DatasetUnavailableError
from kerasrobust.data.image_dataset import ImageDataset
from kerasrobust.data.images import to_labels
from kerasrobust.data.images import to_stored_pixels

# name -> (augmentation, crop_padding). The papers flip natural images only:
# "crop only for digits/SVHN". Padding 4 is the papers' value for 32x32
# images, kept for 28x28 MNIST.
TFDS_DATASETS = {
    "cifar10": ("crop_flip", 4),
    "cifar100": ("crop_flip", 4),
    "svhn_cropped": ("crop", 4),
    "mnist": ("crop", 4),
}

# Examples converted to NumPy per step. Equivalent to `batch_size=-1`, which
# batches by the split size read from the dataset info; that size is 0 under
# `tfds.testing.mock_data`, and TF 2.21 then aborts the process.
_CHUNK = 10000


def _guidance(name, data_dir):
    return (
        f"To provide it: pass download=True (--download on the command line) "
        f"on a machine with internet access; or run `tfds build {name}` "
        f"elsewhere and copy the resulting `{name}/` folder into data_dir "
        f"(here {data_dir}) or $TFDS_DATA_DIR; or load local files with "
        "load_dataset('npz', data_dir=...) or "
        "load_dataset('mnist_idx', data_dir=...)."
    )


def _data_root(builder):
    """The data root: `builder.data_dir` is <root>/<name>/<version>."""
    path = os.path.normpath(builder.data_dir)
    while os.path.basename(path) != builder.name and path != os.sep:
        path = os.path.dirname(path)
    return os.path.dirname(path) if path != os.sep else builder.data_dir


def _is_prepared(builder):
    if hasattr(builder, "is_prepared"):
        return bool(builder.is_prepared())
    return os.path.exists(os.path.join(builder.data_dir,
                                       "dataset_info.json"))


def _split_to_numpy(builder, split):
    import tensorflow_datasets as tfds

    ds = builder.as_dataset(split=split, as_supervised=True,
                            shuffle_files=False)
    images, labels = [], []
    for x, y in tfds.as_numpy(ds.batch(_CHUNK)):
        images.append(x)
        labels.append(y)
    if not images:
        raise DatasetUnavailableError(
            f"The '{split}' split of {builder.name} in {builder.data_dir} "
            "is empty; the prepared files may be incomplete. "
            + _guidance(builder.name, _data_root(builder))
        )
    return np.concatenate(images), np.concatenate(labels)


def load_tfds(name, data_dir=None, download=False):
    """Loads the train and test splits of a tfds dataset into memory.

    Args:
        name: one of `"cifar10"`, `"cifar100"`, `"svhn_cropped"`, `"mnist"`.
        data_dir: tfds data directory; `None` uses tfds's default
            (`$TFDS_DATA_DIR` or `~/tensorflow_datasets`).
        download: download and prepare the dataset if it is not prepared.

    Returns:
        `ImageDataset` with the official "train" and "test" splits.

    Raises:
        DatasetUnavailableError: the dataset is not prepared and `download`
            is false, or the download failed.
    """
    import tensorflow_datasets as tfds

    augmentation, crop_padding = TFDS_DATASETS[name]
    builder = tfds.builder(name, data_dir=data_dir)
    if not _is_prepared(builder):
        if not download:
            raise DatasetUnavailableError(
                f"Dataset '{name}' is not prepared in {builder.data_dir} "
                "and download=False. " + _guidance(name, _data_root(builder))
            )
        try:
            builder.download_and_prepare()
        except Exception as error:  # network, disk, missing extras, ...
            raise DatasetUnavailableError(
                f"Could not download and prepare dataset '{name}' into "
                f"{builder.data_dir}: {type(error).__name__}: {error}. "
                + _guidance(name, _data_root(builder))
            ) from error

    x_train, y_train = _split_to_numpy(builder, "train")
    x_test, y_test = _split_to_numpy(builder, "test")
    label = builder.info.features["label"]
    return ImageDataset(
        name=name,
        x_train=to_stored_pixels(x_train, "x_train"),
        y_train=to_labels(y_train, "y_train"),
        x_test=to_stored_pixels(x_test, "x_test"),
        y_test=to_labels(y_test, "y_test"),
        num_classes=int(label.num_classes),
        augmentation=augmentation,
        crop_padding=crop_padding,
        class_names=list(label.names),
        keep_uint8=True,
        split_note=(
            f"official tfds '{name}' {builder.version} splits: train "
            f"({len(x_train)} images) / test ({len(x_test)} images)"
        ),
    )
