"""Tiny ImageNet (200 classes, 64x64) from its standard folder layout.

Tiny ImageNet is not in the tensorflow-datasets catalog. The loader reads the
folder `tiny-imagenet-200` as distributed:

    wnids.txt                   one WordNet id per line, 200 lines
    train/<wnid>/images/*.JPEG  500 training images per class
    val/images/*.JPEG           10,000 validation images
    val/val_annotations.txt     "file<TAB>wnid<TAB>x<TAB>y<TAB>w<TAB>h" lines

The labels of the official test split are not public, so, as in the papers,
the validation split serves as the test set.
"""

import os

import numpy as np
import tensorflow as tf

from kerasrobust.data.image_dataset import ImageDataset

IMAGE_SIZE = 64
FOLDER_NAME = "tiny-imagenet-200"
_LAYOUT = (
    "Expected layout: <data_dir>/wnids.txt, "
    "<data_dir>/train/<wnid>/images/*.JPEG, <data_dir>/val/images/*.JPEG and "
    "<data_dir>/val/val_annotations.txt (lines 'file<TAB>wnid<TAB>x<TAB>y"
    "<TAB>w<TAB>h'), as in the official tiny-imagenet-200.zip."
)
_JPEG_SUFFIXES = (".jpeg", ".jpg")


def _find_root(data_dir):
    data_dir = os.fspath(data_dir)
    for root in (data_dir, os.path.join(data_dir, FOLDER_NAME)):
        if os.path.isfile(os.path.join(root, "wnids.txt")):
            return root
    raise FileNotFoundError(
        f"Tiny ImageNet: no wnids.txt in {data_dir} (nor in "
        f"{os.path.join(data_dir, FOLDER_NAME)}). " + _LAYOUT
    )


def _require(path, what):
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Tiny ImageNet: missing {what}: {path}. " + _LAYOUT
        )


def _read_wnids(root):
    path = os.path.join(root, "wnids.txt")
    with open(path) as f:
        wnids = [line.strip() for line in f if line.strip()]
    if not wnids:
        raise ValueError(f"Tiny ImageNet: {path} lists no classes.")
    if len(set(wnids)) != len(wnids):
        raise ValueError(f"Tiny ImageNet: {path} lists a class twice.")
    return wnids


def _train_files(root, wnids):
    paths, labels = [], []
    for label, wnid in enumerate(wnids):
        folder = os.path.join(root, "train", wnid, "images")
        _require(folder, f"training folder of class {wnid}")
        names = sorted(
            n for n in os.listdir(folder)
            if n.lower().endswith(_JPEG_SUFFIXES)
        )
        if not names:
            raise FileNotFoundError(
                f"Tiny ImageNet: no JPEG images in {folder}. " + _LAYOUT
            )
        paths += [os.path.join(folder, n) for n in names]
        labels += [label] * len(names)
    return paths, labels


def _val_files(root, wnids):
    annotations = os.path.join(root, "val", "val_annotations.txt")
    _require(annotations, "validation annotations")
    index = {wnid: i for i, wnid in enumerate(wnids)}
    paths, labels = [], []
    with open(annotations) as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2:
                raise ValueError(
                    f"Tiny ImageNet: {annotations} line {line_no} is "
                    f"{line.strip()!r}; expected 'file<TAB>wnid<TAB>...'."
                )
            name, wnid = fields[0].strip(), fields[1].strip()
            if wnid not in index:
                raise ValueError(
                    f"Tiny ImageNet: {annotations} line {line_no} names "
                    f"class {wnid!r}, which is not in wnids.txt."
                )
            path = os.path.join(root, "val", "images", name)
            _require(path, f"validation image listed on line {line_no}")
            paths.append(path)
            labels.append(index[wnid])
    if not paths:
        raise ValueError(f"Tiny ImageNet: {annotations} lists no images.")
    return paths, labels


def _decode(paths):
    """Decodes JPEGs to uint8 (N, 64, 64, 3); grayscale ones get 3 channels."""

    def read(path):
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        size_ok = tf.reduce_all(
            tf.equal(tf.shape(image)[:2], [IMAGE_SIZE, IMAGE_SIZE])
        )
        check = tf.debugging.Assert(size_ok, [
            f"Tiny ImageNet images must be {IMAGE_SIZE}x{IMAGE_SIZE}; got "
            "(file, shape):", path, tf.shape(image),
        ])
        with tf.control_dependencies([check]):
            image = tf.identity(image)
        return tf.ensure_shape(image, [IMAGE_SIZE, IMAGE_SIZE, 3])

    ds = tf.data.Dataset.from_tensor_slices(paths)
    ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE).batch(4096)
    try:
        chunks = [batch.numpy() for batch in ds]
    except tf.errors.InvalidArgumentError as error:
        raise ValueError(
            f"Tiny ImageNet: could not decode an image: {error.message}"
        ) from error
    return np.concatenate(chunks)


def load_tiny_imagenet(data_dir):
    """Loads Tiny ImageNet; the official validation split is the test set.

    Args:
        data_dir: the `tiny-imagenet-200` folder (the one holding
            `wnids.txt`), or its parent.

    Returns:
        `ImageDataset` with 64x64x3 images and labels in `wnids.txt` order.
        Augmentation is random crop with 4 pixels of padding and horizontal
        flip (the CIFAR recipe applied unchanged; 4 is 1/16 of the side).

    Raises:
        FileNotFoundError: a file of the expected layout is missing.
    """
    root = _find_root(data_dir)
    wnids = _read_wnids(root)
    train_paths, train_labels = _train_files(root, wnids)
    val_paths, val_labels = _val_files(root, wnids)
    x_train = _decode(train_paths)  # uint8, kept so (keep_uint8)
    x_test = _decode(val_paths)
    return ImageDataset(
        name="tiny_imagenet",
        x_train=x_train,
        y_train=np.asarray(train_labels, np.int64),
        x_test=x_test,
        y_test=np.asarray(val_labels, np.int64),
        num_classes=len(wnids),
        augmentation="crop_flip",
        crop_padding=4,
        class_names=wnids,
        keep_uint8=True,
        split_note=(
            f"official train split ({len(train_paths)} images) / official "
            f"val split as test ({len(val_paths)} images; the test split's "
            f"labels are not public), from {root}"
        ),
    )
