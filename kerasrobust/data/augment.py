"""Data augmentation and the `tf.data` input pipeline.

The augmentations are the standard ones of the papers' CIFAR / SVHN
experiments: zero-pad by `padding` pixels on each side and take a random
window of the original size ("crop"), plus a horizontal flip with
probability 1/2 ("crop_flip"). Digits and house numbers are not flipped
(a mirrored 2 is not a 2), hence the "crop" setting for them.

Everything is pure TensorFlow built on stateless random ops, so it runs inside
`tf.data` and the same seed gives the same images.
"""

import numpy as np
import tensorflow as tf

from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number
from kerasrobust.data.images import to_labels
from kerasrobust.data.images import validate_images

AUGMENTATIONS = ("crop_flip", "crop", "none")


def _stateless_seed(seed):
    """Turns `seed` into the shape-[2] int64 seed of stateless random ops.

    `seed` may be a Python int, a scalar or shape-[2] integer tensor (e.g. one
    drawn inside `tf.data`), or `None` for a fresh, non-reproducible seed.
    """
    if seed is None:
        return tf.random.uniform(
            [2], minval=0, maxval=np.iinfo(np.int64).max, dtype=tf.int64
        )
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return tf.constant([int(seed), 0], dtype=tf.int64)
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    if seed.shape.rank == 0:
        return tf.stack([seed, tf.constant(0, tf.int64)])
    if seed.shape.rank != 1 or seed.shape[0] not in (None, 2):
        raise ValueError(
            "`seed` must be an int, a scalar integer tensor or a shape-[2] "
            f"integer tensor, got shape {seed.shape}."
        )
    return tf.ensure_shape(seed, [2])


def _sub_seed(seed, index):
    """A seed for the `index`-th random op derived from `seed`."""
    return tf.random.experimental.stateless_fold_in(seed, index)


def _as_batch(images):
    images = tf.convert_to_tensor(images)
    rank = images.shape.rank
    if rank == 3:
        return images[None], True
    if rank != 4:
        raise ValueError(
            "`images` must be a batch (N, H, W, C) or a single image "
            f"(H, W, C), got shape {images.shape}."
        )
    return images, False


def random_crop(images, padding, seed):
    """Random crop after zero padding, drawn independently for every image.

    Each image is padded with `padding` zeros on every side and a window of
    the original height and width is cut out at a uniformly random offset in
    `{0, ..., 2 * padding}` along each axis (so "no shift" is one of
    `(2 * padding + 1) ** 2` equally likely windows).

    Args:
        images: `(N, H, W, C)` batch or a single `(H, W, C)` image, any dtype.
        padding: int >= 0, zeros added on each side.
        seed: int, scalar or shape-[2] integer tensor, or `None` (not
            reproducible). The same seed gives the same windows.

    Returns:
        Tensor of the same shape and dtype as `images`.
    """
    padding = check_number("padding", padding, low=0, integer=True)
    images, single = _as_batch(images)
    if padding == 0:
        return images[0] if single else images
    seed = _stateless_seed(seed)
    shape = tf.shape(images)
    n, height, width = shape[0], shape[1], shape[2]
    padded = tf.pad(
        images, [[0, 0], [padding, padding], [padding, padding], [0, 0]]
    )
    offsets = tf.random.stateless_uniform(
        [n, 2], seed=seed, minval=0, maxval=2 * padding + 1, dtype=tf.int32
    )
    rows = offsets[:, :1] + tf.range(height)[None, :]  # (N, H)
    cols = offsets[:, 1:] + tf.range(width)[None, :]  # (N, W)
    out = tf.gather(padded, rows, axis=1, batch_dims=1)  # (N, H, W+2p, C)
    out = tf.gather(out, cols, axis=2, batch_dims=1)  # (N, H, W, C)
    out = tf.ensure_shape(out, images.shape)
    return out[0] if single else out


def random_flip(images, seed):
    """Mirrors each image left-right with probability 1/2.

    Args:
        images: `(N, H, W, C)` batch or a single `(H, W, C)` image.
        seed: int, scalar or shape-[2] integer tensor, or `None`.

    Returns:
        Tensor of the same shape and dtype as `images`.
    """
    images, single = _as_batch(images)
    seed = _stateless_seed(seed)
    flip = tf.random.stateless_uniform([tf.shape(images)[0]], seed=seed) < 0.5
    out = tf.where(flip[:, None, None, None], tf.reverse(images, [2]), images)
    return out[0] if single else out


