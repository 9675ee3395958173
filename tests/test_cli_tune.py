"""`kerasrobust tune`: the search, its outputs, resume, and bad input."""

import importlib.util
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasrobust.cli import build_parser
from kerasrobust.cli import main
from kerasrobust.data import load_dataset

from helpers import assert_help_documents

FAST = ["tune", "--epochs", "1", "--batch-size", "64", "--limit-train",
        "128", "--max-trials", "2", "--verbose", "0"]
TUNING_DIR = Path(__file__).resolve().parents[1] / "tuning"


def results(out):
    return json.loads((out / "best_hyperparameters.json").read_text())


def test_help_documents_every_option():
    tune = assert_help_documents("tune", (
        "--method", "--objective", "--max-trials", "--tuner", "--space",
        "--dataset", "--epochs", "--out-dir", "--resume", "--radius"))
    # The fixed (not searched) method settings, with each method's default.
    helps = {a.option_strings[0]: a.help for a in tune._actions
             if a.option_strings}
    assert "Default: batch for --method mixup; sample for --method alps." in (
        helps["--lambda-sampling"])
    assert "Default: 0 for --method smoothadv, adre_adv." in (
        helps["--warmup-epochs"])
    assert "Default: off for --method adre, smoothadv, adre_adv." in (
        helps["--single-draw-per"])
    # Searched hyperparameters go through --space; --alpha stays the
    # certification's failure probability.
    assert "--epsilon" not in helps and "--sigma" not in helps
    assert "failure probability" in helps["--alpha"]


def test_tune_prints_and_saves_the_best(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(FAST + ["--out-dir", str(out)]) == 0
    summary = results(out)
    assert summary["method"] == "alps" and summary["num_trials"] == 2
    assert summary["objective"] == {"name": "val_accuracy",
                                    "direction": "max"}
    values = summary["hyperparameters"]
    assert 0.01 <= values["epsilon"] <= 0.49
    assert 0.76 <= values["beta_mode"] <= 0.99
    # The saved wrapper carries the best hyperparameters.
    wrapper = keras.saving.load_model(out / "best_model.keras")
    assert type(wrapper).__name__ == "ALPS"
    assert wrapper.epsilon == pytest.approx(values["epsilon"])
    assert wrapper.beta_mode == pytest.approx(values["beta_mode"])
    # Recompute the test accuracy independently from the saved classifier.
    base = keras.saving.load_model(out / "best_base_model.keras")
    data = load_dataset("digits")
    predicted = np.asarray(base.predict(data.x_test, verbose=0)).argmax(1)
    assert summary["test_accuracy"] == pytest.approx(
        (predicted == data.y_test).mean(), abs=1e-6)
    assert summary["train_size"] == 128 and summary["val_size"] == 287
    printed = capsys.readouterr().out
    assert "Best hyperparameters" in printed
    assert re.search(r"^epsilon +\| ", printed, re.M)
    assert f"{values['epsilon']:.4g}" in printed
    assert f"{summary['best_value']:.4g}" in printed


def test_refuses_an_existing_search_then_resumes_or_overwrites(tmp_path,
                                                                capsys):
    out = tmp_path / "run"
    args = FAST + ["--out-dir", str(out), "--max-trials", "1"]
    assert main(args) == 0
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and "--overwrite" in err
    assert main(args + ["--resume", "--max-trials", "2"]) == 0
    assert results(out)["num_trials"] == 2
    assert main(args + ["--overwrite"]) == 0
    assert results(out)["num_trials"] == 1


@pytest.mark.parametrize("flags,key", [
    (["--method", "gaussian", "--objective", "acr", "--n0", "10", "--n",
      "50", "--eval-examples", "20"], "val_acr"),
    (["--method", "mixup", "--objective", "robust_accuracy", "--attack",
      "fgsm", "--eval-examples", "50"], "val_fgsm_accuracy"),
    (["--method", "adre", "--tuner", "hyperband", "--epochs", "2",
      "--space", "num_noise=1,2", "--space", "sigma=0.25",
      "--objective", "val_loss"], "val_loss"),
])
def test_other_objectives_methods_and_tuners(tmp_path, flags, key):
    out = tmp_path / "run"
    assert main(FAST + ["--out-dir", str(out)] + flags) == 0
    summary = results(out)
    assert summary["objective"]["name"] == key
    assert np.isfinite(summary["best_value"])
    if "--space" in flags:
        assert summary["hyperparameters"]["sigma"] == 0.25
        assert summary["hyperparameters"]["num_noise"] in (1, 2)
        assert summary["search_space"]["num_noise"] == [1, 2]


@pytest.mark.parametrize("flags,message", [
    (["--space", "beta_mode=0.8:1.0"],
     r"`search_space\['beta_mode'\]\.high` must be in \(0, 1\), got 1.0"),
    (["--space", "foo=1"], r"'foo'.*'alps'"),
    (["--space", "epsilon=abc"], r"--space epsilon: expected a number"),
    (["--space", "epsilon"], r"--space takes NAME=VALUE"),
    (["--space", "epsilon=0.1", "--space", "epsilon=0.2"], r"twice"),
    (["--method", "adre", "--space", "sigma=0"],
     r"`search_space\['sigma'\]` must be in \(0, inf\)"),
    (["--max-trials", "0"], r"`--max-trials` must be in \[1"),
    (["--objective", "acr"], r"'acr'.*'alps'.*sigma"),
    (["--eval-examples", "5"], r"'val_accuracy' does not take num_examples"),
    (["--val-fraction", "1"], r"`--val-fraction` must be in \(0, 1\)"),
    (["--resume", "--overwrite"], r"exclude each other"),
    # Fixed method settings of another method (ignored before).
    (["--single-draw-per"],
     r"--single-draw-per does not apply to method 'alps' \(it applies to "
     r"'adre', 'smoothadv', 'adre_adv'\)"),
    (["--method", "adre", "--warmup-epochs", "1"],
     r"--warmup-epochs does not apply to method 'adre' \(it applies to "
     r"'smoothadv', 'adre_adv'\); 'adre' takes: --single-draw-per\.$"),
    (["--method", "alps", "--lambda-sampling", "batch", "--space",
      "sigma=0.5"], r"'sigma'.*'alps'"),
    (["--method", "smoothadv", "--warmup-epochs", "2"],
     r"`--warmup-epochs` must be in \[0, 1\], got 2"),
])
def test_bad_values_exit_2_with_one_line(tmp_path, capsys, flags, message):
    out = tmp_path / "run"
    assert main(FAST + ["--out-dir", str(out)] + flags) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kerasrobust tune: error: ")
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err
    assert not out.exists()


# ------------------------------------------------------- tuning/ scripts
def load_script(name):
    spec = importlib.util.spec_from_file_location(
        f"tuning_{name}", TUNING_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name,paper_flags", [
    ("alps_cifar10", {"--model": "preact_resnet18", "--epochs": "200",
                      "--dataset": "cifar10", "--method": "alps"}),
    ("adre_cifar10", {"--model": "cifar_resnet110", "--epochs": "150",
                      "--batch-size": "400", "--method": "adre"}),
])
def test_tuning_scripts_build_valid_commands(name, paper_flags):
    script = load_script(name)
    parser = build_parser()
    for extra in ([], ["--paper"], ["--max-trials", "4"]):
        argv = script.command(extra)
        args = parser.parse_args(argv)
        assert args.command == "tune"
    paper = script.command(["--paper"])
    for flag, value in paper_flags.items():
        assert paper[paper.index(flag) + 1] == value
    # A flag given on the command line wins over the preset.
    args = parser.parse_args(script.command(["--max-trials", "4"]))
    assert args.max_trials == 4


