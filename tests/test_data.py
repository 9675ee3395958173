"""Tests for kerasrobust.data: loaders, augmentation and the tf.data pipeline.

Real data (MNIST test set, CIFAR-10 subset) are read from
$KERASROBUST_DATA_DIR, else from `shared/data` beside the repository; tests
that need them are skipped when neither exists. Nothing here downloads:
tensorflow-datasets is mocked or pointed at an empty folder.
"""

import gzip
import hashlib
import os
import shutil
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from kerasrobust import data
from kerasrobust.data.files import read_idx

MNIST_FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
MNIST_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def shared_data():
    env = os.environ.get("KERASROBUST_DATA_DIR")
    if env:
        path = Path(env)
    else:
        path = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not path.is_dir():
        pytest.skip(
            f"real data not found at {path}; set KERASROBUST_DATA_DIR to the "
            "folder holding mnist/ and cifar10-subset/"
        )
    return path


@pytest.fixture(scope="module")
def mnist_dir(shared_data):
    path = shared_data / "mnist"
    if not (path / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST IDX files not found in {path}")
    return path


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return data.load_dataset("mnist_idx", data_dir=str(mnist_dir))


@pytest.fixture(scope="module")
def cifar_npz(shared_data):
    path = shared_data / "cifar10-subset" / "cifar10_subset.npz"
    if not path.is_file():
        pytest.skip(f"CIFAR-10 subset not found at {path}")
    return path


def _raw_idx(path):
    """Independent IDX reader for checks: header length from the magic."""
    raw = gzip.open(path, "rb").read()
    rank = raw[3]
    dims = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
    return np.frombuffer(raw[4 + 4 * rank:], np.uint8).reshape(dims)


def _write_idx(path, array, magic=None):
    array = np.asarray(array, np.uint8)
    magic = (0x0800 | array.ndim) if magic is None else magic
    header = struct.pack(">I", magic) + struct.pack(
        ">" + "I" * array.ndim, *array.shape
    )
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def _matching_offsets(padded, out):
    """All (dy, dx) where `out` equals the window of `padded` at (dy, dx)."""
    h, w = out.shape[:2]
    return [
        (dy, dx)
        for dy in range(padded.shape[0] - h + 1)
        for dx in range(padded.shape[1] - w + 1)
        if np.array_equal(padded[dy:dy + h, dx:dx + w], out)
    ]


def _pad(image, p):
    return np.pad(image, [(p, p), (p, p), (0, 0)])


def _images(n=16, size=6, channels=2, seed=0):
    # Values in (0.1, 1): a zero in a crop can only come from the padding.
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 1.0, (n, size, size, channels)).astype("float32")


# ---------------------------------------------------------------- digits


def test_digits_split_shapes_and_values():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    ds = data.load_dataset("digits")
    assert ds.name == "digits"
    assert ds.x_train.shape == (1437, 8, 8, 1)
    assert ds.x_test.shape == (360, 8, 8, 1)
    assert ds.input_shape == (8, 8, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.num_classes == 10
    assert ds.augmentation == "crop" and ds.crop_padding == 1
    assert 0.0 == ds.x_train.min() and ds.x_train.max() == 1.0

    raw = load_digits()
    idx_train, idx_test = train_test_split(
        np.arange(len(raw.target)), test_size=0.2, random_state=0,
        stratify=raw.target,
    )
    np.testing.assert_array_equal(
        ds.x_train[..., 0], (raw.images[idx_train] / 16).astype("float32")
    )
    np.testing.assert_array_equal(
        ds.x_test[..., 0], (raw.images[idx_test] / 16).astype("float32")
    )
    np.testing.assert_array_equal(ds.y_train, raw.target[idx_train])
    np.testing.assert_array_equal(ds.y_test, raw.target[idx_test])
    # Stratified: every class has 35 to 37 of its ~180 images in the test set.
    assert set(np.bincount(ds.y_test)) <= {35, 36, 37}
    assert "1437 train / 360 test" in ds.split_note


def test_image_dataset_pipelines():
    ds = data.load_dataset("digits")
    train = list(ds.train_dataset(batch_size=500, seed=0))
    test = list(ds.test_dataset(batch_size=500))
    assert [len(y) for _, y in train] == [500, 500, 437]
    assert [len(y) for _, y in test] == [360]
    np.testing.assert_array_equal(test[0][0].numpy(), ds.x_test)
    assert "digits" in repr(ds) and "1437" in repr(ds)


# ---------------------------------------------------------------- mnist_idx


def test_mnist_idx_shared(mnist, mnist_dir):
    assert mnist.x_train.shape == (8000, 28, 28, 1)
    assert mnist.x_test.shape == (2000, 28, 28, 1)
    assert mnist.y_train[:10].tolist() == MNIST_FIRST_TEST_LABELS
    assert mnist.x_train.min() == 0.0 and mnist.x_train.max() == 1.0
    assert mnist.num_classes == 10
    assert (mnist.augmentation, mnist.crop_padding) == ("crop", 4)
    assert "first 8000 train / last 2000 test" in mnist.split_note
    assert "MD5 verified" in mnist.split_note

    images = _raw_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = _raw_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(mnist.y_test, labels[8000:])
    np.testing.assert_allclose(
        mnist.x_test[:5, ..., 0], images[8000:8005] / 255.0, rtol=1e-6
    )
    for name, digest in MNIST_MD5.items():
        actual = hashlib.md5((mnist_dir / name).read_bytes()).hexdigest()
        assert actual == digest


def test_mnist_idx_n_train_and_env_fallback(shared_data, mnist_dir,
                                            monkeypatch):
    monkeypatch.setenv("KERASROBUST_DATA_DIR", str(shared_data))
    ds = data.load_dataset("mnist_idx", n_train=9000)  # finds mnist/ inside
    assert (len(ds.x_train), len(ds.x_test)) == (9000, 1000)
    with pytest.raises(ValueError, match="n_train"):
        data.load_dataset("mnist_idx", n_train=10000)


def _copy_mnist(mnist_dir, tmp_path):
    for name in MNIST_MD5:
        shutil.copy(mnist_dir / name, tmp_path / name)


def test_mnist_idx_md5_mismatch(mnist_dir, tmp_path):
    _copy_mnist(mnist_dir, tmp_path)
    (tmp_path / "MD5SUMS").write_text(
        "0123456789abcdef0123456789abcdef  t10k-images-idx3-ubyte.gz\n"
        f"{MNIST_MD5['t10k-labels-idx1-ubyte.gz']}  "
        "t10k-labels-idx1-ubyte.gz\n"
    )
    with pytest.raises(ValueError, match="Checksum mismatch.*t10k-images"):
        data.load_dataset("mnist_idx", data_dir=str(tmp_path))


def test_mnist_idx_corrupt_file_detected(mnist_dir, tmp_path):
    _copy_mnist(mnist_dir, tmp_path)
    shutil.copy(mnist_dir / "MD5SUMS", tmp_path / "MD5SUMS")
    data.load_dataset("mnist_idx", data_dir=str(tmp_path))  # intact: loads
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="Checksum mismatch.*t10k-labels"):
        data.load_dataset("mnist_idx", data_dir=str(tmp_path))


