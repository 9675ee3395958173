"""The statistics and the plateau rule the evidence benchmarks
(benchmarks/alps_tables.py, adre_tables.py, paper_scale.py) rely on, and
their argument parsing (the scripts themselves run with --smoke, see
BENCHMARKS.md)."""

import math
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import _common  # noqa: E402


def test_t_interval_matches_hand_computation():
    # mean 2, sample std 1, n 3: half-width t_{0.975, 2} / sqrt(3) with
    # t_{0.975, 2} = 4.302653 (printed t tables).
    out = _common.t_interval([1.0, 2.0, 3.0])
    half = 4.302653 / math.sqrt(3)
    assert out["n"] == 3 and out["mean"] == pytest.approx(2.0)
    assert out["low"] == pytest.approx(2.0 - half, abs=1e-5)
    assert out["high"] == pytest.approx(2.0 + half, abs=1e-5)
    one = _common.t_interval([0.5])
    assert one["low"] is None and one["high"] is None


def test_verdict_needs_the_interval_to_exclude_zero():
    assert _common.verdict({"low": -3, "high": -1}, True) == "win"
    assert _common.verdict({"low": 1, "high": 3}, True) == "loss"
    assert _common.verdict({"low": -1, "high": 1}, True) == "tie"
    assert _common.verdict({"low": 1, "high": 3}, False) == "win"
    assert _common.verdict({"low": -3, "high": -1}, False) == "loss"
    assert _common.verdict({"low": None, "high": None}, True) == "tie"
    # Identical differences on every seed: zero width, no spread.
    same = _common.t_interval([1.5, 1.5, 1.5])
    assert same["low"] == same["high"] == 1.5
    assert _common.verdict(same, True) == "tie"
    # The same difference on every seed as floats give it (one image of
    # 40 fewer): not bit-equal, still no spread (a recorded run read this
    # as a "loss" with an interval 4e-17 wide).
    ours, theirs = np.array([0.1, 0.125, 0.075]), np.array([0.125, 0.15, 0.1])
    diffs = ours - theirs
    assert len(set(diffs.tolist())) > 1
    rounded = _common.t_interval(diffs)
    assert rounded["low"] == rounded["high"] == pytest.approx(-0.025)
    assert _common.verdict(rounded, False) == "tie"


def test_cpu_description_reads_the_first_processor_and_its_simd_flags():
    # Two processors of /proc/cpuinfo's layout; only the first is read.
    text = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n"
            "model\t\t: 17\nmodel name\t: AMD EPYC 9R14\nstepping\t: 1\n"
            "flags\t\t: fpu sse2 sse4_1 sse4_2 avx f16c avx2 fma avx512f "
            "avx512_bf16 rdrand\n\nprocessor\t: 1\nmodel name\t: other\n")
    assert _common.cpu_description(text) == {
        "model": "AMD EPYC 9R14", "family": "25", "model_number": "17",
        "stepping": "1",
        "simd": ["sse4_1", "sse4_2", "avx", "f16c", "avx2", "fma", "avx512f",
                 "avx512_bf16"]}
    assert _common.cpu_description("") == {
        "model": None, "family": None, "model_number": None,
        "stepping": None, "simd": []}


def test_holdout_split_is_disjoint_fixed_and_leaves_test_alone():
    from kerasrobust.data import ImageDataset

    x = np.arange(50, dtype=np.float32).reshape(50, 1, 1, 1) / 50
    y = np.arange(50) % 5
    data = ImageDataset(name="t", x_train=x, y_train=y, x_test=x[:7],
                        y_test=y[:7], num_classes=5)
    train, (x_val, y_val) = _common.holdout_split(data, fraction=0.2)
    again, (x_val2, _) = _common.holdout_split(data, fraction=0.2)
    assert len(x_val) == 10 and len(train.x_train) == 40
    assert not set(x_val.ravel()) & set(train.x_train.ravel())
    assert np.array_equal(x_val, x_val2)
    assert np.array_equal(train.x_test, data.x_test)


def _run_scripted_rule(errors, epochs=8, patience=2, optimizer=None,
                       **rule_kwargs):
    """Fits a tiny model for `epochs` epochs under `plateau_callback(
    patience, max_decays=1, **rule_kwargs)` fed the scripted validation
    `errors` (SGD at lr 0.1 unless `optimizer` is given); returns (rule,
    model, the weights seen at each epoch's end)."""
    errors = iter(errors)
    snapshots = []

    def validation_error(model):
        snapshots.append([w.copy() for w in model.get_weights()])
        return next(errors)

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=optimizer or keras.optimizers.SGD(
        learning_rate=0.1),
                  loss="sparse_categorical_crossentropy")
    rule = _common.plateau_callback(validation_error, patience=patience,
                                    max_decays=1, **rule_kwargs)
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    model.fit(x, np.arange(8) % 2, epochs=epochs, verbose=0,
              callbacks=[rule])
    return rule, model, snapshots


def test_plateau_rule_decays_then_stops_and_keeps_the_best_weights():
    # Scripted validation errors: best at epoch 2; patience 2 -> decay
    # after epoch 4, stop after epoch 6 (max_decays 1).
    rule, model, snapshots = _run_scripted_rule(
        [50.0, 40.0, 45.0, 41.0, 42.0, 43.0, 10.0, 10.0])
    assert [row["val_error"] for row in rule.curve] == [
        50.0, 40.0, 45.0, 41.0, 42.0, 43.0]
    assert [row["learning_rate"] for row in rule.curve] == pytest.approx(
        [0.1, 0.1, 0.1, 0.1, 0.01, 0.01])
    assert rule.best_epoch == 2 and rule.stop_reason == "plateau"
    for kept, best in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(kept, best)


def test_paper_sgd_has_a_plain_rate_the_plateau_rule_divides_by_ten():
    # The papers' SGD: lr 0.1, momentum 0.9; the rule's default decay is
    # a division by 10 (hand values, ALPS Section 5.1).
    optimizer = _common.paper_sgd()
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert optimizer.momentum == 0.9
    assert float(optimizer.learning_rate) == pytest.approx(0.1)
    rule, _, _ = _run_scripted_rule([50.0, 51.0, 52.0, 53.0], patience=1,
                                    optimizer=optimizer)
    assert [row["learning_rate"] for row in rule.curve] == pytest.approx(
        [0.1, 0.1, 0.01])


def test_plateau_rule_sentence_written_out_by_hand():
    assert _common.plateau_rule(
        "the error on held-out training images",
        {"mnist": 30, "cifar10": 15}, 3, 2) == (
        "SGD momentum 0.9, lr 0.1, coupled weight decay 1e-4; after every "
        "epoch the error on held-out training images is measured; 3 epochs "
        "without improvement divide the lr by 10 (at most 2 times), the "
        "next plateau stops; the best epoch's weights are kept; cap mnist "
        "30, cifar10 15 epochs")
    assert _common.plateau_rule("x", {"cifar10": 12}, 3, 2, (8, 10)) == (
        "SGD momentum 0.9, lr 0.1, coupled weight decay 1e-4; after every "
        "epoch x is measured; fixed schedule: the lr is divided by 10 after "
        "epoch(s) 8, 10 and every model runs to the cap; the best epoch's "
        "weights are kept; cap cifar10 12 epochs")


def _recorded_rules():
    import json

    for path in sorted((BENCH / "results").glob("*.json")):
        settings = json.loads(path.read_text()).get("settings")
        if isinstance(settings, dict) and "plateau_rule" in settings:
            yield path.name, settings


@pytest.mark.parametrize("name, settings", list(_recorded_rules()))
def test_plateau_rule_gives_every_recorded_runs_sentence(name, settings):
    # Every recorded run's sentence was written by the scripts' own inline
    # text before `plateau_rule` existed; the one function must give each
    # of them back from the run's settings.
    import importlib

    script = importlib.import_module(
        "alps_tables" if name.startswith("alps") else "adre_tables")
    assert _common.plateau_rule(
        script.VALIDATION_MEASURED, settings["max_epochs"],
        settings["patience"], settings["max_decays"],
        settings.get("decay_epochs")) == settings["plateau_rule"]


