"""kerasrobust.tuning: search spaces, objectives, the HyperModel, searches."""

import keras
import keras_tuner
import numpy as np
import pytest
import scipy.stats

from kerasrobust import tuning
from kerasrobust.attacks import pgd
from kerasrobust.data import load_dataset
from kerasrobust.evaluate import AttackConfig
from kerasrobust.models import channel_stats
from kerasrobust.training import METHODS
from kerasrobust.training import SMOOTHING_METHODS
from kerasrobust.training import beta_params
from kerasrobust.tuning import Range
from kerasrobust.tuning import RobustHyperModel
from kerasrobust.tuning import SearchSpace

from helpers import mirrored_strategy
from helpers import tiny_base_model
from helpers import tiny_data

X, Y = tiny_data(n=32)
X_VAL, Y_VAL = tiny_data(n=16, seed=1)
# One epoch of 4 steps on the tiny model; a fixed optimizer (no recipe).
FAST = dict(validation_data=(X_VAL, Y_VAL), epochs=1, batch_size=8,
            optimizer="sgd", verbose=0)
ALPS_SPACE = {"epsilon": (0.05, 0.4), "beta_mode": (0.8, 0.95),
              "beta_concentration": 10.0}


def declared(method, overrides=None):
    """`{name: keras-tuner hyperparameter}` of a method's space."""
    hp = keras_tuner.HyperParameters()
    SearchSpace(method, overrides).declare(hp)
    return {h.name: h for h in hp.space}


def constant_logits(logits):
    """A classifier that outputs `logits` whatever the input."""
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(len(logits))])
    kernel, _ = model.layers[-1].get_weights()
    model.layers[-1].set_weights([np.zeros_like(kernel),
                                  np.asarray(logits, "float32")])
    return model


