"""One worker of the two-process tests (tests/test_multi_worker.py).

Run as `python multi_worker_job.py INDEX PORT0,PORT1 OUT.npz [CKPT_DIR
[resume]]`: it joins a two-worker `MultiWorkerMirroredStrategy` on
127.0.0.1 through `TF_CONFIG`, trains every method on the same global
batches and saves each method's weights (and the rows of the library's
pipeline this worker receives); with CKPT_DIR it then starts an ALPS run
with a `ResumableCheckpoint` there and waits after the checkpoint of epoch 1
for the test to kill it (SIGKILL). With `resume`, new processes resume that
run from CKPT_DIR and save its final weights. `train_methods(None)` runs
the same jobs in one process without a strategy, the reference the workers
are compared with.
"""

import json
import os
import sys

METHODS = ("erm", "label_smoothing", "mixup", "alps", "gaussian", "adre",
           "smoothadv", "adre_adv")
GLOBAL_BATCH = 8


def data(n=24, input_shape=(4, 4, 1), num_classes=3):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((n,) + input_shape, dtype=np.float32)
    return x, rng.integers(0, num_classes, size=n)


def base_model():
    import keras

    init = keras.initializers.GlorotUniform(seed=0)
    return keras.Sequential([
        keras.Input((4, 4, 1)),
        keras.layers.Conv2D(2, 3, padding="same", activation="relu",
                            kernel_initializer=init),
        keras.layers.Flatten(),
        keras.layers.Dense(3, kernel_initializer=init),
    ])


def train_methods(strategy, methods=METHODS, epochs=2):
    """Trains each method from the same weights; returns
    `{method: [weights...], method + "/eval": [loss, accuracy]}`."""
    import contextlib

    import keras
    import numpy as np

    from kerasrobust.training import make_trainer

    x, y = data()
    results = {}
    for method in methods:
        scope = strategy.scope() if strategy else contextlib.nullcontext()
        with scope:
            model = make_trainer(method, base_model(), seed=1,
                                 weight_decay=1e-3)
            model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                          metrics=["accuracy"])
        model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=epochs,
                  shuffle=False, validation_data=(x[:8], y[:8]), verbose=0)
        results[method] = model.base_model.get_weights()
        ev = model.evaluate(x, y, batch_size=GLOBAL_BATCH, verbose=0,
                            return_dict=True)
        results[method + "/eval"] = np.array([ev["loss"], ev["accuracy"]])
    results["alps/dataset"] = train_on_pipeline(strategy, epochs)
    return results


def train_on_pipeline(strategy, epochs=2):
    """ALPS on the library's shuffled, augmented pipeline."""
    import contextlib

    import keras

    from kerasrobust.data import make_dataset
    from kerasrobust.training import ALPS

    x, y = data()
    ds = make_dataset(x, y, GLOBAL_BATCH, training=True,
                      augmentation="crop_flip", crop_padding=1, seed=5)
    scope = strategy.scope() if strategy else contextlib.nullcontext()
    with scope:
        model = ALPS(base_model(), seed=1)
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    model.fit(ds, epochs=epochs, verbose=0)
    return model.base_model.get_weights()


CHECKPOINT_EPOCHS = 3