def _reused_results(key):
    # Three taken models: from this run's machine, from another, and from
    # an older record that names no machine.
    return {"machine": {"summary": "M1"}, key: [
        {"model": "a", "dataset": "d", "seed": 1000, "reused_from": {
            "file": "x.json", "commit": "c1", "started_utc": "s1",
            "machine": "M1"}},
        {"model": "b", "dataset": "d", "seed": 1001, "reused_from": {
            "file": "y.json", "commit": "c2", "started_utc": "s2",
            "machine": "M2"}},
        {"model": "c", "dataset": "d", "seed": 1002, "reused_from": {
            "file": "z.json", "commit": "c3", "started_utc": None}},
        {"model": "e", "dataset": "d", "seed": 1003}]}


def test_reuse_origin_records_the_machine_only_of_runs_that_named_their_cpu():
    recorded = {"commit": "c", "started_utc": "s", "machine": {
        "summary": "2 CPU cores (x86_64, Xeon), 0 GPU", "cpu": {"family": "6"}}}
    assert _common.reuse_origin("/a/r.json", recorded) == {
        "file": "r.json", "commit": "c", "started_utc": "s",
        "machine": "2 CPU cores (x86_64, Xeon), 0 GPU"}
    # Before runs recorded their CPU the summary named none: a summary
    # alone would call the same host another.
    older = {"commit": "c", "started_utc": "s", "machine": {
        "summary": "2 CPU cores (x86_64), 0 GPU"}}
    assert _common.reuse_origin("r.json", older) == {
        "file": "r.json", "commit": "c", "started_utc": "s"}


def test_reused_models_name_their_machine_only_where_it_is_another():
    import adre_tables
    import alps_tables

    assert adre_tables.reused_lines(_reused_results("cells")) == [
        "- Reused, not retrained here (--reuse / --resume; same settings): "
        "a seed 1000 (x.json, commit c1, started s1); b seed 1001 (y.json, "
        "commit c2, started s2, computed on M2); c seed 1002 (z.json, "
        "commit c3)"]
    assert alps_tables.reused_lines(_reused_results("sources")) == [
        "- Reused, not retrained here (--reuse; the source and every model "
        "of the seed): d seed 0 (x.json, commit c1, started s1); d seed 1 "
        "(y.json, commit c2, started s2, computed on M2); d seed 2 "
        "(z.json, commit c3)."]


def test_arch_names():
    assert _common.arch_name("resnet20") == "resnet20"
    assert _common.arch_name("small_cnn") == "small_cnn"
    for bad in ("resnet21", "resnet2", "vgg"):
        with pytest.raises(Exception, match="resnet<depth>"):
            _common.arch_name(bad)


@pytest.mark.parametrize("script", ["alps_tables", "adre_tables",
                                    "paper_scale"])
def test_scripts_parse_their_smoke_flags(script):
    module = __import__(script)
    args = module.build_parser().parse_args(["--smoke"])
    args = module.apply_smoke(args)
    assert args.smoke


def test_alps_tables_epsilon_flag_scales_both_attacks(capsys):
    import alps_tables
    from kerasrobust.evaluate import PAPER_FGSM
    from kerasrobust.evaluate import PAPER_PGD

    parser = alps_tables.build_parser()
    assert parser.parse_args([]).epsilon is None
    assert alps_tables.attacks(None) == {"fgsm": PAPER_FGSM,
                                         "pgd": PAPER_PGD}
    eps = parser.parse_args(["--epsilon", "0.1"]).epsilon
    assert eps == 0.1
    assert parser.parse_args(["--epsilon", "8/255"]).epsilon == 8 / 255
    fgsm, pgd = alps_tables.attacks(eps).values()
    # The paper's PGD is 10 steps of 1/255 at 4/255: step = eps / 4.
    assert (fgsm.attack, fgsm.epsilon) == ("fgsm", 0.1)
    assert (pgd.attack, pgd.epsilon, pgd.steps) == ("pgd", 0.1, 10)
    assert pgd.step_size == pytest.approx(0.025)
    note = alps_tables.attack_note({"attacks": {
        "fgsm": fgsm.to_dict(), "pgd": pgd.to_dict()}})
    assert "25.5/255 (the paper's: 4/255)" in note
    assert "10 steps of 6.375/255" in note
    for bad, message in (("0", "must be in (0, 1]"),
                         ("-0.1", "must be in (0, 1]"),
                         ("2", "must be in (0, 1]"),
                         ("x", "a fraction such as 8/255"),
                         ("1/0", "a fraction such as 8/255")):
        with pytest.raises(SystemExit):
            parser.parse_args(["--epsilon", bad])
        err = capsys.readouterr().err
        assert "--epsilon" in err and message in err and bad in err


def test_adre_tables_per_image_difference_is_the_acr_difference():
    import adre_tables
    from scipy import stats

    cell = {"label": [1, 2, 3, 4],
            "cohen": {"radius": [0.5, 0.7, 0.2, 0.0],
                      "predict": [1, 2, 0, -1]},
            "tight": {"radius": [0.6, 0.6, 0.4, 0.0],
                      "predict": [1, 2, 0, -1]}}
    # Wrong predictions and abstentions add 0 to the ACR.
    assert adre_tables.acr_terms(cell, "cohen") == [0.5, 0.7, 0.0, 0.0]
    out = adre_tables.per_image_difference(
        [adre_tables.acr_terms(cell, "tight")],
        [adre_tables.acr_terms(cell, "cohen")])
    diff = np.array([0.1, -0.1, 0.0, 0.0])
    half = stats.t.ppf(0.975, 3) * diff.std(ddof=1) / math.sqrt(4)
    assert out["mean"] == pytest.approx(diff.mean())
    assert out["low"] == pytest.approx(diff.mean() - half)
    assert out["high"] == pytest.approx(diff.mean() + half)
    assert (out["larger"], out["smaller"], out["n"]) == (1, 1, 4)
    # Exact two-sided sign test, 1 of 2: p = 1.
    assert out["sign_test_p"] == pytest.approx(1.0)
    assert out["verdict"] == "tie"
    none = adre_tables.per_image_difference([[1.0, 2.0]], [[1.0, 2.0]])
    assert none["sign_test_p"] is None


def test_adre_tables_per_image_difference_averages_seeds_per_image():
    """Seeds certify the same images: each image's difference is averaged
    over the seeds before the interval, so an image effect repeated on
    every seed counts once, not once per seed."""
    import adre_tables
    from scipy import stats

    # Two seeds, four images; image 0 favours ours on both seeds.
    ours = [[1.0, 0.2, 0.0, 0.5], [1.2, 0.0, 0.3, 0.5]]
    theirs = [[0.2, 0.2, 0.1, 0.4], [0.3, 0.1, 0.0, 0.6]]
    out = adre_tables.per_image_difference(ours, theirs)
    per_image = np.array([(0.8 + 0.9) / 2, (0.0 - 0.1) / 2,
                          (-0.1 + 0.3) / 2, (0.1 - 0.1) / 2])
    half = stats.t.ppf(0.975, 3) * per_image.std(ddof=1) / math.sqrt(4)
    assert out["mean"] == pytest.approx(per_image.mean())
    assert out["high"] - out["low"] == pytest.approx(2 * half)
    assert (out["n"], out["seeds"]) == (4, 2)
    # Images 0 and 2 larger, image 1 smaller, image 3 a tie (dropped).
    assert (out["larger"], out["smaller"]) == (2, 1)
    assert out["sign_test_p"] == pytest.approx(
        stats.binomtest(2, 3).pvalue)
    # Pooling the 8 terms as independent gives a narrower interval: the
    # flaw this averaging removes.
    pooled = (np.array(ours) - np.array(theirs)).ravel()
    pooled_half = (stats.t.ppf(0.975, 7) * pooled.std(ddof=1)
                   / math.sqrt(8))
    assert pooled_half < half


def test_adre_tables_per_image_difference_refuses_unequal_images():
    import adre_tables

    with pytest.raises(ValueError, match="same images"):
        adre_tables.per_image_difference([[1.0, 2.0], [1.0]],
                                         [[0.0, 0.0], [0.0]])


def _adre_cell(model, seed, radius, predict, label):
    import adre_tables

    acr = sum(r for r, p, y in zip(radius, predict, label) if p == y)
    cert = {"radius": radius, "predict": predict, "acr": acr / len(label),
            "certified_accuracy": [0.0] * len(adre_tables.RADII)}
    return {"dataset": "cifar10", "model": model, "seed": seed,
            "label": label, "cohen": cert, "tight": dict(cert),
            "tight_grid": dict(cert), "counts_top2": [[10, 0]] * len(label)}


