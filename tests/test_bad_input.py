"""Bad input at every boundary (issue 13, items 4, 5 and 7).

Each table row is one bad input given to one boundary: the Python API
(training wrappers' `fit`, the `SmoothedClassifier` layer call, `certify`,
`predict`, `certify_sequential`, the attacks, the data loaders), the command
line (`kerasrobust.cli.main`: exit status 2, one line on stderr) and the
exported SavedModel's serving signatures (`InvalidArgumentError`). Every
row checks the clear error (it names the parameter or flag, the value and
what is allowed) and that nothing was written or changed: output files and
folders absent or as they were, model weights as they were.

One tiny model, one `.keras` file and one SavedModel serve the whole file
(module-scoped fixtures). The checks themselves (`kerasrobust._validation`)
are unit-tested in tests/test_validation.py; the per-flag value tables of
each command stay beside their command (tests/test_cli_*.py).
"""

import gzip
import math
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasrobust
from kerasrobust.attacks import fgsm
from kerasrobust.attacks import pgd
from kerasrobust.data import load_dataset
from kerasrobust.smoothing import SmoothedClassifier
from kerasrobust.training import make_trainer
from helpers import assert_bad_input
from helpers import assert_cli_error
from helpers import tiny_base_model

NUM_CLASSES = 3
SHAPE = (4, 4, 1)


def _images(n=8, seed=0):
    return np.random.default_rng(seed).random((n,) + SHAPE,
                                              dtype=np.float32)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """The objects every row uses: one base model (and its `.keras` file),
    one training wrapper, one smoothed classifier, one SavedModel, valid
    data and a folder of bad files."""
    root = tmp_path_factory.mktemp("bad_input")
    base = tiny_base_model(num_classes=NUM_CLASSES)
    base.save(root / "model.keras")
    tiny_base_model((8, 8, 1), NUM_CLASSES).save(root / "model_8x8.keras")
    trainer = make_trainer("erm", base)
    trainer.compile(optimizer="sgd")
    smoothed = SmoothedClassifier(base, NUM_CLASSES, sigma=0.5, seed=0)
    export = root / "export"
    kerasrobust.export_saved_model(smoothed, export, batch_size=64, seed=1)
    x = _images()
    y = np.arange(8) % NUM_CLASSES
    nan = x.copy()
    nan[1] = np.nan  # one all-NaN image
    files = _bad_files(root / "files", x, y)
    softmax = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                                keras.layers.Dense(3, activation="softmax")])
    return types.SimpleNamespace(
        root=root, base=base, softmax=softmax, trainer=trainer,
        smoothed=smoothed, x=x, y=y,
        nan=nan, uint8=(x * 255).astype(np.uint8), x255=x * 255.0,
        channels=np.zeros((2, 4, 4, 3), np.float32),
        model_path=root / "model.keras", model_8x8=root / "model_8x8.keras",
        export=export,
        served=tf.saved_model.load(str(export)), **files)


