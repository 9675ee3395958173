"""Approximate certified accuracy of the smoothed model inside `fit`."""

import keras
import numpy as np

from kerasrobust._validation import check_number


class CertifiedAccuracy(keras.callbacks.Callback):
    """Certifies a fixed validation subset every `every` epochs.

    At the end of every `every`-th epoch it smooths the model being trained
    (its `base_model` for a training wrapper) with Gaussian noise of level
    `sigma`, runs CERTIFY or T-CERTIFY (`kerasrobust.SmoothedClassifier`)
    on `x`, and writes into the epoch's logs

    - `val_certified_accuracy_<r>` for each radius r in `radii` (the
      approximate certified accuracy of Cohen et al.: correct and certified
      with radius >= r; abstentions count as wrong), and
    - `val_acr`, the average certified radius,

    so they appear in `History`, TensorBoard and keras-tuner objectives
    (`keras_tuner.Objective("val_certified_accuracy_0.25", "max")`). Put it
    before callbacks that read the logs (TensorBoard, checkpoints, the
    tuner's) in the callback list. With a small `n` the radii are lower
    bounds that are looser than a final certification with n = 100,000;
    the figures track training, they are not the final certificate.

    Under a `tf.distribute` strategy (the model built in
    `strategy.scope()`, `MirroredStrategy` or `MultiWorkerMirroredStrategy`)
    the subset is certified once, its forward passes spread over all
    replicas (of all workers) and the counts summed, so every worker logs
    the same values, equal to a single-device run's.

    Args:
        x: validation images in [0, 1], a fixed subset (e.g. 100 images).
        y: their integer labels.
        sigma: noise level; `None` takes the trained wrapper's `sigma`.
        n0: selection draws per input.
        n: estimation draws per input.
        alpha: failure probability of each certificate.
        radii: radii at which to report certified accuracy.
        method: "cohen" (CERTIFY) or "tight" (T-CERTIFY).
        every: certify every `every` epochs (and at the last one).
        batch_size: noisy images per forward pass (per replica).
        seed: seed of the noise (the same noise stream every time it runs,
            so epochs are compared on equal terms).
        sampling_precision: `"float32"`, `"mixed_bfloat16"` or
            `"mixed_float16"`, the precision of the noisy forward passes
            (see `SmoothedClassifier`).
        sequential: use sequential CERTIFY
            (`SmoothedClassifier.certify_sequential`, one confidence
            sequence for all `radii`, `n` as `n_max`): an input stops as
            soon as every radius is decided, so easy inputs cost about 100
            draws instead of `n`. Logs `val_certified_accuracy_<r>` (r = 0:
            the lower confidence sequence of p_A ends above 1/2) and
            `val_mean_samples` (estimation draws per input), and no
            `val_acr` (a stopped sequence gives a lower bound on each
            radius, not the fixed-n radius). `method` must be "cohen".

    Example:
    ```python
    callback = kerasrobust.callbacks.CertifiedAccuracy(
        x_val[:100], y_val[:100], n0=100, n=1000, every=5)
    model.fit(train, epochs=90, callbacks=[callback])
    ```
    """

    def __init__(self, x, y, sigma=None, n0=100, n=1000, alpha=0.001,
                 radii=(0.0, 0.25, 0.5, 0.75, 1.0), method="cohen", every=1,
                 batch_size=1000, seed=0, sampling_precision="float32",
                 sequential=False):
        super().__init__()
        self.x = np.asarray(x)
        self.y = np.asarray(y).reshape(-1)
        if len(self.x) != len(self.y):
            raise ValueError(
                f"`x` has {len(self.x)} images but `y` has {len(self.y)} "
                "labels.")
        self.sigma = None if sigma is None else check_number(
            "sigma", sigma, low=0, low_open=True)
        self.n0 = check_number("n0", n0, low=1, integer=True)
        self.n = check_number("n", n, low=1, integer=True)
        self.alpha = check_number("alpha", alpha, low=0, high=1,
                                  low_open=True, high_open=True)
        self.radii = [check_number("radii", r, low=0) for r in radii]
        self.method = method
        self.every = check_number("every", every, low=1, integer=True)
        self.batch_size = check_number("batch_size", batch_size, low=1,
                                       integer=True)
        self.seed = check_number("seed", seed, low=0, integer=True)
        self.sampling_precision = sampling_precision
        # Draws of the last certification per replica (replicas at work).
        self.last_replica_draws = None
        if not isinstance(sequential, (bool, np.bool_)):
            raise TypeError(
                f"`sequential` must be True or False, got {sequential!r}.")
        self.sequential = bool(sequential)
        if self.sequential:
            if method != "cohen":
                raise ValueError(
                    "`method` must be 'cohen' with sequential=True (the "
                    f"sequential test bounds p_A only), got {method!r}.")
            if self.n < self.n0:
                raise ValueError(
                    f"`n` (n_max of the sequential test) must be >= `n0`, "
                    f"got n={self.n} < n0={self.n0}.")

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs")
        if logs is None or ((epoch + 1) % self.every and not last):
            return
        logs.update(self.evaluate())

    def evaluate(self):
        """Certifies `x` now; returns the log entries."""
        from kerasrobust.smoothing import SmoothedClassifier
        from kerasrobust.smoothing import average_certified_radius
        from kerasrobust.smoothing import certified_accuracy

        base = getattr(self.model, "base_model", self.model)
        sigma = self.sigma if self.sigma is not None else getattr(
            self.model, "sigma", None)
        if sigma is None:
            raise ValueError(
                "`sigma` must be given to CertifiedAccuracy when the model "
                "has no `sigma` attribute (only the noise-training wrappers "
                "have one).")
        smoothed = SmoothedClassifier(
            base, base.output_shape[-1], sigma, seed=self.seed,
            sampling_precision=self.sampling_precision)
        if self.sequential:
            return self._evaluate_sequential(smoothed)
        # Spread over the replicas of the strategy the model lives in.
        result = smoothed.certify(self.x, self.n0, self.n, self.alpha,
                                  batch_size=self.batch_size,
                                  method=self.method, verbose=0)
        self.last_replica_draws = smoothed.last_replica_draws
        rows = {"correct": result.label == self.y, "radius": result.radius,
                "predict": result.label, "label": self.y}
        accuracies = certified_accuracy(rows, np.asarray(self.radii))
        logs = {f"val_certified_accuracy_{r:g}": float(a)
                for r, a in zip(self.radii, accuracies)}
        logs["val_acr"] = average_certified_radius(rows)
        return logs

    def _evaluate_sequential(self, smoothed):
        radii = np.asarray(self.radii, np.float64)
        positive = sorted({float(r) for r in radii if r > 0})
        result = smoothed.certify_sequential(
            self.x, positive or [min(1.0, smoothed.sigma)], n_max=self.n,
            alpha=self.alpha, n0=self.n0, batch_size=self.batch_size,
            verbose=0)
        logs = {}
        for r in self.radii:
            if r > 0:
                label = result.label[:, positive.index(float(r))]
            else:  # radius 0: g(x) = cAHat is certified (p_lower > 1/2)
                label = np.where(result.p_lower > 0.5, result.candidate, -1)
            logs[f"val_certified_accuracy_{r:g}"] = float(
                np.mean(label == self.y))
        logs["val_mean_samples"] = float(np.mean(result.num_samples))
        return logs