def test_adre_tables_adre_minus_basic_is_paired_by_image_with_one_seed():
    import adre_tables
    from scipy import stats

    specs = {"basic_0.5": ["gaussian", 0.5, None],
             "adre_0.5_0.1": ["adre", 0.5, 0.1]}
    label = [0, 1, 2, 3, 4]
    cells = [_adre_cell("basic_0.5", 0, [0.2, 0.4, 0.3, 0.5, 0.0],
                        [0, 1, 2, 9, -1], label),
             _adre_cell("adre_0.5_0.1", 0, [0.5, 0.6, 0.1, 0.5, 0.2],
                        [0, 1, 2, 3, 4], label)]
    d = adre_tables.paired(cells, ["cifar10"], specs)["cifar10"]
    row = d["adre_minus_baseline"]["adre_0.5_0.1"]
    # ACR terms: Basic 0.2, 0.4, 0.3, 0 (wrong), 0 (abstains);
    # ADRE 0.5, 0.6, 0.1, 0.5, 0.2 -> differences by hand:
    diff = np.array([0.3, 0.2, -0.2, 0.5, 0.2])
    half = stats.t.ppf(0.975, 4) * diff.std(ddof=1) / math.sqrt(5)
    im = row["per_image"]
    assert im["mean"] == pytest.approx(diff.mean())
    assert (im["low"], im["high"]) == pytest.approx(
        (diff.mean() - half, diff.mean() + half))
    assert (im["larger"], im["smaller"]) == (4, 1)
    # Exact two-sided sign test, 4 of 5: 2 * (1 + 5) / 32.
    assert im["sign_test_p"] == pytest.approx(12 / 32)
    # One seed: no by-seed interval, so the claim is judged by image.
    assert row["acr"]["low"] is None
    results = {"specs": specs, "cells": cells, "paired": {"cifar10": d}}
    line = [x for x in adre_tables.claims(results) if "Table 1" in x][0]
    assert "paired by image (one seed)" in line
    assert im["verdict"] == "tie" and "not resolved" in line
    # Nor does the Figure-2 line claim a verdict "by seed" from one seed.
    fig2 = [x for x in adre_tables.claims(results) if "Fig. 2" in x][0]
    assert "by seed" not in fig2 and "paired by image" in fig2


def test_sequential_agreement_counts_decisions_by_hand():
    import adre_tables

    radii = len(adre_tables.RADII)
    # Fixed n on the first two images: image 0 right with radius 0.6
    # (certified at 0, 0.25, 0.5), image 1 abstained. The sequential run
    # certified image 0 at 0 to 0.75 and image 1 at 0; image 2 has no
    # fixed-n counts and is left out.
    cell = {"fixed_n_images": 2, "label": [3, 1],
            "cohen": {"predict": [3, -1], "radius": [0.6, 0.0]},
            "sequential": {"label": [[3] * 4 + [-1] * (radii - 4),
                                     [1] + [-1] * (radii - 1),
                                     [5] * radii]}}
    assert adre_tables.sequential_agreement(cell) == {
        "decisions": 2 * radii, "agree": 2 * radii - 2,
        "fixed_only": 0, "sequential_only": 2}
    cell.update(dataset="cifar10", model="gaussian_0.5", seed=1,
                fixed_n_seconds=100.0)
    cell["sequential"].update(images=3, mean_samples=2500.0, seconds=30.0)
    results = {"cells": [cell], "settings": {"n": 100_000, "n0": 100},
               "specs": {"gaussian_0.5": ["gaussian", 0.5, None]}}
    row = adre_tables.sequential_lines(results, "cifar10")[5]
    assert row == ("| Basic σ = 0.5 | 1 | 3 | 2,500 (40.0x fewer) | 10.0 / "
                   f"50.0 | {2 * radii - 2} of {2 * radii} (2 images x "
                   f"{radii} radii) | 0 / 2 |")


def test_sequential_columns_of_a_constant_model_follow_the_closed_form():
    """A base model that gives class 2 to every input: fixed-n CERTIFY's
    radius is sigma * Phi^-1(alpha^(1/n)) (the Clopper-Pearson bound with
    all n votes), and the sequential run, whose largest radius at n_max is
    a little smaller (it splits alpha over its looks), must certify the
    same grid radii, those at most 0.615 at sigma 0.25 and n 1,000."""
    import types

    import adre_tables
    from scipy import stats

    sigma, n = 0.25, 1000
    radius = sigma * stats.norm.ppf(adre_tables.ALPHA ** (1 / n))
    inside = [r <= radius - 0.05 for r in adre_tables.RADII]
    assert radius == pytest.approx(0.615, abs=1e-3)
    assert all(abs(r - radius) > 0.1 for r in adre_tables.RADII)
    base = keras.Sequential([
        keras.Input((4, 4, 1)), keras.layers.Flatten(),
        keras.layers.Dense(3, kernel_initializer="zeros",
                           bias_initializer=keras.initializers.Constant(
                               [0.0, 0.0, 9.0]))])
    x = np.random.default_rng(0).uniform(size=(5, 4, 4, 1)).astype(
        "float32")
    data = types.SimpleNamespace(x_test=x, y_test=np.array([2, 2, 2, 1, 2]),
                                 num_classes=3)
    args = types.SimpleNamespace(n0=100, n=n, certify_batch_size=500,
                                 sequential=True, fixed_n_limit=2)
    out = adre_tables.certify_model(base, data, np.array([0, 1, 2, 3]),
                                    sigma, 0, args)
    assert out["table_source"] == "sequential"
    assert out["cohen"]["radius"] == pytest.approx([radius] * 2)
    seq = out["sequential"]
    assert seq["images"] == 4 and seq["true_label"] == [2, 2, 2, 1]
    assert seq["label"] == [[2 if i else -1 for i in inside]] * 4
    # Image 3's true label is 1: certified (class 2), never correct.
    assert seq["certified_accuracy"] == [0.75 if i else 0.0 for i in inside]
    assert all(0 < m <= n for m in seq["num_samples"])
    assert adre_tables.sequential_agreement(out) == {
        "decisions": 2 * len(inside), "agree": 2 * len(inside),
        "fixed_only": 0, "sequential_only": 0}


def test_fixed_schedule_decays_at_the_given_epochs_and_never_stops():
    # The same scripted errors as the plateau test, which would stop it
    # after epoch 6: a schedule decays after epoch 3 only and runs to the
    # cap, keeping the best epoch (7).
    rule, model, snapshots = _run_scripted_rule(
        [50.0, 40.0, 45.0, 41.0, 42.0, 43.0, 10.0, 12.0], decay_epochs=(3,))
    assert len(rule.curve) == 8 and rule.stop_reason == "schedule"
    assert [row["learning_rate"] for row in rule.curve] == pytest.approx(
        [0.1, 0.1, 0.1] + [0.01] * 5)
    assert rule.best_epoch == 7 and rule.decays == 1
    for kept, best in zip(model.get_weights(), snapshots[6]):
        np.testing.assert_array_equal(kept, best)


@pytest.mark.parametrize("cap, fires", [(2, False), (3, False),
                                         (4, True)])
def test_plateau_rule_never_fires_under_a_cap_of_at_most_the_patience(
        cap, fires):
    # Patience 3 and an error that only gets worse: epoch 1 is the best,
    # epochs 2-4 are the three without improvement, so the first decay
    # comes after epoch 4. Under a cap of 2 or 3 epochs the lr stays 0.1
    # throughout: the run is one fixed schedule, and the results say so.
    rule, _, _ = _run_scripted_rule([10.0, 20.0, 30.0, 40.0], epochs=cap,
                                    patience=3)
    lrs = [row["learning_rate"] for row in rule.curve]
    assert len(lrs) == cap and (rule.decays == 1) == fires
    settings = {"patience": 3, "max_epochs": {"cifar10": cap},
                "plateau_rule": "the rule"}
    assert _common.fixed_by_the_cap(settings) == (
        [] if fires else ["cifar10"])
    assert _common.training_line(settings) == "- Training: the rule" + (
        "" if fires else
        "; for cifar10 the cap is at most the patience (3), so the rule "
        "never fires: every model trains at the starting lr up to the cap, "
        "one fixed schedule")
    assert _common.trained_how(settings) == (
        "to a validation plateau" if fires else
        "on one fixed schedule (no lr decay, no early stop)")


