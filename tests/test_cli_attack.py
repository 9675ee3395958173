"""`kerasrobust attack`: the table, the exports and bad input."""

import json
import math
import re

import keras
import numpy as np
import pytest

from kerasrobust.cli import main
from kerasrobust.cli.attack import parse_radius
from kerasrobust.data import load_dataset
from kerasrobust.evaluate import AttackConfig
from kerasrobust.evaluate import robustness
from kerasrobust.training import ERM

from helpers import assert_help_documents
from helpers import tiny_base_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained wrapper (model.keras), another base model (source) and a
    softmax model, saved as .keras files."""
    folder = tmp_path_factory.mktemp("models")
    data = load_dataset("digits")
    keras.utils.set_random_seed(0)
    model = ERM(tiny_base_model(input_shape=(8, 8, 1), num_classes=10),
                seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  metrics=["accuracy"])
    model.fit(data.x_train, data.y_train, batch_size=128, epochs=2,
              verbose=0)
    model.save(folder / "model.keras")
    source = tiny_base_model(input_shape=(8, 8, 1), num_classes=10, seed=3)
    source.save(folder / "source.keras")
    softmax = keras.Sequential([keras.Input((8, 8, 1)),
                                keras.layers.Flatten(),
                                keras.layers.Dense(10,
                                                   activation="softmax")])
    softmax.save(folder / "softmax.keras")
    return {"model": folder / "model.keras",
            "source": folder / "source.keras",
            "softmax": folder / "softmax.keras",
            "wrapper": model, "source_model": source, "data": data}


def test_help_documents_every_option():
    assert_help_documents("attack", (
        "--model", "--dataset", "--data-dir", "--attack", "--epsilon",
        "--steps", "--step-size", "--norm", "--random-start",
        "--source-model", "--limit", "--batch-size", "--json", "--csv"))


@pytest.mark.parametrize("text,value", [("4/255", 4 / 255), ("0.03", 0.03),
                                        ("inf", math.inf), ("1e-2", 0.01)])
def test_parse_radius(text, value):
    assert parse_radius(text) == pytest.approx(value)


def test_pgd_with_source_model_prints_table_and_writes_files(saved,
                                                             tmp_path,
                                                             capsys):
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    assert main(["attack", "--model", str(saved["model"]), "--dataset",
                 "digits", "--limit", "120", "--epsilon", "8/255",
                 "--steps", "5", "--step-size", "2/255",
                 "--source-model", str(saved["source"]),
                 "--json", str(out_json), "--csv", str(out_csv)]) == 0
    result = json.loads(out_json.read_text())
    data = saved["data"]
    # The same figures from the library, on the in-memory models.
    expected = robustness(
        saved["wrapper"], (data.x_test[:120], data.y_test[:120]),
        attacks={"pgd": AttackConfig("pgd", 8 / 255, 2 / 255, 5)},
        source_model=saved["source_model"])
    assert result["n"] == 120
    assert result["clean_error"] == pytest.approx(expected["clean_error"])
    assert result["white_box"] == pytest.approx(expected["white_box"])
    assert result["black_box"] == pytest.approx(expected["black_box"])
    printed = capsys.readouterr().out
    for row in ("clean error (%)", "white-box error (%)",
                "black-box error (%)", "PGD-5 Linf eps=8/255 step=2/255"):
        assert row in printed
    assert f"{expected['white_box']['pgd']:.2f}" in printed
    assert "black_box,pgd" in out_csv.read_text()


def test_fgsm_defaults_and_unbounded_pgd(saved, capsys):
    assert main(["attack", "--model", str(saved["model"]), "--attack",
                 "fgsm", "--limit", "50"]) == 0
    printed = capsys.readouterr().out
    assert "FGSM Linf eps=4/255" in printed
    assert "black-box" not in printed
    assert main(["attack", "--model", str(saved["model"]), "--epsilon",
                 "inf", "--steps", "100", "--step-size", "0.02",
                 "--limit", "50"]) == 0
    printed = capsys.readouterr().out
    white = float(re.search(r"white-box error \(%\)\s*\|\s*([\d.]+)",
                            printed).group(1))
    assert white > 90.0


@pytest.mark.parametrize(
    "flags,match",
    [
        (["--epsilon", "-0.1"], r"`--epsilon` must be in \[0, inf\)"),
        (["--steps", "0"], r"`--steps` must be in \[1"),
        (["--step-size", "-1"], r"`--step-size` must be in \(0, inf\)"),
        (["--attack", "fgsm", "--steps", "3"],
         r"--steps only apply to --attack pgd"),
        (["--attack", "fgsm", "--epsilon", "inf"], r"must be finite"),
        (["--epsilon", "inf", "--random-start"], r"finite `--epsilon`"),
        (["--batch-size", "0"], r"`--batch-size` must be in \[1"),
        (["--limit", "0"], r"`--limit` must be in \[1"),
    ],
)
def test_bad_values_exit_2_with_one_line(saved, capsys, flags, match):
    assert main(["attack", "--model", str(saved["model"])] + flags) == 2
    err = capsys.readouterr().err.strip()
    assert re.search(match, err), err
    assert err.startswith("kerasrobust attack: error:")
    assert len(err.splitlines()) == 1


def test_bad_files_and_softmax_model(saved, tmp_path, capsys):
    assert main(["attack", "--model", str(tmp_path / "none.keras")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["attack", "--model", str(tmp_path / "model.h5")]) == 2
    assert ".keras file" in capsys.readouterr().err
    assert main(["attack", "--model", str(saved["softmax"]), "--limit",
                 "10"]) == 2
    err = capsys.readouterr().err
    assert "appears to output probabilities" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flags", [["--norm", "1"], ["--epsilon", "abc"],
                                   ["--attack", "cw"]])
def test_argparse_rejects_unknown_choices(saved, flags, capsys):
    with pytest.raises(SystemExit) as info:
        main(["attack", "--model", str(saved["model"])] + flags)
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_values_match_numpy_recount(saved, tmp_path):
    """The JSON clean error against a plain NumPy recount."""
    out = tmp_path / "r.json"
    assert main(["attack", "--model", str(saved["model"]), "--limit", "80",
                 "--attack", "fgsm", "--json", str(out)]) == 0
    data = saved["data"]
    base = keras.saving.load_model(saved["model"]).base_model
    predicted = np.asarray(base(data.x_test[:80])).argmax(1)
    clean = 100.0 * float((predicted != data.y_test[:80]).mean())
    assert json.loads(out.read_text())["clean_error"] == pytest.approx(clean)