def test_mnist_idx_official_split_uncompressed_and_magic(tmp_path):
    rng = np.random.default_rng(0)
    sizes = {"train": 7, "t10k": 4}
    for split, n in sizes.items():
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte",
                   rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte",
                   np.arange(n) % 10)
    ds = data.load_dataset("mnist_idx", data_dir=str(tmp_path))
    assert (len(ds.x_train), len(ds.x_test)) == (7, 4)
    assert ds.y_train.tolist() == list(range(7))
    assert "official MNIST split" in ds.split_note
    with pytest.raises(ValueError, match="n_train"):
        data.load_dataset("mnist_idx", data_dir=str(tmp_path), n_train=3)

    # Labels file with the images' magic number (0x803) instead of 0x801.
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros((4, 1, 1)),
               magic=0x0803)
    with pytest.raises(ValueError, match="magic number 0x00000803.*"
                                         "0x00000801"):
        data.load_dataset("mnist_idx", data_dir=str(tmp_path))
    # Not an IDX file at all.
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="magic number"):
        data.load_dataset("mnist_idx", data_dir=str(tmp_path))


def test_mnist_idx_missing_files(tmp_path):
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28)))
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        data.load_dataset("mnist_idx", data_dir=str(tmp_path))


# ---------------------------------------------------------------- npz


def test_npz_cifar10_subset(cifar_npz):
    ds = data.load_dataset("npz", data_dir=str(cifar_npz.parent))
    assert ds.name == "cifar10_subset"
    assert ds.x_train.shape == (5085, 32, 32, 3)
    assert ds.x_test.shape == (1017, 32, 32, 3)
    assert ds.x_train.dtype == np.float32
    assert sorted(set(ds.y_train.tolist())) == list(range(10))
    assert sorted(set(ds.y_test.tolist())) == list(range(10))
    assert ds.num_classes == 10
    assert (ds.augmentation, ds.crop_padding) == ("crop_flip", 4)
    raw = np.load(cifar_npz)
    assert ds.x_train[17, 5, 9, 2] == np.float32(raw["x_train"][17, 5, 9, 2]
                                                 / 255.0)
    np.testing.assert_allclose(ds.x_test, raw["x_test"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_train, raw["y_train"].ravel())
    # The file path itself works too, and so does the data root.
    assert len(data.load_dataset("npz", data_dir=str(cifar_npz)).x_test) \
        == 1017


def test_npz_grayscale_float_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "gray.npz"
    np.savez(path, x_train=rng.uniform(size=(6, 5, 5)),
             y_train=np.array([[0], [1], [2], [0], [1], [2]]),
             x_test=rng.uniform(size=(2, 5, 5)), y_test=np.array([1, 2]))
    ds = data.load_dataset("npz", data_dir=str(path), crop_padding=1)
    assert ds.input_shape == (5, 5, 1)
    assert ds.y_train.dtype == np.int64 and ds.y_train.shape == (6,)
    assert (ds.num_classes, ds.augmentation, ds.crop_padding) == (3, "crop", 1)
    assert data.load_dataset("npz", data_dir=str(path),
                             num_classes=5).num_classes == 5

    bad = tmp_path / "bad" / "bad.npz"
    bad.parent.mkdir()
    np.savez(bad, x_train=np.full((2, 4, 4), 2.0), y_train=[0, 1],
             x_test=np.zeros((1, 4, 4)), y_test=[0])
    with pytest.raises(ValueError, match="x_train.*range from 2 to 2"):
        data.load_dataset("npz", data_dir=str(bad.parent))
    np.savez(tmp_path / "second.npz", x_train=np.zeros((1, 2, 2)))
    with pytest.raises(FileNotFoundError, match="2 .npz files"):
        data.load_dataset("npz", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="lacks y_train"):
        data.load_dataset("npz", data_dir=str(tmp_path / "second.npz"))


# ---------------------------------------------------------------- tfds


@pytest.fixture
def no_real_download(monkeypatch):
    """Any real tfds download fails the test at once instead of hanging."""
    import tensorflow_datasets as tfds

    def forbidden(self, *args, **kwargs):
        raise AssertionError(f"tried to download {self.name}")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare",
                        forbidden)
    return tfds


