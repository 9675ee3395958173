"""Clean, white-box and black-box error of a classifier under attacks.

The protocol of the ALPS paper (Guo et al., 2020, Section 5.3, Tables 5
and 6): the top-1 test error on clean images, on adversarial images crafted
on the model itself (white-box), and on adversarial images crafted on a
separate ERM-trained model and fed to the model under test (black-box).
"""

import csv
import dataclasses
import io
import math
import types
from collections.abc import Mapping
from typing import Optional
from typing import Tuple

import keras
import numpy as np
import tensorflow as tf

from kerasrobust._io import atomic_write_json
from kerasrobust._io import atomic_write_text
from kerasrobust._validation import check_choice
from kerasrobust._validation import check_number
from kerasrobust.attacks import inputs
from kerasrobust.attacks import steps as attack_steps
from kerasrobust.attacks.fgsm import fgsm
from kerasrobust.attacks.pgd import pgd

ATTACKS = ("fgsm", "pgd")


@dataclasses.dataclass(frozen=True)
class AttackConfig:
    """One attack and its settings; calling it runs the attack.

    Args:
        attack: `"fgsm"` or `"pgd"`.
        epsilon: radius in pixel units, [0, inf] (`inf` only for PGD).
        step_size: PGD step length > 0; for FGSM `None` (it is `epsilon`).
        steps: PGD iterations, >= 1; 1 for FGSM.
        norm: `"inf"` or `"2"`.
        random_start: PGD only: start at a uniform random point of the ball.
        clip: pixel box `(low, high)`, or `None`.

    Example:

    ```python
    attack = kerasrobust.evaluate.AttackConfig(
        "pgd", epsilon=8 / 255, step_size=2 / 255, steps=20)
    x_adv = attack(model, x, y, seed=0)
    ```
    """

    attack: str
    epsilon: float
    step_size: Optional[float] = None
    steps: int = 1
    norm: str = "inf"
    random_start: bool = False
    clip: Optional[Tuple[float, float]] = (0.0, 1.0)

    def __post_init__(self):
        set_ = object.__setattr__
        check_choice("attack", self.attack, ATTACKS)
        set_(self, "norm", attack_steps.canonical_norm(self.norm))
        set_(self, "clip", attack_steps.check_clip(self.clip))
        if self.attack == "fgsm":
            set_(self, "epsilon",
                 attack_steps.check_epsilon(self.epsilon, False))
            if self.steps != 1 or self.random_start or (
                    self.step_size is not None
                    and self.step_size != self.epsilon):
                raise ValueError(
                    "FGSM is one step of size `epsilon` from the clean "
                    "images: leave `step_size`, `steps` and `random_start` "
                    f"unset (got step_size={self.step_size!r}, "
                    f"steps={self.steps!r}, "
                    f"random_start={self.random_start!r}); use "
                    "attack='pgd' for several steps."
                )
            set_(self, "step_size", None)
            set_(self, "steps", 1)
        else:
            set_(self, "epsilon", attack_steps.check_epsilon(self.epsilon))
            if self.step_size is None:
                raise ValueError("PGD needs a `step_size` > 0, got None.")
            set_(self, "step_size",
                 attack_steps.check_step_size(self.step_size))
            set_(self, "steps", attack_steps.check_steps(self.steps))
            set_(self, "random_start", bool(self.random_start))
            if self.random_start and math.isinf(self.epsilon):
                raise ValueError(
                    "`random_start=True` needs a finite `epsilon`, got inf."
                )

    def __call__(self, model, x, y, seed=None, batch_size=None):
        """Adversarial images of `(x, y)` crafted on `model`."""
        if self.attack == "fgsm":
            return fgsm(model, x, y, self.epsilon, norm=self.norm,
                        clip=self.clip, batch_size=batch_size)
        return pgd(model, x, y, self.epsilon, self.step_size, self.steps,
                   norm=self.norm, random_start=self.random_start,
                   clip=self.clip, seed=seed, batch_size=batch_size)

    def describe(self):
        """A short label, e.g. `"PGD-10 Linf eps=4/255 step=1/255"`."""
        norm = "Linf" if self.norm == "inf" else "L2"
        text = ("FGSM" if self.attack == "fgsm" else f"PGD-{self.steps}")
        text += f" {norm} eps={_fraction(self.epsilon)}"
        if self.attack == "pgd":
            text += f" step={_fraction(self.step_size)}"
            if self.random_start:
                text += " random-start"
        return text

    def to_dict(self):
        """The settings as a JSON-friendly dict (epsilon inf as "inf")."""
        out = dataclasses.asdict(self)
        if math.isinf(out["epsilon"]):
            out["epsilon"] = "inf"
        out["clip"] = None if self.clip is None else list(self.clip)
        return out


