"""Data augmentation and the `tf.data` input pipeline.

The augmentations are the standard ones of the papers' CIFAR / SVHN
experiments: zero-pad by `padding` pixels on each side and take a random
window of the original size ("crop"), plus a horizontal flip with
probability 1/2 ("crop_flip"). Digits and house numbers are not flipped
(a mirrored 2 is not a 2), hence the "crop" setting for them.

Everything is pure TensorFlow built on stateless random ops, so it runs inside
`tf.data` and the same seed gives the same images. `augment` draws for a
whole batch from one seed; `augment_rows`, which the pipelines use, draws
each row from `(batch seed, row index)`, so the rows of a global batch can
be augmented by different workers and still be the rows one device makes.
`make_dataset` builds the pipeline, `distribute_dataset` one pipeline per
worker under `tf.distribute`.
"""

import numpy as np
import tensorflow as tf

from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number
from kerasrobust.data.images import to_labels
from kerasrobust.data.images import stored_pixels

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


def _crop(images, padding, offsets):
    """Windows of the zero-padded images at `offsets` `(N, 2)` (row, col)."""
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    padded = tf.pad(
        images, [[0, 0], [padding, padding], [padding, padding], [0, 0]]
    )
    rows = offsets[:, :1] + tf.range(height)[None, :]  # (N, H)
    cols = offsets[:, 1:] + tf.range(width)[None, :]  # (N, W)
    out = tf.gather(padded, rows, axis=1, batch_dims=1)  # (N, H, W+2p, C)
    out = tf.gather(out, cols, axis=2, batch_dims=1)  # (N, H, W, C)
    return tf.ensure_shape(out, images.shape)


def _flip(images, flip):
    """Mirrors left-right the images where the bool vector `flip` is set."""
    return tf.where(flip[:, None, None, None], tf.reverse(images, [2]),
                    images)


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
    offsets = tf.random.stateless_uniform(
        [tf.shape(images)[0], 2], seed=seed, minval=0,
        maxval=2 * padding + 1, dtype=tf.int32
    )
    out = _crop(images, padding, offsets)
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
    out = _flip(images, flip)
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


_PHILOX = tf.random.Algorithm.PHILOX.value
# One Philox block (one counter value) gives 4 uint32 words, i.e. 4 float32
# uniforms: row r of a batch reads the block at counter + r.
_UNIFORMS_PER_ROW = 4


def row_uniforms(seed, first_row, num_rows):
    """Uniforms in `[0, 1)`, 4 per row, for rows `first_row ..
    first_row + num_rows - 1` of a batch, generating only those rows.

    Row r's values are the r-th block of the counter-based Philox stream of
    `seed` (the row index added to the generator's 128-bit counter), so
    they depend only on `(seed, r)`: any subset of a batch's rows gets the
    values the whole batch would give those rows. (TensorFlow's kernel maps
    a 1-D stateless draw linearly onto the counter, 4 uint32 words per
    block; tested in tests/test_data.py.)

    Args:
        seed: shape-[2] integer stateless seed.
        first_row: index of the first row, int scalar.
        num_rows: number of rows, int scalar.

    Returns:
        float32 tensor `(num_rows, 4)`.
    """
    key, counter = tf.raw_ops.StatelessRandomGetKeyCounter(
        seed=tf.cast(seed, tf.int64))
    start = tf.cast(first_row, tf.uint64)
    low = counter[0] + start  # the 128-bit counter's low word, with carry
    carry = tf.cast(low < counter[0], tf.uint64)
    counter = tf.stack([low, counter[1] + carry])
    flat = tf.raw_ops.StatelessRandomUniformV2(
        shape=tf.reshape(num_rows * _UNIFORMS_PER_ROW, [1]), key=key,
        counter=counter, alg=_PHILOX, dtype=tf.float32)
    return tf.reshape(flat, [-1, _UNIFORMS_PER_ROW])


