"""Certification logs: Cohen et al.'s TSV, written incrementally, resumed,
sharded and merged.

The log format is Cohen et al.'s (locuslab/smoothing ``code/certify.py``):
one tab-separated line per input with the header

    idx	label	predict	radius	correct	time

(``predict = -1`` for an abstention, ``correct = int(predict == label)``,
``time`` as ``str(datetime.timedelta)``), so files written here can be read
by their analysis scripts and theirs by `read_certify_tsv`. One deliberate
difference: radii are written with full ``repr`` precision, not Cohen's
``{:.3}`` (3 significant digits round e.g. 0.1235 up to 0.124, which can move
an input above a radius threshold it does not reach).

Long runs (`CertifyLog`): each input's row is appended and flushed as soon
as it is certified; the run's settings are kept in a sidecar JSON
(``<log>.settings.json``: model hash, sigma, n0, n, alpha, method, seed,
dataset, skip, limit, shard, ...), which resuming and merging compare. A
run killed mid-line leaves a torn last line; resuming drops it. Shards
(`shard_indices`) and `merge_logs` split a run over processes and put it
back together.
"""

import datetime
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from kerasrobust._io import atomic_write_json
from kerasrobust._io import atomic_write_text
from kerasrobust._io import file_digest
from kerasrobust._validation import check_number
from kerasrobust.smoothing.certify import ABSTAIN as _ABSTAIN

COLUMNS = ("idx", "label", "predict", "radius", "correct", "time")
HEADER = "\t".join(COLUMNS) + "\n"
SETTINGS_SUFFIX = ".settings.json"
LOG_FORMAT = "kerasrobust-certify-log/1"

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
    text = path.read_bytes()
    try:
        text = text.decode()
    except UnicodeDecodeError:
        raise ValueError(
            f"{path} is not a certification log (not UTF-8 text).") from None
    if text and not text.endswith("\n"):
        raise ValueError(
            f"{path}: the last line has no newline; the file is truncated "
            "(a run killed while writing; `--resume` drops the torn line).")
    return _parse_lines(path, text.splitlines())


def _extra_value(text):
    """An extra column's value: an int when it reads as one, else float."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _parse_lines(path, lines):
    """Rows of a log's lines (the header first); blank lines are skipped.

    Columns after Cohen's six (e.g. `num_samples` and `p_lower` of a
    sequential run) are returned under their header names."""
    lines = [line.rstrip("\r") for line in lines if line.strip()]
    header = tuple(lines[0].split("\t")) if lines else ()
    if header[:len(COLUMNS)] != COLUMNS:
        found = lines[0][:80] if lines else "(empty file)"
        raise ValueError(
            f"{path} is not a certification log: its header must be "
            f"tab-separated {' '.join(COLUMNS)}, got {found!r}."
        )
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(header):
            raise ValueError(
                f"{path}, line {number}: expected {len(header)} "
                f"tab-separated fields, got {len(fields)}: {line!r}."
            )
        try:
            row = {
                "idx": int(fields[0]), "label": int(fields[1]),
                "predict": int(fields[2]), "radius": float(fields[3]),
                "correct": int(fields[4]), "time": _parse_time(fields[5]),
            }
            row.update((name, _extra_value(value)) for name, value in zip(
                header[len(COLUMNS):], fields[len(COLUMNS):]))
            rows.append(row)
        except ValueError as e:
            raise ValueError(f"{path}, line {number}: {e}") from None
    return rows


# ---------------------------------------------------------------------------
# Settings, shards, incremental logs
# ---------------------------------------------------------------------------

def settings_path(path):
    """The sidecar JSON of the log at `path`: ``<path>.settings.json``."""
    path = Path(path)
    return path.with_name(path.name + SETTINGS_SUFFIX)


def read_settings(path):
    """The settings recorded with the log at `path`, or `None` if it has
    no sidecar."""
    side = settings_path(path)
    if not side.is_file():
        return None
    try:
        settings = json.loads(side.read_text())
    except ValueError as e:
        raise ValueError(f"{side} is not valid JSON ({e}).") from None
    if not isinstance(settings, dict) or settings.get("format") != LOG_FORMAT:
        raise ValueError(
            f"{side} is not a kerasrobust log's settings (no "
            f"'format': {LOG_FORMAT!r}).")
    return settings


def file_sha256(path):
    """Hex SHA-256 of a file's bytes (identifies the certified model)."""
    return file_digest(path, "sha256")