def test_only_the_datasets_under_the_patience_are_a_fixed_schedule():
    settings = {"patience": 15, "max_epochs": {"mnist": 30, "cifar10": 15},
                "plateau_rule": "r"}
    assert _common.fixed_by_the_cap(settings) == ["cifar10"]
    assert _common.trained_how(settings) == "to a validation plateau"
    # A fixed step schedule (alps_tables --decay-epochs) does not use the
    # rule at all.
    stepped = dict(settings, decay_epochs=[10])
    assert _common.fixed_by_the_cap(stepped) == []
    assert _common.trained_how(stepped) == "on one fixed step schedule"
    assert _common.training_line(stepped) == "- Training: r"


def test_alps_tables_decay_epochs_flag(capsys, tmp_path):
    import alps_tables

    parser = alps_tables.build_parser()
    assert parser.parse_args([]).decay_epochs is None
    assert parser.parse_args(["--decay-epochs", "10,15"]).decay_epochs == [
        10, 15]
    for bad in ("0", "15,10", "10,10", "x", ","):
        with pytest.raises(SystemExit):
            parser.parse_args(["--decay-epochs", bad])
        err = capsys.readouterr().err
        assert "--decay-epochs" in err and "epochs" in err
    with pytest.raises(SystemExit):  # a decay at or after the cap, refused
        alps_tables.main(["--datasets", "cifar10", "--decay-epochs", "20",
                          "--max-epochs-cifar", "20", "--out",
                          str(tmp_path / "r.json")])
    assert "before the cifar10 epoch cap 20" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # before anything is written


@pytest.mark.parametrize("script,flag,what", [
    ("alps_tables", "--seeds", "integers"),
    ("alps_tables", "--decay-epochs", "epochs"),
    ("adre_tables", "--sigmas", "numbers")])
def test_comma_list_flags_name_the_item_they_could_not_read(script, flag,
                                                            what, capsys):
    import importlib

    parser = importlib.import_module(script).build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args([flag, "1,x"])
    err = capsys.readouterr().err
    assert flag in err
    assert f"expected {what} separated by commas, got '1,x'." in err


@pytest.mark.parametrize("stem, trained", [
    ("alps_tables_converged_cifar10", "to a validation plateau"),
    ("alps_tables_schedule_cifar10", "on one fixed step schedule")])
def test_alps_tables_title_names_the_training_rule_of_the_run(stem, trained):
    import json

    import alps_tables

    path = BENCH / "results" / f"{stem}.json"
    text = alps_tables.markdown(json.loads(path.read_text()))
    assert text.splitlines()[0].endswith(f"(models trained {trained})")


@pytest.mark.parametrize("stem, trained", [
    ("adre_fig1_sigma1.0", "to a validation plateau"),
    # Recorded with --patience 15 --max-decays 0 under a 15-epoch cap.
    ("adre_fig1_sigma1.0_fixed15_2seeds",
     "on one fixed schedule (no lr decay, no early stop)")])
def test_adre_tables_title_names_the_training_rule_of_the_run(stem, trained):
    import json

    import adre_tables

    path = BENCH / "results" / f"{stem}.json"
    results = json.loads(path.read_text())
    lines = adre_tables.markdown(results).splitlines()
    assert lines[0].endswith(f", models trained {trained}")
    training, = [ln for ln in lines if ln.startswith("- Training: ")]
    assert training.endswith("the rule never fires: every model trains at "
                             "the starting lr up to the cap, one fixed "
                             "schedule") == trained.startswith("on one")
    # The recorded learning rates agree: 0.1 at every epoch of every model.
    lrs = np.array([row["learning_rate"] for cell in results["cells"]
                    for row in cell["curve"]])
    assert np.allclose(lrs, 0.1) == trained.startswith("on one")


@pytest.mark.parametrize("script, stem", [
    ("alps_tables", "alps_tables_converged_mnist"),
    ("alps_tables", "alps_tables_converged_cifar10"),
    ("alps_tables", "alps_tables_schedule_cifar10"),
    ("adre_tables", "adre_table1_sigma1.0_0.25"),
    ("adre_tables", "adre_table1_sigma1.0_lam0.2"),
    ("adre_tables", "adre_fig1_sigma1.0"),
    ("adre_tables", "adre_fig1_sigma1.0_fixed15_2seeds")])
def test_markdown_of_a_reloaded_json_is_the_recorded_md(script, stem):
    # The JSON is written with sorted keys, so a reloaded summary is in
    # alphabetical order (alps, dropout, erm, ...; adre_* before basic_*,
    # sigma 1 before 0.25); the tables must still come in the order the
    # run wrote them (ERM ... ALPS, mnist first; the paper's Table 1 order).
    import importlib
    import json

    module = importlib.import_module(script)
    path = BENCH / "results" / f"{stem}.json"
    text = module.markdown(json.loads(path.read_text()))
    assert text == path.with_suffix(".md").read_text()


@pytest.mark.parametrize("stem, named, left_out", [
    # SmoothAdv / ADRE_ADV only (recorded with k = 2, 2-step PGD, and the
    # reg family's unused default k = 8).
    ("adre_fig1_sigma1.0_n100000",
     "- SmoothAdv / ADRE_ADV: k = 2, 2-step L2 PGD, epsilon 0.25, "
     "warm-up 2 epoch(s).", ("Basic", "ADRE_REG")),
    # Basic alone (Figure 2 on Basic models).
    ("adre_fig2_sigma1.0_n100000", "- Basic: k = 1.",
     ("ADRE_REG", "SmoothAdv")),
    # Basic and ADRE_REG (k = 4), no adversarial models.
    ("adre_table1_sigma1.0_3seeds",
     "- Basic: k = 1. ADRE_REG: k = 4, single_draw_per (the paper's "
     "CIFAR-10 variant).", ("SmoothAdv", "PGD"))])
def test_adre_tables_header_names_only_the_trained_families(
        stem, named, left_out):
    import json

    import adre_tables

    results = json.loads((BENCH / "results" / f"{stem}.json").read_text())
    line, = [ln for ln in adre_tables.markdown(results).splitlines()
             if " k = " in ln]
    assert line == named
    assert not any(word in line for word in left_out)


def test_adre_tables_rerender_lists_models_in_the_papers_table_order(
        tmp_path):
    # A recorded run of --sigmas 1.0,0.25: its JSON has sorted keys
    # (adre_0.25_0.1, adre_1_0.1, basic_0.25, basic_1). The paper's Table 1
    # goes by sigma ascending, Basic before ADRE_REG; the rows and claim
    # lines must too, with the same numbers.
    import shutil

    import adre_tables

    recorded = BENCH / "results" / "adre_table1_sigma1.0_0.25.json"
    copy = tmp_path / recorded.name
    shutil.copy(recorded, copy)
    assert adre_tables.main(["--rerender", str(copy)]) == 0
    md = copy.with_suffix(".md").read_text().splitlines()
    first = md.index([x for x in md if x.startswith("| Model | epochs")][0])
    rows = md[first + 2:first + 6]
    assert [r.split(" | ")[0] for r in rows] == [
        "| Basic σ = 0.25", "| ADRE_REG σ = 0.25, λ = 0.1",
        "| Basic σ = 1", "| ADRE_REG σ = 1, λ = 0.1"]
    old = recorded.with_suffix(".md").read_text().splitlines()
    assert sorted(rows) == sorted(old[first + 2:first + 6])
    fig2 = [x for x in md if "Fig. 2" in x][0]
    assert fig2.index("Basic σ = 0.25") < fig2.index("ADRE_REG σ = 0.25") \
        < fig2.index("Basic σ = 1") < fig2.index("ADRE_REG σ = 1")


