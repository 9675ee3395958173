"""Atomic writes: a file is either the old version or the new, never half.

Also `file_digest`, the hash of a file read in blocks.
"""

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path


def _chmod_as_created(path, mode):
    """Gives `path` the permissions `open`/`mkdir` would have given it:
    `mode` (0o666 for files, 0o777 for directories) minus the umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


@contextlib.contextmanager
def atomic_path(path, suffix=".tmp"):
    """Yields a temporary sibling of `path` to write; on success it gets the
    permissions of a normally created file and is renamed onto `path`; on
    failure it is removed and `path` is left as it was.

    Example:
    ```python
    with atomic_path("curve.png") as tmp:
        figure.savefig(tmp, format="png")
    ```
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix,
                               dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _chmod_as_created(tmp, 0o666)  # mkstemp makes it owner-only
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_directory(path, overwrite=False):
    """Yields a temporary sibling directory of `path` to fill; on success
    it is renamed onto `path`, so `path` never holds a half-written tree.

    A directory already at `path` is an error (`FileExistsError`, raised
    before anything is written) unless `overwrite`; then it is moved aside,
    the new tree renamed into place, and the old one deleted. On failure
    the temporary tree is removed and `path` is left as it was.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"`path` {str(path)!r} already exists; pass overwrite=True to "
            "replace it, or choose another path.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp",
                                dir=path.parent))
    old = None
    try:
        yield tmp
        _chmod_as_created(tmp, 0o777)  # mkdtemp makes it owner-only
        if path.exists():
            if not overwrite:
                raise FileExistsError(
                    f"`path` {str(path)!r} was created by another writer "
                    "while this one was writing; it was left as it is.")
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.",
                                        suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
        os.replace(tmp, path)
    except BaseException:
        if old is not None and not path.exists():
            os.replace(old / "previous", path)  # put the old version back
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def atomic_write_text(path, text):
    """Writes `text` (no newline translation) to `path` atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    return path


def atomic_save_model(model, path):
    """`model.save(path)` through a temporary file renamed into place."""
    path = Path(path)
    with atomic_path(path, ".tmp.keras") as tmp:
        model.save(tmp)
    return path


def atomic_write_json(path, obj):
    """Writes `obj` as indented JSON through a temporary file."""
    return atomic_write_text(
        path, json.dumps(obj, indent=2, sort_keys=True,
                         default=_to_builtin) + "\n")


def _to_builtin(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def file_digest(path, algorithm):
    """Hex digest of a file's bytes, read in 1 MiB blocks.

    Args:
        path: the file.
        algorithm: a `hashlib` name, e.g. `"sha256"`, `"md5"`.
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
