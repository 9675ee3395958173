"""Saving `keras.random.SeedGenerator` state with a layer or model."""

import numpy as np

_KEY = "seed_generator_state"


class SavesSeedState:
    """Mixin: saves `self.seed_generator`'s state with the layer's weights.

    Keras does not save SeedGenerator state in `.keras` files; without it a
    reloaded (or resumed) object would replay the random draws of its first
    steps. Put it before the Keras base class:
    `class Foo(SavesSeedState, keras.Model)`.
    """

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[_KEY] = self.seed_generator.state.numpy()

    def load_own_variables(self, store):
        state = None
        if _KEY in store:
            state = store[_KEY]
            store = {k: store[k] for k in store.keys() if k != _KEY}
        super().load_own_variables(store)
        if state is not None:
            self.seed_generator.state.assign(np.asarray(state))
