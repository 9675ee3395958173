"""The compiled noise + forward + count function of `SmoothedClassifier`.

**Noise stream.** The Gaussian draws of an input depend only on the call's
seed, the input's *index* (its position in the certified set, e.g. its
index in the test split) and the *draw index* j = 0, 1, 2, ...: draws are
made in noise blocks of `NOISE_BLOCK` consecutive draws, and block k of
the input with index i is

    tf.random.stateless_normal((NOISE_BLOCK, *image_shape),
                               seed=fold_in(fold_in(seed, i), k))

(`tf.random.experimental.stateless_fold_in`). So the counts of an input do
not depend on which other inputs share a call, on `batch_size`, on the
number of replicas, or on the process (shard) that certifies it; a call
counting draws `[start, start + num)` continues an input's stream where an
earlier call stopped. (Before this scheme, one seed was drawn per block of
inputs and folded with the forward-pass index, so the noise depended on
the block's composition and on `batch_size`; same-seed results changed
when the noise stream changed.)

**Work items.** One work item is one (input, noise block) pair: `NOISE_BLOCK`
noisy copies of one input. A forward pass runs `items_per_pass` items
(`items_per_pass * NOISE_BLOCK` images); passes are dealt out round-robin to
the replicas of a `tf.distribute` strategy, and each replica returns the
counts of its own items, which are summed exactly (integers). Draws
outside `[start, start + num)` and padding items of the last pass vote for
class -1, which `one_hot` turns into a zero row (XLA-safe, unlike
`tf.math.bincount`). Everything runs in one `tf.function` per call: the
host sees one call and one `(b, K)` result.
"""

import math

import tensorflow as tf

from kerasrobust._names import SAMPLING_PRECISIONS

# Draws per noise block: the unit of the noise stream (fixed, so that the
# stream never depends on the batch size) and the smallest forward pass.
NOISE_BLOCK = 25
# Streams of one `certify` call: selection and estimation draws are
# independent (Cohen et al.'s CERTIFY draws them separately).
SELECTION, ESTIMATION = 0, 1
# Precisions the noisy forward passes can run in (`sampling_precision`).
PRECISIONS = SAMPLING_PRECISIONS


