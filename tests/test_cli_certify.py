"""`kerasrobust certify`: Cohen's TSV, the summary, the plot, errors."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasrobust.cli import main
from kerasrobust.data import load_dataset
from kerasrobust.smoothing import read_certify_tsv
from kerasrobust.smoothing import read_settings

from helpers import assert_help_documents
from helpers import tiny_base_model

REPO = Path(__file__).resolve().parents[1]


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
    assert_help_documents("certify", (
        "--model", "--dataset", "--sigma", "--n0", "--n ", "--alpha",
        "--method", "--out", "--plot", "--limit", "--skip", "--batch-size",
        "--data-dir", "--seed"))


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


# ------------------------------------------- shards, resume, logs (issue 10)
def run_args(model_path, out, *extra, limit="9"):
    return ["certify", "--model", str(model_path), "--dataset", "digits",
            "--limit", limit, "--skip", "2", "--n0", "30", "--n", "120",
            "--sigma", "0.25", "--seed", "3", "--out", str(out),
            "--verbose", "0", *extra]


def without_time(path):
    """The log's lines with the time column cut off."""
    return [line.rsplit("\t", 1)[0]
            for line in Path(path).read_text().splitlines()]


def test_rows_are_appended_and_settings_recorded(model_path, tmp_path,
                                                 capsys):
    out = tmp_path / "log.tsv"
    # n = 120 >= batch 100: one image per group, rows appended one by one.
    assert main(run_args(model_path, out, "--verbose", "2",
                         "--progress-every", "4", "--batch-size", "100")) == 0
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines()
             if line.startswith("certify: ")]
    # A progress line per 4 images and at the end: done, samples/s, ETA.
    assert [line.split()[1] for line in lines] == ["4/9", "8/9", "9/9"]
    assert all("samples/s" in line and "ETA" in line for line in lines)
    settings = json.loads((tmp_path / "log.tsv.settings.json").read_text())
    assert settings["model_sha256"] == hashlib.sha256(
        model_path.read_bytes()).hexdigest()
    for key, value in {"sigma": 0.25, "n0": 30, "n": 120, "alpha": 0.001,
                       "method": "cohen", "seed": 3, "dataset": "digits",
                       "skip": 2, "limit": 9, "shard": None}.items():
        assert settings[key] == value
    rows = read_certify_tsv(out)
    assert [r["idx"] for r in rows] == list(range(0, 18, 2))
    # Without --resume an existing log is never overwritten.
    before = out.read_bytes()
    assert main(run_args(model_path, out)) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "--resume" in err and len(
        err.strip().splitlines()) == 1
    assert out.read_bytes() == before


def test_shards_merge_to_the_unsharded_log(model_path, tmp_path, capsys):
    whole = tmp_path / "whole.tsv"
    assert main(run_args(model_path, whole)) == 0
    parts = [tmp_path / f"part{i}.tsv" for i in (1, 2, 3)]
    for i, part in enumerate(parts, start=1):
        assert main(run_args(model_path, part, "--shard", f"{i}/3")) == 0
    # Shard I holds every 3rd selected image from the I-th on.
    assert [r["idx"] for r in read_certify_tsv(parts[1])] == [2, 8, 14]
    capsys.readouterr()
    merged = tmp_path / "merged.tsv"
    assert main(["analyze", *map(str, parts[::-1]), "--out", str(merged),
                 "--plot", str(tmp_path / "curve.png")]) == 0
    printed = capsys.readouterr().out
    assert without_time(merged) == without_time(whole)
    assert (read_settings(merged) == read_settings(whole))
    assert "missing" not in printed
    assert "average certified radius (ACR)" in printed and "lower" in printed
    # A missing shard is reported by index.
    assert main(["analyze", str(parts[0]), str(parts[2])]) == 0
    printed = capsys.readouterr().out
    assert "missing: 3 planned indices" in printed and "2, 8, 14" in printed


