"""Saving the wrapped base model in a wrapper's Keras config."""

import keras


class WrapsBaseModel:
    """Mixin: `get_config`/`from_config` that carry `self.base_model`.

    The wrappers (`RobustTrainer`, `SmoothedClassifier`) take a
    `base_model` as their first argument; their config holds it serialized
    (`keras.saving.serialize_keras_object`), so a `.keras` file rebuilds
    the wrapper around its base model. A subclass adds its own entries to
    `super().get_config()`. Put it before the Keras base class:
    `class Foo(WrapsBaseModel, keras.Model)`.
    """

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
