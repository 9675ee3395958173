"""The XLA-compatible Beta sampler of the mixing methods."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from kerasrobust.training import ALPS
from kerasrobust.training import MixUp
from kerasrobust.training.mixing import sample_beta

from helpers import tiny_base_model
from helpers import tiny_data


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (8.2, 1.8), (0.4, 0.4)])
def test_sample_beta_matches_scipy_beta(a, b):
    draws = sample_beta((20000,), a, b, keras.random.SeedGenerator(7))
    assert draws.dtype == tf.float32
    draws = draws.numpy()
    assert ((draws >= 0) & (draws <= 1)).all()
    # Kolmogorov-Smirnov against SciPy's Beta (an independent sampler).
    assert stats.kstest(draws, stats.beta(a, b).cdf).pvalue > 0.01


def test_sample_beta_reproduces_from_the_seed_and_advances():
    first = sample_beta((5,), 2.0, 3.0, keras.random.SeedGenerator(3))
    again = sample_beta((5,), 2.0, 3.0, keras.random.SeedGenerator(3))
    np.testing.assert_array_equal(first, again)
    gen = keras.random.SeedGenerator(3)
    sample_beta((5,), 2.0, 3.0, gen)
    assert not np.array_equal(sample_beta((5,), 2.0, 3.0, gen), first)


def test_mixing_methods_train_under_xla():
    """MixUp and ALPS support XLA: `keras.random.beta` would fail to
    compile here (no XLA kernel for the gamma op)."""
    x, y = tiny_data(n=16)
    for wrapper in (ALPS(tiny_base_model(), seed=0),
                    MixUp(tiny_base_model(), seed=0,
                          lambda_sampling="sample")):
        assert wrapper.supports_jit
        wrapper.compile(optimizer="sgd", jit_compile=True)
        assert wrapper.jit_compile
        history = wrapper.fit(x, y, batch_size=8, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"]).all()


def _partners(model, strategy, n=8):
    """Partner row of each sample in one MixUp batch under `strategy`,
    read off the mixed one-hot targets (class i = row i)."""
    x = np.random.default_rng(0).random((n, 4, 4, 1), dtype=np.float32)
    y = np.eye(n, dtype=np.float32)
    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((x, y)).batch(n))
    batch = next(iter(dataset))
    out = strategy.run(tf.function(model.vicinal_batch), args=batch)
    targets = np.concatenate(
        [t.numpy() for t in strategy.experimental_local_results(out[1])])
    own = targets[np.arange(n), np.arange(n)]
    masked = targets.copy()
    masked[np.arange(n), np.arange(n)] = -1
    # lambda ~ Beta(1, 1) mixes two rows; a sample paired with itself keeps
    # all its mass.
    return np.where(own > 0.999, np.arange(n), masked.argmax(1))


def test_replica_partners_stay_in_the_replica():
    from helpers import mirrored_strategy

    strategy = mirrored_strategy()
    results = {}
    for partners in ("global", "replica"):
        with strategy.scope():
            model = MixUp(tiny_base_model(num_classes=8), seed=2,
                          lambda_sampling="sample", partners=partners)
        results[partners] = [_partners(model, strategy) for _ in range(3)]
    for p in results["replica"]:
        assert (p[:4] < 4).all() and (p[4:] >= 4).all(), p
        assert sorted(p[:4]) == [0, 1, 2, 3]  # a permutation per replica
    crossing = [((p[:4] >= 4).any() or (p[4:] < 4).any())
                for p in results["global"]]
    assert any(crossing)
    restored = MixUp.from_config(model.get_config())
    assert restored.partners == "replica"


def test_partners_checked():
    with pytest.raises(ValueError, match="partners"):
        MixUp(tiny_base_model(), partners="local")
