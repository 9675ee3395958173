"""SavedModel export for serving, with in-graph smoothed prediction and
certification.

`export_saved_model` writes a TensorFlow SavedModel that TF Serving,
`tf.saved_model.load` and `keras.layers.TFSMLayer` load without kerasrobust
(or scipy) installed. Its signatures:

- ``serving_default(x)`` -> ``probabilities`` ``(N, K)`` float32 (softmax
  of the base model's logits, or its output when ``from_logits=False``)
  and ``label`` ``(N,)`` int64: the base classifier f.
- ``predict_smoothed(x, n, alpha)`` -> ``label`` (``-1`` = abstain) and
  ``counts`` ``(N, K)``: PREDICT of Cohen et al. (2019) for the smoothed
  classifier g.
- ``certify(x, n0, n, alpha, method)`` -> ``label`` (``-1`` = abstain),
  ``radius`` (float64), ``counts_selection`` and ``counts_estimation``:
  CERTIFY (``method="cohen"``, Cohen et al. 2019) or T-CERTIFY
  (``method="tight"``, Algorithm 2 of the ADRE / T-CERTIFY paper) with the
  library defaults (``alpha'`` chosen from the selection counts on the grid
  ``alpha * (0.1, ..., 1.0)``, runner-up bound capped).
- ``certify_options(x, n0, n, alpha, method, alpha_prime_rule, alpha_prime,
  grid, cap_runner_up)`` -> the same outputs, with every option of
  `kerasrobust.smoothing.certify_from_counts`: ``alpha_prime_rule`` is
  ``"selection"``, ``"grid"`` or ``"fixed"`` (then ``alpha_prime`` in
  ``(0, alpha]`` is used; otherwise it is ignored), ``grid`` the absolute
  ``alpha'`` values (empty = the default grid), ``cap_runner_up`` a bool.
  (SavedModel signatures have no optional inputs, so the options are a
  second signature rather than defaults of ``certify``.)

The smoothed signatures exist when a `SmoothedClassifier` is exported (or a
base model with ``sigma=``). Everything happens in the graph: the Gaussian
draws (`tf.random.stateless_normal`, seeds from stateful random ops so every
call draws fresh noise and the selection and estimation draws are
independent), the forward passes in a `tf.while_loop` (``batch_size`` noisy
images at a time), the argmax counts, and the statistics: the very functions
the Python API runs eagerly (`kerasrobust.smoothing.certify.certify_tensors`
and `predict_tensors`, float64 bounds from `tf.math.betainc` inverted by
bisection), traced into the graph. There is no second copy to drift.

Bad arguments at serving time (every signature) fail the request with an
``InvalidArgumentError`` that names the input, before any sampling: a
non-finite pixel (an all-NaN image included), pixels outside [0, 1] by more
than rounding (0..255 images), ``n < 1``, ``n0 < 1``, ``n0 > n``, ``alpha``
outside (0, 1), an unknown ``method`` or ``alpha_prime_rule``, a fixed
``alpha_prime`` or ``grid`` value outside (0, alpha]. The checks are those
of the Python API (`kerasrobust.smoothing.certify.check_arguments`,
`kerasrobust._validation.require_images`), which raise ``ValueError`` there.

The directory is written next to its destination and renamed into place,
so ``path`` never holds a half-written export. A small description
(`EXPORT_INFO_FILE`: sigma, classes, image shape, signatures) is written to
the SavedModel's ``assets.extra`` folder, which TF Serving ignores.
"""

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kerasrobust._version import __version__
from kerasrobust._io import atomic_directory
from kerasrobust._validation import (
    check_number,
    model_image_shape,
    model_num_classes,
)
from kerasrobust._validation import require_images
from kerasrobust.smoothing import certify as certify_module
from kerasrobust.smoothing.sampling import NOISE_BLOCK
from kerasrobust.smoothing.sampling import make_counter
from kerasrobust.smoothing.certify import ALPHA_PRIME_RULES, METHODS
from kerasrobust.smoothing.smoothed_classifier import SmoothedClassifier