def blocks_for(start, num):
    """Noise blocks an input needs for draws `[start, start + num)`."""
    first = start // NOISE_BLOCK
    last = -(-(start + num) // NOISE_BLOCK)
    return last - first


def items_per_pass(batch_size, num_items, num_replicas=1):
    """Work items per forward pass: `batch_size // NOISE_BLOCK` (at least
    one), but no more than an even share of `num_items` over the replicas,
    so a short call does not run a mostly padded pass and every replica
    gets work while items remain."""
    full = max(1, int(batch_size) // NOISE_BLOCK)
    share = max(1, math.ceil(num_items / max(1, num_replicas)))
    return min(full, share)


def plan_block(num_draws, batch_size):
    """How many inputs fill one forward pass of `batch_size` images when
    each needs `num_draws` draws (at least 1): the group size `certify`
    uses so that its progress bar advances with finished inputs."""
    per_input = blocks_for(0, int(num_draws))
    return max(1, (max(1, int(batch_size) // NOISE_BLOCK)) // per_input)


def seed_for_call(seed_generator):
    """Draws the next seed of `seed_generator` as an int32 `(2,)` tensor.

    The stateless random ops take an int32 seed (also under XLA); Keras
    keeps its `SeedGenerator` state in int64 on TensorFlow and folds it the
    same way.
    """
    state = tf.convert_to_tensor(seed_generator.next())
    if state.dtype != tf.int32:
        state = tf.cast(tf.math.floormod(state, tf.int32.max - 1), tf.int32)
    return state


def stream_seed(seed, stream):
    """The seed of stream `stream` (`SELECTION`, `ESTIMATION`) of a call."""
    return tf.random.experimental.stateless_fold_in(
        tf.convert_to_tensor(seed, tf.int32), stream)


def _count_items(base_model, num_classes, x, sigma, seed, indices, start,
                 num_draws, per_pass, replica, num_replicas):
    """The counts of the work items of replica `replica` (graph code).

    Returns int32 counts `(b, num_classes)` and the int32 number of draws
    this replica counted.
    """
    image_shape = tuple(x.shape[1:])
    block = NOISE_BLOCK
    b = tf.shape(x)[0]
    first_block = start // block
    per_input = (start + num_draws + block - 1) // block - first_block
    total = b * per_input
    stride = per_pass * num_replicas
    num_rounds = (total + stride - 1) // stride
    item_offsets = tf.range(per_pass, dtype=tf.int32)
    draw_offsets = tf.range(block, dtype=tf.int32)
    indices = tf.cast(indices, tf.int32)
    flat_shape = (-1,) + image_shape

    def noise_of(pair):
        item_seed = tf.random.experimental.stateless_fold_in(
            tf.random.experimental.stateless_fold_in(seed, pair[0]), pair[1])
        return tf.random.stateless_normal(
            (block,) + image_shape, seed=item_seed, dtype=x.dtype)

    def body(r, counts, draws):
        item = (r * num_replicas + replica) * per_pass + item_offsets
        real = item < total
        item = tf.minimum(item, total - 1)
        which = item // per_input                       # input in the call
        noise_block = first_block + item % per_input    # block of its stream
        noise = tf.map_fn(
            noise_of, tf.stack([tf.gather(indices, which), noise_block], 1),
            fn_output_signature=tf.TensorSpec((block,) + image_shape,
                                              x.dtype),
            parallel_iterations=16)
        center = tf.expand_dims(tf.gather(x, which), 1)
        noisy = tf.reshape(center + sigma * noise, flat_shape)
        scores = base_model(noisy, training=False)
        votes = tf.reshape(
            tf.argmax(scores, axis=-1, output_type=tf.int32), [-1, block])
        draw = noise_block[:, tf.newaxis] * block + draw_offsets
        valid = (real[:, tf.newaxis] & (draw >= start)
                 & (draw < start + num_draws))
        votes = tf.where(valid, votes, -1)
        item_counts = tf.reduce_sum(
            tf.one_hot(votes, num_classes, dtype=tf.int32), axis=1)
        counts += tf.math.unsorted_segment_sum(item_counts, which, b)
        draws += tf.reduce_sum(tf.cast(valid, tf.int32))
        return r + 1, counts, draws

    counts = tf.zeros(tf.stack([b, num_classes]), tf.int32)
    _, counts, draws = tf.while_loop(
        lambda r, *_: r < num_rounds,
        body,
        (tf.constant(0, tf.int32), counts, tf.constant(0, tf.int32)),
        shape_invariants=(tf.TensorShape([]),
                          tf.TensorShape([None, num_classes]),
                          tf.TensorShape([])),
        # One forward pass in flight at a time: bounded memory.
        parallel_iterations=1,
    )
    return counts, draws


def make_counter(base_model, num_classes, jit_compile=False):
    """Returns the compiled counting function for `base_model` (one device).

    The function is `count(x, sigma, seed, indices, start, num_draws,
    items_per_pass)`:

    - `x`: `b` inputs `(b, *image_shape)`, floating point;
    - `sigma`: scalar noise level (same dtype as `x`);
    - `seed`: int32 `(2,)` seed of the stream (see the module docstring);
    - `indices`: int32 `(b,)`, each input's index in the certified set;
    - `start`, `num_draws`: int32 scalars, count draws
      `[start, start + num_draws)` of every input's stream;
    - `items_per_pass`: int32 scalar, work items (`NOISE_BLOCK` draws of one
      input) per forward pass.

    It returns int32 counts `(b, num_classes)` whose rows sum to
    `num_draws`. Every argument is a tensor: calls with other values never
    retrace (only another image shape or dtype does).
    """
    num_classes = int(num_classes)

    def count(x, sigma, seed, indices, start, num_draws, items_per_pass):
        counts, _ = _count_items(base_model, num_classes, x, sigma, seed,
                                 indices, start, num_draws, items_per_pass,
                                 0, 1)
        return counts

    return tf.function(count, jit_compile=jit_compile, autograph=False,
                       reduce_retracing=True)


def make_distributed_counter(base_model, num_classes, strategy):
    """The counting function spread over the replicas of `strategy`.

    Same arguments as `make_counter`'s function; returns `(counts,
    draws_per_replica)`: the int32 counts summed over all replicas (of all
    workers, for `MultiWorkerMirroredStrategy`) and an int32
    `(num_replicas,)` vector of the draws each replica counted. Every
    replica runs forward passes on its own device; the counts are equal to
    the single-device counts, since the noise of a work item does not
    depend on the replica that draws it.
    """
    num_classes = int(num_classes)
    num_replicas = int(strategy.num_replicas_in_sync)

    def replica_fn(x, sigma, seed, indices, start, num_draws, per_pass):
        context = tf.distribute.get_replica_context()
        replica = tf.cast(context.replica_id_in_sync_group, tf.int32)
        counts, draws = _count_items(
            base_model, num_classes, x, sigma, seed, indices, start,
            num_draws, per_pass, replica, num_replicas)
        mine = tf.one_hot(replica, num_replicas, dtype=tf.int32)
        return counts, mine * draws

    def count(x, sigma, seed, indices, start, num_draws, items_per_pass):
        counts, draws = strategy.run(
            replica_fn,
            args=(x, sigma, seed, indices, start, num_draws, items_per_pass))
        sum_ = tf.distribute.ReduceOp.SUM
        return (strategy.reduce(sum_, counts, axis=None),
                strategy.reduce(sum_, draws, axis=None))

    return tf.function(count, autograph=False, reduce_retracing=True)


def model_in_precision(base_model, precision):
    """A copy of `base_model` whose layers compute in `precision`.

    `"mixed_bfloat16"` / `"mixed_float16"`: Keras's mixed policies (compute
    in 16 bits, variables in float32); the copy has the same weights. Its
    variables are created in the current `tf.distribute` strategy's scope.
    `"float32"` returns `base_model` itself.
    """
    import keras

    if precision == "float32":
        return base_model
    copy = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(base_model))
    shape = tuple(base_model.inputs[0].shape) if getattr(
        base_model, "inputs", None) else None
    if not copy.built and shape is not None:
        copy.build(shape)
    copy.set_weights(base_model.get_weights())
    for layer in copy._flatten_layers(include_self=True, recursive=True):
        layer.dtype_policy = precision
    return copy