def _bad_files(folder, x, y):
    """A valid npz of the tiny model's shape, and the bad data files."""
    folder.mkdir()
    paths = {}

    def npz(name, **arrays):
        paths[name] = folder / f"{name}.npz"
        np.savez(paths[name], **arrays)

    npz("npz_ok", x_train=x, y_train=y, x_test=x, y_test=y)
    npz("npz_labels_5_14", x_train=x, y_train=np.arange(5, 13), x_test=x,
        y_test=np.arange(7, 15))
    npz("npz_no_keys", x_train=x)
    npz("npz_255", x_train=x * 255, y_train=y, x_test=x * 255, y_test=y)
    npz("npz_int_images", x_train=(x * 9).astype(np.int32), y_train=y,
        x_test=x, y_test=y)
    # MNIST idx files cut in half (gzip stream ends early).
    mnist = folder / "mnist_truncated" / "mnist"
    mnist.mkdir(parents=True)
    for stem, header in (("t10k-images-idx3-ubyte", (0x803, 2, 2, 2)),
                         ("t10k-labels-idx1-ubyte", (0x801, 2))):
        raw = gzip.compress(b"".join(v.to_bytes(4, "big") for v in header)
                            + bytes(8))
        (mnist / (stem + ".gz")).write_bytes(raw[:len(raw) // 2])
    paths["mnist_truncated"] = mnist.parent
    paths["corrupt_keras"] = folder / "corrupt.keras"
    paths["corrupt_keras"].write_bytes(b"not a zip archive")
    paths["a_file"] = folder / "a_file.txt"
    paths["a_file"].write_text("a file, not a folder\n")
    paths["a_dir"] = folder / "a_dir"
    paths["a_dir"].mkdir()
    (paths["a_dir"] / "keep.txt").write_text("kept\n")
    return paths


# ---------------------------------------------------------------- Python API
def row(boundary, what, call, match, error=ValueError, unchanged=None,
        missing=None):
    """One row: `call(ctx)` raises `error` matching `match`; `unchanged(
    ctx)` lists what must stay as it was (default: the base model's
    weights). `missing` marks a check the library lacks today (strict
    xfail: the row fails once the check exists, to be turned on)."""
    marks = (pytest.mark.xfail(strict=True, reason=f"missing check: "
                               f"{missing}") if missing else ())
    return pytest.param(call, error, match, unchanged, marks=marks,
                        id=f"{boundary}: {what}")


API_ROWS = [
    # training wrappers' fit
    row("fit", "all-NaN image", lambda c: c.trainer.fit(c.nan, c.y, verbose=0),
        r"Images `x` contain 16 non-finite values \(NaN or inf\)"),
    row("fit", "uint8 images",
        lambda c: c.trainer.fit(c.uint8, c.y, verbose=0),
        r"`x`.*floating point.*uint8"),
    row("fit", "0..255 float pixels",
        lambda c: c.trainer.fit(c.x255, c.y, verbose=0),
        r"`x`.*\[0, 1\]"),
    row("fit", "labels out of range",
        lambda c: c.trainer.fit(c.x, c.y + 1, verbose=0),
        r"Labels `y` must be class ids in \[0, 3\).*got values from 1 to 3"),
    row("fit", "3 channels for a 1-channel model",
        lambda c: c.trainer.fit(c.channels, c.y[:2], verbose=0),
        r"Image shape \(4, 4, 3\) does not match the base model's input "
        r"shape \(4, 4, 1\)"),
    row("fit", "fewer labels than images",
        lambda c: c.trainer.fit(c.x, c.y[:5], verbose=0),
        r"`x` has 8 images but `y` has 5 labels"),
    row("fit", "tf.data batch with a NaN image",
        lambda c: c.trainer.fit(tf.data.Dataset.from_tensor_slices(
            (c.nan, c.y)).batch(4), verbose=0),
        r"Images `x` must be finite \(no NaN or inf\)",
        error=tf.errors.InvalidArgumentError),
    row("fit", "tf.data of uint8 images",
        lambda c: c.trainer.fit(tf.data.Dataset.from_tensor_slices(
            (c.uint8, c.y)).batch(4), verbose=0),
        r"`x`.*floating point.*uint8"),
    # the SmoothedClassifier layer
    row("SmoothedClassifier", "sigma -1",
        lambda c: SmoothedClassifier(c.base, NUM_CLASSES, sigma=-1.0),
        r"`sigma` must be in \(0, inf\), got -1.0"),
    row("SmoothedClassifier", "sigma 0",
        lambda c: SmoothedClassifier(c.base, NUM_CLASSES, sigma=0.0),
        r"`sigma` must be in \(0, inf\), got 0.0"),
    row("SmoothedClassifier", "value_range low >= high",
        lambda c: SmoothedClassifier(c.base, NUM_CLASSES, sigma=0.5,
                                     value_range=(1.0, 0.0)),
        r"`value_range` must be a pair of finite numbers with low < high, "
        r"got \(1.0, 0.0\)"),
    row("SmoothedClassifier", "value_range not a pair",
        lambda c: SmoothedClassifier(c.base, NUM_CLASSES, sigma=0.5,
                                     value_range=255),
        r"`value_range` must be None or a pair \(low, high\), got 255"),
    row("SmoothedClassifier", "base_model a function",
        lambda c: SmoothedClassifier(lambda z: z, NUM_CLASSES, sigma=0.5),
        r"`base_model`", error=TypeError),
    row("SmoothedClassifier", "num_classes unlike the model's outputs",
        lambda c: SmoothedClassifier(c.base, 4, sigma=0.5),
        r"`num_classes` is 4 but the base model returns 3 class scores"),
    row("SmoothedClassifier", "sampling_precision",
        lambda c: SmoothedClassifier(c.base, NUM_CLASSES, sigma=0.5,
                                     sampling_precision="float16"),
        r"`sampling_precision` must be one of 'float32', 'mixed_bfloat16', "
        r"'mixed_float16'; got 'float16'"),
    row("layer call", "wrong channels", lambda c: c.smoothed(c.channels),
        r"image shape \(4, 4, 3\) does not match the base model's input "
        r"shape \(4, 4, 1\)"),
    row("layer call", "uint8 images", lambda c: c.smoothed(c.uint8),
        r"`inputs`.*floating point.*uint8"),
    row("layer call", "all-NaN image", lambda c: c.smoothed(c.nan),
        r"`inputs`.*non-finite"),
    row("layer call", "0..255 float pixels", lambda c: c.smoothed(c.x255),
        r"`inputs`.*\[0, 1\]"),
    # certify
    row("certify", "n0 > n",
        lambda c: c.smoothed.certify(c.x[:2], n0=200, n=100, alpha=0.01,
                                     verbose=0),
        r"`n0` \(selection draws\) must be <= `n` \(estimation draws\); "
        r"\(n0, n\), got \[200., 100.\]"),
    row("certify", "alpha 0",
        lambda c: c.smoothed.certify(c.x[:2], 10, 100, alpha=0.0, verbose=0),
        r"`alpha` must be in \(0, 1\), got 0.0"),
    row("certify", "alpha 1.5",
        lambda c: c.smoothed.certify(c.x[:2], 10, 100, alpha=1.5, verbose=0),
        r"`alpha` must be in \(0, 1\), got 1.5"),
    row("certify", "alpha NaN",
        lambda c: c.smoothed.certify(c.x[:2], 10, 100, alpha=float("nan"),
                                     verbose=0),
        r"`alpha` must be a number, got NaN"),
    row("certify", "n0 0",
        lambda c: c.smoothed.certify(c.x[:2], 0, 100, alpha=0.01, verbose=0),
        r"`n0` must be in \[1, inf\), got 0"),
    row("certify", "alpha -0.1",
        lambda c: c.smoothed.certify(c.x[:2], 10, 100, alpha=-0.1,
                                     verbose=0),
        r"`alpha` must be in \(0, 1\), got -0.1"),
    row("certify", "n 0",
        lambda c: c.smoothed.certify(c.x[:2], 10, 0, alpha=0.01, verbose=0),
        r"`n` must be in \[1, inf\), got 0"),
    row("certify", "batch_size 0",
        lambda c: c.smoothed.certify(c.x[:2], 10, 100, 0.01, batch_size=0,
                                     verbose=0),
        r"`batch_size` must be in \[1, inf\), got 0"),
    row("certify", "unknown method",
        lambda c: c.smoothed.certify(c.x[:2], 10, 100, 0.01, method="fast",
                                     verbose=0),
        r"`method` must be one of 'cohen', 'tight'; got 'fast'"),
    row("certify", "all-NaN image",
        lambda c: c.smoothed.certify(c.nan[:2], 10, 100, 0.01, verbose=0),
        r"`x` contains 16 non-finite values \(NaN or inf\)"),
    row("certify", "uint8 images",
        lambda c: c.smoothed.certify(c.uint8[:2], 10, 100, 0.01, verbose=0),
        r"`x` must hold floating point images in \[0, 1\].*got dtype uint8",
        error=TypeError),
    row("certify", "0..255 float pixels",
        lambda c: c.smoothed.certify(c.x255[:2], 10, 100, 0.01, verbose=0),
        r"`x`.*\[0, 1\]"),
    row("certify", "wrong channels",
        lambda c: c.smoothed.certify(c.channels, 10, 100, 0.01, verbose=0),
        r"`x` has shape \(2, 4, 4, 3\): its image shape \(4, 4, 3\) does not "
        r"match the base model's input shape \(4, 4, 1\)"),
    row("certify", "empty batch",
        lambda c: c.smoothed.certify(c.x[:0], 10, 100, 0.01, verbose=0),
        r"`x` holds no images \(shape \(0, 4, 4, 1\)\)"),
    # predict
    row("predict", "alpha 1",
        lambda c: c.smoothed.predict(c.x[:2], n=100, alpha=1.0),
        r"`alpha` must be in \(0, 1\), got 1.0"),
    row("predict", "alpha 1.5",
        lambda c: c.smoothed.predict(c.x[:2], n=100, alpha=1.5),
        r"`alpha` must be in \(0, 1\), got 1.5"),
    row("predict", "n 0", lambda c: c.smoothed.predict(c.x[:2], 0, 0.01),
        r"`n` must be in \[1, inf\), got 0"),
    row("predict", "all-NaN image",
        lambda c: c.smoothed.predict(c.nan[:2], 10, 0.01),
        r"`x` contains 16 non-finite values"),
    # certify_sequential
    row("certify_sequential", "negative radius",
        lambda c: c.smoothed.certify_sequential(c.x[:2], [-1.0], n_max=100,
                                                verbose=0),
        r"`radius` must be in \(0, inf\), got -1.0"),
    row("certify_sequential", "n_max < n0",
        lambda c: c.smoothed.certify_sequential(c.x[:2], [0.5], n_max=10,
                                                n0=100, verbose=0),
        r"`n_max` must be >= `n0` \(the selection draws\), got n_max=10 < "
        r"n0=100"),
    row("certify_sequential", "alpha 2",
        lambda c: c.smoothed.certify_sequential(c.x[:2], [0.5], n_max=100,
                                                alpha=2.0, verbose=0),
        r"`alpha` must be in \(0, 1\), got 2.0"),
    row("certify_sequential", "all-NaN image",
        lambda c: c.smoothed.certify_sequential(c.nan[:2], [0.5],
                                                n_max=100, verbose=0),
        r"`x` contains 16 non-finite values"),
    # attacks
    *[row("pgd", what, lambda c, kw=kw: pgd(c.base, c.x, c.y, **{
        "epsilon": 0.1, "step_size": 0.01, "steps": 2, **kw}), match)
      for what, kw, match in [
          ("negative epsilon", dict(epsilon=-0.1),
           r"`epsilon` must be in \[0, inf\), got -0.1"),
          ("negative step_size", dict(step_size=-0.01),
           r"`step_size` must be in \(0, inf\), got -0.01"),
          ("step_size 0", dict(step_size=0.0),
           r"`step_size` must be in \(0, inf\), got 0.0"),
          ("steps 0", dict(steps=0), r"`steps` must be in \[1, inf\), got 0"),
          ("unknown norm", dict(norm="l1"),
           r"`norm` must be one of 'inf', '2'; got 'l1'"),
          ("random start in an infinite ball",
           dict(epsilon=math.inf, random_start=True), r"finite `epsilon`"),
          ("reversed clip", dict(clip=(1.0, 0.0)), r"`clip` must be")]],
    row("pgd", "all-NaN image",
        lambda c: pgd(c.base, c.nan, c.y, epsilon=0.1, step_size=0.01,
                      steps=2),
        r"Images `x` contain 16 non-finite values"),
    row("pgd", "model returning probabilities",
        lambda c: pgd(c.softmax, c.x, c.y, 0.1, 0.01, 2),
        r"appears to output probabilities.*need logits.*base_model"),
    row("fgsm", "infinite epsilon",
        lambda c: fgsm(c.base, c.x, c.y, math.inf),
        r"`epsilon` must be finite"),
    row("fgsm", "epsilon a string", lambda c: fgsm(c.base, c.x, c.y, "0.1"),
        r"`epsilon` must be a number", error=TypeError),
    row("fgsm", "unknown norm",
        lambda c: fgsm(c.base, c.x, c.y, epsilon=0.1, norm="1"),
        r"`norm` must be one of 'inf', '2'; got '1'"),
    row("fgsm", "uint8 images",
        lambda c: fgsm(c.base, c.uint8, c.y, epsilon=0.1),
        r"Images `x` must be floating point, got dtype uint8; divide uint8 "
        r"images by 255"),
    row("fgsm", "0..255 float pixels",
        lambda c: fgsm(c.base, c.x255, c.y, epsilon=0.1),
        r"Images `x` range from .* to .*, outside `clip`=\[0, 1\]"),
    row("fgsm", "labels out of range",
        lambda c: fgsm(c.base, c.x, c.y + 1, epsilon=0.1),
        r"Labels `y` must be class ids in \[0, 3\) \(the model has 3 "
        r"outputs\); got values from 1 to 3"),
    row("fgsm", "negative labels",
        lambda c: fgsm(c.base, c.x, c.y - 1, epsilon=0.1),
        r"Labels `y` must be class ids in \[0, 3\).*got values from -1 "
        r"to 1"),
    row("fgsm", "one-hot rows of 4 classes",
        lambda c: fgsm(c.base, c.x, np.eye(4)[c.y], epsilon=0.1),
        r"one-hot vectors \(N, 3\), got shape \(8, 4\)"),
    row("fgsm", "wrong channels",
        lambda c: fgsm(c.base, c.channels, c.y[:2], epsilon=0.1),
        r"Images `x` have shape \(4, 4, 3\) per image but the model takes "
        r"\(4, 4, 1\)"),
    row("fgsm", "fewer labels than images",
        lambda c: fgsm(c.base, c.x, c.y[:3], epsilon=0.1),
        r"`x` has 8 images but `y` has 3 labels"),
    # data loaders
    row("load_dataset npz", "labels 5..14",
        lambda c: load_dataset("npz", data_dir=c.npz_labels_5_14),
        r"Labels `y_train/y_test` must be class ids 0..K-1: they go from 5 "
        r"to 14 but class\(es\) 0, 1, 2, 3, 4 never occur",
        unchanged=lambda c: [c.npz_labels_5_14]),
    row("load_dataset npz", "no x_test/y_test/y_train keys",
        lambda c: load_dataset("npz", data_dir=c.npz_no_keys),
        r"lacks y_train, x_test, y_test; it must hold x_train, y_train, "
        r"x_test, y_test \(it holds x_train\)",
        unchanged=lambda c: [c.npz_no_keys]),
    row("load_dataset npz", "0..255 float pixels",
        lambda c: load_dataset("npz", data_dir=c.npz_255),
        r"`x_train`.*\[0, 1\]",
        unchanged=lambda c: [c.npz_255]),
    row("load_dataset npz", "int32 images",
        lambda c: load_dataset("npz", data_dir=c.npz_int_images),
        r"`x_train` must be uint8 \(0..255\) or floating point in \[0, 1\], "
        r"got dtype int32",
        unchanged=lambda c: [c.npz_int_images]),
    row("load_dataset npz", "unknown keyword",
        lambda c: load_dataset("npz", data_dir=c.npz_ok, num_class=3),
        r"load_dataset\('npz'\) got unexpected keyword argument\(s\) "
        r"num_class; 'npz' accepts: num_classes", error=TypeError),
    row("load_dataset mnist_idx", "truncated .gz",
        lambda c: load_dataset("mnist_idx", data_dir=c.mnist_truncated),
        r"t10k-images-idx3-ubyte.gz is truncated or corrupt",
        unchanged=lambda c: [c.mnist_truncated]),
    row("load_dataset", "unknown name",
        lambda c: load_dataset("imagenet"),
        r"`name` must be one of 'digits', .*'npz'; got 'imagenet'"),
]


@pytest.mark.parametrize("call,error,match,unchanged", API_ROWS)
def test_python_api(ctx, call, error, match, unchanged):
    assert_bad_input(lambda: call(ctx), match, error=error,
                     unchanged=unchanged(ctx) if unchanged else [ctx.base])


# --------------------------------------------------------------- command line
def cli(command, what, argv, match, unchanged=()):
    """One command-line row: `kerasrobust COMMAND ARGV` exits 2 with one
    line matching `match`; `argv` and `unchanged` are functions of the
    context and the test's empty folder `out` (the `.keras` model file is
    always checked unchanged)."""
    return pytest.param(command, argv, match, unchanged,
                        id=f"{command}: {what}")


def _train(c, out, *flags):
    return ["--out-dir", out / "run", "--epochs", "1", *flags]


def _certify(c, out, *flags):
    return ["--model", c.model_path, "--dataset", "npz", "--data-dir",
            c.npz_ok, "--sigma", "0.5", "--n0", "10", "--n", "20",
            "--verbose", "0", *flags]


def _out_run(c, out):
    return [out / "run"]


def _out_files(c, out):
    return [out / "log.tsv", out / "log.tsv.settings.json"]


CLI_ROWS = [
    cli("train", "npz labels 5..14",
        lambda c, o: _train(c, o, "--dataset", "npz", "--data-dir",
                            c.npz_labels_5_14),
        r"they go from 5 to 14 but class\(es\) 0, 1, 2, 3, 4 never occur",
        _out_run),
    cli("train", "npz without keys",
        lambda c, o: _train(c, o, "--dataset", "npz", "--data-dir",
                            c.npz_no_keys),
        r"lacks y_train, x_test, y_test", _out_run),
    cli("train", "npz of 0..255 float pixels",
        lambda c, o: _train(c, o, "--dataset", "npz", "--data-dir",
                            c.npz_255),
        r"`x_train`.*\[0, 1\]", _out_run),
    cli("train", "truncated MNIST .gz",
        lambda c, o: _train(c, o, "--dataset", "mnist_idx", "--data-dir",
                            c.mnist_truncated),
        r"t10k-images-idx3-ubyte.gz is truncated or corrupt", _out_run),
    cli("train", "--out-dir on a file",
        lambda c, o: ["--out-dir", c.a_file, "--epochs", "1"],
        r"--out-dir .*a_file.txt is a file, not a directory",
        lambda c, o: [c.a_file]),
    cli("train", "--out-dir below a file",
        lambda c, o: ["--out-dir", c.a_file / "run", "--epochs", "1"],
        r"--out-dir .*a_file.txt/run cannot be created: .*a_file.txt is a "
        r"file, not a directory", lambda c, o: [c.a_file]),
    cli("tune", "--out-dir on a file",
        lambda c, o: ["--out-dir", c.a_file],
        r"--out-dir .*a_file.txt is a file, not a directory",
        lambda c, o: [c.a_file]),
    cli("train", "--batch-size 0",
        lambda c, o: _train(c, o, "--batch-size", "0"),
        r"`--batch-size` must be in \[1, inf\), got 0", _out_run),
    cli("train", "--limit-train 0",
        lambda c, o: _train(c, o, "--limit-train", "0"),
        r"`--limit-train` must be in \[1, inf\), got 0", _out_run),
    cli("train", "flag of another method",
        lambda c, o: _train(c, o, "--method", "smoothadv", "--epsilon",
                            "0.5"),
        r"--epsilon does not apply to method 'smoothadv'", _out_run),
    cli("certify", "--out naming a directory",
        lambda c, o: _certify(c, o, "--out", c.a_dir),
        r"--out: '.*a_dir' is a directory, not a file",
        lambda c, o: [c.a_dir]),
    cli("certify", "corrupt .keras",
        lambda c, o: _certify(c, o, "--out", o / "log.tsv")[2:]
        + ["--model", c.corrupt_keras],
        r"--model .*corrupt.keras is corrupt", _out_files),
    cli("certify", "missing .keras",
        lambda c, o: _certify(c, o, "--out", o / "log.tsv")[2:]
        + ["--model", o / "none.keras"],
        r"--model .*none.keras: no such file", _out_files),
    cli("certify", "--sigma -1",
        lambda c, o: _certify(c, o, "--out", o / "log.tsv", "--sigma", "-1"),
        r"`--sigma` must be in \(0, inf\), got -1.0", _out_files),
    cli("certify", "--alpha 1.5",
        lambda c, o: _certify(c, o, "--out", o / "log.tsv", "--alpha",
                              "1.5"),
        r"`--alpha` must be in \(0, 1\), got 1.5", _out_files),
    cli("certify", "--n0 > --n",
        lambda c, o: _certify(c, o, "--out", o / "log.tsv", "--n0", "200",
                              "--n", "100"),
        r"`--n0` must be <= `--n` = 100, got 200", _out_files),
    cli("certify", "model classes unlike the dataset's",
        lambda c, o: ["--model", c.model_8x8, "--sigma", "0.5", "--dataset",
                      "digits", "--out", o / "log.tsv"],
        r"--model returns 3 class scores but --dataset digits has 10 "
        r"classes", _out_files),
    cli("certify", "model image shape unlike the dataset's",
        lambda c, o: _certify(c, o, "--out", o / "log.tsv")[2:]
        + ["--model", c.model_8x8],
        r"--model takes images of shape \(8, 8, 1\) but --dataset npz has "
        r"images of shape \(4, 4, 1\)", _out_files),
    cli("attack", "model image shape unlike the dataset's",
        lambda c, o: ["--model", c.model_8x8, "--dataset", "npz",
                      "--data-dir", c.npz_ok, "--json", o / "r.json"],
        r"--model takes images of shape \(8, 8, 1\) but --dataset npz has "
        r"images of shape \(4, 4, 1\)", lambda c, o: [o / "r.json"]),
    cli("attack", "--epsilon -1",
        lambda c, o: ["--model", c.model_path, "--epsilon", "-1",
                      "--json", o / "r.json"],
        r"`--epsilon` must be in \[0, inf\], got -1.0|`--epsilon` must be in "
        r"\[0, inf\), got -1.0", lambda c, o: [o / "r.json"]),
    cli("attack", "--steps 0",
        lambda c, o: ["--model", c.model_path, "--steps", "0", "--json",
                      o / "r.json"],
        r"`--steps` must be in \[1, inf\), got 0",
        lambda c, o: [o / "r.json"]),
    cli("attack", "corrupt .keras",
        lambda c, o: ["--model", c.corrupt_keras, "--json", o / "r.json"],
        r"--model .*corrupt.keras is corrupt", lambda c, o: [o / "r.json"]),
    cli("attack", "--json naming a directory",
        lambda c, o: ["--model", c.model_path, "--dataset", "npz",
                      "--data-dir", c.npz_ok, "--json", c.a_dir],
        r"--json: '.*a_dir' is a directory, not a file",
        lambda c, o: [c.a_dir]),
    cli("export", "--out on a file",
        lambda c, o: ["--model", c.model_path, "--out", c.a_file],
        r"--out .*a_file.txt is a file, not a directory",
        lambda c, o: [c.a_file]),
    cli("export", "--sigma -1",
        lambda c, o: ["--model", c.model_path, "--out", o / "export",
                      "--sigma", "-1"],
        r"`--sigma` must be in \(0, inf\), got -1.0",
        lambda c, o: [o / "export"]),
    cli("export", "corrupt .keras",
        lambda c, o: ["--model", c.corrupt_keras, "--out", o / "export"],
        r"--model .*corrupt.keras is corrupt", lambda c, o: [o / "export"]),
    cli("analyze", "--confidence 2",
        lambda c, o: [c.a_file, "--confidence", "2", "--out", o / "m.tsv"],
        r"`--confidence` must be in \(0, 1\), got 2.0",
        lambda c, o: [o / "m.tsv"]),
    cli("analyze", "missing log",
        lambda c, o: [o / "none.tsv", "--out", o / "m.tsv"],
        r"LOG .*none.tsv: no such file", lambda c, o: [o / "m.tsv"]),
    cli("tune", "--val-fraction 1.5",
        lambda c, o: ["--out-dir", o / "run", "--val-fraction", "1.5"],
        r"`--val-fraction` must be in \(0, 1\), got 1.5", _out_run),
    cli("tune", "--space malformed",
        lambda c, o: ["--out-dir", o / "run", "--space", "epsilon"],
        r"--space takes NAME=VALUE, NAME=LOW:HIGH\[:log\] or NAME=V1,V2,...; "
        r"got 'epsilon'", _out_run),
]


@pytest.mark.parametrize("command,argv,match,unchanged", CLI_ROWS)
def test_command_line(ctx, tmp_path, capsys, command, argv, match,
                      unchanged):
    assert_cli_error([command] + argv(ctx, tmp_path), match, capsys,
                     unchanged=unchanged(ctx, tmp_path) + [ctx.model_path])


# ------------------------------------------------------- served SavedModel
def _options(**change):
    """Arguments of the `certify_options` signature, with `change`."""
    args = dict(n0=tf.constant(10), n=tf.constant(20),
                alpha=tf.constant(0.01, tf.float64),
                method=tf.constant("tight"),
                alpha_prime_rule=tf.constant("selection"),
                alpha_prime=tf.constant(0.0, tf.float64),
                grid=tf.zeros([0], tf.float64),
                cap_runner_up=tf.constant(True))
    for key, value in change.items():
        args[key] = tf.constant(value, args[key].dtype)
    return args


BAD_SERVING_ARGUMENTS = [
    (dict(n0=0), "`n0`"),
    (dict(n=0), "`n`"),
    (dict(n0=30, n=20), "`n0`.*<= `n`"),
    (dict(alpha=1.0), "`alpha`"),
    (dict(alpha=0.0), "`alpha`"),
    (dict(alpha=float("nan")), "`alpha`"),
    (dict(method="fast"), "`method`"),
    (dict(alpha_prime_rule="best"), "`alpha_prime_rule`"),
    (dict(alpha_prime_rule="fixed", alpha_prime=0.02), "`alpha_prime`"),
    (dict(alpha_prime_rule="fixed", alpha_prime=0.0), "`alpha_prime`"),
    (dict(grid=[0.001, 0.5]), "`grid`"),
]


@pytest.mark.parametrize("change,name", BAD_SERVING_ARGUMENTS,
                         ids=[" ".join(f"{k}={v}" for k, v in c.items())
                              for c, _ in BAD_SERVING_ARGUMENTS])
def test_served_arguments(ctx, change, name):
    x = tf.constant(ctx.x[:2])
    assert_bad_input(lambda: ctx.served.certify_options(x, **_options(
        **change)), name, error=tf.errors.InvalidArgumentError,
        unchanged=[ctx.export])
    if set(change) <= {"n0", "n", "alpha", "method"}:
        args = _options(**change)
        assert_bad_input(
            lambda: ctx.served.certify(x, args["n0"], args["n"],
                                       args["alpha"], args["method"]),
            name, error=tf.errors.InvalidArgumentError)
    if set(change) <= {"n", "alpha"}:
        args = _options(**change)
        assert_bad_input(
            lambda: ctx.served.predict_smoothed(x, args["n"], args["alpha"]),
            name, error=tf.errors.InvalidArgumentError)


def _bad_served_images(x):
    nan = x.copy()
    nan[1] = np.nan  # an all-NaN image
    one_inf = x.copy()
    one_inf[2, 1, 1, 0] = np.inf
    below, above = x.copy(), x.copy()
    below[0, 0, 0, 0] = -0.01
    above[2, 3, 3, 0] = 1.01
    return {"all-NaN image": (nan, r"finite.*got\W+16\W"),
            "one inf pixel": (one_inf, r"finite.*got\W+1\W"),
            "0..255 float pixels": (x * 255.0, r"\[0, 1\]"),
            "pixel -0.01": (below, r"\[0, 1\]"),
            "pixel 1.01": (above, r"\[0, 1\]")}


@pytest.mark.parametrize("case", list(_bad_served_images(_images(3))))
def test_served_images(ctx, case):
    images, match = _bad_served_images(ctx.x[:3])[case]
    x = tf.constant(images)
    error = tf.errors.InvalidArgumentError
    for call in (
            lambda: ctx.served.certify(x, 10, 20,
                                       tf.constant(0.01, tf.float64),
                                       "cohen"),
            lambda: ctx.served.certify_options(x, **_options()),
            lambda: ctx.served.predict_smoothed(
                x, 10, tf.constant(0.01, tf.float64)),
            lambda: ctx.served.signatures["serving_default"](x=x)):
        assert_bad_input(call, "`x`.*" + match, error=error,
                         unchanged=[ctx.export])


def test_served_rounding_outside_unit_range_is_accepted(ctx):
    """The other side of the range check: float rounding passes."""
    x = np.clip(ctx.x[:2], 0, 1)
    x[0, 0, 0, 0] = 1.0 + 1e-6
    x[1, 0, 0, 0] = -1e-6
    out = ctx.served.certify(tf.constant(x), 10, 20,
                             tf.constant(0.01, tf.float64), "cohen")
    assert out["label"].shape == (2,)


def test_served_signatures_check_the_image_shape(ctx):
    """A served signature (what TF Serving calls) does not enforce its
    input spec's shape: the graph checks it, before the model runs. The
    loaded functions (`served.certify(...)`) refuse it while binding."""
    x = tf.constant(ctx.channels)
    scalars = dict(n0=tf.constant(10), n=tf.constant(20),
                   alpha=tf.constant(0.01, tf.float64),
                   method=tf.constant("cohen"))
    names = {"serving_default": (), "predict_smoothed": ("n", "alpha"),
             "certify": ("n0", "n", "alpha", "method")}
    for name, arguments in names.items():
        signature = ctx.served.signatures[name]
        assert_bad_input(
            lambda: signature(x=x, **{a: scalars[a] for a in arguments}),
            r"Images `x` must have shape \(N, 4, 4, 1\), the shape the model "
            r"takes; shape, got\W+2 4 4 3\W",
            error=tf.errors.InvalidArgumentError, unchanged=[ctx.export])
    assert_bad_input(
        lambda: ctx.served.certify(x, 10, 20, tf.constant(0.01, tf.float64),
                                   "cohen"),
        r"Can not cast TensorSpec\(shape=\(2, 4, 4, 3\).* to "
        r"TensorSpec\(shape=\(None, 4, 4, 1\)", error=TypeError)


def test_served_signature_refuses_uint8(ctx):
    """The signatures' input dtype (float32) is checked by TensorFlow
    before the graph runs."""
    x = tf.constant(ctx.uint8)
    assert_bad_input(lambda: ctx.served.signatures["serving_default"](x=x),
                     r"expected to be a float tensor but is a uint8 tensor",
                     error=tf.errors.InvalidArgumentError,
                     unchanged=[ctx.export])