#: Where exports go when no path is given (relative to the working
#: directory): ``saved_models/<model name>``.
DEFAULT_EXPORT_DIR = Path("saved_models")

#: The JSON description written to ``<export>/assets.extra/``.
EXPORT_INFO_FILE = "kerasrobust_export.json"

BASE_SIGNATURE = "serving_default"
SMOOTHED_SIGNATURES = ("predict_smoothed", "certify", "certify_options")


def export_saved_model(model, path=None, *, sigma=None, from_logits=None,
                       batch_size=1000, seed=None, overwrite=False):
    """Exports a classifier (and its smoothed version) as a SavedModel.

    Args:
        model: a built `keras.Model` returning class scores ``(N, K)``, a
            kerasrobust training wrapper (its ``base_model`` is exported),
            or a `kerasrobust.smoothing.SmoothedClassifier` (its base model,
            ``sigma`` and ``from_logits`` are used).
        path: destination directory; default ``saved_models/<model name>``
            under the working directory.
        sigma: noise level for the smoothed signatures when ``model`` is a
            plain model; ``None`` exports ``serving_default`` only.
        from_logits: whether the base model returns logits (``serving_default``
            applies a softmax) or probabilities. Default: the
            `SmoothedClassifier`'s setting, else True (kerasrobust models
            return logits).
        batch_size: noisy images per forward pass in the smoothed
            signatures (memory vs. speed; does not change the statistics).
        seed: integer seed of the noise draws: a fresh process loading the
            export then draws the same sequence of noise; ``None``
            (default) draws differently in every process.
        overwrite: replace an existing export at ``path``.

    Returns:
        The `pathlib.Path` of the export.

    Raises:
        TypeError / ValueError: a model that is not a Keras classifier, was
            never built (call it on a batch first), has no known image
            shape or class count; bad ``sigma``, ``batch_size`` or ``seed``.
        FileExistsError: ``path`` exists and ``overwrite`` is False.

    Serving: see the README section "Export and serving" for the TF
    Serving REST requests of each signature.
    """
    base_model, sigma, from_logits, name = _unwrap(model, sigma, from_logits)
    image_shape, num_classes = _check_model(base_model)
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    if seed is not None:
        seed = check_number("seed", seed, low=0, integer=True)
    if not isinstance(overwrite, (bool, np.bool_)):
        raise TypeError(f"`overwrite` must be True or False, got "
                        f"{overwrite!r}.")
    path = Path(path) if path is not None else DEFAULT_EXPORT_DIR / name
    dtype = tf.as_dtype(keras.backend.standardize_dtype(
        base_model.inputs[0].dtype if getattr(base_model, "inputs", None)
        else keras.config.floatx()))

    archive = keras.export.ExportArchive()
    archive.track(base_model)
    x_spec = tf.TensorSpec((None,) + image_shape, dtype, name="x")
    archive.add_endpoint(
        BASE_SIGNATURE, _base_fn(base_model, from_logits, image_shape),
        [x_spec])
    signatures = [BASE_SIGNATURE]
    if sigma is not None:
        smoothed = _SmoothedGraph(base_model, num_classes, sigma, batch_size,
                                  seed, dtype, image_shape)
        archive.add_endpoint(
            "predict_smoothed", smoothed.predict,
            [x_spec, tf.TensorSpec((), tf.int32, name="n"),
             tf.TensorSpec((), tf.float64, name="alpha")])
        certify_specs = [
            x_spec, tf.TensorSpec((), tf.int32, name="n0"),
            tf.TensorSpec((), tf.int32, name="n"),
            tf.TensorSpec((), tf.float64, name="alpha"),
            tf.TensorSpec((), tf.string, name="method")]
        archive.add_endpoint("certify", smoothed.certify, certify_specs)
        archive.add_endpoint(
            "certify_options", smoothed.certify_options, certify_specs + [
                tf.TensorSpec((), tf.string, name="alpha_prime_rule"),
                tf.TensorSpec((), tf.float64, name="alpha_prime"),
                tf.TensorSpec((None,), tf.float64, name="grid"),
                tf.TensorSpec((), tf.bool, name="cap_runner_up")])
        signatures += list(SMOOTHED_SIGNATURES)
    info = {
        "kerasrobust_version": __version__,
        "model_name": name,
        "image_shape": list(image_shape),
        "input_dtype": dtype.name,
        "num_classes": num_classes,
        "from_logits": from_logits,
        "sigma": sigma,
        "batch_size": batch_size,
        "seed": seed,
        "signatures": signatures,
        "certify_methods": list(METHODS) if sigma is not None else [],
        "alpha_prime_rules": (list(ALPHA_PRIME_RULES) if sigma is not None
                              else []),
    }
    with atomic_directory(path, overwrite=bool(overwrite)) as tmp:
        archive.write_out(str(tmp), verbose=False)
        extra = tmp / "assets.extra"
        extra.mkdir(exist_ok=True)
        (extra / EXPORT_INFO_FILE).write_text(
            json.dumps(info, indent=2) + "\n")
    return path


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------

