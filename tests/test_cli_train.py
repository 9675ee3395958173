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

from kerasrobust.callbacks import ResumableCheckpoint

from kerasrobust.cli import build_parser
from kerasrobust.cli import main
from kerasrobust.data import load_dataset

from helpers import assert_help_documents

FAST = ["train", "--epochs", "2", "--batch-size", "64", "--limit-train",
        "256", "--verbose", "0"]


def test_help_documents_every_option():
    assert_help_documents("train", (
        "--method", "--model", "--dataset", "--epochs", "--resume",
        "--epsilon", "--beta-mode", "--out-dir"))


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
    assert recorded_hyperparameters(metrics) == {
        "epsilon": 0.2, "beta_mode": 0.9, "beta_concentration": 10.0,
        "lambda_sampling": "sample"}
    printed = capsys.readouterr().out
    assert "test error (%)" in printed and "alps" in printed


# Every method hyperparameter flag's name (`dest`).
HYPERPARAMETER_NAMES = {
    "dropout", "label_smoothing", "smoothing_style", "alpha",
    "lambda_sampling", "epsilon", "beta_mode", "beta_concentration", "sigma",
    "num_noise", "lam", "single_draw_per", "adv_epsilon", "adv_steps",
    "warmup_epochs"}


def recorded_hyperparameters(metrics):
    return {k: v for k, v in metrics["config"].items()
            if k in HYPERPARAMETER_NAMES}


@pytest.mark.parametrize("method,flags,recorded", [
    ("erm", [], {}),
    ("dropout", [], {"dropout": 0.5}),
    ("label_smoothing", [], {"label_smoothing": 0.1,
                             "smoothing_style": "paper"}),
    ("mixup", [], {"alpha": 1.0, "lambda_sampling": "batch"}),
    ("gaussian", ["--sigma", "0.5"], {"sigma": 0.5, "num_noise": 1}),
    ("adre", ["--num-noise", "2", "--lam", "0.2"],
     {"lam": 0.2, "sigma": 0.25, "num_noise": 2, "single_draw_per": False}),
    ("smoothadv", ["--adv-steps", "2", "--warmup-epochs", "1"],
     {"sigma": 0.25, "num_noise": 1, "adv_epsilon": 0.25, "adv_steps": 2,
      "warmup_epochs": 1, "single_draw_per": False}),
    ("adre_adv", ["--num-noise", "2", "--adv-epsilon", "0.5"],
     {"lam": 0.1, "sigma": 0.25, "num_noise": 2, "adv_epsilon": 0.5,
      "adv_steps": 1, "warmup_epochs": 0, "single_draw_per": False}),
])
def test_every_method_trains(tmp_path, method, flags, recorded):
    out = tmp_path / method
    assert main(["train", "--method", method, "--epochs", "1",
                 "--limit-train", "128", "--verbose", "0",
                 "--out-dir", str(out)] + flags) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    # Only the method's own hyperparameters are recorded, defaults included.
    assert recorded_hyperparameters(metrics) == recorded
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
    # The checkpoint is one file (model and training state together).
    checkpoint = out / "checkpoint" / "last.keras"
    saved = (checkpoint.read_bytes(), (out / "metrics.json").read_bytes())
    # Settings that contradict the checkpoint (ALPS, epsilon 0.2, seed 0)
    # are refused, each difference named; nothing is written.
    for flags, messages in [
        (["--method", "mixup"],
         ["--method: the checkpoint trained ALPS, --method mixup trains "
          "MixUp"]),
        (["--epsilon", "0.4", "--seed", "1"],
         ["--epsilon: 0.2 in the checkpoint, 0.4 now",
          "--seed: 0 in the checkpoint, 1 now"]),
        (["--beta-concentration", "5", "--weight-decay", "0"],
         ["--beta-concentration: 10.0 in the checkpoint, 5.0 now",
          "--weight-decay: 0.0001 in the checkpoint, 0.0 now"]),
        (["--model", "preact_resnet18"],
         ["--model: 'small_cnn' in the checkpoint, 'preact_resnet18' now"]),
        # The case fails earlier: --epsilon is not mixup's.
        (["--method", "mixup", "--epsilon", "0.4"],
         ["--epsilon does not apply to method 'mixup'"]),
    ]:
        assert main(resumed + flags) == 2, flags
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        for message in messages:
            assert message in err, (message, err)
    assert (checkpoint.read_bytes(),
            (out / "metrics.json").read_bytes()) == saved
    assert main(resumed) == 0
    assert "Resuming from" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]["loss"]) == 2


