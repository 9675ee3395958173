"""The certified-accuracy curve as an image file."""

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from kerasrobust._io import atomic_path
from kerasrobust.smoothing.curves import _check_radii
from kerasrobust.smoothing.curves import _columns
from kerasrobust.smoothing.curves import certified_accuracy

def _is_precomputed(value):
    return (isinstance(value, tuple) and len(value) == 2
            and not any(isinstance(v, Mapping) for v in value))


def plot_certified_accuracy(curves, path, radii=None, title=None):
    """Plots certified accuracy against the L2 radius and saves it atomically.

    Args:
        curves: mapping ``name -> results`` (one line per name, computed with
            `certified_accuracy`), or ``name -> (radii, accuracies)`` for a
            precomputed curve (e.g. `certified_accuracy_lower_bound`).
        path: output file; the format follows its suffix (``.png`` when
            there is none understood by matplotlib's Agg canvas).
        radii: the radii at which result curves are evaluated; default 400
            steps from 0 to 1.05 times the largest radius.
        title: optional plot title.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(
            "`curves` must be a non-empty mapping name -> results (or "
            f"name -> (radii, accuracies)), got {curves!r}."
        )
    if radii is None:
        largest = 0.0
        for value in curves.values():
            if _is_precomputed(value):
                largest = max(largest, float(np.max(value[0])))
            else:
                largest = max(largest, float(np.max(_columns(value)[1])))
        radii = np.linspace(0.0, 1.05 * largest if largest > 0 else 1.0, 401)
    radii = _check_radii(radii)

    fig = Figure(figsize=(6.0, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, value in curves.items():
        if _is_precomputed(value):
            xs = np.asarray(value[0], dtype=np.float64)
            ys = np.asarray(value[1], dtype=np.float64)
        else:
            xs, ys = radii, certified_accuracy(value, radii)
        ax.plot(xs, ys, label=str(name))
    ax.set_xlabel("L2 radius")
    ax.set_ylabel("certified accuracy")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlim(left=0.0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    if title:
        ax.set_title(str(title))
    fig.tight_layout()

    path = Path(path)
    fmt = path.suffix[1:].lower() or "png"
    if fmt not in FigureCanvasAgg.get_supported_filetypes():
        fmt = "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=150)
    return path


__all__ = ["plot_certified_accuracy"]
