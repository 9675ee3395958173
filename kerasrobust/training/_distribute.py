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


def row_layout(local_size):
    """`(global_size, offset)`: the global batch size and the position of
    this replica's first row in it, without gathering the data itself."""
    local_size = tf.convert_to_tensor(local_size)
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return local_size, tf.zeros_like(local_size)
    sizes, offset = _shard_layout(ctx, local_size)
    return tf.reduce_sum(sizes), offset


def replica_id():
    """This replica's index in the sync group (0 outside a strategy)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return tf.constant(0, tf.int32)
    return tf.cast(ctx.replica_id_in_sync_group, tf.int32)


def _shard_layout(ctx, local_size):
    """`(sizes, offset)`: every replica's shard size, and where this
    replica's rows start in the global batch."""
    sizes = ctx.all_gather(tf.reshape(local_size, [1]), axis=0)
    return sizes, tf.reduce_sum(sizes[:ctx.replica_id_in_sync_group])


# --------------------------------------------------------------------------
# Workarounds for Keras 3 bugs under MultiWorkerMirroredStrategy. Both are
# used only by `RobustTrainer`; remove them when Keras fixes the bugs (the
# tests in tests/test_multi_worker.py say when).


def is_multi_worker(strategy=None):
    """Whether `strategy` (default: the current one) is a
    `MultiWorkerMirroredStrategy` spanning several workers."""
    strategy = strategy or tf.distribute.get_strategy()
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def symbolic_batch(epoch_iterator):
    """One replica's batch *specification* of a Keras epoch iterator.

    Keras' `_maybe_symbolic_build` draws the first batch of the distributed
    dataset to learn its shapes and dtypes and reduces it over the replicas,
    which fails multi-worker (keras-team/keras#20585) and, because it opens
    an iterator, shifts a reshuffling `tf.data` pipeline by one epoch. Its
    `_symbolic_build` only reads `.shape` and `.dtype`, which the dataset's
    `element_spec` gives without reading data.
    """
    dataset = getattr(epoch_iterator, "_distributed_dataset", None)
    if dataset is None:
        return None
    # A `PerReplicaSpec` is one leaf for `tf.nest`.
    return tf.nest.map_structure(_local_spec, dataset.element_spec)


def _local_spec(spec):
    values = getattr(spec, "_value_specs", None)
    return values[0] if values else spec


def local_batch(data_batch):
    """The first local replica's part of a (possibly distributed) batch."""
    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return tf.distribute.get_strategy().experimental_local_results(
                value)[0]
        return value
    return tf.nest.map_structure(local, data_batch)


def reducible_logs(logs):
    """Makes a step's scalar logs reducible multi-worker.

    Keras' `reduce_per_replica` reduces logs multi-worker with
    `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars (the logs
    are scalars). A shape-(1,) log reduced that way is the mean over the
    replicas, a scalar again; metric results are identical on every
    replica, so it is their common value. Other strategies get the logs
    unchanged.
    """
    if not is_multi_worker():
        return logs
    return tf.nest.map_structure(
        lambda v: tf.reshape(v, [1]) if v.shape.rank == 0 else v, logs)


def is_chief(strategy=None):
    """Whether this process writes shared files: always outside a
    multi-worker strategy; multi-worker, task "chief", or worker 0 when the
    cluster has no chief (TensorFlow's convention)."""
    strategy = strategy or tf.distribute.get_strategy()
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief
