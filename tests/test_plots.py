"""The certified-accuracy plot."""

import os

import numpy as np
import pytest

from kerasrobust.smoothing import certified_accuracy_lower_bound
from kerasrobust.smoothing import plot_certified_accuracy

from test_logs import ROWS


def test_plot_is_a_png(tmp_path):
    other = [dict(r, radius=r["radius"] * 1.5) for r in ROWS]
    radii = np.linspace(0, 1.5, 31)
    path = plot_certified_accuracy(
        {"CERTIFY": ROWS, "T-CERTIFY": other,
         "lower bound": (radii, certified_accuracy_lower_bound(
             ROWS, radii, 0.05, 0.99))},
        tmp_path / "plots" / "certified.png", title="test")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(path.parent) == ["certified.png"]
    with pytest.raises(ValueError, match="`curves`"):
        plot_certified_accuracy({}, tmp_path / "empty.png")