def _unwrap(model, sigma, from_logits):
    """``(base_model, sigma, from_logits, name)`` of what was passed."""
    if isinstance(model, SmoothedClassifier):
        if sigma is not None and float(sigma) != model.sigma:
            raise ValueError(
                f"`sigma`={sigma!r} differs from the SmoothedClassifier's "
                f"sigma={model.sigma}; leave `sigma` out.")
        if from_logits is not None and bool(from_logits) != model.from_logits:
            raise ValueError(
                f"`from_logits`={from_logits!r} differs from the "
                f"SmoothedClassifier's from_logits={model.from_logits}.")
        return (model.base_model, model.sigma, model.from_logits,
                model.base_model.name)
    if not isinstance(model, keras.Model):
        raise TypeError(
            "`model` must be a keras.Model classifier, a kerasrobust "
            "training wrapper or a SmoothedClassifier, got "
            f"{type(model).__name__}.")
    name = model.name
    base_model = getattr(model, "base_model", None)
    if not isinstance(base_model, keras.Model):
        base_model = model
    if sigma is not None:
        sigma = check_number("sigma", sigma, low=0.0, low_open=True)
    if from_logits is None:
        from_logits = True
    elif not isinstance(from_logits, (bool, np.bool_)):
        raise TypeError(
            f"`from_logits` must be True or False, got {from_logits!r}.")
    return base_model, sigma, bool(from_logits), name


def _check_model(base_model):
    if not base_model.built:
        raise ValueError(
            f"Model {base_model.name!r} was never built, so it has no "
            "weights to export: call it on a batch of images (or fit it) "
            "first.")
    image_shape = model_image_shape(base_model)
    if image_shape is None or not image_shape or any(
            d is None for d in image_shape):
        raise ValueError(
            f"Model {base_model.name!r} must take one image input of known "
            f"shape to be exported, got input shape {image_shape!r}; build "
            "it with `keras.Input(shape=(H, W, C))`.")
    num_classes = model_num_classes(base_model)
    if num_classes is None or num_classes < 2:
        raise ValueError(
            f"Model {base_model.name!r} must return class scores of shape "
            f"(batch, K) with K >= 2, got output shape "
            f"{getattr(base_model, 'output_shape', None)!r}.")
    return tuple(int(d) for d in image_shape), int(num_classes)


# ---------------------------------------------------------------------------
# The graph functions
# ---------------------------------------------------------------------------

def _base_fn(base_model, from_logits, image_shape):
    def serving_default(x):
        checks = require_images(x, image_shape=image_shape)
        with tf.control_dependencies(checks):
            x = tf.identity(x)
        scores = base_model(x, training=False)
        probabilities = (tf.nn.softmax(scores, axis=-1) if from_logits
                         else scores)
        return {"probabilities": probabilities,
                "label": tf.argmax(scores, axis=-1, output_type=tf.int64)}
    return serving_default


