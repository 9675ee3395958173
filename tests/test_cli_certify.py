"""`kerasrobust certify`: Cohen's TSV, the summary, the plot, errors."""

import keras
import numpy as np
import pytest

from kerasrobust.cli import build_parser
from kerasrobust.cli import main
from kerasrobust.data import load_dataset
from kerasrobust.smoothing import read_certify_tsv

from helpers import tiny_base_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A tiny untrained 10-class model on the 8x8x1 digits, saved."""
    path = tmp_path_factory.mktemp("model") / "base.keras"
    tiny_base_model(input_shape=(8, 8, 1), num_classes=10, seed=0).save(path)
    return path


def certify_args(model_path, tmp_path, *extra):
    return ["certify", "--model", str(model_path), "--dataset", "digits",
            "--limit", "5", "--n0", "10", "--n", "100", "--sigma", "0.25",
            "--out", str(tmp_path / "tmp.tsv"), "--plot",
            str(tmp_path / "tmp.png"), "--verbose", "0", *extra]


def test_help_documents_every_option():
    parser = build_parser()
    certify = parser._subparsers._group_actions[0].choices["certify"]
    for action in certify._actions:
        if action.dest != "help":
            assert action.help, f"option {action.option_strings} has no help"
    text = certify.format_help()
    for flag in ("--model", "--dataset", "--sigma", "--n0", "--n ", "--alpha",
                 "--method", "--out", "--plot", "--limit", "--skip",
                 "--batch-size", "--data-dir", "--seed"):
        assert flag in text


@pytest.mark.parametrize("method", ["cohen", "tight"])
def test_certify_writes_tsv_plot_and_summary(model_path, tmp_path, capsys,
                                             method):
    args = certify_args(model_path, tmp_path, "--method", method, "--skip",
                        "3", "--seed", "1")
    assert main(args) == 0
    lines = (tmp_path / "tmp.tsv").read_text().splitlines()
    assert lines[0] == "idx\tlabel\tpredict\tradius\tcorrect\ttime"
    assert len(lines) == 6
    rows = read_certify_tsv(tmp_path / "tmp.tsv")
    data = load_dataset("digits")
    assert [r["idx"] for r in rows] == [0, 3, 6, 9, 12]   # every 3rd image
    assert [r["label"] for r in rows] == data.y_test[[0, 3, 6, 9, 12]].tolist()
    for r in rows:
        assert r["correct"] == int(r["predict"] == r["label"])
        assert r["radius"] >= 0 and (r["predict"] != -1 or r["radius"] == 0)
        assert -1 <= r["predict"] < 10
    png = (tmp_path / "tmp.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "radius" in printed and "0.25" in printed
    acr = np.mean([r["radius"] * r["correct"] for r in rows])
    assert f"average certified radius (ACR): {acr:.4f}" in printed


def test_same_seed_same_log_and_wrapper_models(model_path, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(certify_args(model_path, first)) == 0
    # A training wrapper's .keras file certifies its base model.
    from kerasrobust.training import ERM

    wrapper = ERM(keras.saving.load_model(model_path))
    wrapper.compile(optimizer="sgd")
    wrapper(np.zeros((1, 8, 8, 1), np.float32))
    wrapper.save(tmp_path / "wrapper.keras")
    assert main(certify_args(tmp_path / "wrapper.keras", second)) == 0
    a, b = read_certify_tsv(first / "tmp.tsv"), read_certify_tsv(
        second / "tmp.tsv")
    strip = [{k: v for k, v in r.items() if k != "time"} for r in a]
    assert strip == [{k: v for k, v in r.items() if k != "time"} for r in b]


@pytest.mark.parametrize("flag,value,name", [
    ("--sigma", "0", "--sigma"),
    ("--sigma", "-0.5", "--sigma"),
    ("--n0", "0", "--n0"),
    ("--n", "0", "--n"),
    ("--alpha", "1.0", "--alpha"),
    ("--alpha", "0", "--alpha"),
    ("--limit", "0", "--limit"),
    ("--skip", "0", "--skip"),
    ("--batch-size", "0", "--batch-size"),
])
def test_bad_values_exit_2(model_path, tmp_path, capsys, flag, value, name):
    assert main(certify_args(model_path, tmp_path, flag, value)) == 2
    err = capsys.readouterr().err
    assert f"`{name}`" in err and "certify: error" in err
    assert not (tmp_path / "tmp.tsv").exists()


def test_missing_model_and_wrong_shape_exit_2(model_path, tmp_path, capsys):
    args = certify_args(tmp_path / "nope.keras", tmp_path)
    assert main(args) == 2
    assert "nope.keras" in capsys.readouterr().err
    cifar_model = tmp_path / "cifar.keras"
    tiny_base_model(input_shape=(32, 32, 3), num_classes=10).save(cifar_model)
    assert main(certify_args(cifar_model, tmp_path)) == 2
    assert "shape" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(certify_args(model_path, tmp_path, "--method", "exact"))
    assert exit_info.value.code == 2
