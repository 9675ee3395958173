"""Calls an exported SavedModel the way a serving process would: with
TensorFlow only. Run by tests/test_saved_model.py in a fresh interpreter:

    python serving_client.py EXPORT_DIR INPUTS.npz OUTPUTS.npz CONFIGS_JSON

Writes every signature's outputs to OUTPUTS.npz and fails if kerasrobust
was imported along the way.
"""

import json
import sys

import numpy as np
import tensorflow as tf


def main(export_dir, inputs_path, outputs_path, configs_json):
    loaded = tf.saved_model.load(export_dir)
    x = tf.constant(np.load(inputs_path)["x"])
    out = {}
    base = loaded.signatures["serving_default"](x=x)
    out["base_probabilities"] = base["probabilities"].numpy()
    out["base_label"] = base["label"].numpy()
    for i, config in enumerate(json.loads(configs_json)):
        alpha = tf.constant(config["alpha"], tf.float64)
        if config["signature"] == "predict_smoothed":
            result = loaded.signatures["predict_smoothed"](
                x=x, n=tf.constant(config["n"]), alpha=alpha)
        elif config["signature"] == "certify":
            result = loaded.signatures["certify"](
                x=x, n0=tf.constant(config["n0"]), n=tf.constant(config["n"]),
                alpha=alpha, method=tf.constant(config["method"]))
        else:
            result = loaded.signatures["certify_options"](
                x=x, n0=tf.constant(config["n0"]), n=tf.constant(config["n"]),
                alpha=alpha, method=tf.constant(config["method"]),
                alpha_prime_rule=tf.constant(config["alpha_prime_rule"]),
                alpha_prime=tf.constant(config["alpha_prime"], tf.float64),
                grid=tf.constant(config["grid"], tf.float64, shape=[
                    len(config["grid"])]),
                cap_runner_up=tf.constant(config["cap_runner_up"]))
        for key, value in result.items():
            out[f"{i}/{key}"] = value.numpy()
    # The served model must not need the library that wrote it.
    assert "kerasrobust" not in sys.modules, "kerasrobust was imported"
    np.savez(outputs_path, **out)
    print("kerasrobust absent from sys.modules")


if __name__ == "__main__":
    main(*sys.argv[1:5])
