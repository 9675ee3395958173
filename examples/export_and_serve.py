r"""
Title: Export a smoothed classifier and call its served signatures
Description: Train a base classifier under Gaussian noise, export it with
in-graph PREDICT / CERTIFY / T-CERTIFY, and call every signature from a
process that only has TensorFlow, as TF Serving would.

`kerasrobust.export_saved_model` writes a SavedModel with three signatures:
`serving_default` (the base classifier's probabilities and label),
`predict_smoothed` (PREDICT of Cohen et al. 2019) and `certify` (CERTIFY or
T-CERTIFY, label, L2 radius and the counts drawn). The noise, the forward
passes, the counts and the Clopper-Pearson / runner-up bounds all run in
the graph, so the client below needs neither kerasrobust nor scipy. It also
prints the TF Serving REST request for each signature.

Quick run (about a minute on 2 CPU cores; the bundled digits):

    python examples/export_and_serve.py

Export an existing base model instead of training one, at full scale:

    python examples/export_and_serve.py --model runs/.../base_model.keras \
        --dataset cifar10 --sigma 0.25 --n 100000 --out saved_models/cifar10/1
"""

"""
## Setup
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasrobust  # noqa: E402

# The serving client: TensorFlow only. It runs in a fresh interpreter.
CLIENT = r"""
import json, sys
import numpy as np
import tensorflow as tf

path, inputs, n0, n, alpha = sys.argv[1:6]
served = tf.saved_model.load(path)
x = tf.constant(np.load(inputs))
base = served.signatures["serving_default"](x=x)
predict = served.signatures["predict_smoothed"](
    x=x, n=tf.constant(int(n)), alpha=tf.constant(float(alpha), tf.float64))
out = {"base_label": base["label"].numpy().tolist(),
       "smoothed_label": predict["label"].numpy().tolist()}
for method in ("cohen", "tight"):
    result = served.signatures["certify"](
        x=x, n0=tf.constant(int(n0)), n=tf.constant(int(n)),
        alpha=tf.constant(float(alpha), tf.float64),
        method=tf.constant(method))
    out[method] = {"label": result["label"].numpy().tolist(),
                   "radius": result["radius"].numpy().round(4).tolist()}
out["kerasrobust_imported"] = "kerasrobust" in sys.modules
print(json.dumps(out))
"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[2])
    p.add_argument("--model", default=None,
                   help="a .keras base model (or training wrapper) to "
                        "export; default: train one with GaussianAugment")
    p.add_argument("--dataset", default="digits",
                   choices=kerasrobust.data.DATASET_NAMES)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--sigma", type=float, default=0.25)
    p.add_argument("--out", default="saved_models/digits_smoothed/1",
                   help="export directory (TF Serving wants <base>/<version>)")
    p.add_argument("--num-images", type=int, default=8)
    p.add_argument("--n0", type=int, default=100)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--alpha", type=float, default=0.001)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


"""
## Train (or load) and export
"""


def base_model(data, args):
    if args.model is not None:
        model = keras.saving.load_model(args.model)
        return getattr(model, "base_model", model)
    keras.utils.set_random_seed(args.seed)
    mean, std = kerasrobust.models.channel_stats(data.x_train)
    base = kerasrobust.models.small_cnn(
        input_shape=data.input_shape, num_classes=data.num_classes,
        mean=mean, std=std)
    trainer = kerasrobust.training.GaussianAugment(base, sigma=args.sigma,
                                                   seed=args.seed)
    train_ds = data.train_dataset(batch_size=64, seed=args.seed)
    trainer.compile(optimizer=kerasrobust.training.paper_optimizer(
        len(train_ds), args.epochs), metrics=["accuracy"])
    trainer.fit(train_ds, epochs=args.epochs, verbose=0)
    return base


"""
## Call the signatures from a process without kerasrobust
"""


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    data = kerasrobust.data.load_dataset(args.dataset,
                                         data_dir=args.data_dir)
    base = base_model(data, args)
    smoothed = kerasrobust.SmoothedClassifier(
        base, data.num_classes, sigma=args.sigma)
    path = kerasrobust.export_saved_model(smoothed, args.out, overwrite=True)
    print(f"exported to {path}")

    x = data.x_test[:args.num_images]
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "x.npy"
        np.save(inputs, x)
        result = subprocess.run(
            [sys.executable, "-c", CLIENT, str(path), str(inputs),
             str(args.n0), str(args.n), str(args.alpha)],
            capture_output=True, text=True, check=True)
    served = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"true labels        {data.y_test[:args.num_images].tolist()}")
    print(f"base classifier    {served['base_label']}")
    print(f"smoothed (PREDICT) {served['smoothed_label']}")
    for method, name in (("cohen", "CERTIFY"), ("tight", "T-CERTIFY")):
        print(f"{name:9} labels    {served[method]['label']}")
        print(f"{name:9} radii     {served[method]['radius']}")
    print(f"kerasrobust imported by the client: "
          f"{served['kerasrobust_imported']}")

    image = np.round(x[:1].astype(np.float64), 3).tolist()
    print("\nTF Serving REST bodies (POST /v1/models/<name>:predict):")
    print(json.dumps({"signature_name": "serving_default",
                      "instances": image})[:120] + " ...")
    print(json.dumps({"signature_name": "certify", "inputs": {
        "x": image, "n0": args.n0, "n": args.n, "alpha": args.alpha,
        "method": "tight"}})[:120] + " ...")
    print(f"\nwall time {time.time() - start:.0f} s")
    return served


if __name__ == "__main__":
    main()
