"""The `kerasrobust` command itself (kerasrobust/cli/__init__.py): fast
start, quiet output, one-line errors with exit status 2, flag names."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kerasrobust.cli import COMMANDS
from kerasrobust.cli import error_message
from kerasrobust.cli import main

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def _run(code, timeout=120):
    return subprocess.run([sys.executable, "-c", code], env=ENV, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("argv", [["--help"], ["--version"]] + [
    [command, "--help"] for command in COMMANDS])
def test_help_and_version_do_not_import_tensorflow(argv):
    # What the console script does: argv[0] is the `kerasrobust` script.
    code = (
        "import sys, time\n"
        "sys.argv = ['/usr/bin/kerasrobust'] + %r\n"
        "start = time.time()\n"
        "from kerasrobust.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('TF', 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
        "print('SECONDS', time.time() - start)\n" % argv)
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert "TF False False" in result.stdout
    seconds = float(result.stdout.split("SECONDS")[1])
    # Importing TensorFlow alone takes 4-7 s on this machine.
    assert seconds < 2.0
    if argv == ["--version"]:
        assert "kerasrobust 0.1.0" in result.stdout
    elif argv == ["--help"]:
        for name in COMMANDS:
            assert f"    {name}" in result.stdout
    else:
        # The whole help of the command, choices and method flags included.
        assert f"usage: kerasrobust {argv[0]}" in result.stdout
        assert HELP_MARKS[argv[0]] in " ".join(result.stdout.split())


#: Text each command's help shows that needs the library's declarations.
HELP_MARKS = {
    "train": "--method {erm,dropout,", "certify": "--sampling-precision "
    "{float32,mixed_bfloat16,mixed_float16}", "attack": "--dataset "
    "{digits,cifar10,", "tune": "--objective {val_accuracy,",
    "export": "--sigma", "analyze": "--confidence"}


def test_command_line_names_match_the_library():
    """kerasrobust._names lists, without TensorFlow, the names the library
    builds in its packages (the choices --help shows)."""
    import kerasrobust
    from kerasrobust import _names

    assert _names.DATASET_NAMES == kerasrobust.data.DATASET_NAMES
    assert _names.MODEL_NAMES == tuple(kerasrobust.models.MODELS)
    assert _names.OBJECTIVES == kerasrobust.tuning.OBJECTIVES
    assert _names.TUNERS == tuple(kerasrobust.tuning.TUNERS)
    assert _names.CERTIFY_METHODS == kerasrobust.smoothing.certify.METHODS
    assert (_names.SAMPLING_PRECISIONS
            == kerasrobust.SmoothedClassifier.SAMPLING_PRECISIONS)


def test_python_dash_m_is_fast_too():
    start = time.time()
    result = subprocess.run([sys.executable, "-m", "kerasrobust", "--help"],
                            env=ENV, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "COMMAND" in result.stdout
    assert time.time() - start < 3.0


def test_plain_import_still_registers_everything():
    result = _run("import sys, kerasrobust\n"
                  "print('kerasrobust.training' in sys.modules, "
                  "'kerasrobust.smoothing' in sys.modules, "
                  "kerasrobust.SmoothedClassifier.__name__)")
    assert result.stdout.split() == ["True", "True", "SmoothedClassifier"]


def test_errors_are_one_quiet_line_unless_verbose(tmp_path):
    """TensorFlow is loaded (the attack command imports the library) but
    none of its C++ start-up lines reach stderr."""
    missing = str(tmp_path / "missing.keras")
    command = [sys.executable, "-m", "kerasrobust", "attack", "--model",
               missing]
    env = {k: v for k, v in ENV.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run(command, env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert quiet.returncode == 2
    assert quiet.stderr.splitlines() == [
        f"kerasrobust attack: error: --model {missing}: no such file."]
    verbose = subprocess.run(
        command[:3] + ["--verbose"] + command[3:], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=300)
    assert verbose.returncode == 2
    assert quiet.stderr.strip() in verbose.stderr


def test_error_messages_name_flags_and_files():
    flags = {"step_size": "--step-size", "epsilon": "--epsilon"}
    assert error_message(ValueError("`step_size` must be in (0, inf), got "
                                    "-1; `epsilon`=2."), flags) == (
        "`--step-size` must be in (0, inf), got -1; `--epsilon`=2.")
    # Only quoted names are renamed.
    assert error_message(ValueError("epsilon too big"), flags) == (
        "epsilon too big")
    error = NotADirectoryError(20, "Not a directory", "runs/x/checkpoint")
    assert error_message(error) == "Not a directory: runs/x/checkpoint"
    assert error_message(EOFError("Compressed file ended")).startswith(
        "file ended early (truncated or corrupt)")


def test_flag_names_follow_what_was_typed():
    from kerasrobust.cli import build_parser
    from kerasrobust.cli import flag_names

    train = build_parser("train")._subparsers._group_actions[0].choices[
        "train"]
    names = flag_names(train, ["--method", "smoothadv", "--adv-epsilon",
                               "-1", "--adv-steps=0"])
    assert names["epsilon"] == "--adv-epsilon"
    assert names["steps"] == "--adv-steps"
    assert names["adv_epsilon"] == "--adv-epsilon"
    assert "sigma" not in names  # not given: nothing to rename


@pytest.mark.parametrize("verbose", [False, True])
def test_keras_shuffle_warning_only_with_verbose(tmp_path, verbose):
    import warnings

    argv = ["train", "--epochs", "1", "--limit-train", "64", "--verbose",
            "0", "--out-dir", str(tmp_path / "run")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main((["--verbose"] if verbose else []) + argv) == 0
    shuffle = [w for w in caught if "shuffle=True" in str(w.message)]
    assert bool(shuffle) == verbose