def test_tfds_unprepared_fails_fast(no_real_download, tmp_path):
    start = time.perf_counter()
    with pytest.raises(data.DatasetUnavailableError) as info:
        data.load_dataset("cifar10", data_dir=str(tmp_path / "tfds"))
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "not prepared" in message and str(tmp_path) in message
    assert "download=True" in message and "tfds build cifar10" in message
    assert isinstance(info.value, RuntimeError)


def test_tfds_download_failure_is_wrapped(no_real_download, tmp_path,
                                          monkeypatch):
    tfds = no_real_download

    def offline(self, *args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare",
                        offline)
    with pytest.raises(data.DatasetUnavailableError,
                       match="no network.*download=True") as info:
        data.load_dataset("svhn_cropped", data_dir=str(tmp_path),
                          download=True)
    assert isinstance(info.value.__cause__, ConnectionError)


@pytest.mark.parametrize("name, shape, classes, augmentation", [
    ("cifar10", (32, 32, 3), 10, "crop_flip"),
    ("cifar100", (32, 32, 3), 100, "crop_flip"),
    ("svhn_cropped", (32, 32, 3), 10, "crop"),
    ("mnist", (28, 28, 1), 10, "crop"),
])
def test_tfds_mocked_prepared(no_real_download, monkeypatch, name, shape,
                              classes, augmentation):
    tfds = no_real_download
    # The mock's builders report "not prepared"; pretend they are, so the
    # default path (download=False) is the one exercised.
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared",
                        lambda self: True)
    with tfds.testing.mock_data(num_examples=11):
        ds = data.load_dataset(name)
    assert ds.x_train.shape == (11,) + shape
    assert ds.x_test.shape == (11,) + shape
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    assert ds.num_classes == classes
    assert 0 <= ds.y_train.min() and ds.y_train.max() < classes
    assert (ds.augmentation, ds.crop_padding) == (augmentation, 4)


def test_tfds_mocked_download_true(no_real_download):
    tfds = no_real_download
    with tfds.testing.mock_data(num_examples=5):  # download is a no-op here
        with pytest.raises(data.DatasetUnavailableError):
            data.load_dataset("cifar10")  # the mock is "not prepared"
        ds = data.load_dataset("cifar10", download=True)
    assert ds.x_train.shape == (5, 32, 32, 3)


# ------------------------------------------------------------ tiny imagenet


WNIDS = ["n09", "n01", "n05"]  # deliberately not sorted
COLORS = {"n09": (200, 30, 30), "n01": (30, 200, 30), "n05": (30, 30, 200)}


def _jpeg(path, color, gray=False, size=64):
    if gray:
        image = tf.fill([size, size, 1], tf.constant(color[0], tf.uint8))
    else:
        image = tf.tile(tf.constant(color, tf.uint8)[None, None],
                        [size, size, 1])
    tf.io.write_file(str(path), tf.io.encode_jpeg(image, quality=100))


def _tiny_imagenet(root):
    root.mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(WNIDS) + "\n")
    for wnid in WNIDS:
        folder = root / "train" / wnid / "images"
        folder.mkdir(parents=True)
        for i in range(2):
            _jpeg(folder / f"{wnid}_{i}.JPEG", COLORS[wnid])
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
    _jpeg(root / "train" / "n05" / "images" / "n05_2.JPEG", COLORS["n05"],
          gray=True)
    val = root / "val" / "images"
    val.mkdir(parents=True)
    val_wnids = ["n05", "n09", "n01", "n05"]
    for i, wnid in enumerate(val_wnids):
        _jpeg(val / f"val_{i}.JPEG", COLORS[wnid])
    (root / "val" / "val_annotations.txt").write_text("".join(
        f"val_{i}.JPEG\t{wnid}\t0\t0\t63\t63\n"
        for i, wnid in enumerate(val_wnids)
    ))
    return val_wnids