class _SmoothedGraph:
    """The smoothed signatures' graph code for one base model and sigma."""

    def __init__(self, base_model, num_classes, sigma, batch_size, seed,
                 dtype, image_shape):
        self.counter = make_counter(base_model, num_classes)
        self.num_classes = num_classes
        self.sigma = float(sigma)
        self.batch_size = int(batch_size)
        self.seed = seed
        self.dtype = dtype
        self.image_shape = image_shape
        self._ops = 0

    def _next_seed(self):
        """A stateful random op: a new int32 (2,) seed at every call.

        The op's seed attributes are set here, not from TensorFlow's global
        seed (a `keras.utils.set_random_seed` before exporting would
        otherwise fix them): with `seed=None` both are 0, which makes the
        kernel seed itself nondeterministically in every serving process;
        with a seed, each op gets `(seed, its index + 1)`, so a fresh
        process replays the same draws and the selection and estimation
        ops draw different streams.
        """
        self._ops += 1
        seeds = ((0, 0) if self.seed is None else (self.seed, self._ops))
        return tf.raw_ops.RandomUniformInt(
            shape=tf.constant([2], tf.int32),
            minval=tf.constant(0, tf.int32),
            maxval=tf.constant(tf.int32.max, tf.int32),
            seed=seeds[0], seed2=seeds[1])

    def sample_counts(self, x, n):
        """``(N, K)`` int32 counts of ``n`` noisy copies of each input."""
        seed = self._next_seed()
        # Each input's stream is its position in the request (see
        # `sampling`); `sampling.items_per_pass` in tensor form.
        n = tf.cast(n, tf.int32)
        num_inputs = tf.shape(x)[0]
        per_input = (n + NOISE_BLOCK - 1) // NOISE_BLOCK
        per_pass = tf.maximum(1, tf.minimum(
            max(1, self.batch_size // NOISE_BLOCK), num_inputs * per_input))
        return self.counter(x, tf.constant(self.sigma, x.dtype), seed,
                            tf.range(num_inputs), tf.constant(0, tf.int32), n,
                            per_pass)

    def predict(self, x, n, alpha):
        checks = (require_images(x, image_shape=self.image_shape)
                  + certify_module.check_sample_sizes(n)
                  + certify_module.check_alpha(alpha))
        with tf.control_dependencies(checks):
            counts = self.sample_counts(tf.identity(x), tf.identity(n))
        label = certify_module.predict_function(
            tf.cast(counts, tf.float64), alpha)
        return {"label": label, "counts": tf.cast(counts, tf.int64)}

    def certify(self, x, n0, n, alpha, method):
        """The library defaults: ``alpha'`` from the selection counts on
        the default grid, runner-up capped."""
        return self.certify_options(
            x, n0, n, alpha, method, tf.constant("selection"),
            tf.cast(alpha, tf.float64), tf.zeros([0], tf.float64),
            tf.constant(True))

    def certify_options(self, x, n0, n, alpha, method, alpha_prime_rule,
                        alpha_prime, grid, cap_runner_up):
        checks = (require_images(x, image_shape=self.image_shape)
                  + certify_module.check_arguments(
                      n0, n, alpha, method, alpha_prime_rule, alpha_prime,
                      grid))
        with tf.control_dependencies(checks):
            counts_selection = self.sample_counts(tf.identity(x),
                                                  tf.identity(n0))
            counts_estimation = self.sample_counts(tf.identity(x),
                                                   tf.identity(n))
        # The Python API's own traced function: one copy of the statistics
        # in the SavedModel, shared by `certify` and `certify_options`.
        label, radius = certify_module.certify_function(
            tf.cast(counts_selection, tf.float64),
            tf.cast(counts_estimation, tf.float64),
            tf.fill(tf.shape(counts_estimation)[:1], tf.cast(n, tf.float64)),
            tf.constant(self.sigma, tf.float64), alpha, method,
            alpha_prime_rule, alpha_prime, grid, cap_runner_up)
        return {"label": label, "radius": radius,
                "counts_selection": tf.cast(counts_selection, tf.int64),
                "counts_estimation": tf.cast(counts_estimation, tf.int64)}
