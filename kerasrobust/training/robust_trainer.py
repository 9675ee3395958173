"""The training-wrapper base class shared by every training method."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasrobust._base_model_config import WrapsBaseModel
from kerasrobust._seed_state import SavesSeedState
from kerasrobust._validation import check_images
from kerasrobust._validation import check_number
from kerasrobust._validation import image_shape_matches
from kerasrobust._validation import model_image_shape
from kerasrobust._validation import require_images
from kerasrobust.data.augment import distribute_dataset
from kerasrobust.data.augment import epoch_keyed_fit_arguments
from kerasrobust.training._distribute import local_batch
from kerasrobust.training._distribute import num_replicas
from kerasrobust.training._distribute import reducible_logs
from kerasrobust.training.hyperparameters import check_declared
from kerasrobust.training._distribute import shard_weight
from kerasrobust.training._distribute import symbolic_batch


@keras.saving.register_keras_serializable(package="kerasrobust")
class RobustTrainer(WrapsBaseModel, SavesSeedState, keras.Model):
    """Wraps a classifier and trains it with a vicinal-risk method.

    The wrapper owns the training loss (cross-entropy of the base model's
    logits against the method's soft targets) and overrides `train_step`
    only in the part a method changes, through two hooks:

    - `vicinal_batch(x, y)` returns the training inputs and the soft targets
      before the forward pass (identity here; MixUp mixes both).
    - `vicinal_targets(logits, targets)` turns them into the final targets
      once the logits of the vicinal inputs are known (identity here; ALPS
      moves label mass to the least-likely class).

    Methods whose loss is not a cross-entropy against targets (ADRE) also
    override `vicinal_loss`, and methods that train on several copies of each
    sample (Gaussian noise) override `metrics_logits`.

    Everything else is the built-in Keras step: one forward pass under the
    tape, `compute_loss`, loss scaling, gradients, `apply_gradients`,
    `compute_metrics`. `evaluate` and `predict` see the plain base model.

    Labels may be integer class ids of shape `(batch,)` or `(batch, 1)`, or
    one-hot / soft vectors of shape `(batch, num_classes)`. They are turned
    into probability vectors in `compute_loss` and `compute_metrics`, the one
    place both `fit`'s symbolic build and the train step pass through, so
    `"accuracy"` always resolves to categorical accuracy.

    Under `tf.distribute.MirroredStrategy` the loss logged is the real mean
    loss over the global batch, and gradients equal those of a single device
    (Keras losses are scaled by the number of replicas and the gradients
    all-reduced with SUM).

    Args:
        base_model: a `keras.Model` mapping images in [0, 1] to logits of
            shape `(batch, num_classes)`.
        num_classes: number of classes; inferred from the base model's
            output shape when `None`, and it must equal that output's size
            when the shape is known.
        weight_decay: coupled L2 weight decay: `weight_decay * w` is added to
            the gradient of every trainable weight before the optimizer,
            exactly as PyTorch's `SGD(weight_decay=...)` used by the papers'
            reference code (1e-4 in the ALPS recipe). 0 disables it. For
            Keras' decoupled decay, give `weight_decay` to the optimizer
            instead.
        seed: integer seed of the method's random draws
            (`keras.random.SeedGenerator`); `None` draws one at random.
        check_inputs: when True every training batch is checked for
            non-finite pixels and out-of-range labels before the step runs
            (NumPy arrays on the host, `tf.data` pipelines in a `map`),
            so the checks also hold under XLA, which drops in-graph
            assertions.
        **kwargs: forwarded to `keras.Model` (e.g. `name`).
    """

    #: The method's hyperparameters (`training.hyperparameters`): a
    #: subclass lists its own; they are checked by `set_hyperparameters`
    #: and saved by `get_config`.
    HYPERPARAMETERS = ()

    def __init__(
        self,
        base_model,
        num_classes=None,
        weight_decay=0.0,
        seed=None,
        check_inputs=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.set_base_model(base_model, num_classes, "logits")
        self.weight_decay = check_number("weight_decay", weight_decay, low=0)
        if seed is not None:
            seed = check_number("seed", seed, low=0, integer=True)
        self.seed = seed
        self.check_inputs = bool(check_inputs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def set_hyperparameters(self, **values):
        """Checks each value against `HYPERPARAMETERS` (a `ValueError`
        naming the parameter, the value and the allowed range) and sets it
        as an attribute."""
        for name, value in check_declared(self.HYPERPARAMETERS,
                                          values).items():
            setattr(self, name, value)

    # ----------------------------------------------------------------- hooks
    def vicinal_batch(self, x, targets):
        """Returns `(inputs, targets)` to train on; the identity for ERM."""
        return x, targets

    def vicinal_targets(self, logits, targets):
        """Returns the final soft targets given the logits of the inputs."""
        del logits
        return targets

    def vicinal_loss(self, logits, targets, sample_weight):
        """The training loss of this replica, scaled as Keras scales it.

        Default: the compiled cross-entropy of `logits` against `targets`
        (plus regularization losses), divided by the number of replicas.
        Methods whose loss is not a cross-entropy against targets override
        it, typically with `reduce_per_example`.
        """
        return self._compute_loss(
            y=targets, y_pred=logits, sample_weight=sample_weight,
            training=True,
        )

    def metrics_logits(self, logits):
        """Logits, one row per original sample, that training metrics see."""
        return logits

    def reduce_per_example(self, per_example_loss, sample_weight=None):
        """Mean of a per-example loss in Keras' distributed convention.

        Weighted mean over this replica's batch ("sum over batch size"),
        plus the model's regularization losses, each divided by the number
        of replicas so that SUM-reduced gradients are the global mean.
        """
        loss = per_example_loss
        if sample_weight is not None:
            loss = loss * ops.cast(
                ops.reshape(sample_weight, ops.shape(loss)), loss.dtype)
        loss = ops.mean(loss)
        for extra in self.losses:
            loss = loss + ops.sum(ops.cast(extra, loss.dtype))
        return loss / num_replicas()

    # ------------------------------------------------------------ keras API
    def call(self, inputs, training=False):
        self._check_image_shape(inputs)
        return self.base_model(inputs, training=training)

    def compile(self, optimizer="rmsprop", loss=None, **kwargs):
        if loss is not None:
            raise ValueError(
                f"`loss` must not be given to {type(self).__name__}.compile(); "
                "got loss="
                f"{loss!r}. The training wrapper defines its loss: "
                "cross-entropy from logits against the method's targets."
            )
        super().compile(
            optimizer=optimizer,
            loss=keras.losses.CategoricalCrossentropy(from_logits=True),
            **kwargs,
        )

    def get_compile_config(self):
        config = super().get_compile_config()
        config.pop("loss", None)
        return config

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        config.pop("loss", None)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        return super().compute_loss(
            x=x,
            y=self.as_targets(y),
            y_pred=y_pred,
            sample_weight=sample_weight,
            training=training,
        )

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(
            x, self.as_targets(y), y_pred, sample_weight=sample_weight
        )

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if self.check_inputs and getattr(self, "_check_in_step", True):
            x = self._assert_valid_batch(x, y)
        targets = self.as_targets(y)
        x_train, targets = self.vicinal_batch(x, targets)
        with tf.GradientTape() as tape:
            # Under a mixed-precision policy the forward pass runs in
            # float16/bfloat16; targets, losses and metrics stay float32.
            logits = ops.cast(self(x_train, training=True), "float32")
            targets = ops.stop_gradient(self.vicinal_targets(logits, targets))
            loss = self.vicinal_loss(logits, targets, sample_weight)
            # The loss is divided by the number of replicas (so that
            # SUM-reduced gradients are those of the global mean); log the
            # real loss.
            batch_size = tf.shape(x)[0]
            self._loss_tracker.update_state(
                loss * num_replicas(), sample_weight=batch_size
            )
            # Exact global-batch mean also when the shards are uneven.
            loss = loss * ops.cast(shard_weight(batch_size), loss.dtype)
            scaled_loss = self.optimizer.scale_loss(loss)
        weights = self.trainable_weights
        gradients = tape.gradient(scaled_loss, weights)
        if self.weight_decay:
            # Coupled L2 decay is per replica: the gradients are all-reduced
            # with SUM, so each replica adds its share. The gradients are
            # those of the scaled loss (mixed_float16's LossScaleOptimizer
            # unscales them), so the decay term is scaled alike.
            share = self.weight_decay / num_replicas() * (
                self.optimizer.scale_loss(ops.ones((), "float32")))
            gradients = [
                g if g is None else g + ops.cast(share * w, g.dtype)
                for g, w in zip(gradients, weights)
            ]
        self.optimizer.apply_gradients(zip(gradients, weights))
        return reducible_logs(self.compute_metrics(
            x, y, self.metrics_logits(logits), sample_weight=sample_weight))

    def test_step(self, data):
        return reducible_logs(super().test_step(data))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Workaround for keras-team/keras#20585
        # (https://github.com/keras-team/keras/issues/20585): Keras reads
        # the first distributed batch and reduces it over the replicas,
        # which fails under MultiWorkerMirroredStrategy ("Attempt to
        # convert a value (PerReplica...)") and opens an extra iterator
        # that shifts a reshuffling tf.data pipeline by one epoch. The
        # build needs only shapes and dtypes: take them from the dataset's
        # element_spec (one replica's), or one replica's part of a batch.
        if self._distribute_strategy is None:
            return super()._maybe_symbolic_build(iterator, data_batch)
        if data_batch is None and iterator is not None:
            data_batch = symbolic_batch(iterator)
            if data_batch is not None:
                iterator = None
        elif data_batch is not None:
            data_batch = local_batch(data_batch)
        return super()._maybe_symbolic_build(iterator, data_batch)

    def fit(self, x=None, y=None, *args, **kwargs):
        # Input checks run outside the (possibly XLA-compiled) train step,
        # where `tf.debugging` asserts would be dropped silently: NumPy
        # arrays on the host, `tf.data` pipelines in a `map` (tf.data
        # functions are never XLA-compiled). Other inputs are checked in
        # the step, which only works without XLA.
        self._check_in_step = False
        checks = None
        if self.check_inputs:
            if isinstance(x, np.ndarray):
                self.validate_arrays(x, y)
            elif isinstance(x, tf.data.Dataset):
                checks = self._checked_element
            elif self.jit_compile:
                raise ValueError(
                    f"{type(self).__name__} cannot check inputs of type "
                    f"{type(x).__name__} under XLA (jit_compile=True drops "
                    "in-graph checks): pass NumPy arrays or a "
                    "tf.data.Dataset, compile with jit_compile=False, or "
                    "build the wrapper with check_inputs=False.")
            else:
                self._check_in_step = True
        if isinstance(x, tf.data.Dataset):
            kwargs = epoch_keyed_fit_arguments(x, kwargs)
            # Under a strategy, a `make_dataset` pipeline becomes one
            # pipeline per worker that builds only its replicas' rows.
            x = distribute_dataset(x, self.distribute_strategy, checks)
        return super().fit(x, y, *args, **kwargs)

    def _checked_element(self, *element):
        """`tf.data` map function: the element, after the batch checks."""
        data = element if len(element) > 1 else element[0]
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.control_dependencies(self._input_checks(x, y)):
            element = tf.nest.map_structure(tf.identity, element)
        return element if len(element) > 1 else element[0]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "weight_decay": self.weight_decay,
                "seed": self.seed,
                "check_inputs": self.check_inputs,
            }
        )
        config.update({h.name: getattr(self, h.name)
                       for h in self.HYPERPARAMETERS})
        return config

    # -------------------------------------------------------------- labels
    def as_targets(self, y):
        """Turns labels into probability vectors of shape (batch, classes).

        Integer ids of shape `(batch,)` or `(batch, 1)` become one-hot
        vectors; vectors with `num_classes` entries are cast to float.
        """
        y = ops.convert_to_tensor(y)
        rank = len(y.shape)
        if rank == 2 and y.shape[-1] == self.num_classes:
            return ops.cast(y, "float32")
        if rank == 2 and y.shape[-1] == 1:
            y = ops.squeeze(y, axis=-1)
        elif rank != 1:
            raise ValueError(
                "Labels `y` must be class ids of shape (batch,) or "
                f"(batch, 1), or vectors of shape (batch, {self.num_classes})"
                f"; got shape {tuple(y.shape)}."
            )
        return ops.one_hot(ops.cast(y, "int32"), self.num_classes,
                           dtype="float32")

    def validate_arrays(self, x, y=None):
        """Checks NumPy training arrays before any step runs.

        Raises a `ValueError` naming the problem: an image shape the base
        model does not take, integer (uint8) images, non-finite pixels or
        pixels outside [0, 1] (`_validation.check_images`), or labels
        outside `[0, num_classes)`.
        """
        self._check_image_shape(x)
        check_images(x, "x", hint="divide 0..255 images by 255, or build "
                                  "the wrapper with check_inputs=False")
        if y is None:
            return
        y = np.asarray(y)
        if len(y) != len(x):
            raise ValueError(
                f"`x` has {len(x)} images but `y` has {len(y)} labels."
            )
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            labels = y.reshape(-1)
            if labels.size and (
                labels.min() < 0 or labels.max() >= self.num_classes
            ):
                raise ValueError(
                    f"Labels `y` must be class ids in [0, {self.num_classes})"
                    f" (num_classes={self.num_classes}); got values from "
                    f"{labels.min()} to {labels.max()}."
                )
        elif y.ndim != 2 or y.shape[1] != self.num_classes:
            raise ValueError(
                "Labels `y` must be class ids of shape (N,) or one-hot "
                f"vectors of shape (N, {self.num_classes}); got shape "
                f"{y.shape}."
            )

    # ------------------------------------------------------------- checks
    def _check_image_shape(self, x):
        want = model_image_shape(self.base_model)
        got = tuple(x.shape)[1:]
        if want is not None and not image_shape_matches(got, want):
            raise ValueError(
                f"Image shape {got} does not match the base model's input "
                f"shape {want} (height, width, channels)."
            )

    def _assert_valid_batch(self, x, y):
        with tf.control_dependencies(self._input_checks(x, y)):
            return tf.identity(x)

    def _input_checks(self, x, y):
        """Graph assertions: floating point pixels (checked while tracing),
        finite and in [0, 1]; labels in [0, num_classes)."""
        check_images(x, "x")  # dtype and static shape
        checks = require_images(x, "x")
        y = tf.convert_to_tensor(y)
        if y.shape.rank == 1 or (y.shape.rank == 2 and y.shape[-1] == 1):
            labels = tf.cast(y, tf.int64)
            message = (
                "Labels `y` must be class ids in "
                f"[0, {self.num_classes}) (num_classes={self.num_classes})."
            )
            checks += [
                tf.debugging.assert_non_negative(labels, message=message),
                tf.debugging.assert_less(
                    labels, tf.constant(self.num_classes, tf.int64),
                    message=message,
                ),
            ]
        return checks
