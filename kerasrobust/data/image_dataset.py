"""`ImageDataset`: train/test arrays of one image classification dataset."""

import dataclasses
from typing import List
from typing import Optional

import numpy as np

from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number
from kerasrobust.data.augment import AUGMENTATIONS
from kerasrobust.data.augment import make_dataset
from kerasrobust.data.images import to_labels
from kerasrobust.data.images import stored_pixels
from kerasrobust.data.images import validate_images


class DatasetUnavailableError(RuntimeError):
    """The dataset is not on this machine and was not (or could not be)
    downloaded. The message says how to provide it."""


@dataclasses.dataclass(repr=False, eq=False)
class ImageDataset:
    """An image classification dataset held in memory.

    Images are float32 NHWC in `[0, 1]` (the normalization belongs inside the
    model, so that noise levels and attack radii are in pixel units); labels
    are int64 vectors. Built by `kerasrobust.data.load_dataset`.

    Datasets stored as bytes (MNIST, CIFAR, SVHN, Tiny ImageNet, uint8
    `.npz`) are kept as `uint8` (`keep_uint8=True`, a quarter of float32's
    memory): `train_dataset`/`test_dataset` divide each batch by 255 and
    never build a float32 copy of the arrays. The attributes `x_train` and
    `x_test` still give float32 in `[0, 1]` (`stored / 255`, made on first
    access and kept); `stored_images(split)` gives the array as stored.

    Args:
        name: dataset name, e.g. `"cifar10"`.
        x_train, y_train, x_test, y_test: images `(N, H, W, C)` and labels
            `(N,)`.
        num_classes: number of classes; every label is in
            `[0, num_classes)`.
        augmentation: the training augmentation the papers use for this
            dataset: `"crop_flip"`, `"crop"` or `"none"`.
        crop_padding: zero padding of the random crop, in pixels.
        class_names: optional list of `num_classes` names.
        split_note: which data the two splits are, e.g. `"official test
            set, first 8000 train / last 2000 test"`; quote it with results.
        keep_uint8: accept `uint8` images (0..255) and keep them so.
            Without it `uint8` is refused (a forgotten `/ 255`); float
            images are accepted either way.

    Example:

    ```python
    data = kerasrobust.data.load_dataset("digits")
    train = data.train_dataset(batch_size=64, seed=0)
    test = data.test_dataset(batch_size=256)
    ```
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    augmentation: str = "none"
    crop_padding: int = 0
    class_names: Optional[List[str]] = None
    split_note: str = ""
    keep_uint8: bool = False

    def __post_init__(self):
        check = stored_pixels if self.keep_uint8 else validate_images
        for split in ("train", "test"):
            self._stored[split] = check(self._stored[split], f"x_{split}")
            self._as_float.pop(split, None)
        self.y_train = to_labels(self.y_train, "y_train")
        self.y_test = to_labels(self.y_test, "y_test")
        shapes = [self._stored[s].shape[1:] for s in ("train", "test")]
        if shapes[0] != shapes[1]:
            raise ValueError(
                "`x_train` and `x_test` must have the same image shape, got "
                f"{shapes[0]} and {shapes[1]}."
            )
        for split in ("train", "test"):
            n_x = len(self._stored[split])
            n_y = len(getattr(self, f"y_{split}"))
            if n_x != n_y:
                raise ValueError(
                    f"`x_{split}` has {n_x} images but `y_{split}` has "
                    f"{n_y} labels."
                )
        self.num_classes = check_number(
            "num_classes", self.num_classes, low=2, integer=True
        )
        largest = int(max(self.y_train.max(), self.y_test.max()))
        if largest >= self.num_classes:
            raise ValueError(
                f"`num_classes` is {self.num_classes} but the labels go up "
                f"to {largest}; pass num_classes >= {largest + 1}."
            )
        check_choice("augmentation", self.augmentation, AUGMENTATIONS)
        self.crop_padding = check_number(
            "crop_padding", self.crop_padding, low=0, integer=True
        )
        if self.class_names is not None:
            self.class_names = [str(c) for c in self.class_names]
            if len(self.class_names) != self.num_classes:
                raise ValueError(
                    f"`class_names` has {len(self.class_names)} entries but "
                    f"`num_classes` is {self.num_classes}."
                )

    @property
    def input_shape(self):
        """Shape of one image, `(H, W, C)`."""
        return tuple(int(d) for d in self._stored["train"].shape[1:])

    def stored_images(self, split):
        """The `"train"` or `"test"` images as stored: `uint8` 0..255
        (with `keep_uint8` and byte data) or float32 in `[0, 1]`."""
        check_choice("split", split, ("train", "test"))
        return self._stored[split]

    def train_dataset(self, batch_size, seed=None, augment=True,
                      initial_epoch=None):
        """Shuffled, augmented training batches (see `make_dataset`).

        Args:
            batch_size: int >= 1.
            seed: int for a reproducible stream, or `None`.
            augment: apply `self.augmentation`; `False` for plain batches.
            initial_epoch: `None`, or an int for the endless epoch-keyed
                stream from that epoch on (exact resume; see
                `make_dataset`).
        """
        return make_dataset(
            self._stored["train"],
            self.y_train,
            batch_size,
            training=True,
            augmentation=self.augmentation if augment else "none",
            crop_padding=self.crop_padding,
            seed=seed,
            initial_epoch=initial_epoch,
        )

    def test_dataset(self, batch_size):
        """Test batches in order, without augmentation."""
        return make_dataset(self._stored["test"], self.y_test, batch_size)

    def __repr__(self):
        return (
            f"ImageDataset(name={self.name!r}, "
            f"train={len(self._stored['train'])}, "
            f"test={len(self._stored['test'])}, "
            f"input_shape={self.input_shape}, "
            f"num_classes={self.num_classes}, "
            f"augmentation={self.augmentation!r}, "
            f"crop_padding={self.crop_padding}, "
            f"split_note={self.split_note!r})"
        )

    @property
    def _stored(self):
        return self.__dict__.setdefault("_stored_images", {})

    @property
    def _as_float(self):
        return self.__dict__.setdefault("_float_images", {})


def _images_attribute(split):
    """`x_train`/`x_test`: float32 in `[0, 1]` whatever the storage."""

    def get(self):
        stored = self._stored[split]
        if stored.dtype != np.uint8:
            return stored
        if split not in self._as_float:
            self._as_float[split] = (
                stored.astype(np.float32) / np.float32(255.0))
        return self._as_float[split]

    def set(self, value):
        # Checked by __post_init__ (the dataclass __init__ sets it first).
        self._stored[split] = value
        self._as_float.pop(split, None)

    return property(get, set, doc=f"`{split}` images, float32 in [0, 1].")


# Dataclass fields backed by `_stored` (set after the decorator, which
# generates `__init__` from the annotations).
ImageDataset.x_train = _images_attribute("train")
ImageDataset.x_test = _images_attribute("test")
