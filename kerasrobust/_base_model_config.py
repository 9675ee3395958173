"""The base model of a wrapper: its checks and its place in the config."""

import keras

from kerasrobust._validation import check_number
from kerasrobust._validation import model_num_classes
from kerasrobust._validation import model_output_shape


class WrapsBaseModel:
    """Mixin: `self.base_model` and `self.num_classes`, checked and saved.

    The wrappers (`RobustTrainer`, `SmoothedClassifier`) take a
    `base_model` and its `num_classes` as their first arguments and set
    them with `set_base_model`; their config holds the base model serialized
    (`keras.saving.serialize_keras_object`), so a `.keras` file rebuilds
    the wrapper around its base model. A subclass adds its own entries to
    `super().get_config()`. Put it before the Keras base class:
    `class Foo(WrapsBaseModel, keras.Model)`.
    """

    def set_base_model(self, base_model, num_classes, outputs):
        """Checks and sets `self.base_model` and `self.num_classes`.

        Args:
            base_model: must be a `keras.Model`.
            num_classes: an integer >= 2 that equals the size of the base
                model's `(batch, num_classes)` output when that is known,
                or `None` to read it from that output.
            outputs: what the base model returns, in words for the errors
                (`"logits"`, `"class scores"`).
        """
        if not isinstance(base_model, keras.Model):
            raise TypeError(
                f"`base_model` must be a keras.Model that returns {outputs}, "
                f"got {type(base_model).__name__}.")
        self.base_model = base_model
        inferred = model_num_classes(base_model)
        if num_classes is None:
            if inferred is None:
                raise ValueError(
                    "Cannot infer `num_classes` from the base model's output "
                    f"shape {model_output_shape(base_model)!r}; the base "
                    f"model must return {outputs} of shape (batch, "
                    "num_classes), or pass `num_classes`.")
            num_classes = inferred
        self.num_classes = check_number(
            "num_classes", num_classes, low=2, integer=True)
        if inferred is not None and inferred != self.num_classes:
            raise ValueError(
                f"`num_classes` is {self.num_classes} but the base model "
                f"returns {inferred} {outputs}.")

    def get_config(self):
        config = super().get_config()
        config["base_model"] = keras.saving.serialize_keras_object(
            self.base_model)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["base_model"] = keras.saving.deserialize_keras_object(
            config["base_model"])
        return cls(**config)