def parse_shard(text):
    """``"I/K"`` (1 <= I <= K) as the pair ``(I, K)``."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match:
        raise ValueError(
            f"`shard` must be I/K with integers 1 <= I <= K (e.g. 2/4), "
            f"got {text!r}.")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ValueError(
            f"`shard` must be I/K with 1 <= I <= K, got {text!r}.")
    return index, count


def shard_indices(indices, shard=None):
    """The part of `indices` that shard ``(I, K)`` certifies: every K-th
    entry from the I-th on (``indices[I - 1::K]``), so the K shards are
    disjoint, cover `indices`, and get equally hard images on average.
    `None` is the whole of `indices`."""
    indices = np.asarray(indices)
    if shard is None:
        return indices
    index, count = shard
    return indices[index - 1::count]


def selected_indices(test_size, skip=1, limit=None, shard=None):
    """The test-split indices a run certifies: every `skip`-th of
    `test_size` (0, skip, 2 skip, ...), the first `limit` of them, then
    shard ``(I, K)``'s part (`shard_indices`)."""
    indices = np.arange(0, int(test_size), int(skip), dtype=np.int64)
    if limit is not None:
        indices = indices[:int(limit)]
    return shard_indices(indices, shard)


def _compared(settings):
    """The settings that must agree between logs of one run (not the
    shard)."""
    return {k: v for k, v in settings.items() if k != "shard"}


def settings_difference(recorded, current):
    """Names of the settings that differ, as ``key: recorded != current``
    strings (empty when they agree)."""
    keys = sorted(set(recorded) | set(current))
    return [f"{k}: {recorded.get(k)!r} != {current.get(k)!r}"
            for k in keys if recorded.get(k) != current.get(k)]


def _complete_length(path):
    """Bytes of `path` up to the end of its last complete line, and the
    rows of those lines (a last line without its newline is torn)."""
    data = Path(path).read_bytes()
    end = data.rfind(b"\n") + 1
    return end, data[:end]