def checkpointed_alps(strategy, directory, pause_at=None, marker=None):
    """ALPS with a ResumableCheckpoint in `directory`, trained to
    `CHECKPOINT_EPOCHS` epochs, resuming from the checkpoint when there is
    one. With `pause_at`, the run stops at the start of that epoch (after
    the checkpoint of the epoch before is written), writes `marker` and
    waits to be killed. Returns the final weights and the epoch it resumed
    from."""
    import contextlib
    import time
    from pathlib import Path

    import keras

    from kerasrobust.callbacks import ResumableCheckpoint
    from kerasrobust.training import ALPS

    class WaitToBeKilled(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == pause_at:
                Path(marker).write_text(str(epoch))
                time.sleep(600)
                raise RuntimeError("was not killed within 600 s")

    with strategy.scope() if strategy else contextlib.nullcontext():
        model = ALPS(base_model(), seed=1, weight_decay=1e-3)
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    ckpt = ResumableCheckpoint(directory)
    model, initial_epoch, _ = ckpt.restore_or(model)
    x, y = data()
    model.fit(x, y, batch_size=GLOBAL_BATCH, shuffle=False, verbose=0,
              epochs=CHECKPOINT_EPOCHS, initial_epoch=initial_epoch,
              callbacks=[ckpt, WaitToBeKilled()])
    return model.base_model.get_weights(), initial_epoch


def worker_rows(strategy):
    """One epoch of the shuffled, augmented pipeline as this worker's
    replicas receive it: `(images, labels)` concatenated over the steps."""
    import numpy as np

    from kerasrobust.data import distribute_dataset
    from kerasrobust.data import make_dataset

    x, y = data()
    ds = make_dataset(x, y, GLOBAL_BATCH, training=True,
                      augmentation="crop_flip", crop_padding=1, seed=5)
    images, labels = [], []
    for xb, yb in distribute_dataset(ds, strategy):
        images += [t.numpy() for t in strategy.experimental_local_results(xb)]
        labels += [t.numpy() for t in strategy.experimental_local_results(yb)]
    return np.concatenate(images), np.concatenate(labels)


def keras_bugs_present(strategy):
    """Whether plain Keras still fails multi-worker: `(build, reduce)`."""
    import keras
    import numpy as np
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as tf_trainer

    x, y = data()
    with strategy.scope():
        plain = keras.Sequential([keras.Input((4, 4, 1)),
                                  keras.layers.Flatten(),
                                  keras.layers.Dense(3)])
        plain.compile("sgd", keras.losses.SparseCategoricalCrossentropy(
            from_logits=True))
    try:
        plain.fit(x, y, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False,
                  verbose=0)
        build_bug = False
    except ValueError as e:
        build_bug = "PerReplica" in str(e)
    try:
        scalar = strategy.run(tf.function(lambda: tf.constant(1.0)))
        tf_trainer.reduce_per_replica(scalar, strategy, "auto")
        reduce_bug = False
    except Exception:  # noqa: BLE001 -- any failure is the bug
        reduce_bug = True
    return np.array([build_bug, reduce_bug])


def save(out, results, **extra):
    """Writes `results` to `out` as one .npz, renamed into place (the test
    reads it while the process may still be running)."""
    import numpy as np

    arrays = dict(extra)
    for key, value in results.items():
        if isinstance(value, (list, tuple)):
            for i, w in enumerate(value):
                arrays[f"{key}/{i}"] = w
        else:
            arrays[key] = value
    tmp = out + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, out)


def main(index, ports, out, checkpoint_dir=None, mode="train"):
    """`mode` "train": every method, then a checkpointed ALPS run that
    waits at epoch 1 to be killed (with `checkpoint_dir`); "resume": only
    the checkpointed run, resumed from `checkpoint_dir`."""
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
        "task": {"type": "worker", "index": index},
    })
    import numpy as np
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    replicas = strategy.num_replicas_in_sync
    if mode == "resume":
        weights, resumed_from = checkpointed_alps(strategy, checkpoint_dir)
        save(out, {"alps/resumed": weights}, replicas=replicas,
             resumed_from=np.array(resumed_from))
        return
    results = train_methods(strategy)
    results["keras_bugs"] = keras_bugs_present(strategy)
    results["pipeline/images"], results["pipeline/labels"] = worker_rows(
        strategy)
    save(out, results, replicas=replicas)
    if checkpoint_dir:
        checkpointed_alps(strategy, checkpoint_dir, pause_at=1,
                          marker=out + ".paused")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main(int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3],
         *sys.argv[4:6])