def test_alps_tables_rerender_recomputes_the_statistics(tmp_path, capsys):
    import json
    import shutil

    import alps_tables
    from scipy import stats

    recorded = BENCH / "results" / "alps_tables_schedule_cifar10.json"
    copy = tmp_path / recorded.name
    shutil.copy(recorded, copy)
    results = json.loads(copy.read_text())
    results["summary"], results["differences"] = {}, {}
    copy.write_text(json.dumps(results))
    assert alps_tables.main(["--rerender", str(copy)]) == 0
    out = json.loads(copy.read_text())
    # ALPS - ERM clean error, paired by seed, from the raw cells with
    # scipy's t distribution.
    cell = {(c["method"], c["seed"]): c["clean_error"]
            for c in out["cells"]}
    diffs = np.array([cell[("alps", s)] - cell[("erm", s)]
                      for s in (0, 1, 2)])
    low, high = stats.t.interval(0.95, len(diffs) - 1, loc=diffs.mean(),
                                 scale=stats.sem(diffs))
    got = out["differences"]["cifar10"]["erm"]["clean_error"]
    assert got["mean"] == pytest.approx(diffs.mean())
    assert (got["low"], got["high"]) == (pytest.approx(low),
                                         pytest.approx(high))
    assert out["summary"]["cifar10"]["alps"]["clean_error"]["mean"] == (
        pytest.approx(np.mean([cell[("alps", s)] for s in (0, 1, 2)])))
    # The tables equal the recorded ones, but for the commit line.
    md = copy.with_suffix(".md").read_text().splitlines()
    old = recorded.with_suffix(".md").read_text().splitlines()
    changed = [(a, b) for a, b in zip(old, md) if a != b]
    assert len(md) == len(old) and len(changed) == 1
    assert changed[0][1].startswith(changed[0][0] + " (statistics and "
                                    "tables re-rendered at")
    assert copy.with_name(copy.stem + "_curves.png").stat().st_size > 0


@pytest.mark.parametrize("script", ["alps_tables", "adre_tables"])
@pytest.mark.parametrize("content, says", [
    (None, "cannot read it as JSON"),
    ("{not json", "cannot read it as JSON"),
    ('{"summary": {}}', "not a results JSON of this script (no 'cells'")])
def test_rerender_rejects_a_file_that_is_not_a_results_json(
        script, content, says, tmp_path, capsys):
    import importlib

    module = importlib.import_module(script)
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--rerender", str(path)])
    message = str(exit_info.value)
    assert message.startswith(f"error: --rerender {path}: {says}")
    assert "expected the results JSON an earlier run of this script wrote" \
        in message
    # Nothing written beside it, the file itself untouched.
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        [] if content is None else ["results.json"])
    if content is not None:
        assert path.read_text() == content


def test_adre_rerender_rejects_a_run_without_model_specs(tmp_path):
    # Results of the script's first version (benchmarks/results/
    # adre_tables.json) have cells but no specs: a message, not a KeyError.
    import adre_tables

    path = tmp_path / "results.json"
    path.write_text('{"cells": []}')
    with pytest.raises(SystemExit) as exit_info:
        adre_tables.main(["--rerender", str(path)])
    assert str(exit_info.value).startswith(
        f"error: --rerender {path}: not a results JSON of this script "
        "(no 'specs'); expected")
    assert path.read_text() == '{"cells": []}'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


# ------------------------------------------------ adre_tables --reuse/--resume
LAM02_RUN = ["--families", "reg", "--methods", "gaussian,adre", "--sigmas",
             "1.0", "--lams", "0.2", "--num-noise", "4", "--arch-cifar",
             "small_cnn", "--seeds", "0", "--certify-limit", "40", "--n",
             "10000", "--patience", "2", "--max-decays", "1",
             "--max-epochs-cifar", "15"]


def _acr_terms(cell):
    return np.where(np.array(cell["cohen"]["predict"]) == cell["label"],
                    cell["cohen"]["radius"], 0.0)


def _no_training(*args, **kwargs):
    raise AssertionError("a reused cell was trained again")


def _with_flags(run, change):
    """The command line `run` with each `--flag value` pair of `change`
    replacing that flag's value, or added where `run` lacks the flag."""
    run = list(run)
    for flag, value in zip(change[::2], change[1::2]):
        if flag in run:
            run[run.index(flag) + 1] = value
        else:
            run += [flag, value]
    return run


def test_adre_tables_resume_takes_the_recorded_models_and_trains_none(
        tmp_path, shared_data_dir, monkeypatch):
    # The recorded lambda 0.2 run, resumed with its own flags: both of its
    # models are taken from the JSON in --out-dir, nothing is trained, and
    # ADRE_REG - Basic is the paired difference of the recorded radii.
    import json
    import shutil

    import adre_tables
    from scipy import stats

    recorded = BENCH / "results" / "adre_table1_sigma1.0_lam0.2.json"
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(recorded, out / f"{adre_tables.STEM}.json")
    monkeypatch.setattr(adre_tables, "train_and_certify", _no_training)
    assert adre_tables.main(LAM02_RUN + [
        "--data-dir", str(shared_data_dir), "--out-dir", str(out),
        "--resume"]) == 0
    old = json.loads(recorded.read_text())
    new = json.loads((out / f"{adre_tables.STEM}.json").read_text())
    assert [{k: v for k, v in c.items() if k != "reused_from"}
            for c in new["cells"]] == old["cells"]
    # Each model names the run that computed it: ADRE_REG this recorded
    # run, Basic the run it was merged from by hand (`basic_cell_from`).
    assert {c["model"]: (c["reused_from"]["file"], c["reused_from"]["commit"])
            for c in new["cells"]} == {
        "adre_1_0.2": (f"{adre_tables.STEM}.json", old["commit"]),
        "basic_1": (old["basic_cell_from"]["file"],
                    old["basic_cell_from"]["commit"])}
    cell = {c["model"]: c for c in old["cells"]}
    diff = _acr_terms(cell["adre_1_0.2"]) - _acr_terms(cell["basic_1"])
    low, high = stats.t.interval(0.95, len(diff) - 1, loc=diff.mean(),
                                 scale=stats.sem(diff))
    got = new["paired"]["cifar10"]["adre_minus_baseline"]["adre_1_0.2"][
        "per_image"]
    assert (got["mean"], got["low"], got["high"]) == (
        pytest.approx(diff.mean()), pytest.approx(low), pytest.approx(high))
    md = (out / f"{adre_tables.STEM}.md").read_text()
    assert "- Reused, not retrained here" in md
    assert (f"basic_1 seed 0 (adre_table1_sigma1.0_0.25.json, commit "
            f"{old['basic_cell_from']['commit']}); adre_1_0.2 seed 0 "
            f"({adre_tables.STEM}.json, commit {old['commit']}, started "
            f"{old['started_utc']})") in md


def test_adre_tables_reuse_trains_only_the_models_it_does_not_find(
        tmp_path, shared_data_dir, monkeypatch):
    # The lambda 0.2 run as one command: Basic sigma 1 taken from the
    # sigma 1.0 / 0.25 run, ADRE_REG lambda 0.2 "trained" (here: the
    # recorded cell, so that the result can be checked against the record).
    import json

    import adre_tables

    lam02 = json.loads((BENCH / "results" /
                        "adre_table1_sigma1.0_lam0.2.json").read_text())
    source = BENCH / "results" / "adre_table1_sigma1.0_0.25.json"
    trained = []

    def fake_train_and_certify(key, *args, **kwargs):
        trained.append(key)
        return [c for c in lam02["cells"] if c["model"] == key][0]

    monkeypatch.setattr(adre_tables, "train_and_certify",
                        fake_train_and_certify)
    assert adre_tables.main(LAM02_RUN + [
        "--data-dir", str(shared_data_dir), "--out-dir", str(tmp_path),
        "--reuse", str(source)]) == 0
    assert trained == ["adre_1_0.2"]
    new = json.loads((tmp_path / f"{adre_tables.STEM}.json").read_text())
    basic = [c for c in new["cells"] if c["model"] == "basic_1"][0]
    assert basic["reused_from"]["file"] == source.name
    # A record from before runs recorded their CPU names no machine.
    assert "cpu" not in json.loads(source.read_text())["machine"]
    assert "machine" not in basic["reused_from"]
    recorded_basic = [c for c in json.loads(source.read_text())["cells"]
                      if c["model"] == "basic_1"][0]
    assert {k: v for k, v in basic.items() if k != "reused_from"} == (
        recorded_basic)
    # The same comparison as the recorded run, merged by hand then.
    got, want = (r["paired"]["cifar10"]["adre_minus_baseline"]["adre_1_0.2"]
                 ["per_image"] for r in (new, lam02))
    assert (got["mean"], got["low"], got["high"]) == (
        pytest.approx(want["mean"]), pytest.approx(want["low"]),
        pytest.approx(want["high"]))