# ---------------------------------------------------------- search spaces
def test_default_ranges_are_the_papers():
    # ADRE paper, Experiments / Table 1: sigma, lambda and k.
    adre = declared("adre")
    assert adre["sigma"].values == [0.12, 0.25, 0.5, 1.0]
    np.testing.assert_allclose(adre["lam"].values,
                               [0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    assert adre["num_noise"].values == [1, 4, 8]
    # SmoothAdv: 1- and 2-step PGD (ADRE paper), Salman et al.'s radii.
    smoothadv = declared("smoothadv")
    assert smoothadv["adv_steps"].values == [1, 2]
    assert smoothadv["adv_epsilon"].values == [0.25, 0.5, 1.0, 2.0]
    assert "lam" not in smoothadv and "lam" in declared("adre_adv")
    # ALPS Section 5.1: epsilon in (0, 0.5), mode in (0.75, 1), open: we
    # search the closed intervals 0.01 inside.
    alps = declared("alps")
    assert (alps["epsilon"].min_value, alps["epsilon"].max_value) == (
        0.01, 0.49)
    assert (alps["beta_mode"].min_value, alps["beta_mode"].max_value) == (
        0.76, 0.99)
    assert alps["beta_concentration"].sampling == "log"
    # MixUp: alpha = 1 (ALPS paper) and Zhang et al.'s 0.1-0.4.
    mixup = declared("mixup")["alpha"]
    assert (mixup.min_value, mixup.max_value, mixup.sampling) == (
        0.1, 1.0, "log")
    assert declared("label_smoothing")["label_smoothing"].value == 0.1
    assert declared("dropout")["dropout"].value == 0.5
    assert declared("gaussian")["num_noise"].value == 1
    assert declared("erm") == {}


# Config key of each hyperparameter on the wrapper it builds.
CONFIG_KEY = {"adv_epsilon": "epsilon", "adv_steps": "steps"}


@pytest.mark.parametrize("method", METHODS + SMOOTHING_METHODS)
def test_every_method_builds_with_the_sampled_values(method):
    """A random draw of the default space is what the built wrapper uses
    (read back from its config, and the base model's dropout layer)."""
    def build_base(hp):
        base = tiny_base_model()
        if method != "dropout":
            return base
        return keras.Sequential([keras.Input((4, 4, 1))] + base.layers[:-1]
                                + [keras.layers.Dropout(hp.get("dropout")),
                                   base.layers[-1]])

    hypermodel = RobustHyperModel(method, build_base, optimizer="sgd")
    hp = keras_tuner.HyperParameters()
    hypermodel.search_space.declare(hp)
    for h in hp.space:
        hp.values[h.name] = h.random_sample(seed=3)
    model = hypermodel.build(hp)
    assert model.built and model.optimizer.built
    config = model.get_config()
    for name, value in hp.values.items():
        if name == "dropout":
            rates = [layer.rate for layer in model.base_model.layers
                     if isinstance(layer, keras.layers.Dropout)]
            assert rates == [pytest.approx(value)]
        else:
            assert config[CONFIG_KEY.get(name, name)] == pytest.approx(value)


def test_fixed_values_and_overrides_reach_the_trainer():
    space = {"lam": 0.1, "sigma": [0.25, 0.5], "num_noise": 2}
    hypermodel = RobustHyperModel("adre", tiny_base_model, space,
                                  optimizer="sgd")
    hp = keras_tuner.HyperParameters()
    hypermodel.search_space.declare(hp)
    assert isinstance(hp.space[0], keras_tuner.engine.hyperparameters.Fixed)
    hp.values["sigma"] = 0.5
    model = hypermodel.build(hp)
    assert type(model).__name__ == "ADRE"
    assert (model.lam, model.sigma, model.num_noise) == (0.1, 0.5, 2)

    hypermodel = RobustHyperModel("alps", tiny_base_model, ALPS_SPACE,
                                  optimizer="sgd")
    hp = keras_tuner.HyperParameters()
    hypermodel.search_space.declare(hp)
    hp.values.update(epsilon=0.33, beta_mode=0.85)
    model = hypermodel.build(hp)
    assert (model.epsilon, model.beta_mode) == (0.33, 0.85)
    assert (model.beta_a, model.beta_b) == beta_params(0.85, 10.0)


@pytest.mark.parametrize("method,space,error,match", [
    ("alps", {"foo": 1}, ValueError, r"'foo'.*'alps'.*'epsilon'"),
    ("smoothadv", {"lam": 0.1}, ValueError, r"'lam'.*'smoothadv'"),
    ("smoothadv", {"warmup_epochs": [0, 1]}, ValueError,
     r"'warmup_epochs', a setting of method 'smoothadv' that is not "
     r"searched; pass it in `trainer_kwargs`"),
    ("alps", {"beta_mode": (0.8, 1.0)}, ValueError,
     r"`search_space\['beta_mode'\]\[1\]` must be in \(0, 1\), got 1\.0"),
    ("alps", {"epsilon": -0.1}, ValueError,
     r"`search_space\['epsilon'\]` must be in \(0, 2\], got -0\.1"),
    ("alps", {"epsilon": (0.4, 0.1)}, ValueError, r"low < high.*0\.4, 0\.1"),
    ("alps", {"epsilon": (0.1, 0.2, 0.3)}, ValueError, r"\(low, high\)"),
    ("adre", {"sigma": [0.25, 0.0]}, ValueError,
     r"`search_space\['sigma'\]\[1\]` must be in \(0, inf\), got 0\.0"),
    ("adre", {"sigma": []}, ValueError, r"sigma.*at least one value"),
    ("adre", {"sigma": [0.25, 0.25]}, ValueError, r"twice"),
    ("adre", {"num_noise": 0}, ValueError,
     r"`search_space\['num_noise'\]` must be in \[1, inf\), got 0"),
    ("adre", {"num_noise": (1, 2.5)}, ValueError,
     r"num_noise'\]\[1\]` must be an integer, got 2\.5"),
    ("mixup", {"alpha": Range(0.0, 1.0, sampling="log")}, ValueError,
     r"alpha'\]\.low` must be in \(0, inf\)"),
    ("mixup", {"alpha": Range(0.1, 1.0, sampling="cubic")}, ValueError,
     r"sampling.*'linear', 'log'"),
    ("alps", {"epsilon": "0.2"}, TypeError, r"must be a number"),
    ("nope", {}, ValueError, r"`method` must be one of"),
])
def test_bad_search_space_fails_before_any_trial(tmp_path, method, space,
                                                 error, match):
    with pytest.raises(error, match=match):
        tuning.search(method, tiny_base_model, X, Y, search_space=space,
                      directory=tmp_path / "runs", **FAST)
    assert not (tmp_path / "runs").exists()


# ------------------------------------------------------------- objectives
@pytest.mark.parametrize("args,kwargs,name,direction", [
    (("val_accuracy",), {}, "val_accuracy", "max"),
    (("val_loss",), {}, "val_loss", "min"),
    (("robust_accuracy",), {}, "val_pgd_accuracy", "max"),
    (("robust_accuracy",), {"attack": "paper_fgsm"}, "val_fgsm_accuracy",
     "max"),
    (("robust_accuracy",), {"attack_name": "weak"}, "val_weak_accuracy",
     "max"),
    (("certified_accuracy",), {}, "val_certified_accuracy_0.25", "max"),
    (("certified_accuracy",), {"radius": 0.5},
     "val_certified_accuracy_0.5", "max"),
    (("certified_accuracy",), {"radius": 0},
     "val_certified_accuracy_0", "max"),
    (("acr",), {}, "val_acr", "max"),
])
def test_objective_names_and_directions(args, kwargs, name, direction):
    objective = tuning.objective(*args, **kwargs)
    assert isinstance(objective, keras_tuner.Objective)
    assert (objective.name, objective.direction) == (name, direction)


@pytest.mark.parametrize("kind,kwargs,match", [
    ("val_acc", {}, r"`objective` must be one of 'val_accuracy'"),
    ("val_accuracy", {"radius": 0.5}, r"does not take radius"),
    ("acr", {"radius": 0.5}, r"'acr' does not take radius"),
    ("certified_accuracy", {"radius": -1.0}, r"`radius` must be in \[0"),
    ("certified_accuracy", {"n0": 0}, r"`n0` must be in \[1"),
    ("acr", {"certify_method": "exact"}, r"`certify_method` must be one"),
    ("robust_accuracy", {"attack": {"attack": "pgd", "epsilon": -1.0,
                                    "step_size": 0.1}}, r"epsilon"),
    ("robust_accuracy", {"num_examples": 0}, r"`num_examples` must be"),
])
def test_bad_objectives(kind, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tuning.objective(kind, **kwargs)


@pytest.mark.parametrize("kind,options", [
    ("val_accuracy", {}),
    ("val_loss", {}),
    ("robust_accuracy", {"attack": {"attack": "pgd", "epsilon": 0.1,
                                    "step_size": 0.05, "steps": 2}}),
    ("certified_accuracy", {"n0": 10, "n": 50, "num_examples": 8}),
    ("acr", {"n0": 10, "n": 50, "num_examples": 8}),
])
def test_each_objective_key_is_logged_before_the_tuner_reads_it(kind,
                                                                options):
    """`fit` adds the objective's callback in front of the tuner's
    callbacks (here a stand-in that reads the epoch logs)."""
    seen = []

    class TunerStandIn(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs.get(objective.name))

    objective = tuning.objective(kind, **options)
    hypermodel = RobustHyperModel("gaussian", tiny_base_model,
                                  {"sigma": 0.5}, objective=objective,
                                  optimizer="sgd")
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    history = hypermodel.fit(hp, model, X, Y,
                             validation_data=(X_VAL, Y_VAL), epochs=2,
                             batch_size=8, verbose=0,
                             callbacks=[TunerStandIn()])
    values = history.history[objective.name]
    assert len(values) == 2 and np.all(np.isfinite(values))
    assert seen == values


def test_missing_objective_key_stops_the_search_at_once(tmp_path):
    with pytest.raises(keras_tuner.errors.FatalValueError,
                       match=r"'val_nope' is not in the training history"):
        tuning.search("erm", tiny_base_model, X, Y,
                      objective=keras_tuner.Objective("val_nope", "max"),
                      directory=tmp_path, max_trials=3, **FAST)


def test_objectives_need_their_data_and_noise_level(tmp_path):
    fast = dict(FAST, validation_data=None)
    for kind in ("val_accuracy", "robust_accuracy"):
        with pytest.raises(ValueError, match="validation"):
            tuning.search("erm", tiny_base_model, X, Y, objective=kind,
                          directory=tmp_path / "runs", **fast)
    assert not (tmp_path / "runs").exists()
    with pytest.raises(ValueError, match=r"'acr'.*'alps'.*sigma="):
        RobustHyperModel("alps", tiny_base_model, objective="acr",
                         optimizer="sgd")
    RobustHyperModel("alps", tiny_base_model, optimizer="sgd",
                     objective=tuning.objective("acr", sigma=0.25))


def test_val_loss_objective_minimizes(tmp_path):
    """Two constant classifiers whose validation loss is known in closed
    form; the search must pick the one with the lower loss."""
    z = np.array([1.0, 0.0, -1.0])

    def build_base(hp):
        return constant_logits(hp.Choice("scale", [0.5, 4.0]) * z)

    def cross_entropy(scale):
        log_p = scale * z - np.log(np.exp(scale * z).sum())
        return -log_p[Y_VAL].mean()

    losses = {s: cross_entropy(s) for s in (0.5, 4.0)}
    assert abs(losses[0.5] - losses[4.0]) > 0.1
    result = tuning.search(
        "erm", build_base, X, Y, objective="val_loss", max_trials=2,
        directory=tmp_path, **dict(FAST, optimizer=keras.optimizers.SGD(0.0)))
    best = min(losses, key=losses.get)
    assert result.num_trials == 2
    assert result.values["scale"] == best
    assert result.best_value == pytest.approx(losses[best], rel=1e-5)


def test_acr_objective_maximizes(tmp_path):
    """A classifier that always says class 0: every draw votes 0, so
    pABar = alpha ** (1 / n) and ACR = share_0 * sigma * Phi^-1(pABar),
    larger for the larger sigma."""
    n, alpha = 200, 0.01
    objective = tuning.objective("acr", n0=10, n=n, alpha=alpha)
    result = tuning.search(
        "gaussian", lambda: constant_logits([20.0, 0.0, 0.0]), X, Y,
        search_space={"sigma": [0.25, 1.0]}, objective=objective,
        max_trials=2, directory=tmp_path,
        **dict(FAST, optimizer=keras.optimizers.SGD(0.0)))
    expected = (Y_VAL == 0).mean() * scipy.stats.norm.ppf(alpha ** (1 / n))
    assert result.values["sigma"] == 1.0
    assert result.best_value == pytest.approx(expected, rel=1e-9)


def test_robust_objective_is_the_accuracy_under_the_attack(tmp_path):
    attack = AttackConfig("pgd", epsilon=0.1, step_size=0.05, steps=3)
    result = tuning.search(
        "erm", tiny_base_model, X, Y, max_trials=1, directory=tmp_path,
        objective=tuning.objective("robust_accuracy", attack=attack),
        **FAST)
    model = result.best_model()
    x_adv = pgd(model, X_VAL, Y_VAL, epsilon=0.1, step_size=0.05, steps=3)
    predicted = np.asarray(model.predict(x_adv, verbose=0)).argmax(1)
    assert result.best_value == pytest.approx((predicted == Y_VAL).mean())


# --------------------------------------------------------------- searches
@pytest.mark.parametrize("tuner,max_trials,tuner_kwargs", [
    ("random", 2, {}),
    ("bayesian", 3, {"num_initial_points": 2}),  # the 3rd from the GP
])
def test_tuner_runs_trials_within_the_ranges(tmp_path, tuner, max_trials,
                                             tuner_kwargs):
    result = tuning.search("alps", tiny_base_model, X, Y,
                           search_space=ALPS_SPACE, tuner=tuner,
                           max_trials=max_trials, tuner_kwargs=tuner_kwargs,
                           directory=tmp_path, **FAST)
    assert result.num_trials == max_trials
    for trial in result.tuner.oracle.trials.values():
        values = trial.hyperparameters.values
        assert 0.05 <= values["epsilon"] <= 0.4
        assert 0.8 <= values["beta_mode"] <= 0.95
        assert values["beta_concentration"] == 10.0
    model = result.best_model()
    assert type(model).__name__ == "ALPS"
    assert model.epsilon == result.values["epsilon"]
    scores = [t.score for t in result.tuner.oracle.trials.values()]
    assert result.best_value == max(scores)


RECORDS = []


class Recorder(keras.callbacks.Callback):
    """Records each fit's epochs, first epoch, optimizer step and replica
    count (keras-tuner deep-copies callbacks, so into a module list)."""

    def on_train_begin(self, logs=None):
        self.first = None
        self.start_step = int(self.model.optimizer.iterations.numpy())

    def on_epoch_begin(self, epoch, logs=None):
        if self.first is None:
            self.first = epoch

    def on_train_end(self, logs=None):
        RECORDS.append(dict(
            epochs=self.params["epochs"], first=self.first,
            start_step=self.start_step,
            replicas=self.model.distribute_strategy.num_replicas_in_sync))


def test_hyperband_forwards_epochs_and_initial_epoch(tmp_path):
    RECORDS.clear()
    # Momentum: the optimizer has slot variables to restore.
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9)
    result = tuning.search("alps", tiny_base_model, X, Y,
                           search_space=ALPS_SPACE, tuner="hyperband",
                           directory=tmp_path, callbacks=[Recorder()],
                           **dict(FAST, epochs=3, optimizer=optimizer))
    trials = sorted(result.tuner.oracle.trials.values(),
                    key=lambda t: t.trial_id)
    assert len(RECORDS) == len(trials) == result.num_trials >= 2
    steps_per_epoch = len(X) // 8
    for trial, record in zip(trials, RECORDS):
        values = trial.hyperparameters.values
        assert record["epochs"] == values["tuner/epochs"]
        assert record["first"] == values["tuner/initial_epoch"]
        # A continued trial resumes the optimizer (and its schedule).
        assert record["start_step"] == (
            values["tuner/initial_epoch"] * steps_per_epoch)
        assert 0.05 <= values["epsilon"] <= 0.4
    assert any(r["first"] > 0 for r in RECORDS)
    assert max(r["epochs"] for r in RECORDS) == 3


def test_warmup_longer_than_a_hyperband_trial_stops_the_search(tmp_path):
    space = {"sigma": 0.25, "num_noise": 1, "adv_epsilon": 0.25,
             "adv_steps": 1}
    with pytest.raises(keras_tuner.errors.FatalValueError,
                       match=r"`warmup_epochs` \(2\) exceeds this trial's "
                             r"epochs \(1\)"):
        tuning.search("smoothadv", tiny_base_model, X, Y, search_space=space,
                      tuner="hyperband", trainer_kwargs={"warmup_epochs": 2},
                      directory=tmp_path, **dict(FAST, epochs=3))


def test_interrupted_search_resumes_and_more_trials_add_one_each(tmp_path):
    RECORDS.clear()
    state = {"fits": 0}

    class InterruptSecondTrial(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            state["fits"] += 1
            if state["fits"] == 2:
                raise KeyboardInterrupt("simulated kill")

    def run(max_trials, callbacks=()):
        return tuning.search("alps", tiny_base_model, X, Y,
                             search_space=ALPS_SPACE, max_trials=max_trials,
                             directory=tmp_path, project_name="p",
                             callbacks=[Recorder(), *callbacks], **FAST)

    with pytest.raises(KeyboardInterrupt):
        run(3, [InterruptSecondTrial()])
    assert len(RECORDS) == 1
    result = run(3)  # the interrupted trial again, then the third
    assert len(RECORDS) == 3 and result.num_trials == 3
    assert sorted(result.tuner.oracle.trials) == ["0", "1", "2"]
    result = run(4)
    assert len(RECORDS) == 4 and result.num_trials == 4
    result = run(4)  # nothing left to do
    assert len(RECORDS) == 4

    # The stored search was over another space, or scored otherwise.
    with pytest.raises(ValueError, match=r"another search space.*epsilon"):
        tuning.search("alps", tiny_base_model, X, Y, max_trials=5,
                      directory=tmp_path, project_name="p", **FAST)
    with pytest.raises(ValueError,
                       match=r"holds a search of .*'val_accuracy'.*val_loss"):
        tuning.search("alps", tiny_base_model, X, Y, max_trials=5,
                      search_space=ALPS_SPACE, objective="val_loss",
                      directory=tmp_path, project_name="p", **FAST)
    assert len(RECORDS) == 4


def test_distribution_strategy_reaches_every_trial(tmp_path):
    """Same search (fixed values, same seed) on two mirrored replicas and
    on one device: trained under the strategy, same validation loss."""
    RECORDS.clear()
    space = {"epsilon": 0.2, "beta_mode": 0.9, "beta_concentration": 10.0}
    results = [
        tuning.search("alps", tiny_base_model, X, Y, search_space=space,
                      objective="val_loss", max_trials=1,
                      directory=tmp_path, project_name=str(i),
                      distribution_strategy=strategy, callbacks=[Recorder()],
                      fit_kwargs={"shuffle": False}, **FAST)
        for i, strategy in enumerate([mirrored_strategy(), None])]
    assert [r["replicas"] for r in RECORDS] == [2, 1]
    assert results[0].tuner.distribution_strategy is mirrored_strategy()
    assert results[0].best_value == pytest.approx(results[1].best_value,
                                                  rel=1e-5)


def test_registered_architecture_and_paper_recipe_from_the_data(tmp_path):
    data = load_dataset("digits")
    x, y = data.x_train[:128], data.y_train[:128]
    result = tuning.search(
        "mixup", "small_cnn", x, y, search_space={"alpha": 1.0},
        validation_data=(data.x_test[:64], data.y_test[:64]), epochs=2,
        batch_size=64, max_trials=1, directory=tmp_path, verbose=0)
    hypermodel = result.hypermodel
    assert (hypermodel.input_shape, hypermodel.num_classes) == ((8, 8, 1), 10)
    np.testing.assert_allclose(hypermodel.mean, channel_stats(x)[0])
    assert hypermodel.steps_per_epoch == 2
    model = result.best_model()
    # Paper recipe: 0.1, divided by 10 after 50% (= 75%, rounded down) of
    # 2 epochs of 2 steps.
    schedule = model.optimizer.get_config()["learning_rate"]["config"]
    assert schedule["boundaries"] == [2]
    assert schedule["values"] == pytest.approx([0.1, 0.01])
    assert type(model).__name__ == "MixUp" and model.alpha == 1.0


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(model="no_such_net"), ValueError, r"`model` must be one of"),
    (dict(model="small_cnn"), ValueError, r"needs `input_shape` and "),
    (dict(model=42), TypeError, r"registered architecture name"),
    (dict(method="dropout"), ValueError, r"hp.get\('dropout'\)"),
    (dict(optimizer=None), ValueError, r"needs `steps_per_epoch`"),
    (dict(method="adre", trainer_kwargs={"sigma": 0.5}), ValueError,
     r"'sigma'.*search_"),
    # A fixed setting of another method fails before any trial.
    (dict(trainer_kwargs={"single_draw_per": True}), ValueError,
     r"`single_draw_per` does not apply to method 'alps' \(it applies to "
     r"'adre', 'smoothadv', 'adre_adv'\)"),
    (dict(method="mixup", trainer_kwargs={"sigma": 0.5}), ValueError,
     r"`sigma` does not apply to method 'mixup'"),
    (dict(objective="best"), ValueError, r"`objective` must be one of"),
])
def test_bad_hypermodel_arguments(kwargs, error, match):
    arguments = dict(method="alps", model=tiny_base_model, optimizer="sgd")
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        RobustHyperModel(arguments.pop("method"), arguments.pop("model"),
                         **arguments)


