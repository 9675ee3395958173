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
import signal
import socket
import subprocess
import sys
import time
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


def start_workers(script_args, tmp_path, name):
    """Starts two worker processes (`python *script_args(i, ports, out)`)
    on two free ports; returns `(processes, outputs, logs)`. Output goes to
    log files (a pipe left unread would block a chatty worker)."""
    ports = ",".join(str(p) for p in free_ports(2))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    env.pop("TF_CONFIG", None)
    outs = [tmp_path / f"{name}{i}.npz" for i in range(2)]
    logs = [tmp_path / f"{name}{i}.log" for i in range(2)]
    procs = []
    for i in range(2):
        with open(logs[i], "w") as log:
            procs.append(subprocess.Popen(
                [sys.executable, *script_args(i, ports, str(outs[i]))],
                env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs, outs, logs


def _tail(log):
    return Path(log).read_text()[-3000:]


def run_workers(script_args, tmp_path, name="worker", timeout=600):
    """Runs two worker processes to the end; returns their outputs."""
    procs, outs, logs = start_workers(script_args, tmp_path, name)
    try:
        for p in procs:
            p.wait(timeout=timeout)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, log in zip(procs, logs):
        assert p.returncode == 0, _tail(log)
    return [np.load(o) for o in outs]


SCRIPT = str(ROOT / "tests" / "multi_worker_job.py")


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    """The two workers train every method, save the results, start a
    checkpointed ALPS run and wait after its epoch-1 checkpoint; then both
    are killed with SIGKILL. Returns `(results, checkpoint dir, tmp)`."""
    tmp = tmp_path_factory.mktemp("multi_worker")
    ckpt = tmp / "checkpoint"
    procs, outs, logs = start_workers(
        lambda i, ports, out: [SCRIPT, str(i), ports, out, str(ckpt)], tmp,
        "worker")
    paused = [Path(str(o) + ".paused") for o in outs]
    deadline = time.monotonic() + 600
    try:
        while not (all(p.exists() for p in paused + outs)
                   and ResumableCheckpoint.exists(ckpt)):
            for p, log in zip(procs, logs):
                assert p.poll() is None, (
                    f"worker exited with {p.returncode} before the kill:\n"
                    + _tail(log))
            assert time.monotonic() < deadline, "workers took over 600 s"
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        for p in procs:
            p.wait(timeout=60)
    assert [p.returncode for p in procs] == [-signal.SIGKILL] * 2
    return [np.load(o) for o in outs], ckpt, tmp


@pytest.fixture(scope="module")
def worker_results(killed_run):
    return killed_run[0]


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


def test_killed_multi_worker_run_resumes_to_the_same_weights(killed_run):
    """Two workers were killed (SIGKILL) during epoch 2 of a checkpointed
    ALPS run; two new processes resume from the chief's checkpoint (the
    only one written) and finish. Their weights equal an uninterrupted
    single-process run of the same epochs."""
    import keras

    from kerasrobust.training import ALPS

    _, ckpt, tmp = killed_run
    assert ResumableCheckpoint.read_state(ckpt)[0] == 1
    at_kill = keras.saving.load_model(ckpt / "last.keras")
    resumed = run_workers(
        lambda i, ports, out: [SCRIPT, str(i), ports, out, str(ckpt),
                               "resume"], tmp, "resumed")
    x, y = job.data()
    straight = ALPS(job.base_model(), seed=1, weight_decay=1e-3)
    straight.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    straight.fit(x, y, batch_size=job.GLOBAL_BATCH,
                 epochs=job.CHECKPOINT_EPOCHS, shuffle=False, verbose=0)
    expected = straight.base_model.get_weights()
    for w in resumed:
        assert int(w["resumed_from"]) == 1
        for i, e in enumerate(expected):
            np.testing.assert_allclose(w[f"alps/resumed/{i}"], e, atol=1e-4)
    # Resuming mattered: the checkpoint's weights are not the final ones.
    assert not np.allclose(at_kill.base_model.get_weights()[0], expected[0],
                           atol=1e-3)
    assert ResumableCheckpoint.read_state(ckpt)[0] == job.CHECKPOINT_EPOCHS


def test_each_worker_receives_its_rows_of_the_global_batches(
        worker_results):
    """The library's pipeline under fit's per-worker path: worker k gets
    the k-th half of every global batch of the single-process pipeline
    (shuffle, crops and flips included), and only that half."""
    from kerasrobust.data import make_dataset

    tf.random.set_seed(None)  # as in the workers (see `reference`)
    x, y = job.data()
    ds = make_dataset(x, y, job.GLOBAL_BATCH, training=True,
                      augmentation="crop_flip", crop_padding=1, seed=5)
    batches = [(xb.numpy(), yb.numpy()) for xb, yb in ds]
    half = job.GLOBAL_BATCH // 2
    for k, w in enumerate(worker_results):
        expected_x = np.concatenate([xb[k * half:(k + 1) * half]
                                     for xb, _ in batches])
        expected_y = np.concatenate([yb[k * half:(k + 1) * half]
                                     for _, yb in batches])
        np.testing.assert_array_equal(w["pipeline/labels"], expected_y)
        np.testing.assert_array_equal(w["pipeline/images"], expected_x)
    # The pipeline augments: most rows are not one of the stored images.
    images = worker_results[0]["pipeline/images"]
    unchanged = sum(any(np.array_equal(im, xi) for xi in x) for im in images)
    assert unchanged < len(images) / 2
