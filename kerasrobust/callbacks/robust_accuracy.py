"""Robust accuracy on a fixed validation subset, logged during `fit`."""

import keras
import numpy as np

from kerasrobust._validation import check_number
from kerasrobust.attacks import inputs
from kerasrobust.evaluate.robustness import PAPER_PGD
from kerasrobust.evaluate.robustness import as_attack
from kerasrobust.evaluate.robustness import error_percent


class RobustAccuracy(keras.callbacks.Callback):
    """Logs the accuracy under an attack every `every` epochs.

    At the end of every `every`-th epoch (and of the last epoch of `fit`)
    the model being trained is attacked white-box on the fixed images
    `(x, y)` and two entries are added to the epoch's logs:

    - `val_{name}_accuracy`: accuracy on the adversarial images, a fraction
      in [0, 1] like Keras' `val_accuracy`;
    - `val_{name}_error`: `1 - val_{name}_accuracy`.

    Being in the logs, they appear in `History`, `TensorBoard`, `CSVLogger`
    and keras-tuner (objective `keras_tuner.Objective("val_pgd_accuracy",
    direction="max")`), and `EarlyStopping` / `ModelCheckpoint` can monitor
    them. Callbacks run in list order and see the logs as the earlier ones
    left them: put `RobustAccuracy` **before** every callback that reads
    the logs (TensorBoard, CSVLogger, EarlyStopping, ModelCheckpoint, your
    own). Keras' own `History` and progress bar always come last, and
    keras-tuner appends its callbacks after yours.

    On epochs that are not evaluated both entries are NaN (not a stale
    copy, and not absent): `history.history["val_pgd_accuracy"]` keeps one
    value per epoch, `CSVLogger` gets its column from the first epoch, and
    keras-tuner (which takes `nanmax` of an objective and saves the best
    epoch only on a real improvement) ignores those epochs. `EarlyStopping`
    counts a NaN epoch as one without improvement: give it a `patience` of
    several times `every`. `self.history` maps each evaluated epoch
    (0-based) to its accuracy.

    The attack runs in inference mode on the base classifier (a training
    wrapper's `base_model`); the compiled attack is cached on the model, so
    only the first evaluation traces it. Random starts use the same `seed`
    every time, so epochs are compared on the same perturbation draw.

    Args:
        x: validation images in [0, 1] (a fixed subset; PGD costs `steps`
            forward and backward passes per image).
        y: their labels, class ids or one-hot.
        attack: a `kerasrobust.evaluate.AttackConfig`, a dict of its fields
            or a preset name; default `PAPER_PGD` (L-inf, 10 steps of
            1/255, eps = 4/255, ALPS paper Table 6).
        every: evaluate every `every` epochs (>= 1).
        name: the key infix, `val_{name}_accuracy`.
        batch_size: images per compiled attack call.
        seed: seed of the random start, if the attack has one.

    Example:

    ```python
    callback = kerasrobust.callbacks.RobustAccuracy(
        data.x_test[:500], data.y_test[:500],
        attack=kerasrobust.evaluate.PAPER_PGD, every=5, name="pgd")
    model.fit(train_ds, epochs=30,
              callbacks=[callback, keras.callbacks.TensorBoard("logs")])
    ```
    """

    def __init__(self, x, y, attack=PAPER_PGD, every=1, name="pgd",
                 batch_size=256, seed=0):
        super().__init__()
        self.x = np.asarray(x)
        self.y = np.asarray(y)
        if len(self.x) != len(self.y):
            raise ValueError(
                f"`x` has {len(self.x)} images but `y` has {len(self.y)} "
                "labels."
            )
        if len(self.x) == 0:
            raise ValueError("`x` must hold at least one image, got 0.")
        self.attack = as_attack(attack)
        self.every = check_number("every", every, low=1, integer=True)
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                "`name` must be a word usable in a log key (letters, digits, "
                f"underscores), got {name!r}."
            )
        self.name = name
        self.batch_size = check_number("batch_size", batch_size, low=1,
                                       integer=True)
        self.seed = check_number("seed", seed, low=0, integer=True)
        self.history = {}

    @property
    def accuracy_key(self):
        return f"val_{self.name}_accuracy"

    @property
    def error_key(self):
        return f"val_{self.name}_error"

    def on_train_begin(self, logs=None):
        # Bad shapes, labels or a softmax output fail before the first epoch.
        inputs.prepare(self.model, self.x[:8], self.y[:8], self.attack.clip)

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") if self.params else None
        if (epoch + 1) % self.every == 0 or epoch + 1 == last:
            accuracy = self.evaluate()
            self.history[epoch] = accuracy
            error = 1.0 - accuracy
        else:
            accuracy = error = float("nan")
        if logs is not None:
            logs[self.accuracy_key] = accuracy
            logs[self.error_key] = error

    def evaluate(self):
        """Accuracy (fraction) of the current model under the attack."""
        x_adv = self.attack(self.model, self.x, self.y, seed=self.seed,
                            batch_size=self.batch_size)
        return 1.0 - error_percent(self.model, x_adv, self.y,
                                   self.batch_size) / 100.0