def test_adre_tables_resume_stopped_again_keeps_the_models_it_had_not_reached(
        tmp_path, shared_data_dir, monkeypatch):
    # The sigma 1.0 / 0.25 run without its ADRE_REG sigma 0.25 model (the
    # run trains sigma 0.25 first), resumed and killed while training that
    # model: the sigma 1 models were not reached yet, and the JSON must
    # still hold them.
    import json

    import adre_tables

    recorded = json.loads((BENCH / "results" /
                           "adre_table1_sigma1.0_0.25.json").read_text())
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{adre_tables.STEM}.json").write_text(json.dumps(dict(
        recorded, cells=[c for c in recorded["cells"]
                         if c["model"] != "adre_0.25_0.1"])))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(adre_tables, "train_and_certify", killed)
    with pytest.raises(KeyboardInterrupt):
        adre_tables.main(
            ["--families", "reg", "--methods", "gaussian,adre", "--sigmas",
             "1.0,0.25", "--lams", "0.1", "--num-noise", "4",
             "--arch-cifar", "small_cnn", "--seeds", "0", "--certify-limit",
             "40", "--n", "10000", "--patience", "2", "--max-decays", "1",
             "--max-epochs-cifar", "15", "--data-dir", str(shared_data_dir),
             "--out-dir", str(out), "--resume"])
    kept = json.loads((out / f"{adre_tables.STEM}.json").read_text())
    assert sorted(({k: v for k, v in c.items() if k != "reused_from"}
                   for c in kept["cells"]), key=lambda c: c["model"]) == (
        sorted((c for c in recorded["cells"]
                if c["model"] != "adre_0.25_0.1"), key=lambda c: c["model"]))


@pytest.mark.parametrize("change, says", [
    (["--n", "1000"], "its basic_1 (seed 0, cifar10) was run with n = "
                      "10000; this run has n = 1000."),
    (["--num-noise", "8"], "its adre_1_0.2 (seed 0, cifar10) was run with "
                           "num_noise = 4; this run has num_noise = 8."),
    (["--arch-cifar", "resnet20"], "was run with arch = 'small_cnn'; this "
                                   "run has arch = 'resnet20'."),
    (["--patience", "3"], "was run with patience = 2; this run has "
                          "patience = 3.")])
def test_adre_tables_reuse_refuses_a_model_of_other_settings(
        change, says, tmp_path, shared_data_dir, monkeypatch):
    import adre_tables

    recorded = BENCH / "results" / "adre_table1_sigma1.0_lam0.2.json"
    monkeypatch.setattr(adre_tables, "train_and_certify", _no_training)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        adre_tables.main(LAM02_RUN + change + [
            "--data-dir", str(shared_data_dir), "--out-dir", str(out),
            "--reuse", str(recorded)])
    message = str(exit_info.value)
    assert message.startswith(f"error: --reuse {recorded}: ")
    assert says in message
    assert not out.exists()


@pytest.mark.parametrize("content, says", [
    ("{not json", "cannot read it as JSON"),
    ('{"cells": []}', "not a results JSON of this script (no 'specs', "
                      "'settings', 'datasets')"),
    (None, "other cifar10 test images than this run's")])
def test_adre_tables_reuse_refuses_a_file_it_cannot_use(
        content, says, tmp_path, shared_data_dir, monkeypatch):
    # Not JSON, not a results JSON, or certified on other test images
    # (None: the recorded run with its certified indices shifted by one):
    # a message, no training, nothing written.
    import json

    import adre_tables

    path = tmp_path / "old.json"
    if content is None:
        recorded = json.loads((BENCH / "results" /
                               "adre_table1_sigma1.0_lam0.2.json").read_text())
        info = recorded["datasets"]["cifar10"]
        info["certified_index"] = [i + 1 for i in info["certified_index"]]
        content = json.dumps(recorded)
    path.write_text(content)
    monkeypatch.setattr(adre_tables, "train_and_certify", _no_training)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        adre_tables.main(LAM02_RUN + [
            "--data-dir", str(shared_data_dir), "--out-dir", str(out),
            "--reuse", str(path)])
    message = str(exit_info.value)
    assert message.startswith(f"error: --reuse {path}: ")
    assert says in message
    assert not out.exists()
    assert path.read_text() == content


@pytest.mark.parametrize("change, left_out", [
    (["--methods", "gaussian"], "adre_1_0.2 (seed 0, cifar10)"),
    (["--seeds", "1"], "basic_1 (seed 0, cifar10), adre_1_0.2 (seed 0, "
                       "cifar10)")])
def test_adre_tables_resume_refuses_a_plan_that_would_drop_recorded_models(
        change, left_out, tmp_path, shared_data_dir, monkeypatch):
    # Resuming the recorded lambda 0.2 run with a smaller plan would
    # rewrite its JSON without the models the plan leaves out: refused,
    # before any training, with the JSON untouched.
    import shutil

    import adre_tables

    recorded = BENCH / "results" / "adre_table1_sigma1.0_lam0.2.json"
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(recorded, out / f"{adre_tables.STEM}.json")
    monkeypatch.setattr(adre_tables, "train_and_certify", _no_training)
    with pytest.raises(SystemExit) as exit_info:
        adre_tables.main(_with_flags(LAM02_RUN, change) + [
            "--data-dir", str(shared_data_dir), "--out-dir", str(out),
            "--resume"])
    message = str(exit_info.value)
    assert message.startswith(
        f"error: --resume {out / adre_tables.STEM}.json: it holds "
        f"{left_out}, which this run's")
    assert (out / f"{adre_tables.STEM}.json").read_bytes() == (
        recorded.read_bytes())
    assert sorted(f.name for f in out.iterdir()) == [
        f"{adre_tables.STEM}.json"]


def test_adre_tables_resume_names_resume_when_its_own_json_is_unusable(
        tmp_path, shared_data_dir, monkeypatch):
    # The JSON in --out-dir without the model specs a resume compares:
    # refused once, by the flag the user gave (--resume, not --reuse),
    # before any training, with the JSON untouched.
    import json

    import adre_tables

    recorded = json.loads((BENCH / "results" /
                           "adre_table1_sigma1.0_lam0.2.json").read_text())
    del recorded["specs"]
    out = tmp_path / "out"
    out.mkdir()
    own = out / f"{adre_tables.STEM}.json"
    own.write_text(json.dumps(recorded))
    before = own.read_bytes()
    monkeypatch.setattr(adre_tables, "train_and_certify", _no_training)
    with pytest.raises(SystemExit) as exit_info:
        adre_tables.main(LAM02_RUN + [
            "--data-dir", str(shared_data_dir), "--out-dir", str(out),
            "--resume"])
    assert str(exit_info.value) == (
        f"error: --resume {own}: not a results JSON of this script (no "
        "'specs'); expected the results JSON an earlier run of this "
        "script wrote.")
    assert own.read_bytes() == before
    assert sorted(f.name for f in out.iterdir()) == [own.name]


# ------------------------------------------------------- alps_tables --resume
SCHEDULE_RUN = ["--datasets", "cifar10", "--seeds", "0,1,2", "--arch-cifar",
                "resnet8", "--batch-size", "128", "--decay-epochs", "12",
                "--max-epochs-cifar", "16"]
MNIST_RUN = ["--datasets", "mnist", "--seeds", "0,1,2", "--patience", "2",
             "--max-decays", "1", "--max-epochs-mnist", "10", "--width", "16",
             "--batch-size", "256"]
ALPS_RUNS = {"alps_tables_schedule_cifar10": SCHEDULE_RUN,
             "alps_tables_converged_mnist": MNIST_RUN}


def _copy_alps_run(stem, tmp_path, drop_last=False):
    import json

    recorded = json.loads((BENCH / "results" / f"{stem}.json").read_text())
    kept = dict(recorded, cells=recorded["cells"][:-1] if drop_last
                else recorded["cells"])
    out = tmp_path / f"{stem}.json"
    out.write_text(json.dumps(kept))
    return recorded, out