def test_tiny_imagenet_synthetic(tmp_path):
    val_wnids = _tiny_imagenet(tmp_path / "tiny-imagenet-200")
    ds = data.load_dataset("tiny_imagenet", data_dir=str(tmp_path))
    assert ds.x_train.shape == (7, 64, 64, 3)
    assert ds.x_test.shape == (4, 64, 64, 3)
    assert ds.num_classes == 3 and ds.class_names == WNIDS
    assert (ds.augmentation, ds.crop_padding) == ("crop_flip", 4)
    # Labels follow wnids.txt order, not alphabetical order.
    assert ds.y_train.tolist() == [0, 0, 1, 1, 2, 2, 2]
    assert ds.y_test.tolist() == [WNIDS.index(w) for w in val_wnids]
    for images, labels in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        for image, label in zip(images, labels):
            color = COLORS[WNIDS[label]]
            mean = image.reshape(-1, 3).mean(0) * 255
            if not np.allclose(mean, color, atol=3):  # the grayscale one
                assert np.allclose(mean, color[0], atol=3)
    gray = ds.x_train[6]
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])


def test_tiny_imagenet_missing_files(tmp_path):
    root = tmp_path / "tiny"
    _tiny_imagenet(root)
    (root / "val" / "val_annotations.txt").unlink()
    with pytest.raises(FileNotFoundError,
                       match="val_annotations.txt.*Expected layout"):
        data.load_dataset("tiny_imagenet", data_dir=str(root))
    with pytest.raises(FileNotFoundError, match="wnids.txt"):
        data.load_dataset("tiny_imagenet", data_dir=str(tmp_path / "none"))
    shutil.rmtree(root / "train" / "n01")
    with pytest.raises(FileNotFoundError, match="n01"):
        data.load_dataset("tiny_imagenet", data_dir=str(root))


def test_tiny_imagenet_wrong_size(tmp_path):
    root = tmp_path / "tiny"
    _tiny_imagenet(root)
    _jpeg(root / "train" / "n01" / "images" / "n01_0.JPEG", (1, 2, 3),
          size=32)
    with pytest.raises(ValueError, match="64x64"):
        data.load_dataset("tiny_imagenet", data_dir=str(root))


# ---------------------------------------------------------------- augmentation


def test_random_crop_is_a_window_of_the_padded_image():
    x = _images(n=32, size=5)
    out = data.random_crop(x, padding=2, seed=7).numpy()
    assert out.shape == x.shape and out.dtype == np.float32
    offsets = []
    for image, crop in zip(x, out):
        found = _matching_offsets(_pad(image, 2), crop)
        assert len(found) == 1, "not a window of the zero-padded image"
        offsets.append(found[0])
    # 25 possible windows: 32 draws must not all be the same one, and both
    # extreme offsets should appear along some axis.
    assert len(set(offsets)) > 5
    flat = np.array(offsets).ravel()
    assert flat.min() == 0 and flat.max() == 4
    np.testing.assert_array_equal(data.random_crop(x, 0, seed=1).numpy(), x)


def test_random_flip_is_mirror_or_identity():
    x = _images(n=32)
    out = data.random_flip(x, seed=3).numpy()
    flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)]
    kept = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(f != k for f, k in zip(flipped, kept))
    assert 4 <= sum(flipped) <= 28


def test_augment_modes():
    x = _images(n=32)
    crop = data.augment(x, "crop", crop_padding=1, seed=5).numpy()
    for image, out in zip(x, crop):  # a crop only: never mirrored
        assert _matching_offsets(_pad(image, 1), out)
    both = data.augment(x, "crop_flip", crop_padding=1, seed=5).numpy()
    n_flipped = 0
    for image, out in zip(x, both):
        plain = _matching_offsets(_pad(image, 1), out)
        mirrored = _matching_offsets(_pad(image[:, ::-1], 1), out)
        assert plain or mirrored
        n_flipped += bool(mirrored) and not plain
    assert n_flipped >= 4
    np.testing.assert_array_equal(
        data.augment(x, "none", crop_padding=4, seed=5).numpy(), x
    )
    single = data.augment(x[0], "crop_flip", crop_padding=1, seed=5)
    assert single.shape == x[0].shape


def test_augment_seeds():
    x = _images(n=16)
    for mode in ("crop", "crop_flip"):
        a = data.augment(x, mode, 2, seed=11).numpy()
        b = data.augment(x, mode, 2, seed=11).numpy()
        c = data.augment(x, mode, 2, seed=12).numpy()
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    a = data.random_flip(x, seed=tf.constant([1, 2], tf.int64)).numpy()
    b = data.random_flip(x, seed=tf.constant([1, 2], tf.int64)).numpy()
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- make_dataset


def _epoch(ds):
    batches = [(xb.numpy(), yb.numpy()) for xb, yb in ds]
    return batches


def test_make_dataset_eval_is_plain_and_ordered():
    x = _images(n=23).astype("float64")
    ds = data.make_dataset(x, np.arange(23), batch_size=5,
                           augmentation="crop_flip")
    batches = _epoch(ds)
    assert [len(yb) for _, yb in batches] == [5, 5, 5, 5, 3]
    assert all(xb.dtype == np.float32 and yb.dtype == np.int64
               for xb, yb in batches)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]),
                                  x.astype("float32"))
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]),
                                  np.arange(23))


