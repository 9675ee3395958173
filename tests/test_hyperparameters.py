"""kerasrobust.training.hyperparameters: one declaration per hyperparameter,
and what it drives (constructor checks, get_config, make_trainer, the
tuner's search space). Every expectation is a literal value from the
papers or the documented defaults, never the declaration read back."""

import re

import keras
import pytest

from kerasrobust import training
from kerasrobust.training import make_trainer
from kerasrobust.training import trainer_differences
from kerasrobust.training.hyperparameters import METHOD_SPECS
from kerasrobust.training.hyperparameters import markdown_table
from kerasrobust.tuning import DEFAULT_SEARCH_SPACES
from kerasrobust.tuning import Choice
from kerasrobust.tuning import Range

from helpers import tiny_base_model

# Each method's hyperparameters and defaults, as make_trainer takes them.
METHOD_DEFAULTS = {
    "erm": {},
    "dropout": {"dropout": 0.5},
    "label_smoothing": {"label_smoothing": 0.1, "smoothing_style": "paper"},
    "mixup": {"alpha": 1.0, "lambda_sampling": "batch"},
    "alps": {"epsilon": 0.2, "beta_mode": 0.9, "beta_concentration": 10.0,
             "lambda_sampling": "sample"},
    "gaussian": {"sigma": 0.25, "num_noise": 1},
    "adre": {"lam": 0.1, "sigma": 0.25, "num_noise": 8,
             "single_draw_per": False},
    "smoothadv": {"sigma": 0.25, "num_noise": 1, "adv_epsilon": 0.25,
                  "adv_steps": 1, "warmup_epochs": 0,
                  "single_draw_per": False},
    "adre_adv": {"lam": 0.1, "sigma": 0.25, "num_noise": 1,
                 "adv_epsilon": 0.25, "adv_steps": 1, "warmup_epochs": 0,
                 "single_draw_per": False},
}

# The wrapper make_trainer(method, base) builds and its saved config.
BUILT = {
    "erm": ("ERM", {"label_smoothing": 0.0, "smoothing_style": "paper"}),
    "dropout": ("ERM", {"label_smoothing": 0.0, "smoothing_style": "paper"}),
    "label_smoothing": ("ERM", {"label_smoothing": 0.1,
                                "smoothing_style": "paper"}),
    "mixup": ("MixUp", {"alpha": 1.0, "lambda_sampling": "batch"}),
    "alps": ("ALPS", {"epsilon": 0.2, "beta_mode": 0.9,
                      "beta_concentration": 10.0,
                      "lambda_sampling": "sample"}),
    "gaussian": ("GaussianAugment", {"sigma": 0.25, "num_noise": 1}),
    "adre": ("ADRE", {"sigma": 0.25, "num_noise": 8, "lam": 0.1,
                      "single_draw_per": False}),
    "smoothadv": ("SmoothAdv", {"sigma": 0.25, "num_noise": 1, "lam": 0.0,
                                "epsilon": 0.25, "steps": 1,
                                "warmup_epochs": 0,
                                "single_draw_per": False}),
    "adre_adv": ("SmoothAdv", {"sigma": 0.25, "num_noise": 1, "lam": 0.1,
                               "epsilon": 0.25, "steps": 1,
                               "warmup_epochs": 0,
                               "single_draw_per": False}),
}

# Non-default values (inside the allowed ranges) for the round trip.
CHANGED = {
    "erm": {},
    "dropout": {},
    "label_smoothing": ({"label_smoothing": 0.3,
                         "smoothing_style": "uniform"},
                        {"label_smoothing": 0.3,
                         "smoothing_style": "uniform"}),
    "mixup": ({"alpha": 0.4, "lambda_sampling": "sample"},
              {"alpha": 0.4, "lambda_sampling": "sample"}),
    "alps": ({"epsilon": 1.5, "beta_mode": 0.6, "beta_concentration": 3.0,
              "lambda_sampling": "batch"},
             {"epsilon": 1.5, "beta_mode": 0.6, "beta_concentration": 3.0,
              "lambda_sampling": "batch"}),
    "gaussian": ({"sigma": 0.5, "num_noise": 3},
                 {"sigma": 0.5, "num_noise": 3}),
    "adre": ({"lam": 0.3, "sigma": 1.0, "num_noise": 2,
              "single_draw_per": True},
             {"lam": 0.3, "sigma": 1.0, "num_noise": 2,
              "single_draw_per": True}),
    "smoothadv": ({"sigma": 0.12, "num_noise": 2, "adv_epsilon": 0.5,
                   "adv_steps": 3, "warmup_epochs": 2,
                   "single_draw_per": True},
                  {"sigma": 0.12, "num_noise": 2, "epsilon": 0.5,
                   "steps": 3, "warmup_epochs": 2, "single_draw_per": True,
                   "lam": 0.0}),
    "adre_adv": ({"lam": 0.2, "adv_epsilon": 1.0, "adv_steps": 2},
                 {"lam": 0.2, "epsilon": 1.0, "steps": 2}),
}


