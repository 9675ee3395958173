"""`kerasrobust train`: the main job, resume, and bad input."""

import json
import re
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasrobust.cli import build_parser
from kerasrobust.cli import main
from kerasrobust.data import load_dataset

FAST = ["train", "--epochs", "2", "--batch-size", "64", "--limit-train",
        "256", "--verbose", "0"]


def test_help_documents_every_option():
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    for action in train._actions:
        if action.dest != "help":
            assert action.help, f"option {action.option_strings} has no help"
    text = train.format_help()
    for flag in ("--method", "--model", "--dataset", "--epochs", "--resume",
                 "--epsilon", "--beta-mode", "--out-dir"):
        assert flag in text


def test_train_writes_model_and_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(FAST + ["--out-dir", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["method"] == "alps" and metrics["epochs"] == 2
    assert len(metrics["history"]["loss"]) == 2
    # Recompute the test accuracy independently from the saved base model.
    base = keras.saving.load_model(out / "base_model.keras")
    data = load_dataset("digits")
    predicted = np.asarray(base.predict(data.x_test, verbose=0)).argmax(1)
    assert metrics["test_accuracy"] == pytest.approx(
        (predicted == data.y_test).mean(), abs=1e-6)
    wrapper = keras.saving.load_model(out / "model.keras")
    assert type(wrapper).__name__ == "ALPS"
    printed = capsys.readouterr().out
    assert "test error (%)" in printed and "alps" in printed


@pytest.mark.parametrize("method,flags", [
    ("erm", []), ("dropout", []), ("label_smoothing", []), ("mixup", []),
    ("gaussian", ["--sigma", "0.5"]),
    ("adre", ["--num-noise", "2", "--lam", "0.2"]),
    ("smoothadv", ["--adv-steps", "2", "--warmup-epochs", "1"]),
    ("adre_adv", ["--num-noise", "2", "--adv-epsilon", "0.5"]),
])
def test_every_method_trains(tmp_path, method, flags):
    out = tmp_path / method
    assert main(["train", "--method", method, "--epochs", "1",
                 "--limit-train", "128", "--verbose", "0",
                 "--out-dir", str(out)] + flags) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    if method == "dropout":
        base = keras.saving.load_model(out / "base_model.keras")
        assert base.get_layer("dropout").rate == 0.5


def test_refuses_to_overwrite_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--epochs", "1", "--limit-train", "128", "--verbose",
            "0", "--out-dir", str(out)]
    assert main(args) == 0
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err
    resumed = ["train", "--epochs", "2", "--limit-train", "128",
               "--verbose", "0", "--out-dir", str(out), "--resume"]
    assert main(resumed) == 0
    assert "Resuming from" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]["loss"]) == 2


@pytest.mark.parametrize(
    "flags,match",
    [
        (["--epsilon", "3"], r"`--epsilon` must be in \(0, 2\], got 3.0"),
        (["--beta-mode", "1.5"], r"`--beta-mode` must be in \(0, 1\)"),
        (["--beta-concentration", "2"], r"`--beta-concentration`"),
        (["--method", "mixup", "--alpha", "0"], r"`--alpha` must be in"),
        (["--epochs", "0"], r"`--epochs` must be in \[1"),
        (["--batch-size", "0"], r"`--batch-size` must be in \[1"),
        (["--method", "gaussian", "--sigma", "0"], r"`--sigma` must be in"),
        (["--method", "adre", "--num-noise", "0"], r"`--num-noise` must be"),
        (["--method", "adre", "--lam", "-1"], r"`--lam` must be in \[0"),
        (["--method", "smoothadv", "--adv-epsilon", "-1"], r"`--adv-epsilon`"),
        (["--method", "smoothadv", "--adv-steps", "0"], r"`--adv-steps` must be"),
        (["--method", "smoothadv", "--lam", "0.1"], r"'adre_adv'"),
        (["--method", "adre_adv", "--epochs", "2", "--warmup-epochs", "3"],
         r"`--warmup-epochs` \(3\) must not exceed `--epochs` \(2\)"),
    ],
)
def test_bad_hyperparameters_fail_before_training(tmp_path, capsys, flags,
                                                  match):
    out = tmp_path / "run"
    assert main(["train", "--out-dir", str(out)] + flags) == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err
    assert not out.exists()


def test_unavailable_tfds_dataset_says_how_to_provide_it(tmp_path, capsys):
    start = time.time()
    assert main(["train", "--dataset", "cifar10", "--data-dir",
                 str(tmp_path / "tfds"), "--out-dir",
                 str(tmp_path / "run")]) == 2
    assert time.time() - start < 30
    assert "download" in capsys.readouterr().err


def test_killed_run_resumes_from_last_checkpoint(tmp_path):
    """SIGKILL a real training process after its first checkpoint, then
    resume: at most the epoch in flight is lost."""
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    command = [sys.executable, "-m", "kerasrobust", "train", "--epochs",
               "40", "--limit-train", "256", "--verbose", "0", "--out-dir",
               str(out)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    state = out / "checkpoint" / "state.json"
    deadline = time.time() + 120
    while not state.exists() and time.time() < deadline:
        time.sleep(0.2)
    assert state.exists(), "no checkpoint was written"
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = json.loads(state.read_text())["epochs_done"]
    assert 1 <= done < 40
    epochs = command.index("--epochs") + 1
    command[epochs] = str(done + 1)
    result = subprocess.run(command + ["--resume"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"Resuming from {out / 'checkpoint'}: {done} of" in result.stdout
