"""`SmoothedClassifier`: the Gaussian-smoothed classifier g of a base model.

Cohen, Rosenfeld and Kolter (2019), "Certified Adversarial Robustness via
Randomized Smoothing" (ICML), define the smoothed classifier

    g(x) = argmax_c P(f(x + delta) = c),   delta ~ N(0, sigma^2 I),

and give two Monte Carlo algorithms: PREDICT (evaluate g at x, abstaining
when unsure) and CERTIFY (a class and an L2 radius around x on which g is
constant). Feng et al. (2021), "Regularized Training and Tight Certification
for Randomized Smoothed Classifier with Provable Robustness" (AAAI), add
T-CERTIFY (their Algorithm 2), which bounds the top and the runner-up
probabilities separately. This file is the sampling half of those
algorithms: noise, forward passes and counting, in one compiled function
per block of inputs (`_sampling.py`). The statistics that turn counts into
labels and radii are in `kerasrobust.smoothing.certify`.
"""

import dataclasses
import time
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasrobust._seed_state import SavesSeedState
from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number
from kerasrobust._validation import image_shape_matches
from kerasrobust._validation import model_image_shape
from kerasrobust._validation import model_num_classes
from kerasrobust.smoothing import _sampling
from kerasrobust.smoothing.certify import ABSTAIN
from kerasrobust.smoothing.certify import METHODS
from kerasrobust.smoothing.certify import certify_counts_batch
from kerasrobust.smoothing.certify import check_sample_sizes
from kerasrobust.smoothing.certify import predict_from_counts

DEFAULT_BATCH_SIZE = 1000
# `verbose="auto"` shows a progress bar from this many inputs on.
PROGBAR_MIN_INPUTS = 10


@dataclasses.dataclass(repr=False, eq=False)
class CertifyResult:
    """What `SmoothedClassifier.certify` returns: NumPy arrays, one row per
    input.

    Attributes:
        label: int64 `(N,)`, the certified class or `ABSTAIN = -1`.
        radius: float64 `(N,)`, the certified L2 radius (0 on abstention).
        counts_selection: int64 `(N, K)`, class counts of the `n0`
            selection draws.
        counts_estimation: int64 `(N, K)`, class counts of the `n`
            estimation draws.
        time: float64 `(N,)`, seconds spent on each input (its share of
            the sampling blocks it was in, plus its share of the
            statistics).

    `result.predict` is `result.label` (the name of Cohen et al.'s log
    column); `result["radius"]` and `result.as_dict()` give dict access.
    """

    label: np.ndarray
    radius: np.ndarray
    counts_selection: np.ndarray
    counts_estimation: np.ndarray
    time: np.ndarray

    @property
    def predict(self):
        return self.label

    def __len__(self):
        return len(self.label)

    def __getitem__(self, key):
        if key == "predict":
            return self.label
        if key in self.as_dict():
            return getattr(self, key)
        raise KeyError(key)

    def keys(self):
        return self.as_dict().keys()

    def as_dict(self):
        """The arrays as a dict, `predict` included."""
        out = {f.name: getattr(self, f.name)
               for f in dataclasses.fields(self)}
        out["predict"] = self.label
        return out

    def __repr__(self):
        abstained = int((self.label == ABSTAIN).sum())
        mean_radius = float(np.mean(self.radius)) if len(self) else 0.0
        return (f"CertifyResult({len(self)} inputs, {abstained} abstained, "
                f"mean radius {mean_radius:.4f})")


