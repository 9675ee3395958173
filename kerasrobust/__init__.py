"""kerasrobust: robust regularization and certified robustness for Keras 3.

`import kerasrobust` imports every subpackage, which registers the
library's Keras classes, so `keras.saving.load_model` can load saved
kerasrobust models afterwards.

The one exception is the `kerasrobust` command itself (the console script
or `python -m kerasrobust`): it must answer `--help` and `--version`
without loading TensorFlow (seconds), so there the subpackages are imported
by `import_all()` once a command is about to run. Subpackages are also
reachable as attributes on first use (`kerasrobust.attacks`, ...).
"""

import importlib
import os
import sys

from kerasrobust._version import __version__

SUBPACKAGES = ("attacks", "callbacks", "data", "evaluate", "export", "models",
               "smoothing", "training", "tuning")
_ATTRIBUTES = {"SmoothedClassifier": "smoothing",
               "export_saved_model": "export"}


def import_all():
    """Imports every subpackage (and with them TensorFlow and Keras)."""
    from kerasrobust import attacks  # noqa: F401
    from kerasrobust import callbacks  # noqa: F401
    from kerasrobust import data  # noqa: F401
    from kerasrobust import evaluate  # noqa: F401
    from kerasrobust import export  # noqa: F401
    from kerasrobust import models  # noqa: F401
    from kerasrobust import smoothing  # noqa: F401
    from kerasrobust import training  # noqa: F401
    from kerasrobust import tuning  # noqa: F401
    from kerasrobust.export import export_saved_model  # noqa: F401
    from kerasrobust.smoothing import SmoothedClassifier  # noqa: F401

    globals().update(export_saved_model=export_saved_model,
                     SmoothedClassifier=SmoothedClassifier)


def __getattr__(name):
    if name in SUBPACKAGES:
        return importlib.import_module(f"kerasrobust.{name}")
    if name in _ATTRIBUTES:
        module = importlib.import_module(f"kerasrobust.{_ATTRIBUTES[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'kerasrobust' has no attribute {name!r}")


def started_as_command():
    """Whether this process is the `kerasrobust` command line: the console
    script (`sys.argv[0]` named kerasrobust) or `python -m kerasrobust`."""
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    if script.split(".")[0] in ("kerasrobust", "kerasrobust-script"):
        return True
    argv = list(getattr(sys, "orig_argv", []))
    return any(argv[i:i + 2] == ["-m", "kerasrobust"]
               for i in range(len(argv) - 1)) or "-mkerasrobust" in argv


if not started_as_command():
    import_all()
