"""Smoke tests of the scripts in examples/ (run on tiny settings)."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"


def load_example(name):
    """Imports `examples/<name>.py` by path (examples/ is not a package)."""
    path = EXAMPLES_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_alps_vs_erm_cifar10_on_npz_subset(shared_data_dir, tmp_path,
                                           capsys):
    example = load_example("alps_vs_erm_cifar10")
    # An empty tfds data directory: cifar10 is not prepared there, so
    # load_dataset raises DatasetUnavailableError at once (no download) and
    # the example falls back to the CIFAR-10 subset .npz.
    results = example.main([
        "--epochs", "1",
        "--limit-train", "256",
        "--tfds-data-dir", str(tmp_path / "tfds"),
        "--npz-dir", str(shared_data_dir),
        "--out-dir", str(tmp_path / "models"),
    ])

    out = capsys.readouterr().out
    assert "Data source: npz" in out
    assert results["source"] == "npz"
    assert results["train_size"] == 256
    assert set(results["methods"]) == {"erm", "alps"}
    for method in ("erm", "alps"):
        error = results["methods"][method]["test_error_percent"]
        assert 0.0 <= error <= 100.0
        assert method.upper() in out
        assert (tmp_path / "models" / f"{method}.keras").is_file()


def test_alps_vs_erm_cifar10_without_data_says_how_to_provide_it(
        tmp_path, monkeypatch):
    example = load_example("alps_vs_erm_cifar10")
    monkeypatch.delenv("KERASROBUST_DATA_DIR", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit) as exit_:
        example.main(["--tfds-data-dir", str(tmp_path / "tfds"),
                      "--npz-dir", str(empty)])
    message = str(exit_.value.code)
    assert "no CIFAR-10 data found" in message
    assert "tfds build cifar10" in message
    assert "KERASROBUST_DATA_DIR" in message


def test_alps_under_attack_small(capsys):
    example = load_example("alps_under_attack")
    results = example.main(["--epochs", "1", "--limit-test", "40",
                            "--pgd-steps", "2"])
    assert set(results) == {"erm", "alps"}
    for result in results.values():
        assert result["n"] == 40
        assert set(result["white_box"]) == set(result["black_box"]) == {
            "fgsm", "pgd"}
        for error in [result["clean_error"], *result["white_box"].values()]:
            assert 0.0 <= error <= 100.0
    # ERM's black-box examples are its own white-box ones.
    assert results["erm"]["black_box"] == results["erm"]["white_box"]
    assert "ALPS:" in capsys.readouterr().out


def test_adre_certify_small(capsys):
    example = load_example("adre_certify")
    table = example.main(["--epochs", "1", "--n0", "10", "--n", "50",
                          "--skip", "30"])
    assert set(table) == {(m, a) for m in ("gaussian", "adre")
                          for a in ("cohen", "tight")}
    for accuracy, acr in table.values():
        # Certified accuracy cannot grow with the radius.
        assert all(a >= b for a, b in zip(accuracy, accuracy[1:]))
        assert acr >= 0.0
    assert "T-CERTIFY" in capsys.readouterr().out


def test_export_and_serve_small(tmp_path):
    example = load_example("export_and_serve")
    served = example.main(["--epochs", "1", "--n0", "10", "--n", "50",
                           "--num-images", "3", "--out",
                           str(tmp_path / "served" / "1")])
    assert served["kerasrobust_imported"] is False
    assert len(served["base_label"]) == len(served["cohen"]["radius"]) == 3
    assert (tmp_path / "served" / "1" / "saved_model.pb").is_file()


def test_tune_alps_small_and_resume(tmp_path):
    example = load_example("tune_alps")
    flags = ["--epochs", "1", "--max-trials", "2", "--directory",
             str(tmp_path / "search")]
    result, report = example.main(flags)
    assert result.num_trials == 2
    assert 0.0 < result.values["epsilon"] < 0.5
    assert 0.75 < result.values["beta_mode"] < 1.0
    assert set(report["white_box"]) == {"fgsm"}
    # Run again with one more trial: the two finished ones are kept.
    result, _ = example.main(flags[:2] + ["--max-trials", "3"] + flags[4:])
    assert result.num_trials == 3
