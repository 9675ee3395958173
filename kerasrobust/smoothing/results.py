"""Certification logs and certified-accuracy summaries.

The log format is Cohen et al.'s (locuslab/smoothing ``code/certify.py``):
one tab-separated line per input with the header

    idx	label	predict	radius	correct	time

(``predict = -1`` for an abstention, ``correct = int(predict == label)``,
``time`` as ``str(datetime.timedelta)``), so files written here can be read
by their analysis scripts and theirs by `read_certify_tsv`. One deliberate
difference: radii are written with full ``repr`` precision, not Cohen's
``{:.3}`` (3 significant digits round e.g. 0.1235 up to 0.124, which can move
an input above a radius threshold it does not reach).

``results`` arguments accept either the list of row dicts returned by
`read_certify_tsv` or a mapping of columns (``{"radius": array, "correct":
array, "predict": array}``; ``predict`` is optional, and ``correct`` may be
replaced by ``predict`` and ``label``).
"""

import datetime
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy import stats

from kerasrobust._io import atomic_path
from kerasrobust._io import atomic_write_text
from kerasrobust._validation import check_number

COLUMNS = ("idx", "label", "predict", "radius", "correct", "time")
_ABSTAIN = -1


# ---------------------------------------------------------------------------
# TSV log
# ---------------------------------------------------------------------------

def _format_time(value):
    if isinstance(value, datetime.timedelta):
        return str(value)
    if isinstance(value, str):
        _parse_time(value)  # reject what we could not read back
        return value
    seconds = check_number("time", value, low=0.0)
    return str(datetime.timedelta(seconds=seconds))


_TIMEDELTA = re.compile(
    r"^\s*(?:(?P<days>-?\d+) days?, )?(?P<h>\d+):(?P<m>\d{2}):"
    r"(?P<s>\d{2}(?:\.\d+)?)\s*$"
)


def _parse_time(text):
    """Seconds from ``str(timedelta)`` (Cohen's format) or a plain number."""
    match = _TIMEDELTA.match(text)
    if match:
        days = int(match.group("days") or 0)
        return (days * 86400 + int(match.group("h")) * 3600
                + int(match.group("m")) * 60 + float(match.group("s")))
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"`time` must be seconds or 'H:MM:SS[.ffffff]', got {text!r}."
        ) from None


def _row_values(i, row):
    if isinstance(row, Mapping):
        missing = [c for c in COLUMNS if c not in row and c not in
                   ("correct", "time")]
        if missing:
            raise ValueError(
                f"`rows[{i}]` must have the keys {', '.join(COLUMNS)} "
                f"('correct' and 'time' may be left out); missing "
                f"{', '.join(missing)}."
            )
        values = [row.get(c) for c in COLUMNS]
    else:
        values = list(row)
        if len(values) not in (4, 5, 6):
            raise ValueError(
                f"`rows[{i}]` must be a mapping or a sequence in the column "
                f"order {', '.join(COLUMNS)}; got {len(values)} values."
            )
        values += [None] * (6 - len(values))
    idx, label, predict, radius, correct, seconds = values
    idx = check_number(f"rows[{i}]['idx']", idx, integer=True)
    label = check_number(f"rows[{i}]['label']", label, low=0, integer=True)
    predict = check_number(f"rows[{i}]['predict']", predict, low=-1,
                           integer=True)
    radius = check_number(f"rows[{i}]['radius']", radius, low=0.0)
    if predict == _ABSTAIN and radius != 0.0:
        raise ValueError(
            f"`rows[{i}]['radius']` must be 0 for an abstention "
            f"(predict=-1), got {radius!r}."
        )
    expected = int(predict == label)
    if correct is None:
        correct = expected
    elif int(correct) != expected or correct not in (0, 1):
        raise ValueError(
            f"`rows[{i}]['correct']` must be int(predict == label) = "
            f"{expected}, got {correct!r}."
        )
    seconds = 0.0 if seconds is None else seconds
    return (str(idx), str(label), str(predict), repr(float(radius)),
            str(int(correct)), _format_time(seconds))