def test_make_dataset_training_covers_and_augments():
    x = _images(n=23, size=6, channels=1)
    ds = data.make_dataset(x, np.arange(23), batch_size=5, training=True,
                           augmentation="crop_flip", crop_padding=1, seed=3)
    spec = ds.element_spec
    assert spec[0].dtype == tf.float32 and spec[1].dtype == tf.int64
    epochs = [_epoch(ds) for _ in range(2)]
    orders = []
    for batches in epochs:
        labels = np.concatenate([yb for _, yb in batches])
        assert sorted(labels.tolist()) == list(range(23))  # each sample once
        orders.append(labels.tolist())
        n_changed = 0
        for xb, yb in batches:
            assert xb.shape[1:] == (6, 6, 1)
            for image, label in zip(xb, yb):
                source = x[label]
                assert (_matching_offsets(_pad(source, 1), image)
                        or _matching_offsets(_pad(source[:, ::-1], 1), image))
                n_changed += not np.array_equal(image, source)
        assert n_changed > 10
    assert orders[0] != orders[1] and orders[0] != list(range(23))

    again = data.make_dataset(x, np.arange(23), batch_size=5, training=True,
                              augmentation="crop_flip", crop_padding=1,
                              seed=3)
    for first, second in zip(epochs, [_epoch(again) for _ in range(2)]):
        for (xa, ya), (xb, yb) in zip(first, second):
            np.testing.assert_array_equal(ya, yb)
            np.testing.assert_array_equal(xa, xb)
    other = data.make_dataset(x, np.arange(23), batch_size=5, training=True,
                              augmentation="crop_flip", crop_padding=1,
                              seed=4)
    assert np.concatenate([yb for _, yb in _epoch(other)]).tolist() \
        != orders[0]


def test_make_dataset_options():
    x = _images(n=23)
    ds = data.make_dataset(x, np.arange(23), batch_size=5, training=True,
                           seed=0, drop_remainder=True)
    batches = _epoch(ds)
    assert [len(yb) for _, yb in batches] == [5, 5, 5, 5]
    for xb, yb in batches:  # augmentation "none": images untouched
        np.testing.assert_array_equal(xb, x[yb])
    ds = data.make_dataset(x, np.arange(23), batch_size=23, training=True,
                           augmentation="crop", seed=0, shuffle=False)
    (xb, yb), = _epoch(ds)
    assert yb.tolist() == list(range(23))
    assert not np.array_equal(xb, x)
    (xb2, yb2), = _epoch(ds)  # same order, fresh crops in the next epoch
    assert yb2.tolist() == list(range(23))
    assert not np.array_equal(xb2, xb)


# ---------------------------------------------------------------- bad input


def test_unknown_dataset_name_lists_all():
    with pytest.raises(ValueError) as info:
        data.load_dataset("imagenet")
    for name in data.DATASET_NAMES:
        assert repr(name) in str(info.value)
    assert "'imagenet'" in str(info.value)
    assert set(data.DATASET_NAMES) == {
        "digits", "cifar10", "cifar100", "svhn_cropped", "mnist",
        "tiny_imagenet", "mnist_idx", "npz",
    }


@pytest.mark.parametrize("name", ["mnist_idx", "npz", "tiny_imagenet"])
def test_local_loader_needs_data_dir(name, monkeypatch):
    monkeypatch.delenv("KERASROBUST_DATA_DIR", raising=False)
    with pytest.raises(ValueError, match="data_dir.*KERASROBUST_DATA_DIR"):
        data.load_dataset(name)


def test_load_dataset_argument_errors():
    with pytest.raises(TypeError, match="n_train"):
        data.load_dataset("digits", n_train=5)
    with pytest.raises(ValueError, match="download"):
        data.load_dataset("digits", download=True)
    with pytest.raises(ValueError, match="data_dir"):
        data.load_dataset("digits", data_dir="/somewhere")


def test_validate_images_errors():
    x = _images(n=3)
    assert data.validate_images(x) is x
    x[0, 0, 0, 0] = np.nan
    x[1, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="`x` contain 2 non-finite"):
        data.validate_images(x)
    with pytest.raises(ValueError, match="`imgs` must be a rank-4.*"
                                         r"\(5, 5\)"):
        data.validate_images(np.zeros((5, 5)), name="imgs")
    with pytest.raises(ValueError, match="range from -0.5 to 255"):
        data.validate_images(np.array([-0.5, 255.0]).reshape(1, 1, 2, 1))


def test_make_dataset_errors():
    x = _images(n=4)
    with pytest.raises(ValueError, match="batch_size.*got 0"):
        data.make_dataset(x, np.arange(4), batch_size=0)
    with pytest.raises(ValueError, match="batch_size.*2.5"):
        data.make_dataset(x, np.arange(4), batch_size=2.5)
    with pytest.raises(ValueError, match="len\\(x\\)=4 and len\\(y\\)=3"):
        data.make_dataset(x, np.arange(3), batch_size=2)
    with pytest.raises(ValueError, match="augmentation.*'flip'"):
        data.make_dataset(x, np.arange(4), batch_size=2, augmentation="flip")
    with pytest.raises(ValueError, match="padding"):
        data.random_crop(x, padding=-1, seed=0)