def augment(images, augmentation, crop_padding, seed):
    """Applies one of the named augmentations to a batch of images.

    Args:
        images: `(N, H, W, C)` batch or a single `(H, W, C)` image.
        augmentation: `"crop_flip"` (random crop, then random horizontal
            flip), `"crop"` (random crop only) or `"none"` (identity).
        crop_padding: int >= 0, zero padding of the random crop.
        seed: int, scalar or shape-[2] integer tensor, or `None`. The crop
            and the flip use independent seeds derived from it.

    Returns:
        Tensor of the same shape and dtype as `images`.
    """
    check_choice("augmentation", augmentation, AUGMENTATIONS)
    crop_padding = check_number(
        "crop_padding", crop_padding, low=0, integer=True
    )
    if augmentation == "none":
        return tf.convert_to_tensor(images)
    seed = _stateless_seed(seed)
    images = random_crop(images, crop_padding, _sub_seed(seed, 0))
    if augmentation == "crop_flip":
        images = random_flip(images, _sub_seed(seed, 1))
    return images


def make_dataset(x, y, batch_size, training=False, augmentation="none",
                 crop_padding=4, seed=None, shuffle=None,
                 drop_remainder=False):
    """Builds a batched `tf.data.Dataset` of `(images, labels)`.

    When `training`, the examples are reshuffled every epoch and every batch
    is augmented with fresh random draws (a new stream each epoch). With an
    int `seed`, the whole sequence of epochs is reproducible: shuffling uses
    `seed`, and the augmentation seeds come from
    `tf.data.Dataset.random(seed)` zipped with the batches. When not
    `training`, the data are neither shuffled (unless `shuffle=True`) nor
    augmented. As for every seeded `tf.data` op, TensorFlow combines `seed`
    with the global seed (`tf.random.set_seed`, which
    `keras.utils.set_random_seed` also sets): the same `seed` gives the same
    sequence in processes whose global seed is the same (or unset).

    Args:
        x: images, `(N, H, W, C)` float in `[0, 1]`.
        y: integer labels, `(N,)`.
        batch_size: int >= 1.
        training: whether this is a training pipeline.
        augmentation: `"crop_flip"`, `"crop"` or `"none"`; used only when
            `training`.
        crop_padding: int >= 0, zero padding of the random crop.
        seed: int or `None` (not reproducible).
        shuffle: whether to shuffle; defaults to `training`.
        drop_remainder: drop the last, smaller batch.

    Under `tf.distribute` (`fit` under a strategy, or
    `experimental_distribute_dataset`) the dataset is sharded by data
    (`AutoShardPolicy.DATA`): each worker builds the same global batches and
    keeps its replicas' rows, so training sees exactly a single device's
    batches (shuffle order and augmentation included); each worker holds
    the arrays and augments whole global batches.

    Returns:
        A prefetched dataset yielding `(float32 images, int64 labels)` with
        shapes `(B, H, W, C)` and `(B,)`.
    """
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    check_choice("augmentation", augmentation, AUGMENTATIONS)
    crop_padding = check_number(
        "crop_padding", crop_padding, low=0, integer=True
    )
    if seed is not None:
        seed = check_number("seed", seed, integer=True)
    x = validate_images(x, "x").astype(np.float32, copy=False)
    y = to_labels(y, "y")
    if len(x) != len(y):
        raise ValueError(
            f"`x` and `y` must hold the same number of examples, got "
            f"len(x)={len(x)} and len(y)={len(y)}."
        )
    if shuffle is None:
        shuffle = training

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if training and augmentation != "none":
        seeds = tf.data.Dataset.random(
            seed=seed, rerandomize_each_iteration=True
        ).batch(2)

        def _augment(batch, batch_seed):
            images, labels = batch
            images = augment(images, augmentation, crop_padding, batch_seed)
            return images, labels

        ds = tf.data.Dataset.zip((ds, seeds)).map(
            _augment, num_parallel_calls=tf.data.AUTOTUNE
        )
    # Under tf.distribute every worker runs this pipeline and keeps its
    # replicas' rows of each global batch (DATA sharding): the global
    # batches, their order and augmentation are those of one device.
    # (In-memory data has no files to shard; AUTO would fall back to DATA
    # with a warning.)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA)
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)
