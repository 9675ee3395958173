"""Datasets, augmentation and input pipelines.

`load_dataset(name, ...)` returns an `ImageDataset` (float32 NHWC images in
[0, 1], stored as uint8 when the source is bytes; int64 labels, the papers'
augmentation for that dataset and a note on which split it is);
`make_dataset` turns arrays into a shuffled, augmented, reproducible
`tf.data` pipeline, and `distribute_dataset` into one pipeline per worker
under `tf.distribute`.
"""

from kerasrobust.data.augment import AUGMENTATIONS
from kerasrobust.data.augment import augment
from kerasrobust.data.augment import augment_rows
from kerasrobust.data.augment import distribute_dataset
from kerasrobust.data.augment import make_dataset
from kerasrobust.data.augment import random_crop
from kerasrobust.data.augment import random_flip
from kerasrobust.data.augment import row_uniforms
from kerasrobust.data.datasets import DATA_DIR_ENV
from kerasrobust.data.datasets import DATASET_NAMES
from kerasrobust.data.datasets import load_dataset
from kerasrobust.data.image_dataset import DatasetUnavailableError
from kerasrobust.data.image_dataset import ImageDataset
from kerasrobust.data.images import validate_images

__all__ = [
    "AUGMENTATIONS",
    "DATA_DIR_ENV",
    "DATASET_NAMES",
    "DatasetUnavailableError",
    "ImageDataset",
    "augment",
    "augment_rows",
    "distribute_dataset",
    "load_dataset",
    "make_dataset",
    "random_crop",
    "random_flip",
    "row_uniforms",
    "validate_images",
]