def augment_rows(images, augmentation, crop_padding, seed, first_row=0):
    """`augment` with randomness drawn per row: rows of a batch can be
    augmented apart (by different workers) exactly as the whole batch.

    Row `first_row + i` of the batch (`images[i]`) gets its crop offsets
    and flip from `row_uniforms(seed, first_row + i)`: uniforms `u0, u1,
    u2` give the window offsets `floor(u * (2 * crop_padding + 1))` (rows,
    columns) and the flip `u2 < 1/2`. The input pipeline draws one `seed`
    per global batch and gives each replica's rows their position in it.

    Args:
        images: `(N, H, W, C)` rows `first_row ..` of a batch, any dtype.
        augmentation: `"crop_flip"`, `"crop"` or `"none"`.
        crop_padding: int >= 0, zero padding of the random crop.
        seed: int or shape-[2] integer tensor, the batch's seed.
        first_row: position of `images[0]` in the batch.

    Returns:
        Tensor of the same shape and dtype as `images`.
    """
    check_choice("augmentation", augmentation, AUGMENTATIONS)
    crop_padding = check_number(
        "crop_padding", crop_padding, low=0, integer=True
    )
    images = tf.convert_to_tensor(images)
    if augmentation == "none":
        return images
    draws = row_uniforms(_stateless_seed(seed), first_row,
                         tf.shape(images)[0])
    if crop_padding > 0:
        span = 2 * crop_padding + 1
        offsets = tf.minimum(tf.cast(tf.floor(draws[:, :2] * span), tf.int32),
                             span - 1)
        images = _crop(images, crop_padding, offsets)
    if augmentation == "crop_flip":
        images = _flip(images, draws[:, 2] < 0.5)
    return images


def make_dataset(x, y, batch_size, training=False, augmentation="none",
                 crop_padding=4, seed=None, shuffle=None,
                 drop_remainder=False, initial_epoch=None):
    """Builds a batched `tf.data.Dataset` of `(images, labels)`.

    When `training`, the examples are reshuffled every epoch and every image
    is augmented with fresh random draws (a new stream each epoch). With an
    int `seed`, the whole sequence of epochs is reproducible: shuffling uses
    `seed`, and every batch gets a stateless seed from
    `tf.data.Dataset.random(seed)` (a new stream each epoch); row r of the
    batch draws its crop and flip from `(batch seed, r)` alone
    (`augment_rows`), so a worker can augment just its rows. When not
    `training`, the data are neither shuffled (unless `shuffle=True`) nor
    augmented. As for every seeded `tf.data` op, TensorFlow combines `seed`
    with the global seed (`tf.random.set_seed`, which
    `keras.utils.set_random_seed` also sets): the same `seed` gives the same
    sequence in processes whose global seed is the same (or unset).

    The arrays are kept in their dtype: `uint8` images (0..255, as stored
    by MNIST, CIFAR, SVHN) stay `uint8` in memory (a quarter of float32)
    and each batch is divided by 255 after augmentation, giving exactly
    `x.astype("float32") / 255`. The pipeline's output is always float32 in
    `[0, 1]`.

    Args:
        x: images `(N, H, W, C)`: float in `[0, 1]`, or `uint8` 0..255.
        y: integer labels, `(N,)`.
        batch_size: int >= 1 (under a strategy: the global batch).
        training: whether this is a training pipeline.
        augmentation: `"crop_flip"`, `"crop"` or `"none"`; used only when
            `training`.
        crop_padding: int >= 0, zero padding of the random crop.
        seed: int or `None` (not reproducible; refused multi-worker, where
            every worker must shuffle alike).
        shuffle: whether to shuffle; defaults to `training`.
        drop_remainder: drop the last, smaller batch.
        initial_epoch: `None` (default): a finite pipeline, one epoch per
            iteration, reshuffled at each iteration. Which shuffle an epoch
            of `fit` sees then depends on how many iterators Keras opened
            before it, so a run resumed in a new process (which starts the
            stream again) does not see the data an uninterrupted run would.
            An int `k`: an endless stream of epochs `k, k + 1, ...`, each
            shuffled and augmented from `(seed, epoch)` alone
            (`stateless_shuffle` of the indices, batch seeds folded from the
            epoch), so resuming at epoch `k` with `initial_epoch=k` replays
            exactly what an uninterrupted run sees from epoch `k` on. `fit`
            needs `steps_per_epoch` and the same `initial_epoch`; the
            wrappers' `fit` sets the former and checks the latter. (A
            different stream from the `None` setting for the same seed.)

    Under `tf.distribute`: the wrappers' `fit` (and `distribute_dataset`)
    build one pipeline per worker (`distribute_datasets_from_function`):
    every worker walks the same shuffled order and batch seeds (indices and
    seeds only, a few bytes per example) and gathers, augments and converts
    only its replicas' rows of each global batch; replica k gets the k-th
    contiguous slice (sizes differing by at most one). Training sees exactly
    a single device's global batches (order, crops and flips included).
    Passed to `strategy.experimental_distribute_dataset` (or to a plain
    `keras.Model.fit`) instead, the dataset shards by data
    (`AutoShardPolicy.DATA`, set explicitly): every worker builds and
    augments whole global batches and keeps its replicas' rows, with the
    same result. Either way each worker holds the arrays.

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
    x = stored_pixels(x, "x")
    y = to_labels(y, "y")
    if len(x) != len(y):
        raise ValueError(
            f"`x` and `y` must hold the same number of examples, got "
            f"len(x)={len(x)} and len(y)={len(y)}."
        )
    if initial_epoch is not None:
        initial_epoch = check_number("initial_epoch", initial_epoch, low=0,
                                     integer=True)
    if shuffle is None:
        shuffle = training
    pipeline = _Pipeline(
        x, y, batch_size, shuffle=shuffle, seed=seed,
        augmentation=augmentation if training else "none",
        crop_padding=crop_padding, drop_remainder=drop_remainder,
        initial_epoch=initial_epoch)
    ds = pipeline.build()
    ds._kerasrobust_per_worker = pipeline.for_worker
    if initial_epoch is not None:
        ds._kerasrobust_epochs = (initial_epoch, pipeline.steps)
    return ds


def epoch_keyed_fit_arguments(dataset, fit_kwargs):
    """The `fit` keyword arguments for `dataset`: for an epoch-keyed
    `make_dataset(..., initial_epoch=k)` pipeline, `steps_per_epoch` is
    added (when not given) and `initial_epoch` must be `k`; other datasets
    and arguments pass unchanged. Used by the wrappers' `fit`."""
    epochs = getattr(dataset, "_kerasrobust_epochs", None)
    if epochs is None:
        return fit_kwargs
    start, steps = epochs
    if fit_kwargs.get("initial_epoch", 0) != start:
        raise ValueError(
            f"The dataset was made with make_dataset(..., initial_epoch="
            f"{start}) but fit got initial_epoch="
            f"{fit_kwargs.get('initial_epoch', 0)}; they must be equal (the "
            "dataset's first batch is that of its initial epoch).")
    return {"steps_per_epoch": steps, **fit_kwargs}