def write_certify_tsv(path, rows):
    """Writes a certification log (Cohen et al.'s columns) atomically.

    Args:
        path: the ``.tsv`` (or any) file to write; parent folders are made.
        rows: iterable of mappings with the keys ``idx, label, predict,
            radius, correct, time`` (or sequences in that order). ``correct``
            may be left out (it is ``int(predict == label)`` and is checked
            when given); ``time`` is seconds (float), a ``timedelta`` or its
            string, 0 when left out.

    Returns:
        ``path`` as a ``pathlib.Path``. The file is written to a temporary
        sibling and renamed into place, so readers see the old file or the
        complete new one.
    """
    lines = ["\t".join(COLUMNS)]
    lines += ["\t".join(_row_values(i, row)) for i, row in enumerate(rows)]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def read_certify_tsv(path):
    """Reads a certification log written by `write_certify_tsv` or Cohen's
    ``certify.py``.

    Returns:
        A list of dicts ``{"idx": int, "label": int, "predict": int,
        "radius": float, "correct": int, "time": float seconds}``.
    """
    path = Path(path)
    with open(path) as f:
        lines = [line.rstrip("\r\n") for line in f if line.strip()]
    if not lines or tuple(lines[0].split("\t")) != COLUMNS:
        found = lines[0] if lines else "(empty file)"
        raise ValueError(
            f"{path} is not a certification log: its header must be "
            f"{chr(92)}t-separated {' '.join(COLUMNS)}, got {found!r}."
        )
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(COLUMNS):
            raise ValueError(
                f"{path}, line {number}: expected {len(COLUMNS)} "
                f"tab-separated fields, got {len(fields)}: {line!r}."
            )
        try:
            rows.append({
                "idx": int(fields[0]), "label": int(fields[1]),
                "predict": int(fields[2]), "radius": float(fields[3]),
                "correct": int(fields[4]), "time": _parse_time(fields[5]),
            })
        except ValueError as e:
            raise ValueError(f"{path}, line {number}: {e}") from None
    return rows


# ---------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------

def _correct_of(get, has):
    """The 'correct' column, or ``predict == label`` when it is absent."""
    if has("correct"):
        return get("correct")
    if has("predict") and has("label"):
        return np.asarray(get("predict")) == np.asarray(get("label"))
    raise KeyError("correct")


def _columns(results):
    """``(certified_correct bool array, radius float array)`` of results.

    ``correct`` may be left out when ``predict`` and ``label`` are given.
    """
    if isinstance(results, Mapping):
        try:
            radius = np.asarray(results["radius"], dtype=np.float64)
            correct = np.asarray(_correct_of(
                results.__getitem__, results.__contains__)).astype(bool)
        except KeyError as e:
            raise ValueError(
                "`results` given as columns must have 'radius' and "
                "'correct' (or 'predict' and 'label'); missing "
                f"{e}."
            ) from None
        predict = results.get("predict")
    else:
        rows = list(results)
        if rows and not all(isinstance(r, Mapping) for r in rows):
            raise TypeError(
                "`results` must be a list of row dicts (read_certify_tsv) "
                "or a mapping of columns."
            )
        try:
            radius = np.array([r["radius"] for r in rows], dtype=np.float64)
            correct = np.array(
                [bool(_correct_of(r.__getitem__, r.__contains__))
                 for r in rows], dtype=bool)
        except KeyError as e:
            raise ValueError(
                "every row of `results` must have 'radius' and 'correct' "
                f"(or 'predict' and 'label'); missing {e}."
            ) from None
        predict = ([r["predict"] for r in rows]
                   if all("predict" in r for r in rows) else None)
    if radius.ndim != 1 or correct.shape != radius.shape:
        raise ValueError(
            "`results` columns 'radius' and 'correct' must be 1-D and of the "
            f"same length, got shapes {radius.shape} and {correct.shape}."
        )
    if radius.size == 0:
        raise ValueError("`results` must hold at least one input, got 0.")
    if not np.all(np.isfinite(radius)) or np.any(radius < 0):
        raise ValueError(
            "`results` radii must be finite and in [0, inf), got "
            f"{radius[~np.isfinite(radius) | (radius < 0)][0].item()!r}."
        )
    if predict is not None:
        # An abstention is never a correct certified prediction.
        correct = correct & (np.asarray(predict) != _ABSTAIN)
    return correct, radius


def _check_radii(radii):
    arr = np.asarray(radii, dtype=np.float64)
    if arr.ndim > 1:
        raise ValueError(
            f"`radii` must be a number or a 1-D array, got shape {arr.shape}."
        )
    bad = ~np.isfinite(arr) | (arr < 0)
    if np.any(bad):
        raise ValueError(
            "`radii` must be in [0, inf), got "
            f"{np.ravel(arr)[np.ravel(bad)][0].item()!r}."
        )
    return arr


def _certified_counts(results, radii):
    correct, radius = _columns(results)
    r = _check_radii(radii)
    counts = (correct[:, None] & (radius[:, None] >= np.ravel(r)[None, :])
              ).sum(axis=0)
    return counts, correct.size, r.ndim == 0


