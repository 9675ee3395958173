"""SavedModel export: signatures, in-graph certification, atomic writes."""

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasrobust
from kerasrobust.export import saved_model as saved_model_module
from kerasrobust.smoothing import (
    SmoothedClassifier,
    certify_counts_batch,
    predict_from_counts,
)
from helpers import tiny_base_model

SIGMA = 0.5
NUM_CLASSES = 3
CLIENT = Path(__file__).with_name("serving_client.py")


def _confident_model(seed=0):
    """The tiny classifier with larger weights, so that some inputs get a
    clear top class under noise (certified) and others do not (abstain)."""
    model = tiny_base_model(num_classes=NUM_CLASSES, seed=seed)
    model.set_weights([4.0 * w for w in model.get_weights()])
    return model


def _inputs(num=40, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((num, 4, 4, 1), dtype=np.float32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = _confident_model()
    smoothed = SmoothedClassifier(model, NUM_CLASSES, sigma=SIGMA, seed=0)
    path = tmp_path_factory.mktemp("export") / "tiny"
    kerasrobust.export_saved_model(smoothed, path, batch_size=256, seed=11)
    return model, path


CONFIGS = (
    [{"signature": "certify", "n0": n0, "n": n, "alpha": alpha,
      "method": method}
     for n0, n, alpha in [(10, 20, 0.3), (100, 500, 0.001), (50, 2000, 0.01)]
     for method in ("cohen", "tight")]
    + [{"signature": "predict_smoothed", "n": n, "alpha": alpha}
       for n, alpha in [(30, 0.1), (500, 0.001)]]
    # Every option of certify_from_counts, through the served signature.
    + [{"signature": "certify_options", "n0": 50, "n": 1000, "alpha": 0.01,
        "method": "tight", "alpha_prime_rule": rule, "alpha_prime": ap,
        "grid": grid, "cap_runner_up": cap}
       for rule, ap, grid, cap in [
           ("grid", 0.0, [], True), ("fixed", 0.004, [], True),
           ("fixed", 0.004, [], False), ("selection", 0.0, [0.002, 0.007],
                                          True),
           ("grid", 0.0, [0.001, 0.005, 0.01], False)]]
)


def _python_options(config):
    """The keyword arguments of certify_counts_batch for a served config."""
    if config["signature"] != "certify_options":
        return {}
    kwargs = {"cap_runner_up": config["cap_runner_up"],
              "alpha_prime": (config["alpha_prime"]
                              if config["alpha_prime_rule"] == "fixed"
                              else config["alpha_prime_rule"])}
    if config["grid"]:
        kwargs["grid"] = config["grid"]
    return kwargs


@pytest.fixture(scope="module")
def served(exported, tmp_path_factory):
    """Outputs of every signature, computed in a fresh Python process that
    loads the export with TensorFlow alone."""
    _, path = exported
    work = tmp_path_factory.mktemp("client")
    x = _inputs()
    np.savez(work / "inputs.npz", x=x)
    result = subprocess.run(
        [sys.executable, str(CLIENT), str(path), str(work / "inputs.npz"),
         str(work / "outputs.npz"), json.dumps(CONFIGS)],
        cwd=work, capture_output=True, text=True, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "kerasrobust absent from sys.modules" in result.stdout
    return x, dict(np.load(work / "outputs.npz"))


def test_fresh_process_base_signature_equals_keras_model(exported, served):
    model, _ = exported
    x, out = served
    logits = model(x).numpy()
    np.testing.assert_allclose(out["base_probabilities"],
                               tf.nn.softmax(logits).numpy(), atol=1e-6)
    np.testing.assert_array_equal(out["base_label"], logits.argmax(axis=1))


def test_fresh_process_certify_equals_certify_from_counts(served):
    x, out = served
    abstained = certified = 0
    for i, config in enumerate(CONFIGS):
        if not config["signature"].startswith("certify"):
            continue
        cs = out[f"{i}/counts_selection"]
        ce = out[f"{i}/counts_estimation"]
        assert cs.shape == ce.shape == (len(x), NUM_CLASSES)
        np.testing.assert_array_equal(cs.sum(axis=1), config["n0"])
        np.testing.assert_array_equal(ce.sum(axis=1), config["n"])
        label, radius = certify_counts_batch(
            cs, ce, SIGMA, config["alpha"], method=config["method"],
            **_python_options(config))
        # One implementation: the served graph and the eager Python call
        # agree exactly (float64 ops, same order).
        np.testing.assert_array_equal(out[f"{i}/label"], label)
        np.testing.assert_allclose(out[f"{i}/radius"], radius, rtol=1e-12,
                                   atol=0)
        abstained += int((label == -1).sum())
        certified += int((label >= 0).sum())
    # The comparison covered both outcomes.
    assert abstained >= 5 and certified >= 5


def test_fresh_process_predict_equals_predict_from_counts(served):
    x, out = served
    for i, config in enumerate(CONFIGS):
        if config["signature"] != "predict_smoothed":
            continue
        counts = out[f"{i}/counts"]
        np.testing.assert_array_equal(counts.sum(axis=1), config["n"])
        want = [predict_from_counts(c, config["alpha"]) for c in counts]
        np.testing.assert_array_equal(out[f"{i}/label"], want)


def test_served_counts_follow_the_gaussian_smoothed_classifier(exported,
                                                               served):
    """The in-graph draws have the right distribution: class frequencies
    match a NumPy Monte Carlo estimate of P(f(x + N(0, sigma^2)) = c)."""
    model, _ = exported
    x, out = served
    i = next(i for i, c in enumerate(CONFIGS) if c.get("n") == 2000)
    served_freq = out[f"{i}/counts_estimation"][:8] / 2000.0
    rng = np.random.default_rng(5)
    m = 4000
    noisy = x[:8, None] + SIGMA * rng.standard_normal((8, m, 4, 4, 1))
    votes = model.predict(noisy.reshape((-1, 4, 4, 1)).astype(np.float32),
                          verbose=0, batch_size=4096).argmax(axis=1)
    numpy_freq = np.stack([np.bincount(v, minlength=NUM_CLASSES)
                           for v in votes.reshape(8, m)]) / m
    p = (served_freq + numpy_freq) / 2
    std = np.sqrt(p * (1 - p) * (1 / 2000 + 1 / m))
    assert np.all(np.abs(served_freq - numpy_freq) <= 5 * std + 1e-3)


def test_tfsm_layer_loads_every_signature(exported):
    model, path = exported
    x = _inputs(5)
    base = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
    out = base(x)
    np.testing.assert_allclose(out["probabilities"],
                               tf.nn.softmax(model(x)).numpy(), atol=1e-6)
    certify = keras.layers.TFSMLayer(str(path), call_endpoint="certify")
    certify.autocast = False  # keep alpha float64
    result = certify(x, n0=tf.constant(10), n=tf.constant(40),
                     alpha=tf.constant(0.01, tf.float64),
                     method=tf.constant("tight"))
    np.testing.assert_array_equal(result["counts_estimation"].numpy().sum(1),
                                  40)


def test_export_info_describes_the_export(exported):
    _, path = exported
    info = json.loads(
        (path / "assets.extra" / saved_model_module.EXPORT_INFO_FILE)
        .read_text())
    assert info["sigma"] == SIGMA and info["num_classes"] == NUM_CLASSES
    assert info["image_shape"] == [4, 4, 1]
    assert info["signatures"] == ["serving_default", "predict_smoothed",
                                  "certify", "certify_options"]


def test_seeded_exports_draw_the_same_noise(tmp_path):
    model = _confident_model()
    outputs = []
    for name in ("a", "b"):
        path = kerasrobust.export_saved_model(
            model, tmp_path / name, sigma=SIGMA, seed=3)
        loaded = tf.saved_model.load(str(path))
        outputs.append(loaded.certify(
            tf.constant(_inputs(6)), 20, 200, tf.constant(0.01, tf.float64),
            "cohen")["counts_estimation"].numpy())
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_unseeded_export_draws_fresh_noise_despite_a_global_seed(tmp_path):
    keras.utils.set_random_seed(0)  # would fix the ops' seeds if inherited
    path = kerasrobust.export_saved_model(
        _confident_model(), tmp_path / "m", sigma=SIGMA)
    counts = []
    for _ in range(2):
        loaded = tf.saved_model.load(str(path))  # a fresh kernel state
        counts.append(loaded.certify(
            tf.constant(_inputs(6)), 20, 200, tf.constant(0.01, tf.float64),
            "cohen")["counts_estimation"].numpy())
    assert not np.array_equal(counts[0], counts[1])


def test_plain_model_exports_base_signature_only(tmp_path):
    model = _confident_model()
    path = kerasrobust.export_saved_model(model, tmp_path / "plain")
    loaded = tf.saved_model.load(str(path))
    assert set(loaded.signatures) == {"serving_default"}


def test_training_wrapper_exports_its_base_model(tmp_path):
    base = _confident_model()
    trainer = kerasrobust.training.make_trainer("alps", base)
    path = kerasrobust.export_saved_model(trainer, tmp_path / "w",
                                          sigma=0.25)
    loaded = tf.saved_model.load(str(path))
    x = _inputs(4)
    np.testing.assert_allclose(
        loaded.signatures["serving_default"](x=tf.constant(x))[
            "probabilities"].numpy(),
        tf.nn.softmax(base(x)).numpy(), atol=1e-6)


def test_default_path_is_saved_models_model_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = _confident_model()
    path = kerasrobust.export_saved_model(model)
    assert path == Path("saved_models") / model.name
    assert (tmp_path / "saved_models" / model.name / "saved_model.pb").exists()


def test_existing_export_is_kept_unless_overwrite(tmp_path):
    target = tmp_path / "m"
    target.mkdir()
    (target / "keep.txt").write_text("old")
    model = _confident_model()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        kerasrobust.export_saved_model(model, target)
    assert (target / "keep.txt").read_text() == "old"
    kerasrobust.export_saved_model(model, target, overwrite=True)
    assert not (target / "keep.txt").exists()
    assert (target / "saved_model.pb").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_failed_export_leaves_no_directory(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    # Fails after the SavedModel itself was written to the temporary dir.
    monkeypatch.setattr(saved_model_module, "json",
                        types.SimpleNamespace(dumps=boom))
    with pytest.raises(RuntimeError, match="disk full"):
        kerasrobust.export_saved_model(_confident_model(), tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_export(tmp_path, monkeypatch):
    target = tmp_path / "m"
    kerasrobust.export_saved_model(_confident_model(), target)
    before = sorted(p.name for p in target.rglob("*"))

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(saved_model_module, "json",
                        types.SimpleNamespace(dumps=boom))
    with pytest.raises(RuntimeError):
        kerasrobust.export_saved_model(_confident_model(seed=1), target,
                                       overwrite=True)
    assert sorted(p.name for p in target.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_unbuilt_model_is_refused(tmp_path):
    model = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="never built"):
        kerasrobust.export_saved_model(model, tmp_path / "m")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(sigma=0.0), ValueError, "sigma"),
    (dict(sigma=-1.0), ValueError, "sigma"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(seed=-2), ValueError, "seed"),
    (dict(from_logits="yes"), TypeError, "from_logits"),
])
def test_bad_export_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        kerasrobust.export_saved_model(_confident_model(), tmp_path / "m",
                                       **kwargs)
    assert not (tmp_path / "m").exists()


def test_non_model_is_refused(tmp_path):
    with pytest.raises(TypeError, match="keras.Model"):
        kerasrobust.export_saved_model(lambda x: x, tmp_path / "m")


def test_smoothed_classifier_sigma_conflict(tmp_path):
    smoothed = SmoothedClassifier(_confident_model(), NUM_CLASSES, sigma=0.25)
    with pytest.raises(ValueError, match="sigma"):
        kerasrobust.export_saved_model(smoothed, tmp_path / "m", sigma=0.5)


def _readme_requests():
    import re

    readme = Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```json\n(.*?)```", readme.read_text(), re.S)
    return [json.loads(b) for b in blocks if "signature_name" in b]


def test_readme_tf_serving_requests_match_the_signatures(tmp_path):
    """Each README REST body, converted as TF Serving converts JSON (to the
    signature's dtypes), runs against the export."""
    requests = _readme_requests()
    assert {r["signature_name"] for r in requests} == {
        "serving_default", "predict_smoothed", "certify", "certify_options"}
    model = tiny_base_model(input_shape=(2, 2, 1), num_classes=NUM_CLASSES)
    path = kerasrobust.export_saved_model(model, tmp_path / "digits" / "1",
                                          sigma=0.25)
    loaded = tf.saved_model.load(str(path))
    for request in requests:
        signature = loaded.signatures[request["signature_name"]]
        specs = signature.structured_input_signature[1]
        inputs = request.get("inputs") or {"x": request["instances"]}
        assert set(inputs) == set(specs)
        out = signature(**{name: tf.constant(value, specs[name].dtype,
                                             shape=np.shape(value))
                           for name, value in inputs.items()})
        assert out["label"].shape == (1,)


def test_readme_export_snippet_runs(tmp_path, monkeypatch):
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S)
                 if "export_saved_model(smoothed" in b)
    monkeypatch.chdir(tmp_path)
    base = tiny_base_model(input_shape=(8, 8, 1), num_classes=10)
    exec(compile(block, "README.md", "exec"), {"base": base})
    for name in ("digits", "digits_base"):
        assert (tmp_path / "saved_models" / name / "1" /
                "saved_model.pb").is_file()
