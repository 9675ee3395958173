"""`kerasrobust certify --sequential`: the log with draws per image, errors."""

import json

import keras
import numpy as np
import pytest
from scipy import stats

from kerasrobust.cli import main
from kerasrobust.data import load_dataset
from kerasrobust.smoothing import read_certify_tsv


@pytest.fixture(scope="module")
def constant_model_path(tmp_path_factory):
    """A 10-class model on the 8x8x1 digits that always says class 0."""
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10)])
    kernel, _ = model.layers[-1].get_weights()
    bias = np.zeros(10, np.float32)
    bias[0] = 20.0
    model.layers[-1].set_weights([np.zeros_like(kernel), bias])
    path = tmp_path_factory.mktemp("model") / "constant.keras"
    model.save(path)
    return path


def args_for(path, tmp_path, *extra):
    return ["certify", "--model", str(path), "--dataset", "digits",
            "--limit", "6", "--n0", "10", "--sigma", "0.25", "--alpha",
            "0.001", "--out", str(tmp_path / "seq.tsv"), "--verbose", "0",
            *extra]


def test_sequential_log_closed_form(constant_model_path, tmp_path, capsys):
    """Every draw votes 0. With --n-max 1000 the looks are 100, 200, 400,
    800, 1000 and the first spends alpha / 8: after 100 of 100 draws
    p_lower = (alpha / 8) ** (1 / 100), radius sigma * Phi^-1(p_lower) =
    0.342 > 0.25, so radius 0.25 is decided at the first look."""
    assert main(args_for(constant_model_path, tmp_path, "--sequential",
                         "--radius", "0.25", "--n-max", "1000")) == 0
    lines = (tmp_path / "seq.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["idx", "label", "predict", "radius",
                                    "correct", "time", "num_samples",
                                    "p_lower"]
    y = load_dataset("digits").y_test[:6]
    p_lower = (0.001 / 8) ** (1 / 100)
    radius = 0.25 * stats.norm.ppf(p_lower)
    for line, label in zip(lines[1:], y):
        f = line.split("\t")
        assert int(f[1]) == label and int(f[2]) == 0
        assert int(f[4]) == int(label == 0)
        np.testing.assert_allclose(float(f[3]), radius, rtol=1e-9)
        assert int(f[6]) == 100
        np.testing.assert_allclose(float(f[7]), p_lower, rtol=1e-9)
    printed = capsys.readouterr().out
    assert f"{np.mean(y == 0):>8.3f}" in printed
    assert "mean estimation draws per image: 100.0" in printed
    rows = read_certify_tsv(tmp_path / "seq.tsv")
    assert [r["num_samples"] for r in rows] == [100] * 6
    settings = json.loads((tmp_path / "seq.tsv.settings.json").read_text())
    assert settings["sequential"] == {"radii": [0.25], "n_max": 1000}


@pytest.fixture(scope="module")
def random_model_path(tmp_path_factory):
    """An untrained 10-class model: its votes depend on the noise."""
    from helpers import tiny_base_model

    path = tmp_path_factory.mktemp("model") / "random.keras"
    tiny_base_model(input_shape=(8, 8, 1), num_classes=10, seed=0).save(path)
    return path


def test_sequential_resume_and_shards_give_one_run(random_model_path,
                                                   tmp_path):
    """A killed sequential run resumes from its log; two shards merge into
    the same rows (per-image noise: an image's result depends only on the
    seed and its index)."""
    base = ["--sequential", "--radius", "0.05", "--radius", "0.1",
            "--n-max", "1000"]
    constant_model_path = random_model_path
    whole = tmp_path / "whole"
    assert main(args_for(constant_model_path, whole, *base)) == 0
    full = (whole / "seq.tsv").read_text().splitlines()
    # Kill after three rows, mid-line: resume completes it.
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "seq.tsv").write_text("\n".join(full[:4]) + "\n" + full[4][:7])
    (cut / "seq.tsv.settings.json").write_text(
        (whole / "seq.tsv.settings.json").read_text())
    assert main(args_for(constant_model_path, cut, *base, "--resume")) == 0
    strip = lambda lines: [l.split("\t")[:5] + l.split("\t")[6:]  # noqa
                           for l in lines]
    assert strip((cut / "seq.tsv").read_text().splitlines()) == strip(full)
    shards = []
    for i in (1, 2):
        out = tmp_path / f"shard{i}"
        assert main(args_for(constant_model_path, out, *base, "--shard",
                             f"{i}/2")) == 0
        shards += read_certify_tsv(out / "seq.tsv")
    merged = sorted(shards, key=lambda r: r["idx"])
    expect = read_certify_tsv(whole / "seq.tsv")
    for a, b in zip(merged, expect):
        a.pop("time"), b.pop("time")
    assert merged == expect
    # The noise matters here: not every image used the same draws.
    assert len({r["num_samples"] for r in expect}) > 1 or len(
        {round(r["p_lower"], 12) for r in expect}) > 1


@pytest.mark.parametrize("extra,message", [
    (("--radius", "0.25"), "--radius needs --sequential"),
    (("--n-max", "500"), "--n-max needs --sequential"),
    (("--sequential",), "--sequential needs at least one --radius"),
    (("--sequential", "--radius", "0"), "`--radius` must be in (0, inf)"),
    (("--sequential", "--radius", "0.5", "--n-max", "5"),
     "--n-max must be >= --n0"),
    (("--sequential", "--radius", "0.5", "--n-max", "0"),
     "`--n-max` must be in [1, inf)"),
    (("--sequential", "--radius", "0.5", "--method", "tight"),
     "--method must be 'cohen'"),
])
def test_sequential_bad_values_exit_2(constant_model_path, tmp_path, capsys,
                                      extra, message):
    assert main(args_for(constant_model_path, tmp_path, *extra)) == 2
    err = capsys.readouterr().err
    assert message in err and "certify: error" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "seq.tsv").exists()
