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
per block of inputs (`sampling.py`). The statistics that turn counts into
labels and radii are in `kerasrobust.smoothing.certify`.
"""

import dataclasses
import time
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasrobust._base_model_config import WrapsBaseModel
from kerasrobust._seed_state import SavesSeedState
from kerasrobust._validation import check_choice
from kerasrobust._validation import check_images
from kerasrobust._validation import check_number
from kerasrobust._validation import check_pixel_range
from kerasrobust._validation import check_value_range
from kerasrobust._validation import image_shape_matches
from kerasrobust._validation import model_image_shape
from kerasrobust.smoothing import sampling
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
class SmoothedClassifier(WrapsBaseModel, SavesSeedState,
                         keras.layers.Layer):
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
    the graph, runs the base model in inference mode on about `batch_size`
    noisy images per forward pass (several inputs per pass when the number
    of draws is below `batch_size`), and counts the argmax votes with
    one-hot + sum in a `tf.while_loop`, so the host sees one call per block,
    not one per forward pass. Noisy copies keep the input's shape and dtype
    (float16/32/64); the base model casts them as it would cast the clean
    input. Integer images are refused: noise levels are in [0, 1] pixel
    units, convert with `x.astype("float32") / 255` first. When a forward
    pass runs out of memory (`tf.errors.ResourceExhaustedError`), the
    number of images per pass is halved and the block redone; the smaller
    size is kept for later calls (`max_forward_batch`).

    Several devices: called inside a `tf.distribute` strategy's `scope()`
    (`MirroredStrategy`, `MultiWorkerMirroredStrategy`, ...), or when the
    layer or its base model was created in one, the forward passes are
    dealt out to all replicas of that strategy and the counts summed
    exactly; the results equal those on one device.

    Randomness: an input's draws depend only on the call's seed, the
    input's index in the certified set (`indices`, default `0..N-1`) and
    the draw index (see `kerasrobust.smoothing.sampling`), never on the
    batch size, the other inputs of a call, the replicas or the process.
    Each call without `seed=` takes the next seed of
    `keras.random.SeedGenerator(seed)`, whose state is saved with the
    layer, so the same seed and the same sequence of calls give the same
    results.

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
        sampling_precision: the precision of the noisy forward passes of
            `predict` / `certify`: `"float32"` (default, the model as it
            is), `"mixed_bfloat16"` or `"mixed_float16"` (a copy of the
            base model with Keras's mixed policy: 16-bit compute, float32
            weights). Counts stay integers and the statistics float64;
            the certificate is for the smoothed version of the model as
            run in that precision. The layer's `call` is not affected.
        value_range: `(low, high)` pixel range the inputs must lie in
            (default `(0, 1)`: sigma is in the units of [0, 1] pixels, so
            0..255 images would be smoothed with noise 255 times too
            small), checked with a rounding tolerance wherever the values
            are known (`certify`, `predict`, `sample_counts`,
            `certify_sequential`, eager calls); `None` accepts any finite
            input (e.g. features that are not images).
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
    SAMPLING_PRECISIONS = sampling.PRECISIONS

    def __init__(
        self,
        base_model,
        num_classes,
        sigma,
        from_logits=True,
        num_samples=100,
        seed=None,
        sampling_precision="float32",
        value_range=(0.0, 1.0),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.set_base_model(base_model, num_classes, "class scores")
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
        self.sampling_precision = check_choice(
            "sampling_precision", sampling_precision, sampling.PRECISIONS)
        self.value_range = check_value_range("value_range", value_range)
        # The strategy the layer is created in (its forward passes are
        # spread over its replicas).
        self._created_in = (tf.distribute.get_strategy()
                            if tf.distribute.has_strategy() else None)
        # Draws counted by each replica in the last `sample_counts`,
        # `predict` or `certify` call (selection and estimation).
        self.last_replica_draws = None
        self._counter = None
        self._distributed_counters = {}
        self._precision_model = None
        if base_model.built:
            self.built = True

    # ------------------------------------------------------------ keras API
    def build(self, input_shape=None):
        if not self.base_model.built and input_shape is not None:
            self.base_model.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        self._check_image_shape(tuple(inputs.shape), "inputs")
        # dtype always; finite and inside `value_range` when the values are
        # known (eager calls; a traced call, e.g. inside `predict`, checks
        # the dtype only: graph assertions would not survive XLA).
        check_images(inputs, "inputs", value_range=self.value_range)
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
                "num_classes": self.num_classes,
                "sigma": self.sigma,
                "from_logits": self.from_logits,
                "num_samples": self.num_samples,
                "seed": self.seed,
                "sampling_precision": self.sampling_precision,
                "value_range": (None if self.value_range is None
                                else list(self.value_range)),
            }
        )
        return config

    # ------------------------------------------------------------ algorithms
    def predict(self, x, n, alpha, batch_size=DEFAULT_BATCH_SIZE,
                return_counts=False, *, indices=None, seed=None):
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
            indices: each input's index in the evaluated set (its noise
                stream, see `sample_counts`); default `0..N-1`.
            seed: seed of the call; `None` draws the next one from the
                layer's `SeedGenerator`.

        Returns:
            int64 labels `(N,)` (`-1` = abstain); with `return_counts`,
            `(labels, counts)`. Abstentions are results, not errors.
        """
        n = check_number("n", n, low=1, integer=True)
        alpha = check_number("alpha", alpha, low=0, high=1, low_open=True,
                             high_open=True)
        counts = self.sample_counts(x, n, batch_size, indices=indices,
                                    seed=seed)
        labels = np.array([predict_from_counts(c, alpha) for c in counts],
                          dtype=np.int64)
        return (labels, counts) if return_counts else labels

    def certify(self, x, n0, n, alpha, batch_size=DEFAULT_BATCH_SIZE,
                method="cohen", verbose="auto", *, indices=None, seed=None,
                **method_kwargs):
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

        Reproducible per input: an input's selection and estimation draws
        depend only on the seed and its index (`indices`), so splitting a
        set into calls, shards or replicas gives the same results.

        Args:
            x: images `(N, *image_shape)` (or one image `image_shape`), a
                floating dtype.
            n0: number of selection draws per input, >= 1 (100 in the
                papers).
            n: number of estimation draws per input, >= 1 (100,000 in the
                papers).
            alpha: failure probability in (0, 1) (0.001 in the papers).
            batch_size: noisy images per forward pass of the base model
                (per replica under a `tf.distribute` strategy).
            method: `"cohen"` (CERTIFY) or `"tight"` (T-CERTIFY).
            verbose: `keras.utils.Progbar` over the inputs: 1 on, 0 off,
                `"auto"` on from 10 inputs.
            indices: each input's index in the certified set (e.g. its
                test-split index), distinct integers >= 0; default
                `0..N-1`.
            seed: seed of the call (an int >= 0 or an int32 pair); `None`
                draws the next one from the layer's `SeedGenerator`.
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
        indices = self._check_indices(indices, len(x))
        seed = self._seed_tensor(seed)
        selection_seed = sampling.stream_seed(seed, sampling.SELECTION)
        estimation_seed = sampling.stream_seed(seed, sampling.ESTIMATION)
        num_inputs = len(x)
        if verbose == "auto":
            verbose = int(num_inputs >= PROGBAR_MIN_INPUTS)
        progbar = (keras.utils.Progbar(num_inputs, unit_name="input")
                   if verbose else None)

        counts_selection = np.zeros((num_inputs, self.num_classes), np.int64)
        counts_estimation = np.zeros_like(counts_selection)
        seconds = np.zeros(num_inputs, np.float64)
        # Inputs go through in groups (selection, then estimation) so that
        # the progress bar advances with finished inputs; a group fills one
        # forward pass on every replica.
        group = max(self.group_size(n0, batch_size),
                    self.group_size(n, batch_size))
        replica_draws = 0
        for start in range(0, num_inputs, group):
            stop = min(start + group, num_inputs)
            began = time.perf_counter()
            counts_selection[start:stop] = self._count(
                x[start:stop], n0, batch_size, 0, indices[start:stop],
                selection_seed)
            replica_draws = replica_draws + self.last_replica_draws
            counts_estimation[start:stop] = self._count(
                x[start:stop], n, batch_size, 0, indices[start:stop],
                estimation_seed)
            replica_draws = replica_draws + self.last_replica_draws
            seconds[start:stop] = (time.perf_counter() - began) / (
                stop - start)
            if progbar is not None:
                progbar.update(stop)

        began = time.perf_counter()
        labels, radii = certify_counts_batch(
            counts_selection, counts_estimation, self.sigma, alpha,
            method=method, n=n, n0=n0, **method_kwargs)
        seconds += (time.perf_counter() - began) / num_inputs
        self.last_replica_draws = replica_draws
        return CertifyResult(
            label=labels.astype(np.int64),
            radius=radii.astype(np.float64),
            counts_selection=counts_selection,
            counts_estimation=counts_estimation,
            time=seconds,
        )

    def sample_counts(self, x, num, batch_size=DEFAULT_BATCH_SIZE, *,
                      start=0, indices=None, seed=None):
        """Class counts of the base classifier on `num` noisy copies per
        input (Cohen et al.'s `_sample_noise`, for a batch of inputs).

        The draws of an input are `[start, start + num)` of its own noise
        stream, a function of (`seed`, its index in `indices`, the draw
        index) only (see `kerasrobust.smoothing.sampling`): two calls with
        the same seed and `start = 0, num = a` then `start = a, num = b`
        count the same draws as one call with `num = a + b`, whatever the
        batch size, the other inputs of the call, or the replicas.

        Args:
            x: images `(N, *image_shape)` (or one image), a floating dtype.
            num: Gaussian draws per input, >= 1.
            batch_size: noisy images per forward pass (per replica; at least
                `NOISE_BLOCK` = 25).
            start: index of the first draw of each input's stream, >= 0.
            indices: each input's index in the set (its stream), distinct
                integers >= 0; default `0..N-1`.
            seed: the stream seed (an int >= 0 or an int32 pair, e.g. from
                `draw_seed()`); `None` draws the next one from the layer's
                `SeedGenerator` (a new stream on every call).

        Returns:
            int64 counts `(N, num_classes)`; each row sums to `num`.
        """
        num = check_number("num", num, low=1, integer=True)
        batch_size = check_number("batch_size", batch_size, low=1,
                                  integer=True)
        start = check_number("start", start, low=0, integer=True)
        x = self._check_inputs(x)
        indices = self._check_indices(indices, len(x))
        return self._count(x, num, batch_size, start, indices,
                           self._seed_tensor(seed))

    def draw_seed(self):
        """The next seed of the layer's `SeedGenerator`: int32 `(2,)` NumPy.

        Pass it as `seed=` to several `sample_counts` / `certify` calls
        that must share one noise stream (e.g. continued with `start`).
        """
        return sampling.seed_for_call(self.seed_generator).numpy()

    def group_size(self, num, batch_size=DEFAULT_BATCH_SIZE):
        """Inputs whose `num` draws fill one forward pass of `batch_size`
        images on every replica (at least 1): the groups in which `certify`
        (and `kerasrobust certify`) finish inputs."""
        return self.num_replicas() * sampling.plan_block(num, batch_size)

    def num_replicas(self):
        """Replicas that the forward passes are spread over (1 without a
        `tf.distribute` strategy)."""
        strategy = self._strategy()
        return 1 if strategy is None else int(
            strategy.num_replicas_in_sync)

    # ------------------------------------------------------------- helpers
    def _strategy(self):
        """The `tf.distribute` strategy whose replicas run the forward
        passes: the current one (inside `strategy.scope()`), else the one
        the layer or its base model was created in; `None` for a single
        replica."""
        if tf.distribute.has_strategy():
            strategy = tf.distribute.get_strategy()
        else:
            strategy = self._created_in or _variables_strategy(
                self.base_model)
        if strategy is None or strategy.num_replicas_in_sync == 1:
            return None
        return strategy

    def _sampling_model(self):
        """The base model as it runs the noisy forward passes."""
        if self._precision_model is None:
            self._precision_model = sampling.model_in_precision(
                self.base_model, self.sampling_precision)
        return self._precision_model

    def _get_counter(self, strategy=None):
        if strategy is None:
            if self._counter is None:
                self._counter = sampling.make_counter(
                    self._sampling_model(), self.num_classes)
            return self._counter
        key = id(strategy)
        if key not in self._distributed_counters:
            with strategy.scope():
                model = self._sampling_model()
            self._distributed_counters[key] = (
                strategy, sampling.make_distributed_counter(
                    model, self.num_classes, strategy))
        return self._distributed_counters[key][1]

    def _count(self, x, num, batch_size, start, indices, seed):
        """int64 counts of draws `[start, start + num)` of each input's
        stream, on every replica; halves the forward batch when out of
        memory. Records the draws per replica in `last_replica_draws`."""
        strategy = self._strategy()
        replicas = 1 if strategy is None else int(
            strategy.num_replicas_in_sync)
        counter = self._get_counter(strategy)
        num_items = len(x) * sampling.blocks_for(start, num)
        args = (tf.constant(x), tf.constant(self.sigma, dtype=x.dtype), seed,
                tf.constant(indices, tf.int32), tf.constant(start, tf.int32),
                tf.constant(num, tf.int32))
        while True:
            forward = batch_size
            if self.max_forward_batch is not None:
                forward = min(forward, self.max_forward_batch)
            per_pass = sampling.items_per_pass(forward, num_items, replicas)
            try:
                out = counter(*args, tf.constant(per_pass, tf.int32))
                break
            except tf.errors.ResourceExhaustedError:
                images = per_pass * sampling.NOISE_BLOCK
                if per_pass <= 1:
                    raise
                self.max_forward_batch = max(sampling.NOISE_BLOCK,
                                             images // 2)
                warnings.warn(
                    f"{type(self).__name__}: out of memory with {images} "
                    "noisy images per forward pass; retrying with "
                    f"{self.max_forward_batch}.",
                    RuntimeWarning,
                    stacklevel=3,
                )
        if strategy is None:
            counts = out
            self.last_replica_draws = np.array([num * len(x)], np.int64)
        else:
            counts, draws = out
            self.last_replica_draws = np.asarray(draws, np.int64)
        return np.asarray(counts, np.int64)

    def _seed_tensor(self, seed):
        """The int32 `(2,)` seed tensor of a call (`None`: the next one of
        the layer's `SeedGenerator`)."""
        if seed is None:
            return sampling.seed_for_call(self.seed_generator)
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seed = check_number("seed", seed, low=0, high=tf.int32.max,
                                integer=True)
            return tf.constant([seed, 0], tf.int32)
        arr = np.asarray(seed)
        if (arr.shape != (2,) or not np.issubdtype(arr.dtype, np.integer)
                or np.any(np.abs(arr.astype(np.int64)) > tf.int32.max)):
            raise ValueError(
                "`seed` must be None, an int >= 0 or a pair of int32 "
                f"integers, got {seed!r}.")
        return tf.constant(arr, tf.int32)

    @staticmethod
    def _check_indices(indices, num_inputs):
        """Each input's index in the certified set: int64 `(N,)`."""
        if indices is None:
            return np.arange(num_inputs, dtype=np.int64)
        arr = np.asarray(indices)
        if (arr.shape != (num_inputs,)
                or not (np.issubdtype(arr.dtype, np.integer)
                        or arr.size == 0)):
            raise ValueError(
                f"`indices` must be {num_inputs} integers (one per input), "
                f"got shape {arr.shape} and dtype {arr.dtype}.")
        arr = arr.astype(np.int64)
        if arr.size and (arr.min() < 0 or arr.max() > tf.int32.max):
            raise ValueError(
                "`indices` must be in [0, 2**31 - 1], got "
                f"{int(arr.min() if arr.min() < 0 else arr.max())}.")
        if len(np.unique(arr)) != len(arr):
            raise ValueError(
                "`indices` must be distinct (each input has its own noise "
                "stream).")
        return arr

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
        check_pixel_range(name, float(x.min()), float(x.max()),
                          self.value_range)
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

    # ----------------------------------------------- sequential certification
    def certify_sequential(self, x, radius, *, n_max=100_000, alpha=0.001,
                           n0=100, batch_size=DEFAULT_BATCH_SIZE, first=100,
                           growth=2.0, scheme="union", split="final_half",
                           verbose="auto", indices=None, seed=None):
        """Sequential CERTIFY: is g certified at `radius` around each input?

        Selection as CERTIFY (`n0` draws, top class `cAHat`), then
        estimation draws in geometric blocks (cumulative `first`, `first *
        growth`, ..., `n_max`), every still-undecided input of a block
        sampled together; an input stops as soon as a time-uniform
        confidence sequence for `p_A` decides every radius: certified when
        its lower end exceeds `Phi(radius / sigma)`, given up when its upper
        end falls below it, or `n_max` reached (not certified). With
        probability at least 1 - alpha, every certified (input, radius) is
        correct: g predicts the label at x and is constant on the L2 ball of
        that radius; one alpha covers all radii of a sequence at once. The
        statistics, their level and the measured choice of the default
        scheme are in `kerasrobust.smoothing.certify_sequential`.

        Args:
            x: images `(N, *image_shape)` (or one image), a floating dtype.
            radius: an L2 radius > 0, or a sequence of radii (a
                certified-accuracy curve).
            n_max: most estimation draws per input, >= n0.
            alpha: failure probability in (0, 1).
            n0: selection draws per input, >= 1.
            batch_size: noisy images per forward pass.
            first, growth: the looks (`first` >= 1, `growth` > 1).
            scheme: "union" (Clopper-Pearson with alpha split over the
                looks) or "mixture" (beta-binomial mixture martingale).
            split: how "union" splits alpha: "final_half", "uniform", "pi2".
            verbose: progress bar: 1, 0 or "auto" (from 10 inputs).
            indices, seed: each input's index in the certified set and the
                seed of the call, as in `certify`: with the same seed, the
                sequential run uses the first `num_samples` of the
                estimation draws `certify` would use.

        Returns:
            A `SequentialCertifyResult`: `label` (`cAHat` where certified,
            else -1; `(N, R)` for R radii), `num_samples` (estimation
            draws), `p_lower`, `p_upper`, `radius_lower`, `candidate`,
            `counts_selection`, `time`.
        """
        from kerasrobust.smoothing import certify_sequential as sequential

        if verbose not in ("auto", 0, 1, True, False):
            raise ValueError(
                f"`verbose` must be 'auto', 0 or 1, got {verbose!r}.")
        if verbose == "auto":
            x = self._check_inputs(x)
            verbose = int(len(x) >= PROGBAR_MIN_INPUTS)
        return sequential.certify_sequential(
            self, x, radius, n_max=n_max, alpha=alpha, n0=n0,
            batch_size=batch_size, first=first, growth=growth,
            scheme=scheme, split=split, verbose=verbose, indices=indices,
            seed=seed)

def _variables_strategy(model):
    """The `tf.distribute` strategy `model`'s variables were created in."""
    for variable in model.weights:
        value = getattr(variable, "value", variable)
        strategy = getattr(value, "_distribute_strategy", None)
        if strategy is not None:
            return strategy
    return None
