"""Certification logs, certified accuracy, ACR, the high-probability bound and
the plot."""

import datetime
import os

import numpy as np
import pytest
from scipy import stats

from kerasrobust.smoothing.certify import ABSTAIN, certify_counts_batch
from kerasrobust.smoothing import (
    average_certified_radius,
    certified_accuracy,
    certified_accuracy_lower_bound,
    plot_certified_accuracy,
    read_certify_tsv,
    write_certify_tsv,
)

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


def test_certified_accuracy_and_acr_by_hand():
    radii = [0.0, 0.1, 0.2, 0.5, 0.6, 1.2, 1.3]
    # correct radii: 0.1, 0.3, 0.5, 0.5, 1.2 of 8 inputs
    expected = np.array([5, 5, 4, 3, 1, 1, 0]) / 8
    np.testing.assert_allclose(certified_accuracy(ROWS, radii), expected)
    assert certified_accuracy(ROWS, 0.5) == 3 / 8
    assert isinstance(certified_accuracy(ROWS, 0.5), float)
    assert average_certified_radius(ROWS) == pytest.approx(
        (0.1 + 0.3 + 0.5 + 0.5 + 1.2) / 8)


def test_columns_and_abstentions_count_as_wrong():
    columns = {"radius": np.array([0.0, 0.4, 0.2]),
               "correct": np.array([1, 1, 0]),
               "predict": np.array([ABSTAIN, 3, 1])}
    # The abstention is wrong even if someone marked it "correct".
    np.testing.assert_allclose(certified_accuracy(columns, [0.0, 0.3, 0.5]),
                               [1 / 3, 1 / 3, 0.0])
    assert average_certified_radius(columns) == pytest.approx(0.4 / 3)
    without_predict = {"radius": [0.5, 0.1], "correct": [True, False]}
    assert certified_accuracy(without_predict, 0.0) == 0.5


def test_lower_bound_by_hand():
    # m = 8, alpha = 0.05: P(Bin(8, .05) = 0) = 0.663, <= 1: 0.943,
    # <= 2: 0.9942, so the 0.99 quantile is q = 2 wrong certificates.
    assert stats.binom.ppf(0.99, 8, 0.05) == 2
    got = certified_accuracy_lower_bound(ROWS, [0.0, 0.5, 0.6, 1.3], 0.05,
                                         0.99)
    np.testing.assert_allclose(got, [(5 - 2) / 8, (3 - 2) / 8, 0.0, 0.0])
    # With a tiny alpha no certificate is expected to fail: q = 0.
    assert certified_accuracy_lower_bound(ROWS, 0.0, 1e-6, 0.99) == 5 / 8
    # Never looser than the textbook Bernstein correction, and below the
    # approximate accuracy.
    m, alpha, rho = 500, 0.001, 0.001
    rows = [{"radius": 1.0, "correct": 1, "predict": 0}] * m
    exact = certified_accuracy_lower_bound(rows, 0.5, alpha, 1 - rho)
    log = np.log(1 / rho)
    bernstein = 1 - alpha - np.sqrt(2 * alpha * (1 - alpha) * log / m) - \
        2 * log / (3 * m)
    assert bernstein <= exact < 1.0
    assert exact == pytest.approx(1 - 4 / 500)


def test_lower_bound_holds_with_the_stated_probability():
    # m inputs of a 2-class problem with P(class 0) = 0.8 and label 0: g is
    # correct everywhere and its true radius (worst-case base classifier) is
    # R = sigma * Phi^-1(0.8). The true certified accuracy is 1 up to R and 0
    # just above it, where the approximate accuracy counts exactly the
    # failed certificates. Repeat the whole evaluation many times.
    rng = np.random.default_rng(4)
    m, sigma, alpha, confidence, reps = 200, 0.5, 0.2, 0.9, 300
    R = sigma * stats.norm.ppf(0.8)
    radii = np.array([0.0, 0.9 * R, R * (1 + 1e-9)])
    truth = np.array([1.0, 1.0, 0.0])
    above = approx_above = 0
    for _ in range(reps):
        k0 = rng.binomial(1000, 0.8, size=m)
        s0 = rng.binomial(20, 0.8, size=m)
        labels, rads = certify_counts_batch(
            np.stack([s0, 20 - s0], 1), np.stack([k0, 1000 - k0], 1), sigma,
            alpha)
        res = {"radius": rads, "predict": labels, "label": np.zeros(m, int)}
        bound = certified_accuracy_lower_bound(res, radii, alpha, confidence)
        above += np.any(bound > truth)
        approx_above += np.any(certified_accuracy(res, radii) > truth)
    rate = above / reps
    assert rate <= (1 - confidence) + 3 * np.sqrt(0.09 / reps)
    assert approx_above / reps > 0.9  # the uncorrected accuracy overshoots


def test_summary_bad_input():
    with pytest.raises(ValueError, match="`results`"):
        certified_accuracy([], 0.0)
    with pytest.raises(ValueError, match="`radii`"):
        certified_accuracy(ROWS, [-0.1])
    with pytest.raises(ValueError, match="`results`"):
        certified_accuracy({"radius": [0.1]}, 0.0)
    with pytest.raises(ValueError, match="`alpha`"):
        certified_accuracy_lower_bound(ROWS, 0.0, 0.0, 0.99)
    with pytest.raises(ValueError, match="`confidence`"):
        certified_accuracy_lower_bound(ROWS, 0.0, 0.01, 1.0)


def test_plot_is_a_png(tmp_path):
    other = [dict(r, radius=r["radius"] * 1.5) for r in ROWS]
    radii = np.linspace(0, 1.5, 31)
    path = plot_certified_accuracy(
        {"CERTIFY": ROWS, "T-CERTIFY": other,
         "lower bound": (radii, certified_accuracy_lower_bound(
             ROWS, radii, 0.05, 0.99))},
        tmp_path / "plots" / "certified.png", title="test")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(path.parent) == ["certified.png"]
    with pytest.raises(ValueError, match="`curves`"):
        plot_certified_accuracy({}, tmp_path / "empty.png")
