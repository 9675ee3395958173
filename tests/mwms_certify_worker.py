"""One worker of the MultiWorkerMirroredStrategy certification test.

Usage: python mwms_certify_worker.py OUT.json  (with TF_CONFIG set)
Certifies 3 fixed images with a fixed linear model inside the strategy's
scope and writes the counts, radii and draws per replica as JSON.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_smoothed_classifier import linear_model  # noqa: E402
from test_smoothed_classifier import smoothed_classifier  # noqa: E402
from test_smoothed_classifier import make_problem  # noqa: E402


def main(out):
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    x, w, b = make_problem(np.array([0.05, -0.1, 0.0]), seed=13)
    with strategy.scope():
        smoothed = smoothed_classifier(linear_model(w, b), 2, 0.25, seed=3)
        result = smoothed.certify(x, 20, 400, 0.01, batch_size=100,
                                  verbose=0, seed=5)
    with open(out, "w") as f:
        json.dump({"counts_selection": result.counts_selection.tolist(),
                   "counts_estimation": result.counts_estimation.tolist(),
                   "radius": result.radius.tolist(),
                   "replicas": strategy.num_replicas_in_sync,
                   "draws": smoothed.last_replica_draws.tolist()}, f)


if __name__ == "__main__":
    main(sys.argv[1])