def certified_accuracy(results, radii):
    """Approximate certified accuracy at each radius (Cohen et al. 2019).

    The fraction of inputs whose certified prediction is correct with a
    certified radius ``>= r``: ``mean(correct & (radius >= r))``.
    Abstentions (``predict = -1``) count as wrong. At ``r = 0`` this is the
    accuracy of the certifying algorithm.

    "Approximate" because each certificate holds only with probability
    ``>= 1 - alpha``; see `certified_accuracy_lower_bound`.

    Args:
        results: list of row dicts or a mapping of columns.
        radii: a radius ``>= 0`` or a 1-D array of them.

    Returns:
        A float for a scalar ``radii``, else a float64 array like ``radii``.
    """
    counts, m, scalar = _certified_counts(results, radii)
    out = counts / m
    return float(out[0]) if scalar else out


def average_certified_radius(results):
    """ACR: the mean over all inputs of ``radius if correct else 0``.

    Abstentions and wrong predictions contribute 0 (Zhai et al. 2020,
    *MACER*, use this summary).
    """
    correct, radius = _columns(results)
    return float(np.mean(np.where(correct, radius, 0.0)))


def certified_accuracy_lower_bound(results, radii, alpha, confidence):
    """A lower bound on the TRUE certified accuracy, w.p. ``confidence``.

    The approximate certified accuracy (`certified_accuracy`) counts inputs
    whose *certificate* says "correct with radius >= r"; each certificate is
    wrong with probability at most ``alpha`` (CERTIFY / T-CERTIFY guarantee),
    so it can overstate the true certified accuracy (the fraction of inputs
    where ``g(x) = y`` and ``g`` is constant on the ball of radius ``r``).

    What Cohen et al. state: the T-CERTIFY paper notes that "the approximate
    certified accuracy is not equivalent to the lower bound of the true
    accuracy that holds with probability at least 1 - alpha over the
    randomness of the CERTIFY algorithm, but the difference is negligible
    when alpha is small" and refers to Cohen et al. (2019). Cohen et al.'s
    analysis code (locuslab/smoothing ``code/analyze.py``, class
    ``HighProbAccuracy``, their "Approximate vs. High-Probability" plot)
    reports ``approx - alpha - sqrt(alpha (1 - alpha) log(1/rho) / m) -
    log(1/rho) / (3 m)`` with ``rho = 1 - confidence``, a Bernstein-type
    correction. We could not read their appendix here to quote the exact
    theorem, and those constants are smaller than the textbook Bernstein
    inequality gives (``sqrt(2 alpha (1 - alpha) log(1/rho) / m) + 2
    log(1/rho) / (3 m)``), so we implement the exact argument instead:

    Let ``W_i`` be the event that the certificate of input ``i`` is wrong
    (a returned label that is not ``g(x_i)``, or a radius larger than the
    one ``g`` has). Each ``P(W_i) <= alpha`` and the ``W_i`` are independent
    (fresh noise for every input), so the number of wrong certificates is
    stochastically dominated by ``Bin(m, alpha)`` with ``m`` the number of
    inputs. Let ``q`` be the ``confidence`` quantile of ``Bin(m, alpha)``
    (``scipy.stats.binom.ppf``), so ``P(Bin(m, alpha) > q) <= 1 -
    confidence``. With probability at least ``confidence``, at most ``q``
    certificates are wrong, hence for EVERY radius ``r`` at once

        true_count(r) >= approx_count(r) - q,

    (an input with a right certificate that is counted at ``r`` is truly
    certified at ``r``). The bound returned is ``max(approx_count(r) - q, 0)
    / m``. Since ``P(Bin(m, alpha) >= m alpha + t) <= rho`` for the
    textbook Bernstein ``t``, ``q <= m alpha + t``: this bound is never
    looser than the textbook Bernstein correction.

    Args:
        results: list of row dicts or a mapping of columns (all ``m``
            inputs, abstentions included).
        radii: a radius or a 1-D array of radii.
        alpha: the failure probability each certificate was made with,
            in ``(0, 1)``.
        confidence: ``1 - rho``, the probability in ``(0, 1)`` with which
            the bound holds (over the certification noise).

    Returns:
        A float for a scalar ``radii``, else a float64 array.
    """
    alpha = check_number("alpha", alpha, low=0.0, high=1.0, low_open=True,
                         high_open=True)
    confidence = check_number("confidence", confidence, low=0.0, high=1.0,
                              low_open=True, high_open=True)
    counts, m, scalar = _certified_counts(results, radii)
    q = float(stats.binom.ppf(confidence, m, alpha))
    out = np.maximum(counts - q, 0.0) / m
    return float(out[0]) if scalar else out


# ---------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------

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


__all__ = [
    "COLUMNS",
    "average_certified_radius",
    "certified_accuracy",
    "certified_accuracy_lower_bound",
    "plot_certified_accuracy",
    "read_certify_tsv",
    "write_certify_tsv",
]
