"""Certification logs: Cohen's TSV format, read and write (incremental,
resumed, sharded and merged logs are tested through the CLI in
test_cli_certify.py)."""

import datetime
import os

import pytest

from kerasrobust.smoothing import read_certify_tsv
from kerasrobust.smoothing import write_certify_tsv
from kerasrobust.smoothing.certify import ABSTAIN

HEADER = "idx\tlabel\tpredict\tradius\tcorrect\ttime"

# Hand-made log of 8 inputs: 5 correct (radii 0.1, 0.3, 0.5, 0.5, 1.2), one
# wrong with a radius, two abstentions.
ROWS = [
    {"idx": 0, "label": 3, "predict": 3, "radius": 0.1, "time": 1.5},
    {"idx": 1, "label": 1, "predict": 1, "radius": 0.3, "time": 0.25},
    {"idx": 2, "label": 0, "predict": 2, "radius": 0.7, "time": 2.0},
    {"idx": 3, "label": 5, "predict": 5, "radius": 0.5, "time": 0.0},
    {"idx": 4, "label": 2, "predict": ABSTAIN, "radius": 0.0, "time": 3.0},
    {"idx": 5, "label": 7, "predict": 7, "radius": 0.5, "time": 1.0},
    {"idx": 6, "label": 4, "predict": 4, "radius": 1.2, "time": 61.125},
    {"idx": 7, "label": 9, "predict": ABSTAIN, "radius": 0.0, "time": 0.5},
]


def test_tsv_round_trip_and_exact_format(tmp_path):
    path = write_certify_tsv(tmp_path / "logs" / "certify.tsv", ROWS)
    text = path.read_text()
    lines = text.splitlines()
    assert lines[0] == HEADER
    assert lines[1] == "0\t3\t3\t0.1\t1\t0:00:01.500000"
    assert lines[5] == "4\t2\t-1\t0.0\t0\t0:00:03"
    assert lines[7] == "6\t4\t4\t1.2\t1\t0:01:01.125000"
    assert text.endswith("\n") and len(lines) == len(ROWS) + 1
    back = read_certify_tsv(path)
    assert [list(r) for r in back] == [list(HEADER.split("\t"))] * len(ROWS)
    for row, got in zip(ROWS, back):
        assert got["idx"] == row["idx"] and got["label"] == row["label"]
        assert got["predict"] == row["predict"]
        assert got["radius"] == row["radius"]  # full precision
        assert got["correct"] == int(row["predict"] == row["label"])
        assert got["time"] == pytest.approx(row["time"])
    # Written atomically: no temporary file left beside it.
    assert os.listdir(path.parent) == ["certify.tsv"]
    # Rewriting replaces the file.
    write_certify_tsv(path, ROWS[:2])
    assert len(read_certify_tsv(path)) == 2


def test_radius_keeps_full_precision(tmp_path):
    radius = 0.12345678901234567
    path = write_certify_tsv(tmp_path / "r.tsv", [
        (0, 1, 1, radius, 1, datetime.timedelta(seconds=2))])
    assert read_certify_tsv(path)[0]["radius"] == radius


def test_reads_cohen_et_al_logs(tmp_path):
    # As written by locuslab/smoothing code/certify.py ("{:.3}" radii and
    # str(timedelta) times).
    path = tmp_path / "sigma_0.50"
    path.write_text(
        HEADER + "\n"
        "0\t3\t3\t0.813\t1\t0:00:07.434613\n"
        "20\t7\t-1\t0.0\t0\t0:00:07.422186\n"
        "40\t2\t5\t1.12e-05\t0\t1 day, 0:00:01\n"
    )
    rows = read_certify_tsv(path)
    assert rows[0] == {"idx": 0, "label": 3, "predict": 3, "radius": 0.813,
                       "correct": 1, "time": pytest.approx(7.434613)}
    assert rows[1]["predict"] == ABSTAIN
    assert rows[2]["radius"] == 1.12e-05 and rows[2]["time"] == 86401.0


def test_read_rejects_other_files(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("idx,label,predict,radius,correct,time\n0,1,1,0.5,1,0\n")
    with pytest.raises(ValueError, match="bad.tsv"):
        read_certify_tsv(path)
    path.write_text(HEADER + "\n0\t1\t1\t0.5\t1\n")
    with pytest.raises(ValueError, match="line 2"):
        read_certify_tsv(path)


@pytest.mark.parametrize("row,name", [
    ({"idx": 0, "label": 1, "predict": 1}, "radius"),
    ({"idx": 0, "label": 1, "predict": 1, "radius": -0.1}, "radius"),
    ({"idx": 0, "label": 1, "predict": -1, "radius": 0.3}, "radius"),
    ({"idx": 0, "label": 1, "predict": 2, "radius": 0.3, "correct": 1},
     "correct"),
    ({"idx": 0, "label": 1, "predict": -2, "radius": 0.3}, "predict"),
    ({"idx": 0.5, "label": 1, "predict": 1, "radius": 0.3}, "idx"),
    ({"idx": 0, "label": 1, "predict": 1, "radius": 0.3, "time": "soon"},
     "time"),
])
def test_write_rejects_bad_rows(tmp_path, row, name):
    with pytest.raises((ValueError, TypeError)) as info:
        write_certify_tsv(tmp_path / "x.tsv", [row])
    assert name in str(info.value)
    assert not (tmp_path / "x.tsv").exists()