# ------------------------------------------- loader validation (issue 13)
def test_truncated_gzip_idx_is_a_clear_error(tmp_path):
    raw = gzip.compress(struct.pack(">IIII", 0x803, 2, 4, 4) + bytes(32))
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz is "
                                         r"truncated or corrupt"):
        read_idx(str(path), rank=3)


def test_npz_labels_must_be_0_to_k_minus_1(tmp_path):
    path = tmp_path / "shifted.npz"
    np.savez(path, x_train=np.zeros((10, 2, 2), np.uint8),
             y_train=np.arange(5, 15), x_test=np.zeros((2, 2, 2), np.uint8),
             y_test=np.array([5, 6]))
    with pytest.raises(ValueError, match=r"go from 5 to 14 but class\(es\) "
                                         r"0, 1, 2, 3, 4 never occur"):
        data.load_dataset("npz", data_dir=str(path))
    # Given explicitly, absent classes are the user's statement.
    assert data.load_dataset("npz", data_dir=str(path),
                             num_classes=15).num_classes == 15


def test_npz_images_uint8_converted_float_255_refused(tmp_path):
    path = tmp_path / "pixels.npz"
    x = np.array([0, 51, 255], np.uint8).reshape(1, 1, 3, 1)
    np.savez(path, x_train=np.concatenate([x, x]), y_train=[0, 1],
             x_test=x, y_test=[1])
    ds = data.load_dataset("npz", data_dir=str(path))
    np.testing.assert_allclose(ds.x_train[0, 0, :, 0], [0.0, 0.2, 1.0])
    np.savez(path, x_train=np.concatenate([x, x]).astype(np.float32),
             y_train=[0, 1], x_test=x.astype(np.float32), y_test=[1])
    with pytest.raises(ValueError, match=r"`x_train` range from 0 to 255"):
        data.load_dataset("npz", data_dir=str(path))


def test_image_dataset_refuses_uint8_and_float_255():
    y = np.array([0, 1])
    with pytest.raises(ValueError, match=r"dtype uint8; divide uint8"):
        data.ImageDataset("d", np.zeros((2, 2, 2, 1), np.uint8), y,
                          np.zeros((2, 2, 2, 1), np.float32), y, 2)
    with pytest.raises(ValueError, match=r"`x_test` range from 255 to 255"):
        data.ImageDataset("d", np.zeros((2, 2, 2, 1), np.float32), y,
                          np.full((2, 2, 2, 1), 255.0), y, 2)


# ------------------------------- per-row augmentation, uint8, per worker


def test_row_uniforms_are_rows_of_one_philox_stream():
    seed = tf.constant([7, 11], tf.int64)
    # TensorFlow's own stateless draw of the whole batch, 4 per row.
    whole = tf.random.stateless_uniform([6 * 4], seed, alg="philox")
    whole = whole.numpy().reshape(6, 4)
    np.testing.assert_array_equal(data.row_uniforms(seed, 0, 6).numpy(),
                                  whole)
    np.testing.assert_array_equal(data.row_uniforms(seed, 2, 3).numpy(),
                                  whole[2:5])
    other = data.row_uniforms(tf.constant([7, 12], tf.int64), 0, 6).numpy()
    assert not np.allclose(other, whole)


def test_augment_rows_apart_equal_the_whole_batch():
    x = _images(n=10, size=6, channels=1)
    seed = tf.constant([3, 4], tf.int64)
    whole = data.augment_rows(x, "crop_flip", 2, seed).numpy()
    for start, stop in ((0, 5), (5, 10), (3, 4), (7, 10)):
        part = data.augment_rows(x[start:stop], "crop_flip", 2, seed,
                                 first_row=start).numpy()
        np.testing.assert_array_equal(part, whole[start:stop])
    for image, source in zip(whole, x):
        assert (_matching_offsets(_pad(source, 2), image)
                or _matching_offsets(_pad(source[:, ::-1], 2), image))
    np.testing.assert_array_equal(
        data.augment_rows(x, "none", 2, seed).numpy(), x)
    crop_only = data.augment_rows(x, "crop", 2, seed).numpy()
    for image, source in zip(crop_only, x):  # the same windows, unflipped
        assert _matching_offsets(_pad(source, 2), image)


def test_augment_rows_offsets_and_flips_are_uniform():
    """Chi-square goodness of fit of the 3 x 3 windows (padding 1) and
    the flip over 4,500 rows."""
    from scipy import stats

    n, p = 4500, 1
    # Distinct, asymmetric pixel values identify window and flip.
    image = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1) / 10
    out = data.augment_rows(np.repeat(image, n, 0), "crop_flip", p,
                            tf.constant([5, 9], tf.int64)).numpy()
    counts = np.zeros((3, 3), int)
    flips = 0
    for o in out:
        plain = _matching_offsets(_pad(image[0], p), o)
        mirrored = _matching_offsets(_pad(image[0][:, ::-1], p), o)
        assert len(plain) + len(mirrored) == 1
        dy, dx = (plain or mirrored)[0]
        # A mirrored window at column offset dx was cut at 2p - dx.
        counts[dy, dx if plain else 2 * p - dx] += 1
        flips += bool(mirrored)
    assert stats.chisquare(counts.ravel()).pvalue > 1e-3
    assert stats.binomtest(flips, n, 0.5).pvalue > 1e-3


