"""kerasrobust: robust regularization and certified robustness for Keras 3."""

from kerasrobust._version import __version__  # noqa: F401

from kerasrobust import attacks  # noqa: E402,F401
from kerasrobust import callbacks  # noqa: E402,F401
from kerasrobust import data  # noqa: E402,F401
from kerasrobust import evaluate  # noqa: E402,F401
from kerasrobust import export  # noqa: E402,F401
from kerasrobust import models  # noqa: E402,F401
from kerasrobust import smoothing  # noqa: E402,F401
from kerasrobust import training  # noqa: E402,F401
from kerasrobust import tuning  # noqa: E402,F401
from kerasrobust.smoothing import SmoothedClassifier  # noqa: E402,F401
from kerasrobust.export import export_saved_model  # noqa: E402,F401