def test_every_method_declares_its_hyperparameters_and_defaults():
    assert tuple(METHOD_SPECS) == (
        "erm", "dropout", "label_smoothing", "mixup", "alps", "gaussian",
        "adre", "smoothadv", "adre_adv")
    assert training.METHODS == ("erm", "dropout", "label_smoothing",
                                "mixup", "alps")
    assert training.SMOOTHING_METHODS == ("gaussian", "adre", "smoothadv",
                                          "adre_adv")
    for method, spec in METHOD_SPECS.items():
        assert {h.name: h.default for h in spec.hyperparameters} == (
            METHOD_DEFAULTS[method]), method
        for h in spec.hyperparameters:
            assert h.help and h.reference, (method, h.name)


@pytest.mark.parametrize("method", list(BUILT))
def test_make_trainer_builds_the_declared_defaults(method):
    model = make_trainer(method, tiny_base_model())
    name, expected = BUILT[method]
    assert type(model).__name__ == name
    config = model.get_config()
    for key, value in expected.items():
        assert config[key] == value, key
        assert getattr(model, key) == value, key


@pytest.mark.parametrize("method", [m for m in CHANGED if CHANGED[m]])
def test_get_config_round_trips_the_declared_names(method, tmp_path):
    given, expected = CHANGED[method]
    model = make_trainer(method, tiny_base_model(), **given)
    config = model.get_config()
    for key, value in expected.items():
        assert config[key] == value, key
    again = type(model).from_config(config)
    for key, value in expected.items():
        assert getattr(again, key) == value, key
    assert trainer_differences(model, again) == []
    # And through a .keras file.
    model(keras.ops.zeros((1, 4, 4, 1)))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    for key, value in expected.items():
        assert getattr(loaded, key) == value, key