class CertifyLog:
    """An append-only certification log with recorded settings.

    Open with `CertifyLog.create(path, settings)` for a new run (an
    existing log is never overwritten: `FileExistsError`) or
    `CertifyLog.resume(path, settings)` to continue one (its settings must
    be equal, else `ValueError`; a torn last line is dropped). `done` holds
    the indices already logged; `append(row)` writes a row and flushes it to
    disk before returning.
    """

    def __init__(self, path, done, handle, extra_columns=()):
        self.path = Path(path)
        self.done = done
        self._file = handle
        self.extra_columns = tuple(extra_columns)

    @staticmethod
    def check_writable(path):
        """Fails now, not after hours of sampling, when `path` cannot hold a
        log (a directory, or a parent that is a file or not writable)."""
        path = Path(path)
        if path.is_dir():
            raise ValueError(f"{str(path)!r} is a directory, not a file.")
        parent = path.parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise ValueError(
                f"{str(path)!r} cannot be created: {str(parent)!r} is not "
                "a directory.")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ValueError(
                f"{str(path)!r} cannot be created: {str(parent)!r} is not "
                "writable.")
        if path.exists() and not os.access(path, os.W_OK):
            raise ValueError(f"{str(path)!r} is not writable.")

    @classmethod
    def create(cls, path, settings, extra_columns=()):
        """A new log; `extra_columns` are written after Cohen's six (each
        row must then have those keys)."""
        path = Path(path)
        cls.check_writable(path)
        if path.exists() or settings_path(path).exists():
            raise FileExistsError(
                f"{str(path)!r} already exists; resume it or choose another "
                "path (an existing log is never overwritten).")
        settings = dict(settings, format=LOG_FORMAT)
        atomic_write_json(settings_path(path), settings)
        atomic_write_text(path, "\t".join(COLUMNS + tuple(extra_columns))
                          + "\n")
        return cls(path, set(), open(path, "a", newline=""), extra_columns)

    @classmethod
    def resume(cls, path, settings, extra_columns=()):
        """Continues the log at `path` (a fresh one if there is none)."""
        path = Path(path)
        cls.check_writable(path)
        if not path.exists():
            recorded = read_settings(path)
            if recorded is not None:
                # Killed between the settings file and the log's header.
                differ = settings_difference(
                    recorded, dict(settings, format=LOG_FORMAT))
                if differ:
                    raise ValueError(
                        f"{str(settings_path(path))!r} holds other settings "
                        "(" + "; ".join(differ) + ").")
                settings_path(path).unlink()
            return cls.create(path, settings, extra_columns)
        recorded = read_settings(path)
        if recorded is None:
            raise ValueError(
                f"{str(path)!r} has no settings file "
                f"({settings_path(path).name}); it cannot be resumed.")
        differ = settings_difference(
            recorded, dict(settings, format=LOG_FORMAT))
        if differ:
            raise ValueError(
                f"{str(path)!r} was written with other settings ("
                + "; ".join(differ) + ").")
        end, text = _complete_length(path)
        lines = text.decode().splitlines()
        header = tuple(lines[0].split("\t")) if lines else ()
        if header != COLUMNS + tuple(extra_columns):
            raise ValueError(
                f"{str(path)!r} has the columns {' '.join(header)}, not "
                f"{' '.join(COLUMNS + tuple(extra_columns))}.")
        rows = _parse_lines(path, lines)
        done = {row["idx"] for row in rows}
        if len(done) != len(rows):
            raise ValueError(f"{str(path)!r} holds an index twice.")
        handle = open(path, "r+", newline="")
        handle.truncate(end)     # drop a torn last line
        handle.seek(end)
        return cls(path, done, handle, extra_columns)

    def append(self, row):
        """Writes one row (a mapping or sequence as `write_certify_tsv`
        takes) and flushes it to disk."""
        values = _row_values(len(self.done), row)
        extra = [repr(row[c]) if isinstance(row[c], float) else str(row[c])
                 for c in self.extra_columns]
        self._file.write("\t".join(list(values) + extra) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.done.add(int(values[0]))

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def merge_logs(paths):
    """Merges the logs of one run's shards (or any logs of one run).

    Refuses logs made with different settings (all must have a sidecar, or
    none) and an index logged twice. Returns ``(rows, settings, missing)``:
    the rows sorted by index, the shared settings without the shard (or
    `None`), and the planned indices no log holds (empty when there are no
    settings to plan from).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("`paths` must name at least one log.")
    all_settings = [read_settings(p) for p in paths]
    if any(s is None for s in all_settings) and any(
            s is not None for s in all_settings):
        bare = [str(p) for p, s in zip(paths, all_settings) if s is None]
        raise ValueError(
            f"{bare[0]!r} has no settings file but other logs do; cannot "
            "check that they come from one run.")
    settings = all_settings[0]
    if settings is not None:
        for path, other in zip(paths[1:], all_settings[1:]):
            differ = settings_difference(_compared(settings),
                                         _compared(other))
            if differ:
                raise ValueError(
                    f"{str(path)!r} was made with other settings than "
                    f"{str(paths[0])!r} (" + "; ".join(differ) + ").")
    seen = {}
    rows = []
    for path in paths:
        for row in read_certify_tsv(path):
            if row["idx"] in seen:
                raise ValueError(
                    f"index {row['idx']} is in both {str(seen[row['idx']])!r}"
                    f" and {str(path)!r} (overlapping logs).")
            seen[row["idx"]] = path
            rows.append(row)
    rows.sort(key=lambda r: r["idx"])
    missing = []
    if settings is not None:
        planned = selected_indices(settings["test_size"], settings["skip"],
                                   settings["limit"])
        missing = sorted(set(planned.tolist()) - set(seen))
        settings = dict(_compared(settings), shard=None)
    return rows, settings, missing