def test_two_shard_processes(model_path, tmp_path):
    """Two processes certify one shard each, at the same time."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen(
        [sys.executable, "-m", "kerasrobust",
         *run_args(model_path, tmp_path / f"p{i}.tsv", "--shard", f"{i}/2")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in (1, 2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]
    whole = tmp_path / "whole.tsv"
    assert main(run_args(model_path, whole)) == 0
    merged = tmp_path / "merged.tsv"
    assert main(["analyze", str(tmp_path / "p1.tsv"), str(tmp_path / "p2.tsv"),
                 "--out", str(merged)]) == 0
    assert without_time(merged) == without_time(whole)


def test_sigkill_then_resume_equals_an_uninterrupted_run(model_path,
                                                         tmp_path):
    args = ["certify", "--model", str(model_path), "--dataset", "digits",
            "--limit", "14", "--n0", "100", "--n", "30000", "--sigma", "0.5",
            "--batch-size", "1000", "--verbose", "0"]
    out = tmp_path / "killed.tsv"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kerasrobust", *args, "--out", str(out)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and len(out.read_text().splitlines()) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = out.read_text().splitlines()
    assert 3 <= len(kept) < 15
    with open(out, "a") as f:
        f.write("9\t4\t4\t0.3")        # a torn last line, as a kill can leave
    assert main([*args, "--out", str(out), "--resume"]) == 0
    resumed = out.read_text().splitlines()
    assert resumed[:len(kept)] == kept     # rows already written are kept
    fresh = tmp_path / "fresh.tsv"
    assert main([*args, "--out", str(fresh)]) == 0
    assert without_time(out) == without_time(fresh)


@pytest.mark.parametrize("extra,flag", [
    (("--shard", "0/2"), "--shard"),
    (("--shard", "3/2"), "--shard"),
    (("--shard", "a/b"), "--shard"),
    (("--progress-every", "0"), "--progress-every"),
])
def test_bad_shard_exits_2(model_path, tmp_path, capsys, extra, flag):
    out = tmp_path / "log.tsv"
    assert main(run_args(model_path, out, *extra)) == 2
    err = capsys.readouterr().err
    assert flag in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_resume_and_out_leave_files_untouched(model_path, tmp_path,
                                                  capsys):
    out = tmp_path / "log.tsv"
    assert main(run_args(model_path, out, limit="3")) == 0
    before = out.read_bytes()
    side = (tmp_path / "log.tsv.settings.json").read_bytes()
    other = tmp_path / "other.keras"
    tiny_base_model(input_shape=(8, 8, 1), num_classes=10, seed=5).save(other)
    for args in (run_args(model_path, out, "--resume", "--sigma", "0.5",
                          limit="3"),
                 run_args(other, out, "--resume", limit="3"),
                 run_args(model_path, out, "--resume", limit="4")):
        capsys.readouterr()
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "--resume" in err and "other settings" in err
        assert len(err.strip().splitlines()) == 1
        assert out.read_bytes() == before
        assert (tmp_path / "log.tsv.settings.json").read_bytes() == side
    # --out naming a directory, or below a file: refused before sampling.
    (tmp_path / "adir").mkdir()
    for bad in (tmp_path / "adir", out / "x.tsv"):
        assert main(run_args(model_path, bad)) == 2
        err = capsys.readouterr().err
        assert "--out" in err and len(err.strip().splitlines()) == 1
    assert out.read_bytes() == before


def test_analyze_refuses_bad_logs(model_path, tmp_path, capsys):
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    assert main(run_args(model_path, a, "--shard", "1/2")) == 0
    assert main(run_args(model_path, b, "--shard", "1/2", "--seed", "4")) == 0
    truncated = tmp_path / "t.tsv"
    truncated.write_text(a.read_text()[:-3])
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\tworld\n")
    capsys.readouterr()
    for logs, words in (([a, a], "overlapping"),
                        ([a, b], "other settings"),
                        ([truncated], "truncated"),
                        ([notes], "not a certification log")):
        assert main(["analyze", *map(str, logs),
                     "--out", str(tmp_path / "m.tsv")]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "m.tsv").exists()