def test_make_dataset_keeps_uint8_and_divides_each_batch():
    rng = np.random.default_rng(0)
    x8 = rng.integers(0, 256, (23, 6, 6, 3), dtype=np.uint8)
    x8[0] = 255
    as_float = x8.astype(np.float32) / np.float32(255.0)
    for training in (False, True):
        kwargs = dict(batch_size=5, training=training,
                      augmentation="crop_flip", crop_padding=2, seed=4)
        a = _epoch(data.make_dataset(x8, np.arange(23), **kwargs))
        b = _epoch(data.make_dataset(as_float, np.arange(23), **kwargs))
        for (xa, ya), (xb, yb) in zip(a, b):
            assert xa.dtype == np.float32
            np.testing.assert_array_equal(ya, yb)
            np.testing.assert_array_equal(xa, xb)
        assert np.concatenate([xa for xa, _ in a]).max() == 1.0
    with pytest.raises(ValueError, match="rank-4"):
        data.make_dataset(x8[0], np.arange(6), batch_size=2)
    with pytest.raises(ValueError, match="dtype int32"):
        data.make_dataset(x8.astype(np.int32), np.arange(23), batch_size=2)


class _Context:
    """A `tf.distribute.InputContext` for worker `index` of `workers`."""

    def __init__(self, workers, index, replicas):
        self.num_input_pipelines = workers
        self.input_pipeline_id = index
        self.num_replicas_in_sync = replicas