def _fraction(value):
    if math.isinf(value):
        return "inf"
    scaled = value * 255
    if abs(scaled - round(scaled)) < 1e-6 and round(scaled) > 0:
        return f"{int(round(scaled))}/255"
    return f"{value:g}"


#: FGSM of Table 5 of the ALPS paper: L-inf, epsilon = 4/255 ("4" on the
#: 0-255 scale).
PAPER_FGSM = AttackConfig("fgsm", epsilon=4 / 255)
#: PGD of Table 6: L-inf, 10 steps of 1/255, epsilon = 4/255, no random
#: start (the paper does not mention one).
PAPER_PGD = AttackConfig("pgd", epsilon=4 / 255, step_size=1 / 255,
                         steps=10)
#: The sanity check of Section 5.3 (after Verma et al., 2019): unbounded
#: PGD, 200 iterations of step 0.01, box [0, 1] only.
SANITY_PGD = AttackConfig("pgd", epsilon=float("inf"), step_size=0.01,
                          steps=200)
#: The paper's two attacks by name, the default of `robustness`.
PAPER_ATTACKS = types.MappingProxyType({"fgsm": PAPER_FGSM,
                                        "pgd": PAPER_PGD})


def as_attack(spec):
    """An `AttackConfig` from a config, a dict of its fields, or a preset
    name (`"paper_fgsm"`, `"paper_pgd"`, `"sanity_pgd"`)."""
    if isinstance(spec, AttackConfig):
        return spec
    if isinstance(spec, str):
        presets = {"paper_fgsm": PAPER_FGSM, "paper_pgd": PAPER_PGD,
                   "sanity_pgd": SANITY_PGD}
        check_choice("attack", spec, tuple(presets))
        return presets[spec]
    if isinstance(spec, Mapping):
        return AttackConfig(**spec)
    raise TypeError(
        "An attack must be an AttackConfig, a dict of its fields or a "
        f"preset name; got {type(spec).__name__}."
    )


def named_attacks(attacks):
    """`{name: AttackConfig}` from a mapping, a list or a single attack.

    `None` gives `PAPER_ATTACKS`; a list names each attack by its kind
    (`"fgsm"`, `"pgd"`, then `"pgd_2"`, ... for repeats).
    """
    if attacks is None:
        return dict(PAPER_ATTACKS)
    if isinstance(attacks, (AttackConfig, str)) or (
            isinstance(attacks, Mapping) and "attack" in attacks
            and not isinstance(attacks["attack"], (AttackConfig, Mapping))):
        attacks = [attacks]
    if isinstance(attacks, Mapping):
        named = {}
        for name, spec in attacks.items():
            if not isinstance(name, str) or not name:
                raise ValueError(
                    f"Attack names must be non-empty strings, got {name!r}."
                )
            named[name] = as_attack(spec)
    else:
        named = {}
        for spec in attacks:
            config = as_attack(spec)
            name, i = config.attack, 2
            while name in named:
                name, i = f"{config.attack}_{i}", i + 1
            named[name] = config
    if not named:
        raise ValueError("`attacks` must name at least one attack.")
    return named