def distribute_dataset(dataset, strategy=None, map_fn=None):
    """Distributes a dataset over `strategy`'s replicas (default: the
    current strategy), one pipeline per worker when it can.

    For a `make_dataset` pipeline under a strategy with several replicas,
    this is `strategy.distribute_datasets_from_function` over the
    pipeline's per-worker version: each worker gathers, augments and
    converts only its replicas' rows (see `make_dataset`). Other datasets
    go through `strategy.experimental_distribute_dataset`. The wrappers'
    `fit` calls this; call it yourself for a custom training loop.

    Args:
        dataset: a `tf.data.Dataset`.
        strategy: a `tf.distribute.Strategy`, or `None` for the current one.
        map_fn: optional function mapped over each worker's batches (the
            wrappers' input checks).

    Returns:
        A distributed dataset; `dataset` itself (mapped with `map_fn`) when
        `strategy` has one replica.
    """
    strategy = strategy or tf.distribute.get_strategy()
    per_worker = getattr(dataset, "_kerasrobust_per_worker", None)
    if strategy.num_replicas_in_sync == 1 or per_worker is None:
        if map_fn is not None:
            dataset = dataset.map(map_fn)
        if strategy.num_replicas_in_sync == 1:
            return dataset
        return strategy.experimental_distribute_dataset(dataset)

    def dataset_fn(input_context):
        ds = per_worker(input_context)
        return ds.map(map_fn) if map_fn is not None else ds

    distributed = strategy.distribute_datasets_from_function(dataset_fn)
    # Keras reads a distributed dataset's `cardinality` as the number of
    # steps, but TensorFlow gives the number of elements of one worker's
    # dataset: one per local replica and step. Give it the steps (the
    # global batches): with fewer local replicas' worth of steps Keras
    # would end every epoch on "ran out of data" and open its iterators in
    # another pattern than for the same dataset on one device, which
    # changes the reshuffle each epoch sees. TensorFlow itself only
    # compares this value with 0 and INFINITE.
    steps = int(dataset.cardinality())
    if steps >= 0:
        distributed._cardinality = steps
    return distributed


