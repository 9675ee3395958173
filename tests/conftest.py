"""Test configuration: two logical CPU devices and the `large` marker."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Two logical CPU devices so every test can compare training with and
# without tf.distribute.MirroredStrategy (as keras/src/distribute tests do).
_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)


def pytest_addoption(parser):
    parser.addoption(
        "--run-large", action="store_true", default=False,
        help="also run tests marked @pytest.mark.large (slow)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "large: slow test, skipped unless --run-large is given"
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-large"):
        return
    skip = pytest.mark.skip(reason="large test: pass --run-large to run it")
    for item in items:
        if "large" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data_dir():
    """The real datasets of ../shared/data (or $KERASROBUST_DATA_DIR)."""
    env = os.environ.get("KERASROBUST_DATA_DIR")
    path = Path(env) if env else (
        Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    if not path.is_dir():
        pytest.skip(f"real data directory {path} not found")
    return path
