"""The compiled noise + forward + count function of `SmoothedClassifier`.

One call of the function returned by `make_counter` draws `num_draws`
Gaussian copies of every input of a block, runs the base model on them in
inference mode, and returns how often each class won: `(b, num_classes)`
int32 counts. Everything happens inside one `tf.function`: the noise is drawn
in the graph (`tf.random.stateless_normal`, never NumPy on the host), the
draws are split into forward passes of `b * chunk` images by a
`tf.while_loop`, and the votes are counted with one-hot + sum (XLA-safe,
unlike `tf.math.bincount`). The host sees one call and one `(b, K)` result
per block, whatever the number of draws.
"""

import math

import tensorflow as tf


def plan_block(num_draws, batch_size):
    """How to split `num_draws` draws per input into forward passes.

    Returns `(inputs_per_block, chunk, num_chunks)`: a forward pass holds
    `inputs_per_block * chunk` noisy images, at most `batch_size` (at least
    one image per input), and `num_chunks` passes give every input
    `num_chunks * chunk >= num_draws` draws. `chunk` is chosen so that the
    draws left over after `num_draws` (which are masked out, not counted)
    are fewer than `num_chunks`: `ceil(num_draws / num_chunks)`.

    Several inputs share a forward pass when `num_draws < batch_size` (e.g.
    n0 = 100 selection draws at batch 1000: 10 inputs per pass).
    """
    num_draws = int(num_draws)
    batch_size = int(batch_size)
    num_chunks = max(1, math.ceil(num_draws / batch_size))
    chunk = math.ceil(num_draws / num_chunks)
    inputs_per_block = max(1, batch_size // chunk)
    return inputs_per_block, chunk, num_chunks


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


def make_counter(base_model, num_classes, jit_compile=False):
    """Returns the compiled counting function for `base_model`.

    The function is `count(x, sigma, seed, num_draws, chunk)`:

    - `x`: a block of `b` inputs `(b, *image_shape)`, floating point;
    - `sigma`: scalar noise level (same dtype as `x`);
    - `seed`: int32 `(2,)` seed of this call; chunk `i` uses the seed
      `stateless_fold_in(seed, i)`, so the draws are a function of the seed,
      `b`, `chunk` and `num_draws` alone;
    - `num_draws`: int32 scalar, the number of draws per input to count;
    - `chunk`: Python int, draws per input in one forward pass (static: it
      fixes the shape of the forward batch, `b * chunk`).

    It returns int32 counts `(b, num_classes)` whose rows sum to
    `num_draws`. Calls with the same `x` shape and dtype and the same
    `chunk` reuse one trace; `num_draws`, `sigma` and `seed` are tensors and
    never cause a retrace.
    """
    num_classes = int(num_classes)

    def count(x, sigma, seed, num_draws, chunk):
        image_shape = tuple(x.shape[1:])
        b = tf.shape(x)[0]
        num_chunks = (num_draws + chunk - 1) // chunk
        # (b, 1, H, W, C): broadcast against (b, chunk, H, W, C) noise.
        center = tf.expand_dims(x, 1)
        noise_shape = tf.concat(
            [tf.stack([b, chunk]), tf.constant(image_shape, tf.int32)], 0)
        flat_shape = (-1,) + image_shape
        offsets = tf.range(chunk, dtype=tf.int32)

        def body(i, counts):
            noise = tf.random.stateless_normal(
                noise_shape,
                seed=tf.random.experimental.stateless_fold_in(seed, i),
                dtype=x.dtype,
            )
            noisy = tf.reshape(center + sigma * noise, flat_shape)
            scores = base_model(noisy, training=False)
            votes = tf.reshape(
                tf.argmax(scores, axis=-1, output_type=tf.int32), [-1, chunk])
            # Draws past `num_draws` (the last chunk may overshoot) vote for
            # class -1, which one_hot turns into a zero row.
            valid = i * chunk + offsets < num_draws
            votes = tf.where(valid[tf.newaxis, :], votes, -1)
            counts += tf.reduce_sum(
                tf.one_hot(votes, num_classes, dtype=tf.int32), axis=1)
            return i + 1, counts

        counts = tf.zeros(tf.stack([b, num_classes]), tf.int32)
        _, counts = tf.while_loop(
            lambda i, _: i < num_chunks,
            body,
            (tf.constant(0, tf.int32), counts),
            shape_invariants=(
                tf.TensorShape([]), tf.TensorShape([None, num_classes])),
            # One forward pass in flight at a time: bounded memory.
            parallel_iterations=1,
        )
        return counts

    return tf.function(count, jit_compile=jit_compile, autograph=False)