def test_unknown_tuner_and_trial_counts(tmp_path):
    hypermodel = RobustHyperModel("erm", tiny_base_model, optimizer="sgd")
    with pytest.raises(ValueError, match=r"`tuner` must be one of"):
        tuning.make_tuner(hypermodel, "grid", directory=tmp_path)
    with pytest.raises(ValueError, match=r"`max_trials` must be in \[1"):
        tuning.make_tuner(hypermodel, "random", max_trials=0,
                          directory=tmp_path)
    with pytest.raises(TypeError, match=r"`max_epochs` must be an integer"):
        tuning.make_tuner(hypermodel, "hyperband", directory=tmp_path)



def test_readme_snippets_run(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Hyperparameter search")[1].split("\n## ")[0]
    first, second = re.findall(r"```python\n(.*?)```", section, re.S)[:2]
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(first, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.num_trials == 3 and result.values["beta_concentration"] == 10
    assert 0.01 <= result.values["epsilon"] <= 0.49
    assert type(namespace["best"]).__name__ == "ALPS"
    assert (tmp_path / "runs" / "tuning" / "alps_digits").is_dir()

    # The second snippet's arguments are valid (checked without searching).
    calls = []

    def check_only(method, model, x, y, search_space, objective, **kwargs):
        calls.append(RobustHyperModel(method, model, search_space,
                                      objective=objective, optimizer="sgd",
                                      input_shape=x.shape[1:],
                                      num_classes=10))

    monkeypatch.setattr(tuning, "search", check_only)
    exec(compile(second, "README.md", "exec"), namespace)
    assert calls[0].objective.name == "val_certified_accuracy_0.25"