@pytest.mark.parametrize("workers,replicas,n,batch", [
    (2, 2, 23, 8),   # one replica per worker; last batch 7 splits 4 + 3
    (2, 4, 22, 6),   # two per worker; last batch 4 splits 1 + 1 + 1 + 1
    (3, 3, 10, 4),   # last batch 2: the third replica gets no rows
])
def test_per_worker_pipelines_rebuild_the_global_batches(workers, replicas,
                                                         n, batch):
    x = _images(n=n, size=5, channels=1)
    ds = data.make_dataset(x, np.arange(n), batch, training=True,
                           augmentation="crop_flip", crop_padding=1, seed=6)
    pipelines = [ds._kerasrobust_per_worker(_Context(workers, w, replicas))
                 for w in range(workers)]
    for _ in range(2):  # two epochs: each pipeline reshuffles alike
        expected = _epoch(ds)
        parts = [_epoch(p) for p in pipelines]
        local = replicas // workers
        for step, (xb, yb) in enumerate(expected):
            # Replica r = worker * local + j reads element step * local + j
            # of its worker's pipeline: its contiguous slice, in order.
            pieces = [parts[r // local][step * local + r % local]
                      for r in range(replicas)]
            sizes = [len(py) for _, py in pieces]
            assert max(sizes) - min(sizes) <= 1 and sum(sizes) == len(yb)
            np.testing.assert_array_equal(
                np.concatenate([py for _, py in pieces]), yb)
            np.testing.assert_array_equal(
                np.concatenate([px for px, _ in pieces]), xb)
        for w in range(workers):
            assert len(parts[w]) == len(expected) * local


def test_per_worker_pipelines_need_a_seed():
    x = _images(n=8)
    ds = data.make_dataset(x, np.arange(8), 4, training=True, seed=None)
    with pytest.raises(ValueError, match="seed=None.*multi-worker"):
        ds._kerasrobust_per_worker(_Context(2, 0, 2))
    ds._kerasrobust_per_worker(_Context(1, 0, 2))  # one worker: fine


def test_distribute_dataset_under_mirrored_strategy():
    """One worker, two replicas: replica k gets the k-th half of each global
    batch; other datasets go through experimental_distribute_dataset."""
    from helpers import mirrored_strategy

    strategy = mirrored_strategy()
    x = _images(n=12, size=5, channels=1)
    ds = data.make_dataset(x, np.arange(12), 6, training=True,
                           augmentation="crop", crop_padding=1, seed=2)
    expected = _epoch(ds)
    dist = data.distribute_dataset(ds, strategy)
    assert dist.cardinality == 2  # steps, as Keras reads it
    for (xb, yb), (dx, dy) in zip(expected, dist):
        halves = strategy.experimental_local_results(dy)
        assert [len(h) for h in halves] == [3, 3]
        np.testing.assert_array_equal(np.concatenate(halves), yb)
        np.testing.assert_array_equal(
            np.concatenate(strategy.experimental_local_results(dx)), xb)
    plain = tf.data.Dataset.from_tensor_slices(np.arange(4)).batch(2)
    assert not hasattr(data.distribute_dataset(plain, strategy),
                       "_kerasrobust_per_worker")
    assert data.distribute_dataset(ds, tf.distribute.get_strategy()) is ds


def test_image_dataset_keeps_uint8(cifar_npz):
    ds = data.load_dataset("npz", data_dir=str(cifar_npz))
    raw = np.load(cifar_npz)
    assert ds.stored_images("train").dtype == np.uint8
    np.testing.assert_array_equal(ds.stored_images("test"), raw["x_test"])
    xb, yb = next(iter(ds.test_dataset(batch_size=64)))
    assert xb.dtype == tf.float32
    np.testing.assert_array_equal(xb.numpy(),
                                  raw["x_test"][:64] / np.float32(255.0))
    assert not ds._as_float  # the pipelines made no float32 copy
    assert ds.input_shape == (32, 32, 3) and "5085" in repr(ds)
    assert not ds._as_float
    assert ds.x_train.dtype == np.float32 and ds.x_train.max() == 1.0
    assert ds.x_train is ds.x_train  # converted once
    with pytest.raises(ValueError, match="split"):
        ds.stored_images("val")
    # Without keep_uint8, uint8 is still refused
    # (test_image_dataset_refuses_uint8_and_float_255); with it, float
    # arrays (a subset, dataclasses.replace) are accepted as before.
    import dataclasses
    sub = dataclasses.replace(ds, x_train=ds.x_train[:10],
                              y_train=ds.y_train[:10])
    assert sub.stored_images("train").dtype == np.float32
    assert len(sub.x_train) == 10


# ------------------------------------------- epoch-keyed stream (resume)


def _take(ds, n):
    return [(xb.numpy(), yb.numpy()) for xb, yb in ds.take(n)]


def test_epoch_keyed_stream_starts_at_any_epoch():
    x = _images(n=13, size=5, channels=1)
    kwargs = dict(batch_size=5, training=True, augmentation="crop_flip",
                  crop_padding=1, seed=8)
    stream = _take(data.make_dataset(x, np.arange(13), initial_epoch=0,
                                     **kwargs), 9)  # epochs 0, 1, 2
    assert [len(yb) for _, yb in stream] == [5, 5, 3] * 3
    orders = [np.concatenate([yb for _, yb in stream[3 * e:3 * e + 3]])
              for e in range(3)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(13))
    assert len({tuple(o) for o in orders}) == 3
    tf.random.set_seed(1234)  # stateless: the global seed plays no part
    later = _take(data.make_dataset(x, np.arange(13), initial_epoch=1,
                                    **kwargs), 6)
    tf.random.set_seed(None)
    for (xa, ya), (xb, yb) in zip(stream[3:], later):
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(xa, xb)
    for image, label in zip(np.concatenate([xb for xb, _ in stream]),
                            np.concatenate([yb for _, yb in stream])):
        source = x[label]
        assert (_matching_offsets(_pad(source, 1), image)
                or _matching_offsets(_pad(source[:, ::-1], 1), image))
    # Per-worker versions of the stream rebuild its global batches.
    ds = data.make_dataset(x, np.arange(13), initial_epoch=1, **kwargs)
    halves = [_take(ds._kerasrobust_per_worker(_Context(2, w, 2)), 6)
              for w in range(2)]
    for (xb, yb), a, b in zip(later, *halves):
        np.testing.assert_array_equal(np.concatenate([a[1], b[1]]), yb)
        np.testing.assert_array_equal(np.concatenate([a[0], b[0]]), xb)
    with pytest.raises(ValueError, match="initial_epoch"):
        data.make_dataset(x, np.arange(13), 5, initial_epoch=-1)
    digits = data.load_dataset("digits")
    (xa, ya), = _take(digits.train_dataset(64, seed=0, initial_epoch=2), 1)
    (xb, yb), = _take(data.make_dataset(
        digits.x_train, digits.y_train, 64, training=True,
        augmentation="crop", crop_padding=1, seed=0, initial_epoch=2), 1)
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(xa, xb)


def test_epoch_keyed_pipeline_resumes_to_the_uninterrupted_weights(
        tmp_path):
    """Train 3 epochs straight on one device; train 1 epoch on two
    mirrored replicas, checkpoint, restore in a new model and a new
    pipeline with initial_epoch=1, train to 3: the same weights."""
    import contextlib

    import keras

    from helpers import mirrored_strategy
    from helpers import tiny_base_model
    from helpers import tiny_data
    from kerasrobust.callbacks import ResumableCheckpoint
    from kerasrobust.training import ALPS

    x, y = tiny_data(n=21)

    def pipeline(epoch):
        return data.make_dataset(x, y, 8, training=True,
                                 augmentation="crop_flip", crop_padding=1,
                                 seed=3, initial_epoch=epoch)

    def new_model(strategy):
        with strategy.scope() if strategy else contextlib.nullcontext():
            model = ALPS(tiny_base_model(), seed=1)
            model.compile(optimizer=keras.optimizers.SGD(0.1))
        return model

    straight = new_model(None)
    straight.fit(pipeline(0), epochs=3, verbose=0)
    strategy = mirrored_strategy()
    ckpt = ResumableCheckpoint(tmp_path)
    new_model(strategy).fit(pipeline(0), epochs=1, verbose=0,
                            callbacks=[ckpt])
    model, start, _ = ckpt.restore_or(new_model(strategy))
    assert start == 1
    model.fit(pipeline(start), epochs=3, initial_epoch=start, verbose=0,
              callbacks=[ckpt])
    for a, b in zip(model.base_model.get_weights(),
                    straight.base_model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert not np.allclose(straight.base_model.get_weights()[0],
                           tiny_base_model().get_weights()[0], atol=1e-3)
    with pytest.raises(ValueError, match="initial_epoch=1.*got "
                                         "initial_epoch=0"):
        new_model(None).fit(pipeline(1), epochs=2, verbose=0)
