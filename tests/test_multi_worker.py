"""Multi-worker training: two worker processes on 127.0.0.1 (TF_CONFIG).

Both workers must end with identical weights, equal to one process
training on the same global batches without a strategy, for every method,
on NumPy arrays and on the library's shuffled, augmented pipeline. The same
run checks that Keras still has the two multi-worker bugs the trainer works
around (keras-team/keras#20585 and `reduce_per_replica`'s `axis=0` on
scalar logs); when Keras fixes them, the canary fails and says to remove the
workarounds in `RobustTrainer`.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import multi_worker_job as job
from kerasrobust.callbacks import ResumableCheckpoint

ROOT = Path(__file__).resolve().parents[1]


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(script_args, tmp_path, timeout=600):
    """Starts two worker processes of `tests/<script>`; returns their
    output files after both exit 0."""
    ports = ",".join(str(p) for p in free_ports(2))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    env.pop("TF_CONFIG", None)
    outs = [tmp_path / f"worker{i}.npz" for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, *script_args(i, ports, outs[i])],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        for i in range(2)
    ]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=timeout)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-3000:]
    return [np.load(o) for o in outs]


@pytest.fixture(scope="module")
def worker_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multi_worker")
    script = str(ROOT / "tests" / "multi_worker_job.py")
    ckpt = tmp / "checkpoint"
    return run_workers(lambda i, ports, out: [script, str(i), ports,
                                              str(out), str(ckpt)], tmp)


@pytest.fixture(scope="module")
def reference():
    # The workers never set TensorFlow's global seed; earlier tests in this
    # process may have (keras.utils.set_random_seed), and tf.data combines
    # it with the pipeline's own seed (see make_dataset). Unset it so the
    # reference sees the same shuffle order as the workers.
    tf.random.set_seed(None)
    return job.train_methods(None)


def test_two_workers_train_like_one_process(worker_results, reference):
    w0, w1 = worker_results
    assert int(w0["replicas"]) == 2
    for key in job.METHODS + ("alps/dataset",):
        ref = reference[key]
        for i, expected in enumerate(ref):
            a, b = w0[f"{key}/{i}"], w1[f"{key}/{i}"]
            np.testing.assert_array_equal(a, b, err_msg=key)
            np.testing.assert_allclose(a, expected, atol=1e-4, err_msg=key)
        # Training moved the weights: the comparison is not trivial.
        assert not np.allclose(ref[0], job.base_model().get_weights()[0],
                               atol=1e-3)
    for method in job.METHODS:
        np.testing.assert_allclose(w0[method + "/eval"],
                                   reference[method + "/eval"], atol=1e-4)


def test_keras_still_has_the_worked_around_bugs(worker_results):
    build_bug, reduce_bug = worker_results[0]["keras_bugs"]
    assert build_bug, (
        "Keras now builds multi-worker models (keras-team/keras#20585 is "
        "fixed): remove RobustTrainer._maybe_symbolic_build's workaround.")
    assert reduce_bug, (
        "Keras now reduces scalar logs multi-worker: remove "
        "`reducible_logs` from RobustTrainer.train_step/test_step.")


def test_train_cli_multiworker(tmp_path):
    """`kerasrobust train --distribute multiworker` as the README runs it:
    two processes, the chief writes the outputs, the other nothing."""
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    out = tmp_path / "run"
    base_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                    PYTHONPATH=str(ROOT))
    procs = []
    for index in range(2):
        env = dict(base_env, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "kerasrobust", "train", "--distribute",
             "multiworker", "--epochs", "1", "--limit-train", "64",
             "--batch-size", "32", "--verbose", "0", "--out-dir", str(out)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True))
    logs = [p.communicate(timeout=600)[0] for p in procs]
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-3000:]
    assert "the chief worker writes the outputs" in logs[1]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["machine"]["replicas"] == 2
    assert ResumableCheckpoint.read_state(out / "checkpoint")[0] == 1


def test_train_cli_multiworker_needs_tf_config(monkeypatch, capsys):
    from kerasrobust.cli import main

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(["train", "--distribute", "multiworker", "--epochs", "1"]) == 2
    assert "TF_CONFIG" in capsys.readouterr().err
    monkeypatch.setenv("TF_CONFIG", "{not json")
    assert main(["train", "--distribute", "multiworker", "--epochs", "1"]) == 2
    assert "TF_CONFIG must be JSON" in capsys.readouterr().err


def test_interrupted_multi_worker_run_resumes_to_the_same_weights(
        worker_results, tmp_path):
    """Both workers stop at epoch 2, restore from the chief's checkpoint
    (the only one written) and finish: the weights equal an uninterrupted
    single-process run of 3 epochs."""
    import keras

    from kerasrobust.training import ALPS

    x, y = job.data()
    straight = ALPS(job.base_model(), seed=1, weight_decay=1e-3)
    straight.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    straight.fit(x, y, batch_size=job.GLOBAL_BATCH, epochs=3, shuffle=False,
                 verbose=0)
    for w in worker_results:
        assert int(w["resumed_from"]) == 2
        for i, expected in enumerate(straight.base_model.get_weights()):
            np.testing.assert_allclose(w[f"alps/resumed/{i}"], expected,
                                       atol=1e-4)
