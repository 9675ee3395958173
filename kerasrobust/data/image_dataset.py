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

    def __post_init__(self):
        self.x_train = validate_images(self.x_train, "x_train").astype(
            np.float32, copy=False
        )
        self.x_test = validate_images(self.x_test, "x_test").astype(
            np.float32, copy=False
        )
        self.y_train = to_labels(self.y_train, "y_train")
        self.y_test = to_labels(self.y_test, "y_test")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                "`x_train` and `x_test` must have the same image shape, got "
                f"{self.x_train.shape[1:]} and {self.x_test.shape[1:]}."
            )
        for split in ("train", "test"):
            n_x = len(getattr(self, f"x_{split}"))
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
        return tuple(int(d) for d in self.x_train.shape[1:])

    def train_dataset(self, batch_size, seed=None, augment=True):
        """Shuffled, augmented training batches (see `make_dataset`).

        Args:
            batch_size: int >= 1.
            seed: int for a reproducible stream, or `None`.
            augment: apply `self.augmentation`; `False` for plain batches.
        """
        return make_dataset(
            self.x_train,
            self.y_train,
            batch_size,
            training=True,
            augmentation=self.augmentation if augment else "none",
            crop_padding=self.crop_padding,
            seed=seed,
        )

    def test_dataset(self, batch_size):
        """Test batches in order, without augmentation."""
        return make_dataset(self.x_test, self.y_test, batch_size)

    def __repr__(self):
        return (
            f"ImageDataset(name={self.name!r}, train={len(self.x_train)}, "
            f"test={len(self.x_test)}, input_shape={self.input_shape}, "
            f"num_classes={self.num_classes}, "
            f"augmentation={self.augmentation!r}, "
            f"crop_padding={self.crop_padding}, "
            f"split_note={self.split_note!r})"
        )
