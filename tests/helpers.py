"""Checks shared by the test modules, in one place.

- tiny models and data: `tiny_base_model`, `tiny_data`;
- strategy equality (one device vs `MirroredStrategy` on the two logical
  CPUs of tests/conftest.py): `mirrored_strategy`, `one_device_and_mirrored`,
  `train_with_and_without_strategy`, `assert_same_training`;
- serialization round trip (`.keras` save and load, `get_config` equality,
  same outputs): `assert_keras_round_trip`, and for training wrappers
  `assert_save_load_continues` (training then continues identically);
- bad input (the clear error, and nothing written or changed):
  `assert_bad_input`, `assert_cli_error`, `snapshot`;
- command help: `assert_help_documents`.
"""

import contextlib
import json

import keras
import numpy as np
import tensorflow as tf


def tiny_base_model(input_shape=(4, 4, 1), num_classes=3, seed=0):
    """A batch-norm-free, dropout-free classifier with seeded weights."""
    init = keras.initializers.GlorotUniform(seed=seed)
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Conv2D(2, 3, padding="same", activation="relu",
                                kernel_initializer=init),
            keras.layers.Flatten(),
            keras.layers.Dense(num_classes, kernel_initializer=init),
        ]
    )


def tiny_data(n=16, input_shape=(4, 4, 1), num_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n,) + input_shape, dtype=np.float32)
    y = rng.integers(0, num_classes, size=n)
    return x, y


def softmax_cross_entropy(logits, targets):
    """Mean cross-entropy of soft targets, computed in float64 NumPy."""
    logits = np.asarray(logits, np.float64)
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-(np.asarray(targets, np.float64) * log_p).sum(1).mean())


_STRATEGY = []


def mirrored_strategy():
    """One MirroredStrategy over the two logical CPUs for the whole session.

    Separate strategy objects in one process reuse collective instance keys,
    which TensorFlow rejects when their collectives differ in kind.
    """
    if not _STRATEGY:
        _STRATEGY.append(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    return _STRATEGY[0]


def one_device_and_mirrored():
    """`(None, a null context)`, then `(the MirroredStrategy, its scope)`:
    loop over it to run the same code on one device and on two replicas."""
    for strategy in (None, mirrored_strategy()):
        yield strategy, (strategy.scope() if strategy
                         else contextlib.nullcontext())


def train_with_and_without_strategy(make_wrapper, x, y, batch_size=8,
                                    epochs=2):
    """Fits the same wrapper on one device and on two mirrored replicas.

    Returns `((history, weights) without strategy, (history, weights) with)`.
    The data is not shuffled, so both runs see the same global batches.
    """
    results = []
    reference = tiny_base_model().get_weights()
    for strategy, scope in one_device_and_mirrored():
        with scope:
            base = tiny_base_model()
            base.set_weights(reference)
            model = make_wrapper(base)
            model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                          metrics=["accuracy"])
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs,
                            shuffle=False, verbose=0)
        results.append((history.history, model.base_model.get_weights()))
    return results


def assert_same_training(results, rtol=1e-5, atol=1e-6):
    (h1, w1), (h2, w2) = results
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(h1["accuracy"], h2["accuracy"], atol=1e-6)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def assert_save_load_continues(model, x, y, path):
    """Saves a trained wrapper, reloads it and checks training continues
    exactly as the original would (same weights, optimizer and RNG state)."""
    loaded = assert_keras_round_trip(model, x, path)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    return loaded


def assert_keras_round_trip(model, x, path, layer=None):
    """Saves `model` to the `.keras` file `path`, loads it and checks: same
    class, same `get_config` (of the layer named `layer` when given), same
    weights and the same outputs on `x`. Returns the loaded model."""
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    before, after = ((model, loaded) if layer is None else
                     (model.get_layer(layer), loaded.get_layer(layer)))
    assert type(after) is type(before)
    # JSON round trip: Keras itself reloads some tuples as lists.
    assert (json.loads(json.dumps(after.get_config()))
            == json.loads(json.dumps(before.get_config())))
    for a, b in zip(after.get_weights(), before.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)
    return loaded


def assert_help_documents(command, flags):
    """`kerasrobust COMMAND --help` gives every option a help text and
    names each of `flags`; returns the command's parser."""
    from kerasrobust.cli import build_parser

    parser = build_parser(command)._subparsers._group_actions[0].choices[
        command]
    for action in parser._actions:
        if action.dest != "help":
            assert action.help, f"option {action.option_strings} has no help"
    text = parser.format_help()
    for flag in flags:
        assert flag in text, flag
    return parser


# ------------------------------------------------------------- bad input
def snapshot(path):
    """What is at `path`: `None` when nothing is, the bytes of a file, or
    `{relative name: bytes or "dir"}` of a folder's whole tree."""
    import pathlib

    path = pathlib.Path(path)
    if path.is_file():
        return path.read_bytes()
    if path.is_dir():
        return {str(p.relative_to(path)): (p.read_bytes() if p.is_file()
                                           else "dir")
                for p in sorted(path.rglob("*"))}
    return None


def _states(unchanged):
    """The state of each of `unchanged`: paths (`snapshot`) or Keras models
    (their weights)."""
    states = []
    for item in unchanged:
        if isinstance(item, keras.Model):
            states.append([w.copy() for w in item.get_weights()])
        else:
            states.append(snapshot(item))
    return states


def _assert_same_states(unchanged, before, after):
    for item, old, new in zip(unchanged, before, after):
        if isinstance(item, keras.Model):
            for a, b in zip(old, new):
                np.testing.assert_array_equal(a, b, err_msg=f"{item.name} "
                                              "changed")
        else:
            assert new == old, f"{item} was written or changed"


def assert_bad_input(fn, match, unchanged=(), error=ValueError):
    """Calls `fn()` and checks the clear error: exception type `error` (a
    tuple allowed) whose message matches the regex `match`; and that each
    of `unchanged` (paths: file, folder or absent; Keras models: weights)
    is as it was before the call. Returns the exception."""
    import pytest

    before = _states(unchanged)
    with pytest.raises(error, match=match) as info:
        fn()
    _assert_same_states(unchanged, before, _states(unchanged))
    return info.value


def assert_cli_error(argv, match, capsys, unchanged=()):
    """`kerasrobust.cli.main(argv)` returns 2 and prints one line,
    `kerasrobust COMMAND: error: ...`, matching the regex `match` on
    stderr; each of `unchanged` is as before (see `assert_bad_input`).
    Returns the line."""
    import re

    from kerasrobust.cli import main

    capsys.readouterr()
    before = _states(unchanged)
    code = main(list(map(str, argv)))
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"kerasrobust {argv[0]}: error: "), err
    assert re.search(match, err), (match, err)
    _assert_same_states(unchanged, before, _states(unchanged))
    return err