@pytest.mark.parametrize("stem", sorted(ALPS_RUNS))
def test_alps_tables_resume_of_a_finished_run_trains_nothing(
        stem, tmp_path, shared_data_dir, monkeypatch):
    # Both recorded runs (the MNIST one from before --decay-epochs existed)
    # resumed with their own flags: no source, no model trained, the
    # models as recorded, and ALPS - ERM per seed is scipy's t-interval of
    # the recorded errors.
    import json

    import alps_tables
    from scipy import stats

    recorded, out = _copy_alps_run(stem, tmp_path)
    monkeypatch.setattr(alps_tables, "train", _no_training)
    assert alps_tables.main(ALPS_RUNS[stem] + [
        "--data-dir", str(shared_data_dir), "--out", str(out),
        "--resume"]) == 0
    new = json.loads(out.read_text())
    assert new["cells"] == recorded["cells"]
    assert new["sources"] == recorded["sources"]
    assert new["resumed"] == [{"commit": recorded["commit"],
                               "started_utc": recorded["started_utc"],
                               "models": 15}]
    dataset = recorded["settings"]["datasets"][0]
    error = {(c["method"], c["seed"]): c["pgd_white_box"]
             for c in recorded["cells"]}
    diff = np.array([error["alps", s] - error["erm", s] for s in (0, 1, 2)])
    low, high = stats.t.interval(0.95, 2, loc=diff.mean(),
                                 scale=stats.sem(diff))
    got = new["differences"][dataset]["erm"]["pgd_white_box"]
    assert (got["mean"], got["low"], got["high"]) == (
        pytest.approx(diff.mean()), pytest.approx(low), pytest.approx(high))
    assert (f"- Resumed (--resume) from the run of commit "
            f"{recorded['commit']}, started {recorded['started_utc']}, "
            "holding 15 model(s)") in out.with_suffix(".md").read_text()


def test_alps_tables_resume_trains_only_the_missing_model_and_its_source(
        tmp_path, shared_data_dir, monkeypatch):
    # The schedule run killed before its last model (seed 2, ALPS): only
    # that model is trained, after its black-box source (no kept file:
    # retrained, here faked with the recorded record), and the tables are
    # the recorded ones.
    import json

    import alps_tables

    recorded, out = _copy_alps_run("alps_tables_schedule_cifar10", tmp_path,
                                   drop_last=True)
    calls = []

    def fake_source(dataset, seed, *args, reuse_file, fingerprint):
        calls.append(("source", seed, reuse_file))
        return ({"fgsm": None, "pgd": None},
                [c for c in recorded["sources"]
                 if c["seed"] == seed + 1000][0], False)

    def fake_train_and_evaluate(method, dataset, seed, *args):
        calls.append((method, seed))
        return recorded["cells"][-1]

    monkeypatch.setattr(alps_tables, "source_black_box", fake_source)
    monkeypatch.setattr(alps_tables, "train_and_evaluate",
                        fake_train_and_evaluate)
    assert alps_tables.main(SCHEDULE_RUN + [
        "--data-dir", str(shared_data_dir), "--out", str(out),
        "--resume"]) == 0
    assert calls == [("source", 2, True), ("alps", 2)]
    new = json.loads(out.read_text())
    assert new["cells"] == recorded["cells"]
    assert new["differences"] == recorded["differences"]


def test_alps_tables_resume_refuses_a_source_that_trains_differently(
        tmp_path, shared_data_dir, monkeypatch):
    import json

    import alps_tables

    recorded, out = _copy_alps_run("alps_tables_schedule_cifar10", tmp_path,
                                   drop_last=True)

    def other_source(dataset, seed, *args, reuse_file, fingerprint):
        record = [c for c in recorded["sources"] if c["seed"] == seed + 1000]
        return ({}, dict(record[0], clean_error=record[0]["clean_error"] + 1),
                False)

    monkeypatch.setattr(alps_tables, "source_black_box", other_source)
    monkeypatch.setattr(alps_tables, "train_and_evaluate", _no_training)
    with pytest.raises(SystemExit) as exit_info:
        alps_tables.main(SCHEDULE_RUN + [
            "--data-dir", str(shared_data_dir), "--out", str(out),
            "--resume"])
    assert "black-box source of seed 2, trained again, has clean error" in (
        str(exit_info.value))
    # The run stopped there keeps every recorded model.
    kept = json.loads(out.read_text())
    assert kept["cells"] == recorded["cells"][:-1]
    assert kept["sources"] == recorded["sources"]


def test_alps_tables_resume_stopped_again_keeps_the_models_it_had_not_reached(
        tmp_path, shared_data_dir, monkeypatch):
    # The schedule run without its seed-0 ALPS model, resumed and killed
    # while training that model: seeds 1 and 2 were not reached yet, and
    # the JSON must still hold them.
    import json

    import alps_tables

    recorded = json.loads((BENCH / "results" /
                           "alps_tables_schedule_cifar10.json").read_text())
    first = [c for c in recorded["cells"]
             if (c["seed"], c["method"]) == (0, "alps")][0]
    out = tmp_path / "run.json"
    out.write_text(json.dumps(dict(recorded, cells=[
        c for c in recorded["cells"] if c is not first])))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(alps_tables, "source_black_box",
                        lambda *a, reuse_file, fingerprint: (
                            {}, recorded["sources"][0], False))
    monkeypatch.setattr(alps_tables, "train_and_evaluate", killed)
    with pytest.raises(KeyboardInterrupt):
        alps_tables.main(SCHEDULE_RUN + [
            "--data-dir", str(shared_data_dir), "--out", str(out),
            "--resume"])
    kept = json.loads(out.read_text())
    assert kept["cells"] == [c for c in recorded["cells"] if c is not first]
    assert kept["sources"] == recorded["sources"]


@pytest.mark.parametrize("change, says", [
    (["--width", "16"], "its cifar10 models were run with width = 32; this "
                        "run has width = 16."),
    (["--decay-epochs", "10"], "decay_epochs = [12]; this run has "
                               "decay_epochs = [10]."),
    (["--max-epochs-cifar", "20"], "max_epochs = 16; this run has "
                                   "max_epochs = 20."),
    (["--epsilon", "0.1"], "were run with attacks = "),
    (["--limit-test", "500"], "were run on other data"),
    (["--seeds", "0,1"], "it holds erm (seed 2, cifar10), dropout (seed 2, "
                         "cifar10)"),
    (["--methods", "erm,alps"], "it holds dropout (seed 0, cifar10), "
                                "label_smoothing (seed 0, cifar10)")])
def test_alps_tables_resume_refuses_other_settings_or_a_smaller_plan(
        change, says, tmp_path, shared_data_dir, monkeypatch):
    # Each before any training, with the recorded JSON untouched.
    import alps_tables

    recorded, out = _copy_alps_run("alps_tables_schedule_cifar10", tmp_path,
                                   drop_last=True)
    before = out.read_text()
    monkeypatch.setattr(alps_tables, "train", _no_training)
    with pytest.raises(SystemExit) as exit_info:
        alps_tables.main(_with_flags(SCHEDULE_RUN, change) + [
            "--data-dir", str(shared_data_dir), "--out", str(out),
            "--resume"])
    message = str(exit_info.value)
    assert message.startswith(f"error: --resume {out}: ")
    assert says in message
    assert out.read_text() == before
    assert sorted(f.name for f in tmp_path.iterdir()) == [out.name]