@pytest.mark.large
@pytest.mark.parametrize("name", ["alps_cifar10", "adre_cifar10"])
def test_tuning_scripts_run_on_the_cifar10_subset(name, shared_data_dir,
                                                  tmp_path, monkeypatch):
    monkeypatch.setenv("KERASROBUST_DATA_DIR", str(shared_data_dir))
    script = load_script(name)
    out = tmp_path / name
    assert script.main(["--out-dir", str(out), "--max-trials", "2"]) == 0
    assert (out / "best_model.keras").is_file()
    assert results(out)["num_trials"] == 2


def test_resume_with_other_settings_is_an_error(tmp_path, capsys):
    """The stored settings of a search are compared on --resume (checked
    before any data is loaded or any trial runs)."""
    import kerasrobust.cli.tune as tune_cli

    out = tmp_path / "run"
    flags = FAST + ["--out-dir", str(out)]
    args = build_parser().parse_args(flags)
    (out / "search").mkdir(parents=True)
    (out / "search" / "oracle.json").write_text("{}")
    settings = tune_cli.search_settings(args)
    assert settings["epochs"] == 1 and settings["method"] == "alps"
    assert "max_trials" not in settings and "resume" not in settings
    (out / tune_cli.SETTINGS_FILE).write_text(json.dumps(settings))
    before = sorted(p.name for p in out.rglob("*"))
    assert main(flags + ["--resume", "--epochs", "2", "--method",
                         "mixup"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--epochs 1 -> 2" in err
    assert "--method 'alps' -> 'mixup'" in err
    assert "--max-trials" not in err
    assert sorted(p.name for p in out.rglob("*")) == before
