"""Datasets from local files: MNIST in IDX format and NumPy `.npz` archives.

Both verify an `MD5SUMS` file (the output of `md5sum`) when the data folder
has one.
"""

import gzip
import hashlib
import os
import zlib

import numpy as np

from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number
from kerasrobust._validation import infer_num_classes
from kerasrobust.data.augment import AUGMENTATIONS
from kerasrobust.data.image_dataset import ImageDataset
from kerasrobust.data.images import to_labels
from kerasrobust.data.images import to_stored_pixels

MNIST_FOLDER_NAME = "mnist"
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# Magic number of an IDX file of unsigned bytes: 0x0000 0x08 <rank>.
_IDX_UBYTE = 0x08
DEFAULT_MNIST_N_TRAIN = 8000


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_md5sums(folder, paths):
    """Checks `paths` against `folder/MD5SUMS`, if that file exists.

    `MD5SUMS` holds lines `<hex digest>  <file name>` (`md5sum` output; a
    `*` before the name, binary mode, is accepted). Files in `paths` that
    it does not list are not checked.

    Returns:
        The names of the files that were verified (empty without MD5SUMS).

    Raises:
        ValueError: a checksum differs, or MD5SUMS has a malformed line.
    """
    sums_path = os.path.join(folder, "MD5SUMS")
    if not os.path.isfile(sums_path):
        return []
    expected = {}
    with open(sums_path) as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.strip().split(None, 1)
            if len(parts) != 2 or len(parts[0]) != 32:
                raise ValueError(
                    f"{sums_path} line {line_no} is {line.strip()!r}; "
                    "expected "
                    "'<32 hex digits>  <file name>' as written by md5sum."
                )
            expected[parts[1].lstrip("*").strip()] = parts[0].lower()
    verified = []
    for path in paths:
        name = os.path.basename(path)
        if name not in expected:
            continue
        actual = _md5(path)
        if actual != expected[name]:
            raise ValueError(
                f"Checksum mismatch for {path}: MD5 is {actual}, {sums_path} "
                f"says {expected[name]}. The file is corrupt or not the "
                "expected one; copy it again."
            )
        verified.append(name)
    return verified