# -------------------------------------------------------- alps_tables --reuse
def test_alps_tables_reuse_of_a_recorded_run_trains_nothing(
        tmp_path, shared_data_dir, monkeypatch):
    # The recorded MNIST run taken whole by --reuse into a new --out:
    # nothing is trained, every model and source is the recorded one plus
    # the run it came from, and ALPS - Dropout per seed is scipy's
    # t-interval of the recorded errors.
    import json

    import alps_tables
    from scipy import stats

    path = BENCH / "results" / "alps_tables_converged_mnist.json"
    recorded = json.loads(path.read_text())
    for name in ("train", "source_black_box", "train_and_evaluate"):
        monkeypatch.setattr(alps_tables, name, _no_training)
    out = tmp_path / "reused.json"
    assert alps_tables.main(MNIST_RUN + [
        "--data-dir", str(shared_data_dir), "--out", str(out),
        "--reuse", str(path)]) == 0
    new = json.loads(out.read_text())
    origin = {"file": path.name, "commit": recorded["commit"],
              "started_utc": recorded["started_utc"]}
    for key in ("cells", "sources"):
        assert [c.pop("reused_from") for c in new[key]] == (
            [origin] * len(recorded[key]))
        assert new[key] == recorded[key]
    error = {(c["method"], c["seed"]): c["fgsm_black_box"]
             for c in recorded["cells"]}
    diff = np.array([error["alps", s] - error["dropout", s]
                     for s in (0, 1, 2)])
    low, high = stats.t.interval(0.95, 2, loc=diff.mean(),
                                 scale=stats.sem(diff))
    got = new["differences"]["mnist"]["dropout"]["fgsm_black_box"]
    assert (got["mean"], got["low"], got["high"]) == (
        pytest.approx(diff.mean()), pytest.approx(low), pytest.approx(high))
    assert (f"- Reused, not retrained here (--reuse; the source and every "
            f"model of the seed): mnist seed 0 ({path.name}, commit "
            f"{recorded['commit']}, started {recorded['started_utc']})"
            ) in out.with_suffix(".md").read_text()


def test_alps_tables_reuse_trains_only_the_seed_the_file_lacks(
        tmp_path, shared_data_dir, monkeypatch):
    # Seeds 0-3 with the three-seed schedule run reused: only seed 3 is
    # trained, its black-box source first (a fresh --out: no source file
    # to read), then its five models in the table's order.
    import json

    import alps_tables

    path = BENCH / "results" / "alps_tables_schedule_cifar10.json"
    recorded = json.loads(path.read_text())
    calls = []

    def fake_source(dataset, seed, *args, reuse_file, fingerprint):
        calls.append(("source", seed, reuse_file))
        return ({}, dict(recorded["sources"][2], seed=seed + 1000), False)

    def fake_train_and_evaluate(method, dataset, seed, *args):
        calls.append((method, seed))
        return dict([c for c in recorded["cells"]
                     if (c["method"], c["seed"]) == (method, 2)][0],
                    seed=seed)

    monkeypatch.setattr(alps_tables, "source_black_box", fake_source)
    monkeypatch.setattr(alps_tables, "train_and_evaluate",
                        fake_train_and_evaluate)
    out = tmp_path / "four_seeds.json"
    assert alps_tables.main(_with_flags(SCHEDULE_RUN, [
        "--seeds", "0,1,2,3"]) + ["--data-dir", str(shared_data_dir),
                                  "--out", str(out), "--reuse",
                                  str(path)]) == 0
    methods = recorded["settings"]["methods"]
    assert calls == [("source", 3, False)] + [(m, 3) for m in methods]
    new = json.loads(out.read_text())
    assert sorted({(c["seed"], "reused_from" in c) for c in new["cells"]}) == [
        (0, True), (1, True), (2, True), (3, False)]
    # Seed 3 is a copy of seed 2 here: the mean and sample std over the
    # four seeds, by numpy.
    erm = [c["clean_error"] for c in recorded["cells"]
           if c["method"] == "erm"]
    erm = erm + erm[-1:]
    got = new["summary"]["cifar10"]["erm"]["clean_error"]
    assert (got["mean"], got["std"]) == (pytest.approx(np.mean(erm)),
                                         pytest.approx(np.std(erm, ddof=1)))


@pytest.mark.parametrize("change, says", [
    (["--width", "16"], "its cifar10 models were run with width = 32; this "
                        "run has width = 16. Reuse only runs of equal "
                        "settings"),
    (["--epsilon", "0.1"], "were run with attacks = "),
    (["--limit-test", "500"], "were run on other data")])
def test_alps_tables_reuse_refuses_a_run_of_other_settings(
        change, says, tmp_path, shared_data_dir, monkeypatch):
    # Before any training, and nothing written to --out.
    import alps_tables

    path = BENCH / "results" / "alps_tables_schedule_cifar10.json"
    for name in ("train", "source_black_box", "train_and_evaluate"):
        monkeypatch.setattr(alps_tables, name, _no_training)
    with pytest.raises(SystemExit) as exit_info:
        alps_tables.main(_with_flags(SCHEDULE_RUN, change) + [
            "--data-dir", str(shared_data_dir), "--out",
            str(tmp_path / "run.json"), "--reuse", str(path)])
    message = str(exit_info.value)
    assert message.startswith(f"error: --reuse {path}: ")
    assert says in message
    assert list(tmp_path.iterdir()) == []


def test_alps_tables_source_file_gives_the_same_examples_without_training(
        tmp_path, monkeypatch):
    # A source trained once keeps its black-box examples and record beside
    # --out (atomically: no temporary file left); read back they are equal
    # to the examples crafted, byte for byte, with nothing trained; without
    # reuse_file the source is trained again.
    import types

    import alps_tables
    from kerasrobust.evaluate import craft

    rng = np.random.default_rng(0)
    data = types.SimpleNamespace(
        x_test=rng.uniform(size=(16, 8, 8, 1)).astype("float32"),
        y_test=rng.integers(0, 3, size=16))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    plateau = types.SimpleNamespace(curve=[{"epoch": 1}], best_epoch=1,
                                    best=50.0, stop_reason="max_epochs",
                                    decays=0)
    trained = []

    def fake_train(method, arch, train_data, val, seed, max_epochs, args):
        trained.append((method, seed))
        return model, 2.0, plateau

    monkeypatch.setattr(alps_tables, "train", fake_train)
    configs = alps_tables.attacks(0.1)
    args = types.SimpleNamespace(attack_batch_size=8)
    path = alps_tables.source_path(tmp_path / "run.json", "mnist", 1003)
    assert path == tmp_path / "run_source_mnist_seed1003.npz"

    def source(reuse_file, fingerprint="settings A"):
        return alps_tables.source_black_box(
            "mnist", 3, "small_cnn", data, None, None, 1, configs, args,
            path, reuse_file=reuse_file, fingerprint=fingerprint)

    first = source(reuse_file=True)
    assert trained == [("erm", 1003)] and first[2] is False
    assert sorted(f.name for f in tmp_path.iterdir()) == [path.name]
    for name, config in configs.items():
        want = craft(model, data.x_test, data.y_test, config, batch_size=8)
        np.testing.assert_array_equal(first[0][name], want)
    assert first[1]["seed"] == 1003 and first[1]["epochs_run"] == 1
    again = source(reuse_file=True)
    assert trained == [("erm", 1003)] and again[2] is True
    assert again[1] == first[1]
    for name in configs:
        np.testing.assert_array_equal(again[0][name], first[0][name])
    # A file kept by a run of other settings is not read, nor is any file
    # without reuse_file: the source is trained again.
    assert source(reuse_file=True, fingerprint="settings B")[2] is False
    assert source(reuse_file=False)[2] is False
    # Nor is a file of the first format, which had no fingerprint.
    np.savez(path, record="{}", **first[0])
    assert source(reuse_file=True)[2] is False
    assert trained == [("erm", 1003)] * 4


@pytest.mark.parametrize("argv, expected", [
    # Both families, every method: per sigma Basic, ADRE_REG per lambda,
    # SmoothAdv, ADRE_ADV.
    (["--sigmas", "0.5", "--lams", "0.1,0.2"],
     ["basic_0.5", "adre_0.5_0.1", "adre_0.5_0.2", "smoothadv_0.5",
      "adre_adv_0.5_0.1"]),
    # One family keeps only its own two methods.
    (["--sigmas", "1.0", "--families", "adv", "--adv-lam", "0.2"],
     ["smoothadv_1", "adre_adv_1_0.2"]),
    (["--sigmas", "0.25,1.0", "--families", "reg", "--lams", "0.1"],
     ["basic_0.25", "adre_0.25_0.1", "basic_1", "adre_1_0.1"]),
    # --methods narrows within the families; a method outside them is dropped.
    (["--sigmas", "0.5", "--families", "reg", "--methods", "gaussian,smoothadv"],
     ["basic_0.5"]),
])
def test_adre_model_specs_select_the_families_and_methods(argv, expected):
    import adre_tables

    args = adre_tables.build_parser().parse_args(argv)
    assert list(adre_tables.model_specs(args)) == expected