class _Pipeline:
    """The arrays and settings of one `make_dataset` pipeline; builds its
    global version and each worker's."""

    def __init__(self, x, y, batch_size, shuffle, seed, augmentation,
                 crop_padding, drop_remainder, initial_epoch=None):
        # Converted once; every version of the pipeline captures the same
        # tensors.
        self.x = tf.convert_to_tensor(x)
        self.y = tf.convert_to_tensor(y)
        self.size = len(x)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.augmentation = augmentation
        self.crop_padding = crop_padding
        self.drop_remainder = drop_remainder
        self.initial_epoch = initial_epoch
        self.steps = (self.size // batch_size if drop_remainder
                      else -(-self.size // batch_size))
        self.seeded = seed is not None
        if initial_epoch is not None and seed is None:
            # The epoch-keyed stream needs an explicit key: a fresh one.
            self.seed = int(np.random.default_rng().integers(2**62))

    def _epoch_batches(self, epoch):
        """`(indices, batch seed)` of every batch of `epoch`, from
        `(seed, epoch)` alone."""
        key = tf.random.experimental.stateless_fold_in(
            tf.constant([self.seed, 0], tf.int64), epoch)
        order = tf.range(self.size, dtype=tf.int64)
        if self.shuffle:
            order = tf.random.experimental.stateless_shuffle(
                order, seed=_sub_seed(key, 0))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(
            self.batch_size, drop_remainder=self.drop_remainder)
        seed_key = _sub_seed(key, 1)
        seeds = tf.data.Dataset.range(self.steps).map(
            lambda b: _sub_seed(seed_key, b))
        return tf.data.Dataset.zip((batches, seeds))

    def _global_batches(self):
        """`(indices, batch seed)` of every global batch, in order."""
        if self.initial_epoch is not None:
            return tf.data.Dataset.range(
                self.initial_epoch, np.iinfo(np.int64).max).flat_map(
                    self._epoch_batches)
        ds = tf.data.Dataset.range(self.size)
        if self.shuffle:
            ds = ds.shuffle(self.size, seed=self.seed,
                            reshuffle_each_iteration=True)
        ds = ds.batch(self.batch_size, drop_remainder=self.drop_remainder)
        if self.augmentation == "none":
            return ds.map(lambda idx: (idx, tf.zeros([2], tf.int64)))
        seeds = tf.data.Dataset.random(
            seed=self.seed, rerandomize_each_iteration=True).batch(2)
        return tf.data.Dataset.zip((ds, seeds))

    def _rows(self, idx, first_row, batch_seed):
        """Images and labels of rows `idx` (from `first_row` on) of a
        global batch: gathered, augmented, then converted to float32."""
        images = tf.gather(self.x, idx)
        images = augment_rows(images, self.augmentation, self.crop_padding,
                              batch_seed, first_row)
        if images.dtype == tf.uint8:
            images = tf.cast(images, tf.float32) / 255.0
        return images, tf.gather(self.y, idx)

    def build(self):
        ds = self._global_batches().map(
            lambda idx, s: self._rows(idx, tf.constant(0, tf.int64), s),
            num_parallel_calls=tf.data.AUTOTUNE)
        # Given to `experimental_distribute_dataset`, every worker runs this
        # pipeline and keeps its replicas' rows of each global batch (DATA
        # sharding): the global batches, their order and augmentation are
        # those of one device. (In-memory data has no files to shard; AUTO
        # would fall back to DATA with a warning.)
        return _with_shard_policy(
            ds, tf.data.experimental.AutoShardPolicy.DATA)

    def for_worker(self, input_context):
        """This worker's part of every global batch: one element per local
        replica, replica k of the strategy getting the k-th contiguous
        slice of the global batch."""
        workers = input_context.num_input_pipelines
        if workers > 1 and not self.seeded:
            raise ValueError(
                "make_dataset(seed=None) cannot be used multi-worker: every "
                "worker would shuffle and augment differently. Pass an int "
                "`seed`.")
        replicas = input_context.num_replicas_in_sync
        local = replicas // workers
        first = input_context.input_pipeline_id * local

        def piece(idx, batch_seed, j):
            size = tf.shape(idx, out_type=tf.int64)[0]
            base, extra = size // replicas, size % replicas
            r = tf.cast(first + j, tf.int64)
            start = r * base + tf.minimum(r, extra)
            end = start + base + tf.cast(r < extra, tf.int64)
            return idx[start:end], start, batch_seed

        ds = self._global_batches()
        if local == 1:
            ds = ds.map(lambda idx, s: piece(idx, s, 0))
        else:
            ds = ds.flat_map(lambda idx, s: tf.data.Dataset.range(local).map(
                lambda j: piece(idx, s, j)))
        ds = ds.map(self._rows, num_parallel_calls=tf.data.AUTOTUNE)
        # Already this worker's rows: no auto-sharding on top.
        return _with_shard_policy(ds, tf.data.experimental.AutoShardPolicy.OFF)


def _with_shard_policy(ds, policy):
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)
