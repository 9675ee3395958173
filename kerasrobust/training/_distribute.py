"""Global-batch views for vicinal training under ``tf.distribute``.

Mixing methods (MixUp, ALPS) pair every sample with a partner drawn from the
*global* batch. Under ``MirroredStrategy`` each replica only holds its shard,
so the shards are all-gathered (padded, because the last batch of an epoch may
be split unevenly) and each replica keeps the rows of the mixed global batch
that belong to it. Keras ``SeedGenerator`` state is shared by the replicas,
so every replica draws the same global permutation and the same global
mixing coefficients: training under a strategy computes exactly what a single
device computes on the same global batch.
"""

import tensorflow as tf


def global_batch(*tensors):
    """All-gathers per-replica batches into the global batch.

    Args:
        *tensors: tensors whose first axis is the local batch.

    Returns:
        ``(global_tensors, local_index)`` where ``global_tensors`` is a tuple
        of the gathered tensors (the inputs themselves outside a strategy or
        with one replica) and ``local_index`` the int32 positions of this
        replica's rows inside the global batch.
    """
    local_size = tf.shape(tensors[0])[0]
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return tensors, tf.range(local_size)
    sizes, offset = _shard_layout(ctx, local_size)
    max_size = tf.reduce_max(sizes)
    valid = tf.reshape(
        tf.range(max_size)[tf.newaxis, :] < sizes[:, tf.newaxis], [-1]
    )
    gathered = []
    for t in tensors:
        padding = [[0, max_size - local_size]] + [[0, 0]] * (t.shape.rank - 1)
        stacked = ctx.all_gather(tf.pad(t, padding), axis=0)
        gathered.append(tf.boolean_mask(stacked, valid))
    return tuple(gathered), offset + tf.range(local_size)


def num_replicas():
    """Number of replicas of the current strategy (1 outside a strategy)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def shard_weight(local_size):
    """Factor that turns Keras' per-replica loss into a global-batch mean.

    Keras divides each replica's mean loss by the number of replicas before
    the SUM all-reduce, which is the global mean only when the shards are
    equal. Multiplying by `local_size * replicas / global_size` makes it
    exact for uneven shards too (the last batch of an epoch); it is 1 for
    equal shards and outside a strategy.
    """
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return tf.constant(1.0)
    local_size = tf.cast(local_size, tf.float32)
    global_size = ctx.all_reduce(tf.distribute.ReduceOp.SUM, local_size)
    return local_size * ctx.num_replicas_in_sync / global_size


def global_rows(local_size):
    """`(global_size, local_index)` of this replica's rows in the global
    batch, without gathering the data itself."""
    local_size = tf.convert_to_tensor(local_size)
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return local_size, tf.range(local_size)
    sizes, offset = _shard_layout(ctx, local_size)
    return tf.reduce_sum(sizes), offset + tf.range(local_size)


def _shard_layout(ctx, local_size):
    """`(sizes, offset)`: every replica's shard size, and where this
    replica's rows start in the global batch."""
    sizes = ctx.all_gather(tf.reshape(local_size, [1]), axis=0)
    return sizes, tf.reduce_sum(sizes[:ctx.replica_id_in_sync_group])
