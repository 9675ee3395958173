"""Atomic writes: a file is either the old version or the new, never half."""

import json
import os
import tempfile
from pathlib import Path


def _temporary_sibling(path, suffix):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix,
                               dir=path.parent)
    os.close(fd)
    return Path(tmp)


def atomic_save_model(model, path):
    """`model.save(path)` through a temporary file renamed into place."""
    path = Path(path)
    tmp = _temporary_sibling(path, ".tmp.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_json(path, obj):
    """Writes `obj` as indented JSON through a temporary file."""
    path = Path(path)
    tmp = _temporary_sibling(path, ".tmp")
    try:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True, default=_to_builtin)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _to_builtin(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)