@keras.saving.register_keras_serializable(package="kerasrobust")
class SmoothedClassifier(SavesSeedState, keras.layers.Layer):
    """The Gaussian-smoothed version g of a base classifier f.

    `g(x) = argmax_c P(f(x + delta) = c)` with `delta ~ N(0, sigma^2 I)`
    (Cohen et al. 2019, eq. 1). Three ways to use it:

    - As a layer: calling it returns the Monte Carlo estimate of the
      *soft* smoothed classifier, the mean over `num_samples` Gaussian draws
      of the base model's class probabilities (softmax of its logits, or its
      output as is when `from_logits=False`), shape `(batch, num_classes)`.
      It composes inside Keras models; gradients flow through the draws.
    - `predict(x, n, alpha)`: Cohen et al.'s PREDICT, the hard smoothed
      classifier g with a hypothesis test that abstains when unsure.
    - `certify(x, n0, n, alpha, method=...)`: CERTIFY (Cohen et al. 2019,
      `method="cohen"`) or T-CERTIFY (Feng et al. 2021, Algorithm 2,
      `method="tight"`): a class and a certified L2 radius per input.

    `predict`, `certify` and `sample_counts` take a batch of images (or one
    image) as NumPy arrays or tensors of a floating dtype. Each block of
    inputs is handled by one compiled `tf.function`: it draws the noise in
    the graph, runs the base model in inference mode on `batch_size` noisy
    images per forward pass (several inputs per pass when the number of
    draws is below `batch_size`), and counts the argmax votes with one-hot
    + sum in a `tf.while_loop`, so the host sees one call per block, not
    one per forward pass. Noisy copies keep the input's shape and dtype
    (float16/32/64); the base model casts them as it would cast the clean
    input. Integer images are refused: noise levels are in [0, 1] pixel
    units, convert with `x.astype("float32") / 255` first. When a forward
    pass runs out of memory (`tf.errors.ResourceExhaustedError`), the
    number of images per pass is halved and the block redone; the smaller
    size is kept for later calls (`max_forward_batch`).

    Randomness: every draw comes from `keras.random.SeedGenerator(seed)`,
    whose state is saved with the layer, so the same seed and the same
    sequence of calls give the same results. The noise also depends on
    `batch_size` (it fixes how draws are split into forward passes).

    Args:
        base_model: a built `keras.Model` from images to class scores
            `(batch, num_classes)`: logits, or probabilities when
            `from_logits=False`. The noise is added to its input, so with
            the kerasrobust models (normalization inside the model) `sigma`
            is in [0, 1] pixel units.
        num_classes: number of classes K >= 2; inferred from the base
            model's output shape when `None`.
        sigma: standard deviation of the Gaussian noise, > 0.
        from_logits: whether the base model returns logits (softmax is
            applied once, in `call`) or probabilities (used as they are).
            The argmax votes of `predict` / `certify` are the same either
            way.
        num_samples: Gaussian draws per input when the layer is called.
        seed: integer seed of all draws; `None` draws one at random.
        **kwargs: forwarded to `keras.layers.Layer` (e.g. `name`).

    Example:

    ```python
    base = kerasrobust.models.cifar_resnet110(mean=mean, std=std)
    # ... train base with Gaussian noise augmentation ...
    smoothed = kerasrobust.smoothing.SmoothedClassifier(
        base, num_classes=10, sigma=0.25, seed=0)
    result = smoothed.certify(x_test[:100], n0=100, n=100_000, alpha=0.001,
                              method="tight")
    result.label, result.radius          # -1 where it abstains
    smoothed.predict(x_test[:100], n=1000, alpha=0.001)
    probabilities = smoothed(x_test[:8])  # soft smoothed classifier
    ```

    References: Cohen, Rosenfeld and Kolter (2019), "Certified Adversarial
    Robustness via Randomized Smoothing", ICML (PREDICT, CERTIFY); Feng,
    Wu, Chen, Zhang and Ning (2021), "Regularized Training and Tight
    Certification for Randomized Smoothed Classifier with Provable
    Robustness", AAAI (T-CERTIFY, Algorithm 2).
    """

    ABSTAIN = ABSTAIN

    def __init__(
        self,
        base_model,
        num_classes,
        sigma,
        from_logits=True,
        num_samples=100,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(base_model, keras.Model):
            raise TypeError(
                "`base_model` must be a keras.Model that returns class "
                f"scores, got {type(base_model).__name__}."
            )
        self.base_model = base_model
        inferred = model_num_classes(base_model)
        if num_classes is None:
            if inferred is None:
                raise ValueError(
                    "Cannot infer `num_classes` from the base model's output "
                    "shape; pass `num_classes`."
                )
            num_classes = inferred
        self.num_classes = check_number(
            "num_classes", num_classes, low=2, integer=True)
        if inferred is not None and inferred != self.num_classes:
            raise ValueError(
                f"`num_classes` is {self.num_classes} but the base model "
                f"returns {inferred} class scores."
            )
        self.sigma = check_number("sigma", sigma, low=0, low_open=True)
        if not isinstance(from_logits, (bool, np.bool_)):
            raise TypeError(
                f"`from_logits` must be True or False, got {from_logits!r}."
            )
        self.from_logits = bool(from_logits)
        self.num_samples = check_number(
            "num_samples", num_samples, low=1, integer=True)
        if seed is not None:
            seed = check_number("seed", seed, low=0, integer=True)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Images per forward pass that are known to fit in memory (lowered
        # on ResourceExhaustedError); None until a pass has failed.
        self.max_forward_batch = None
        self._counter = None
        if base_model.built:
            self.built = True

    # ------------------------------------------------------------ keras API
    def build(self, input_shape=None):
        if not self.base_model.built and input_shape is not None:
            self.base_model.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        self._check_image_shape(tuple(inputs.shape), "inputs")
        image_shape = tuple(inputs.shape[1:])
        m = self.num_samples
        # (batch, m, H, W, C) noisy copies, drawn around each input.
        center = ops.expand_dims(inputs, 1)
        noise_shape = (ops.shape(inputs)[0], m) + image_shape
        noise = keras.random.normal(
            noise_shape, stddev=self.sigma, dtype=inputs.dtype,
            seed=self.seed_generator)
        noisy = ops.reshape(center + noise, (-1,) + image_shape)
        scores = self.base_model(noisy, training=training)
        if self.from_logits:
            scores = ops.softmax(scores, axis=-1)
        scores = ops.reshape(scores, (-1, m, self.num_classes))
        return ops.mean(scores, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "base_model": keras.saving.serialize_keras_object(
                    self.base_model
                ),
                "num_classes": self.num_classes,
                "sigma": self.sigma,
                "from_logits": self.from_logits,
                "num_samples": self.num_samples,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["base_model"] = keras.saving.deserialize_keras_object(
            config["base_model"]
        )
        return cls(**config)

    # ------------------------------------------------------------ algorithms
    def predict(self, x, n, alpha, batch_size=DEFAULT_BATCH_SIZE,
                return_counts=False):
        """PREDICT (Cohen et al. 2019): evaluate g at each input.

        Draws `n` noisy copies of each input, counts the base classifier's
        votes, and returns the top class `cAHat` if the two-sided binomial
        test of its count `nA` against the runner-up count `nB`
        (`binomtest(nA, nA + nB, 0.5)`) has p-value <= `alpha`, else
        `ABSTAIN = -1`. With probability at least 1 - alpha over the
        randomness of this method, the class returned for an input is
        ABSTAIN or equals g(x) (Hung et al. 2019's test for the top category
        of a multinomial; each input is its own test).

        Args:
            x: images `(N, *image_shape)` (or one image `image_shape`), a
                floating dtype.
            n: number of Monte Carlo draws per input, >= 1.
            alpha: failure probability in (0, 1).
            batch_size: noisy images per forward pass of the base model.
            return_counts: also return the `(N, K)` counts.

        Returns:
            int64 labels `(N,)` (`-1` = abstain); with `return_counts`,
            `(labels, counts)`. Abstentions are results, not errors.
        """
        n = check_number("n", n, low=1, integer=True)
        alpha = check_number("alpha", alpha, low=0, high=1, low_open=True,
                             high_open=True)
        x = self._check_inputs(x)
        counts = self.sample_counts(x, n, batch_size)
        labels = np.array([predict_from_counts(c, alpha) for c in counts],
                          dtype=np.int64)
        return (labels, counts) if return_counts else labels

    def certify(self, x, n0, n, alpha, batch_size=DEFAULT_BATCH_SIZE,
                method="cohen", verbose="auto", **method_kwargs):
        """CERTIFY (Cohen et al. 2019) or T-CERTIFY (Feng et al. 2021).

        For each input, draws `n0` noisy copies to guess the top class
        `cAHat` (selection), then `n` independent copies (estimation) whose
        counts give the confidence bounds:

        - `method="cohen"`, CERTIFY: `pABar` is the one-sided (1 - alpha)
          Clopper-Pearson lower bound on P(f(x + delta) = cAHat); abstain if
          `pABar < 1/2`, else radius `sigma * Phi^-1(pABar)`.
        - `method="tight"`, T-CERTIFY (Algorithm 2): `pABar` at level
          alpha' and an upper bound `pBBar` on the runner-up probability at
          level alpha - alpha' (eq. 14); radius
          `sigma / 2 * (Phi^-1(pABar) - Phi^-1(pBBar))`, abstain when it is
          not > 0. alpha' is chosen from the selection counts by default
          (see `kerasrobust.smoothing.certify_from_counts`).

        With probability at least 1 - alpha over the randomness of this
        method, if the label returned for an input is not ABSTAIN, then g
        predicts that label at x and g's prediction is constant within the
        L2 ball of the returned radius around x (Cohen et al., Theorem 1
        and Proposition 2; Feng et al., Proposition 1 and Theorem 1). Each
        input is its own test.

        Args:
            x: images `(N, *image_shape)` (or one image `image_shape`), a
                floating dtype.
            n0: number of selection draws per input, >= 1 (100 in the
                papers).
            n: number of estimation draws per input, >= 1 (100,000 in the
                papers).
            alpha: failure probability in (0, 1) (0.001 in the papers).
            batch_size: noisy images per forward pass of the base model.
            method: `"cohen"` (CERTIFY) or `"tight"` (T-CERTIFY).
            verbose: `keras.utils.Progbar` over the inputs: 1 on, 0 off,
                `"auto"` on from 10 inputs.
            **method_kwargs: `alpha_prime`, `grid`, `cap_runner_up` of
                `kerasrobust.smoothing.certify_counts_batch` (T-CERTIFY).

        Returns:
            A `CertifyResult` of NumPy arrays: `label` (`-1` = abstain),
            `radius`, `counts_selection`, `counts_estimation`, `time` (and
            `predict`, the same as `label`). Abstentions are results, not
            errors.
        """
        n0 = check_number("n0", n0, low=1, integer=True)
        n = check_number("n", n, low=1, integer=True)
        alpha = check_number("alpha", alpha, low=0, high=1, low_open=True,
                             high_open=True)
        check_choice("method", method, METHODS)
        batch_size = check_number("batch_size", batch_size, low=1,
                                  integer=True)
        if verbose not in ("auto", 0, 1, True, False):
            raise ValueError(
                f"`verbose` must be 'auto', 0 or 1, got {verbose!r}.")
        # Check the statistics' own arguments before any sampling.
        check_sample_sizes(n, n0)
        certify_counts_batch(np.ones((0, self.num_classes), np.int64),
                             np.ones((0, self.num_classes), np.int64),
                             self.sigma, alpha, method=method,
                             **method_kwargs)
        x = self._check_inputs(x)
        num_inputs = len(x)
        if verbose == "auto":
            verbose = int(num_inputs >= PROGBAR_MIN_INPUTS)
        progbar = (keras.utils.Progbar(num_inputs, unit_name="input")
                   if verbose else None)

        counts_selection = np.zeros((num_inputs, self.num_classes), np.int64)
        counts_estimation = np.zeros_like(counts_selection)
        seconds = np.zeros(num_inputs, np.float64)
        # Inputs go through in groups (selection, then estimation) so that
        # the progress bar advances with finished inputs.
        group = max(_sampling.plan_block(n0, batch_size)[0],
                    _sampling.plan_block(n, batch_size)[0])
        for start in range(0, num_inputs, group):
            stop = min(start + group, num_inputs)
            began = time.perf_counter()
            counts_selection[start:stop] = self.sample_counts(
                x[start:stop], n0, batch_size)
            counts_estimation[start:stop] = self.sample_counts(
                x[start:stop], n, batch_size)
            seconds[start:stop] = (time.perf_counter() - began) / (
                stop - start)
            if progbar is not None:
                progbar.update(stop)

        began = time.perf_counter()
        labels, radii = certify_counts_batch(
            counts_selection, counts_estimation, self.sigma, alpha,
            method=method, n=n, n0=n0, **method_kwargs)
        seconds += (time.perf_counter() - began) / num_inputs
        return CertifyResult(
            label=labels.astype(np.int64),
            radius=radii.astype(np.float64),
            counts_selection=counts_selection,
            counts_estimation=counts_estimation,
            time=seconds,
        )

    def sample_counts(self, x, num, batch_size=DEFAULT_BATCH_SIZE):
        """Class counts of the base classifier on `num` noisy copies per
        input (Cohen et al.'s `_sample_noise`, for a batch of inputs).

        Args:
            x: images `(N, *image_shape)` (or one image), a floating dtype.
            num: Gaussian draws per input, >= 1.
            batch_size: noisy images per forward pass. Several inputs
                share a pass when `num < batch_size`; otherwise an input's
                draws are split over `ceil(num / batch_size)` passes.

        Returns:
            int64 counts `(N, num_classes)`; each row sums to `num`.
        """
        num = check_number("num", num, low=1, integer=True)
        batch_size = check_number("batch_size", batch_size, low=1,
                                  integer=True)
        x = self._check_inputs(x)
        counts = np.zeros((len(x), self.num_classes), np.int64)
        counter = self._get_counter()
        sigma = tf.constant(self.sigma, dtype=x.dtype)
        num_t = tf.constant(num, tf.int32)
        start = 0
        while start < len(x):
            forward = batch_size
            if self.max_forward_batch is not None:
                forward = min(forward, self.max_forward_batch)
            inputs_per_block, chunk, _ = _sampling.plan_block(num, forward)
            stop = min(start + inputs_per_block, len(x))
            seed = _sampling.seed_for_call(self.seed_generator)
            try:
                block = counter(tf.constant(x[start:stop]), sigma, seed,
                                num_t, chunk)
                counts[start:stop] = block.numpy()
            except tf.errors.ResourceExhaustedError:
                images = (stop - start) * chunk
                if images <= 1:
                    raise
                self.max_forward_batch = max(1, images // 2)
                warnings.warn(
                    f"{type(self).__name__}: out of memory with {images} "
                    "noisy images per forward pass; retrying with "
                    f"{self.max_forward_batch}.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            start = stop
        return counts

    # ------------------------------------------------------------- helpers
    def _get_counter(self):
        if self._counter is None:
            self._counter = _sampling.make_counter(
                self.base_model, self.num_classes)
        return self._counter

    def _check_inputs(self, x, name="x"):
        """`x` as a float NumPy batch the base model takes, or an error."""
        if isinstance(x, (tf.Tensor, tf.Variable)):
            x = x.numpy()
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(
                f"`{name}` must hold floating point images in [0, 1] (the "
                f"noise level sigma is in those units), got dtype "
                f"{x.dtype}. Convert first, e.g. x.astype('float32') / 255."
            )
        want = model_image_shape(self.base_model)
        if want is not None and x.ndim == len(want):
            x = x[np.newaxis]  # one image
        self._check_image_shape(x.shape, name)
        if x.shape[0] == 0:
            raise ValueError(f"`{name}` holds no images (shape {x.shape}).")
        finite = np.isfinite(x)
        if not finite.all():
            raise ValueError(
                f"`{name}` contains {int((~finite).sum())} non-finite values"
                " (NaN or inf); images must be finite."
            )
        return x

    def _check_image_shape(self, shape, name):
        want = model_image_shape(self.base_model)
        got = tuple(shape[1:])
        if want is not None and not image_shape_matches(got, want):
            raise ValueError(
                f"`{name}` has shape {tuple(shape)}: its image shape {got} "
                f"does not match the base model's input shape {want}; "
                f"expected a batch of shape (N, {', '.join(map(str, want))})."
            )