class RobustnessResult(dict):
    """The plain dict returned by `robustness`, with export helpers.

    Keys: `"n"` (images), `"clean_error"`, `"white_box"` and `"black_box"`
    (`{attack name: error}`; `black_box` is empty without a source model),
    `"attacks"` (`{name: settings}`) and `"units"` (`"percent"`). Errors
    are top-1 errors in percent (0-100).
    """

    def rows(self):
        """`[(setting, attack, error_percent)]`, one per figure."""
        rows = [("clean", "", self["clean_error"])]
        for setting in ("white_box", "black_box"):
            for name, error in self.get(setting, {}).items():
                rows.append((setting, name, error))
        return rows

    def table(self):
        """The figures as an aligned text table."""
        lines = [("setting", "attack", "error (%)")]
        for setting, name, error in self.rows():
            label = self["attacks"][name]["label"] if name else ""
            lines.append((setting.replace("_", "-"),
                          f"{name} ({label})" if name else "-",
                          f"{error:.2f}"))
        widths = [max(len(row[i]) for row in lines) for i in range(3)]
        text = [" | ".join(c.ljust(w) for c, w in zip(row, widths))
                for row in lines]
        text.insert(1, "-+-".join("-" * w for w in widths))
        return "\n".join(text)

    def to_json(self, path):
        """Writes the dict as JSON (atomically); returns the path."""
        return atomic_write_json(path, dict(self))

    def to_csv(self, path):
        """Writes `setting,attack,label,error_percent,n` rows (atomically)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["setting", "attack", "label", "error_percent",
                         "n"])
        for setting, name, error in self.rows():
            label = self["attacks"][name]["label"] if name else ""
            writer.writerow([setting, name, label, f"{error:.4f}",
                             self["n"]])
        return atomic_write_text(path, buffer.getvalue())


def _as_batches(model, dataset, batch_size):
    """Yields `(x, y)` NumPy batches from the accepted dataset forms."""
    from kerasrobust.data import ImageDataset

    if isinstance(dataset, ImageDataset):
        dataset = (dataset.x_test, dataset.y_test)
    if isinstance(dataset, tf.data.Dataset):
        spec = dataset.element_spec
        if not (isinstance(spec, tuple) and len(spec) >= 2):
            raise ValueError(
                "A tf.data `dataset` must yield (images, labels) pairs; got "
                f"elements {spec}."
            )
        want = inputs.image_shape(model)
        if want is not None and spec[0].shape.rank == len(want):
            dataset = dataset.batch(batch_size)
        return None, ((np.asarray(x), np.asarray(y))
                      for x, y, *_ in dataset.as_numpy_iterator())
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        x, y = dataset
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y):
            raise ValueError(
                f"`x` has {len(x)} images but `y` has {len(y)} labels."
            )
        batches = [(x[i:i + batch_size], y[i:i + batch_size])
                   for i in range(0, len(x), batch_size)]
        return len(batches), iter(batches)
    raise TypeError(
        "`dataset` must be an ImageDataset (its test split is used), a pair "
        "(x, y) of arrays or a tf.data.Dataset of (x, y) batches; got "
        f"{type(dataset).__name__}."
    )


def _label_ids(y_onehot):
    return np.asarray(tf.argmax(y_onehot, axis=1))


def predicted_classes(model, x, batch_size=256):
    """Top-1 classes of `model` (inference mode) for the images `x`."""
    classifier = inputs.check_model(model)
    x = tf.convert_to_tensor(x, tf.float32)
    if int(tf.shape(x)[0]) == 0:
        return np.zeros((0,), np.int64)
    logits = inputs.logits_function(classifier, tuple(x.shape[1:]))
    return np.concatenate([
        np.asarray(tf.argmax(logits(x[i:i + batch_size]), axis=1))
        for i in range(0, int(tf.shape(x)[0]), batch_size)
    ])


def error_percent(model, x, y, batch_size=256):
    """Top-1 error of `model` on `(x, y)` in percent; `y` ids or one-hot."""
    classifier, x, y, _ = inputs.prepare(model, x, y, clip=None)
    ids = _label_ids(y)
    if len(ids) == 0:
        return float("nan")
    wrong = predicted_classes(classifier, x, batch_size) != ids
    return 100.0 * float(wrong.mean())


def craft(model, x, y, attack, batch_size=256, seed=0, verbose=0):
    """Adversarial images of `(x, y)` crafted on `model`, batch by batch.

    Reuse the result to measure black-box transfer to several models
    (`error_percent(target, x_adv, y)`) without attacking the source again.

    Args:
        model: the source model (base model or training wrapper).
        x, y: images in [0, 1] and true labels (ids or one-hot).
        attack: an `AttackConfig`, a dict of its fields or a preset name.
        batch_size: images per compiled attack call.
        seed: seed of the random starts (batch `b` uses a seed drawn from
            `np.random.default_rng(seed)`).
        verbose: 1 shows a `keras.utils.Progbar`.

    Returns:
        float32 NumPy array shaped like `x`.
    """
    attack = as_attack(attack)
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(
            f"`x` has {len(x)} images but `y` has {len(y)} labels."
        )
    rng = np.random.default_rng(seed)
    progbar = keras.utils.Progbar(len(x), verbose=verbose,
                                  unit_name="image")
    out = []
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        out.append(np.asarray(attack(model, xb, yb,
                                     seed=int(rng.integers(2**31 - 1)))))
        progbar.add(len(xb))
    if not out:
        return np.zeros(x.shape, np.float32)
    return np.concatenate(out)


def robustness(model, dataset, attacks=None, source_model=None,
               batch_size=256, seed=0, verbose=0):
    """Clean, white-box and black-box top-1 error of `model`, in percent.

    For every batch of the test data: the clean error of `model`; for each
    attack, the error of `model` on adversarial images crafted on `model`
    itself (white-box); and, when `source_model` is given, the error of
    `model` on adversarial images crafted on `source_model` (black-box: the
    paper crafts them on an ERM-trained model, Guo et al., 2020, Section
    5.3). Adversarial images are not kept: batches stream through.

    Args:
        model: the model under test (base model or training wrapper).
        dataset: an `ImageDataset` (its test split), a pair `(x, y)` of
            arrays, or a `tf.data.Dataset` of `(x, y)` (batched or not).
        attacks: `{name: attack}` (attack: `AttackConfig`, dict of its
            fields or preset name), a list of attacks, or `None` for
            `PAPER_ATTACKS` (`{"fgsm": PAPER_FGSM, "pgd": PAPER_PGD}`).
        source_model: the model that crafts the black-box examples, or
            `None` for no black-box figures.
        batch_size: images per compiled attack call (and batch size of an
            unbatched tf.data dataset).
        seed: seed of random starts (reproducible per batch).
        verbose: 1 shows a `keras.utils.Progbar` over batches.

    Returns:
        `RobustnessResult`, a dict: `{"n": images, "clean_error": %,
        "white_box": {name: %}, "black_box": {name: %}, "attacks": {name:
        settings and label}, "units": "percent"}` with `.table()`,
        `.to_json(path)` and `.to_csv(path)`.

    Example:

    ```python
    data = kerasrobust.data.load_dataset("digits")
    result = kerasrobust.evaluate.robustness(model, data,
                                             source_model=erm_model)
    print(result.table())
    result.to_json("robustness.json")
    ```
    """
    named = named_attacks(attacks)
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    num_batches, batches = _as_batches(model, dataset, batch_size)
    rng = np.random.default_rng(seed)
    progbar = keras.utils.Progbar(num_batches, verbose=verbose,
                                  unit_name="batch")
    n, clean_wrong = 0, 0
    white = {name: 0 for name in named}
    black = {name: 0 for name in named}
    for xb, yb in batches:
        # Checks shapes, labels and the softmax once; each attack then
        # checks the images against its own pixel box.
        classifier, xt, yt, _ = inputs.prepare(model, xb, yb, clip=None)
        ids = _label_ids(yt)
        n += len(ids)
        clean_wrong += int((predicted_classes(classifier, xt, batch_size)
                            != ids).sum())
        for name, attack in named.items():
            batch_seed = int(rng.integers(2**31 - 1))
            x_adv = attack(classifier, xt, yt, seed=batch_seed)
            white[name] += int((predicted_classes(classifier, x_adv,
                                                  batch_size) != ids).sum())
            if source_model is not None:
                x_adv = attack(source_model, xt, yt, seed=batch_seed)
                black[name] += int((predicted_classes(
                    classifier, x_adv, batch_size) != ids).sum())
        progbar.add(1, values=[("clean_error", 100.0 * clean_wrong / n)])
    if n == 0:
        raise ValueError("`dataset` holds no images.")
    percent = 100.0 / n
    return RobustnessResult(
        n=n,
        clean_error=clean_wrong * percent,
        white_box={k: v * percent for k, v in white.items()},
        black_box=({k: v * percent for k, v in black.items()}
                   if source_model is not None else {}),
        attacks={k: dict(a.to_dict(), label=a.describe())
                 for k, a in named.items()},
        units="percent",
    )