def read_idx(path, rank=None):
    """Reads an IDX file of unsigned bytes (gzipped or not) into NumPy.

    IDX: a big-endian int32 magic number `0x000008NN` (`08` = unsigned byte,
    `NN` = rank: 3 for MNIST images, 1 for labels), then `NN` big-endian
    int32 dimensions, then the data.

    Args:
        path: file name; read with gzip when it ends in `.gz`.
        rank: expected rank, or `None` for any.

    Raises:
        ValueError: a truncated or corrupt gzip file, a bad magic number or
            data size.
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(
            f"{path} is truncated or corrupt ({type(error).__name__}: "
            f"{error}); copy or download it again."
        ) from None
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    ok = (magic is not None and magic >> 8 == _IDX_UBYTE and magic & 0xFF
          and (rank is None or magic & 0xFF == rank))
    if not ok:
        wanted = f"0x{(_IDX_UBYTE << 8) | rank:08x}" if rank else "0x0000080N"
        got = "none (file too short)" if magic is None else f"0x{magic:08x}"
        raise ValueError(
            f"{path}: IDX magic number {got}, expected {wanted} (unsigned "
            f"bytes, rank {rank or 'N'}). Is this the right MNIST IDX file "
            "(and, if gzipped, named *.gz)?"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    shape = tuple(
        int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)
    )
    if len(data) - header != int(np.prod(shape)):
        raise ValueError(
            f"{path}: header says shape {shape} ({int(np.prod(shape))} "
            f"bytes) but {len(data) - header} bytes of data follow."
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def _find_mnist_file(folder, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def _read_mnist_pair(images_path, labels_path):
    images = read_idx(images_path, rank=3)
    labels = read_idx(labels_path, rank=1)
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} has {len(images)} images but {labels_path} has "
            f"{len(labels)} labels."
        )
    return images, labels


def load_mnist_idx(data_dir, n_train=None):
    """Loads MNIST from the original IDX files.

    With the four files present the official split (60,000 / 10,000) is
    used. With only the `t10k-*` files, the official test set is split: the
    first `n_train` images train, the rest test.

    Args:
        data_dir: folder holding `train-images-idx3-ubyte[.gz]`,
            `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`,
            `t10k-labels-idx1-ubyte[.gz]` (or its parent, when the files are
            in a subfolder `mnist/`).
        n_train: int, training images taken from the test set when only the
            `t10k-*` files exist (default 8000). Not allowed with the
            official split.

    Returns:
        `ImageDataset` of 28x28x1 images; augmentation random crop with 4
        pixels of padding, no flip.
    """
    data_dir = os.fspath(data_dir)
    folder = data_dir
    if (_find_mnist_file(folder, MNIST_FILES["test_images"]) is None
            and os.path.isdir(os.path.join(data_dir, MNIST_FOLDER_NAME))):
        folder = os.path.join(data_dir, MNIST_FOLDER_NAME)
    files = {k: _find_mnist_file(folder, v) for k, v in MNIST_FILES.items()}
    has_train = files["train_images"] or files["train_labels"]
    needed = list(MNIST_FILES) if has_train else ["test_images",
                                                   "test_labels"]
    missing = [MNIST_FILES[k] + "[.gz]" for k in needed if files[k] is None]
    if missing:
        raise FileNotFoundError(
            f"MNIST IDX: missing {', '.join(missing)} in {folder}. Expected "
            "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz], "
            "plus train-images-idx3-ubyte[.gz] and "
            "train-labels-idx1-ubyte[.gz] for the official split."
        )
    verified = verify_md5sums(folder, [files[k] for k in needed])
    checked = f"; MD5 verified: {', '.join(verified)}" if verified else ""

    x_test, y_test = _read_mnist_pair(files["test_images"],
                                      files["test_labels"])
    if has_train:
        if n_train is not None:
            raise ValueError(
                f"`n_train`={n_train!r} only applies when {folder} holds "
                "just the t10k files; with the train files the official "
                "60,000 / 10,000 split is used. Drop `n_train`."
            )
        x_train, y_train = _read_mnist_pair(files["train_images"],
                                            files["train_labels"])
        note = (
            f"official MNIST split: train ({len(x_train)}) / test "
            f"({len(x_test)}), from {folder}{checked}"
        )
    else:
        n_total = len(x_test)
        if n_train is None:
            n_train = min(DEFAULT_MNIST_N_TRAIN, n_total - 1)
        n_train = check_number("n_train", n_train, low=1, high=n_total - 1,
                               integer=True)
        x_train, y_train = x_test[:n_train], y_test[:n_train]
        x_test, y_test = x_test[n_train:], y_test[n_train:]
        note = (
            f"official MNIST test set only ({n_total} images): first "
            f"{n_train} train / last {n_total - n_train} test, from "
            f"{folder}{checked}"
        )
    return ImageDataset(
        name="mnist",
        x_train=to_stored_pixels(x_train, "x_train"),
        y_train=y_train,
        x_test=to_stored_pixels(x_test, "x_test"),
        y_test=y_test,
        num_classes=10,
        augmentation="crop",
        crop_padding=4,
        class_names=[str(i) for i in range(10)],
        keep_uint8=True,
        split_note=note,
    )


def _find_npz(path):
    path = os.fspath(path)
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise FileNotFoundError(
            f"npz: {path} does not exist; pass the .npz file or a folder "
            "holding exactly one .npz file."
        )
    found = sorted(
        os.path.join(path, n) for n in os.listdir(path) if n.endswith(".npz")
    )
    if not found:  # look one level down, e.g. a data root with subfolders
        found = sorted(
            os.path.join(path, d, n)
            for d in os.listdir(path) if os.path.isdir(os.path.join(path, d))
            for n in os.listdir(os.path.join(path, d)) if n.endswith(".npz")
        )
    if len(found) != 1:
        what = "no .npz file" if not found else (
            f"{len(found)} .npz files ({', '.join(found)})"
        )
        raise FileNotFoundError(
            f"npz: found {what} in {path} (or its immediate subfolders); "
            "pass data_dir=<path of the .npz file>."
        )
    return found[0]


def load_npz(data_dir, num_classes=None, augmentation=None, crop_padding=4,
             class_names=None):
    """Loads a dataset from a `.npz` archive of train and test arrays.

    The archive holds `x_train`, `y_train`, `x_test`, `y_test`. Images are
    `(N, H, W, C)` or grayscale `(N, H, W)`, `uint8` (divided by 255) or
    float already in `[0, 1]`; labels are integers, `(N,)` or `(N, 1)`.

    Args:
        data_dir: the `.npz` file, or a folder holding exactly one (looked
            for in the folder, then in its immediate subfolders).
        num_classes: default: largest label + 1, which requires the labels
            to be 0..K-1 with every class present (labels 5..14 are an
            error rather than a 15-class model); give it when some classes
            are really absent from the file.
        augmentation: `"crop_flip"`, `"crop"` or `"none"`; default
            `"crop_flip"` for 3-channel images, else `"crop"`.
        crop_padding: int >= 0, default 4.
        class_names: optional list of `num_classes` names.

    Returns:
        `ImageDataset` named after the file (e.g. `"cifar10_subset"`).
    """
    path = _find_npz(data_dir)
    verify_md5sums(os.path.dirname(path), [path])
    with np.load(path, allow_pickle=False) as archive:
        keys = ("x_train", "y_train", "x_test", "y_test")
        missing = [k for k in keys if k not in archive.files]
        if missing:
            raise ValueError(
                f"npz: {path} lacks {', '.join(missing)}; it must hold "
                f"{', '.join(keys)} (it holds {', '.join(archive.files)})."
            )
        arrays = {k: archive[k] for k in keys}
    x_train = to_stored_pixels(arrays["x_train"], "x_train")
    x_test = to_stored_pixels(arrays["x_test"], "x_test")
    y_train = to_labels(arrays["y_train"], "y_train")
    y_test = to_labels(arrays["y_test"], "y_test")
    if num_classes is None:
        num_classes = infer_num_classes(np.concatenate([y_train, y_test]),
                                        "y_train/y_test")
    if augmentation is None:
        augmentation = "crop_flip" if x_train.shape[-1] == 3 else "crop"
    check_choice("augmentation", augmentation, AUGMENTATIONS)
    name = os.path.splitext(os.path.basename(path))[0]
    return ImageDataset(
        name=name,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        num_classes=num_classes,
        augmentation=augmentation,
        crop_padding=crop_padding,
        class_names=class_names,
        keep_uint8=True,
        split_note=(
            f"x_train/y_train ({len(x_train)}) and x_test/y_test "
            f"({len(x_test)}) arrays of {path}"
        ),
    )