@pytest.mark.parametrize("cls,kwargs,error,match", [
    (training.ALPS, {"epsilon": 0.0}, ValueError,
     r"`epsilon` must be in \(0, 2\], got 0.0"),
    (training.ALPS, {"epsilon": 2.5}, ValueError,
     r"`epsilon` must be in \(0, 2\], got 2.5"),
    (training.ALPS, {"beta_mode": 1.0}, ValueError,
     r"`beta_mode` must be in \(0, 1\), got 1.0"),
    (training.ALPS, {"beta_concentration": 2}, ValueError,
     r"`beta_concentration` must be in \(2, inf\), got 2"),
    (training.ALPS, {"lambda_sampling": "pair"}, ValueError,
     r"`lambda_sampling` must be one of 'sample', 'batch'; got 'pair'"),
    (training.MixUp, {"alpha": 0}, ValueError,
     r"`alpha` must be in \(0, inf\), got 0"),
    (training.ERM, {"label_smoothing": 1.0}, ValueError,
     r"`label_smoothing` must be in \[0, 1\), got 1.0"),
    (training.ERM, {"smoothing_style": "keras"}, ValueError,
     r"`smoothing_style` must be one of 'paper', 'uniform'"),
    (training.GaussianAugment, {"sigma": 0.0}, ValueError,
     r"`sigma` must be in \(0, inf\), got 0.0"),
    (training.GaussianAugment, {"num_noise": 1.5}, ValueError,
     r"`num_noise` must be an integer, got 1.5"),
    (training.ADRE, {"lam": -0.1}, ValueError,
     r"`lam` must be in \[0, inf\), got -0.1"),
    (training.ADRE, {"single_draw_per": "yes"}, TypeError,
     r"`single_draw_per` must be True or False, got 'yes'"),
    (training.SmoothAdv, {"epsilon": -1}, ValueError,
     r"`epsilon` must be in \[0, inf\), got -1"),
    (training.SmoothAdv, {"steps": 0}, ValueError,
     r"`steps` must be in \[1, inf\), got 0"),
    (training.SmoothAdv, {"warmup_epochs": -1}, ValueError,
     r"`warmup_epochs` must be in \[0, inf\), got -1"),
])
def test_constructors_check_the_declared_ranges(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(tiny_base_model(), **kwargs)


def test_boundary_values_inside_the_ranges_are_accepted():
    base = tiny_base_model()
    assert training.ALPS(base, epsilon=2.0).epsilon == 2.0
    assert training.ERM(base, label_smoothing=0.0).label_smoothing == 0.0
    assert training.ADRE(base, lam=0.0).lam == 0.0
    assert training.SmoothAdv(base, epsilon=0.0).epsilon == 0.0


@pytest.mark.parametrize("method,kwargs,match", [
    # The cases: silently ignored before.
    ("smoothadv", {"epsilon": 0.5},
     r"^`epsilon` does not apply to method 'smoothadv' \(it applies to "
     r"'alps'\); 'smoothadv' takes: `sigma`, `num_noise`, `adv_epsilon`, "
     r"`adv_steps`, `warmup_epochs`, `single_draw_per`\.$"),
    ("gaussian", {"lam": 0.3},
     r"^`lam` does not apply to method 'gaussian' \(it applies to 'adre', "
     r"'adre_adv'\); 'gaussian' takes: `sigma`, `num_noise`\.$"),
    ("smoothadv", {"lam": 0.1}, r"it applies to 'adre', 'adre_adv'"),
    ("erm", {"alpha": 1.0}, r"it applies to 'mixup'\); 'erm' takes: none"),
    ("alps", {"sigma": 0.25},
     r"it applies to 'gaussian', 'adre', 'smoothadv', 'adre_adv'"),
    ("mixup", {"label_smoothing": 0.1}, r"it applies to 'label_smoothing'"),
    ("smoothadv", {"steps": 2}, r"`steps` does not apply.*no method takes "
                                r"it under that name.*`adv_steps`"),
    ("dropout", {"dropout": 0.5}, r"`dropout` of method 'dropout' is an "
                                  r"argument of the base model"),
])
def test_make_trainer_refuses_arguments_of_other_methods(method, kwargs,
                                                         match):
    with pytest.raises(ValueError, match=match):
        make_trainer(method, tiny_base_model(), **kwargs)


def test_make_trainer_treats_none_as_the_default():
    model = make_trainer("mixup", tiny_base_model(), epsilon=None,
                         alpha=None, lambda_sampling=None)
    assert (model.alpha, model.lambda_sampling) == (1.0, "batch")


def test_make_trainer_checks_with_the_method_level_names():
    with pytest.raises(ValueError,
                       match=r"`adv_epsilon` must be in \[0, inf\), got -1"):
        make_trainer("adre_adv", tiny_base_model(), adv_epsilon=-1)


def test_trainer_differences_lists_what_differs():
    base = tiny_base_model()
    alps = make_trainer("alps", base, epsilon=0.2, seed=1)
    assert trainer_differences(
        make_trainer("alps", base, epsilon=0.4, seed=1), alps) == [
            ("epsilon", 0.2, 0.4)]
    assert trainer_differences(make_trainer("mixup", base), alps) == [
        ("class", "ALPS", "MixUp")]
    assert trainer_differences(
        make_trainer("smoothadv", base, seed=3),
        make_trainer("adre_adv", base, seed=3)) == [("lam", 0.1, 0.0)]


def test_default_search_spaces_are_the_declared_paper_ranges():
    sigmas = Choice((0.12, 0.25, 0.5, 1.0))
    lambdas = Choice((0.05, 0.1, 0.15, 0.2, 0.25, 0.3))
    smooth_adv = {"sigma": sigmas, "num_noise": Choice((1, 4, 8)),
                  "adv_epsilon": Choice((0.25, 0.5, 1.0, 2.0)),
                  "adv_steps": Choice((1, 2))}
    assert DEFAULT_SEARCH_SPACES == {
        "erm": {},
        "dropout": {"dropout": 0.5},
        "label_smoothing": {"label_smoothing": 0.1},
        "mixup": {"alpha": Range(0.1, 1.0, sampling="log")},
        "alps": {"epsilon": Range(0.01, 0.49),
                 "beta_mode": Range(0.76, 0.99),
                 "beta_concentration": Range(4.0, 40.0, sampling="log")},
        "gaussian": {"sigma": sigmas, "num_noise": 1},
        "adre": {"lam": lambdas, "sigma": sigmas,
                 "num_noise": Choice((1, 4, 8))},
        "smoothadv": smooth_adv,
        "adre_adv": {"lam": lambdas, **smooth_adv},
    }
    # keras-tuner declares them in this order (it fixes the random draws).
    assert list(DEFAULT_SEARCH_SPACES["adre_adv"]) == [
        "lam", "sigma", "num_noise", "adv_epsilon", "adv_steps"]


def test_a_name_has_one_accepted_range_in_every_method():
    seen = {}
    for spec in METHOD_SPECS.values():
        for h in spec.hyperparameters:
            rng = (h.low, h.high, h.low_open, h.high_open, h.integer,
                   h.choices)
            assert seen.setdefault(h.name, rng) == rng, h.name


def test_allowed_ranges_in_words():
    words = {(m, h.name): h.allowed() for m, s in METHOD_SPECS.items()
             for h in s.hyperparameters}
    assert words[("alps", "epsilon")] == "(0, 2]"
    assert words[("alps", "beta_mode")] == "(0, 1)"
    assert words[("dropout", "dropout")] == "[0, 1)"
    assert words[("adre", "num_noise")] == "integers in [1, inf)"
    assert words[("mixup", "lambda_sampling")] == "one of 'sample', 'batch'"
    assert words[("adre", "single_draw_per")] == "True or False"
    assert re.fullmatch(r"\[0, inf\)", words[("smoothadv", "adv_epsilon")])


# ------------------------------------------------------------ README table
README = __import__("pathlib").Path(__file__).resolve().parents[1] / (
    "README.md")
TABLE_START = "<!-- hyperparameters table: generated, tests check it -->"


def test_markdown_table_rows():
    table = markdown_table().splitlines()
    assert table[0] == ("| hyperparameter (flag) | methods | default | "
                        "allowed | tuner searches | source |")
    rows = {line.split(" | ")[0]: line for line in table[2:]}
    assert rows["| `epsilon` (`--epsilon`)"] == (
        "| `epsilon` (`--epsilon`) | alps | 0.2 | (0, 2] | [0.01, 0.49] | "
        "ALPS paper, Section 5.1: (0, 0.5), searched 0.01 inside; the label "
        "ball of Theorem 1 allows (0, 2] |")
    assert rows["| `num_noise` (`--num-noise`)"].startswith(
        "| `num_noise` (`--num-noise`) | gaussian, adre, smoothadv, "
        "adre_adv | 1 (gaussian, smoothadv, adre_adv); 8 (adre) | integers "
        "in [1, inf) | fixed 1 (gaussian); {1, 4, 8} (adre, smoothadv, "
        "adre_adv) |")
    assert rows["| `warmup_epochs` (`--warmup-epochs`)"].startswith(
        "| `warmup_epochs` (`--warmup-epochs`) | smoothadv, adre_adv | 0 | "
        "integers in [0, inf) | no (a fixed setting) |")
    assert rows["| `beta_concentration` (`--beta-concentration`)"].startswith(
        "| `beta_concentration` (`--beta-concentration`) | alps | 10 | "
        "(2, inf) | [4, 40], log scale |")
    assert len(rows) == 15


def test_readme_table_is_the_declarations_table():
    text = README.read_text()
    assert TABLE_START in text
    table = text.split(TABLE_START, 1)[1].strip().split("\n\n", 1)[0]
    assert table == markdown_table(), (
        "README's hyperparameter table is stale; regenerate it with "
        "`python -m kerasrobust.training.hyperparameters`.")