@pytest.mark.parametrize(
    "flags,match",
    [
        (["--epsilon", "3"], r"`--epsilon` must be in \(0, 2\], got 3.0"),
        (["--beta-mode", "1.5"], r"`--beta-mode` must be in \(0, 1\)"),
        (["--beta-concentration", "2"], r"`--beta-concentration` must be in "
                                        r"\(2, inf\), got 2.0"),
        (["--method", "mixup", "--alpha", "0"], r"`--alpha` must be in"),
        (["--epochs", "0"], r"`--epochs` must be in \[1"),
        (["--batch-size", "0"], r"`--batch-size` must be in \[1"),
        (["--method", "gaussian", "--sigma", "0"], r"`--sigma` must be in"),
        (["--method", "adre", "--num-noise", "0"], r"`--num-noise` must be"),
        (["--method", "adre", "--lam", "-1"], r"`--lam` must be in \[0"),
        (["--method", "smoothadv", "--adv-epsilon", "-1"],
         r"`--adv-epsilon` must be in \[0, inf\), got -1.0"),
        (["--method", "smoothadv", "--adv-steps", "0"],
         r"`--adv-steps` must be"),
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


@pytest.mark.parametrize("flags,message", [
    # The cases: silently ignored and recorded before.
    (["--method", "smoothadv", "--epsilon", "0.5"],
     "--epsilon does not apply to method 'smoothadv' (it applies to "
     "'alps'); 'smoothadv' takes: --sigma, --num-noise, --adv-epsilon, "
     "--adv-steps, --warmup-epochs, --single-draw-per."),
    (["--method", "gaussian", "--lam", "0.3"],
     "--lam does not apply to method 'gaussian' (it applies to 'adre', "
     "'adre_adv'); 'gaussian' takes: --sigma, --num-noise."),
    (["--method", "erm", "--dropout", "0.3"],
     "--dropout does not apply to method 'erm' (it applies to 'dropout'); "
     "'erm' takes: none."),
    (["--alpha", "0.5"],
     "--alpha does not apply to method 'alps' (it applies to 'mixup'); "
     "'alps' takes: --epsilon, --beta-mode, --beta-concentration, "
     "--lambda-sampling."),
    (["--method", "mixup", "--single-draw-per"],
     "--single-draw-per does not apply to method 'mixup' (it applies to "
     "'adre', 'smoothadv', 'adre_adv')"),
])
def test_flags_of_another_method_are_errors(tmp_path, capsys, flags,
                                            message):
    out = tmp_path / "run"
    assert main(["train", "--out-dir", str(out)] + flags) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kerasrobust train: error: " + message), err
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_help_shows_each_methods_declared_default():
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    helps = {a.option_strings[0]: a.help for a in train._actions
             if a.option_strings}
    assert helps["--epsilon"] == (
        "ALPS: L1 radius of the label perturbation, allowed (0, 2]. "
        "Default: 0.2 for --method alps. Source: ALPS paper, Section 5.1: "
        "(0, 0.5), searched 0.01 inside; the label ball of Theorem 1 allows "
        "(0, 2]")
    expected = {
        "--beta-mode": "Default: 0.9 for --method alps.",
        "--beta-concentration": "Default: 10 for --method alps.",
        "--alpha": "Default: 1 for --method mixup.",
        "--lambda-sampling": "Default: batch for --method mixup; sample "
                             "for --method alps.",
        "--label-smoothing": "Default: 0.1 for --method label_smoothing.",
        "--dropout": "Default: 0.5 for --method dropout.",
        "--sigma": "Default: 0.25 for --method gaussian, adre, smoothadv, "
                   "adre_adv.",
        "--num-noise": "Default: 1 for --method gaussian, smoothadv, "
                       "adre_adv; 8 for --method adre.",
        "--lam": "Default: 0.1 for --method adre, adre_adv.",
        "--single-draw-per": "Default: off for --method adre, smoothadv, "
                             "adre_adv.",
        "--adv-epsilon": "Default: 0.25 for --method smoothadv, adre_adv.",
        "--adv-steps": "Default: 1 for --method smoothadv, adre_adv.",
        "--warmup-epochs": "Default: 0 for --method smoothadv, adre_adv.",
    }
    for option, text in expected.items():
        assert text in helps[option], (option, helps[option])
    assert "integers in [1, inf)" in helps["--num-noise"]
    # argparse adds no "(default: None)": the flags are unset by default.
    rendered = train.format_help()
    section = rendered[rendered.index("method hyperparameters (ALPS paper)"):
                       rendered.index("optimization (paper recipe)")]
    assert "--adv-epsilon" in section and "(default:" not in section


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
    state = out / "checkpoint" / "last.keras"
    deadline = time.time() + 120
    while not state.exists() and time.time() < deadline:
        time.sleep(0.2)
    assert state.exists(), "no checkpoint was written"
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = ResumableCheckpoint.read_state(out / "checkpoint")[0]
    assert 1 <= done < 40
    epochs = command.index("--epochs") + 1
    command[epochs] = str(done + 1)
    result = subprocess.run(command + ["--resume"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"Resuming from {out / 'checkpoint'}: {done} of" in result.stdout
