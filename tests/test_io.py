"""Atomic writes: all or nothing, with normal file permissions; file
digests."""

import hashlib
import json
import os

import numpy as np
import pytest

from kerasrobust._io import atomic_path
from kerasrobust._io import atomic_write_json
from kerasrobust._io import atomic_write_text
from kerasrobust._io import file_digest


def _normal_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def test_written_files_have_normal_permissions(tmp_path):
    # tempfile.mkstemp creates 0600 files; results must be readable as any
    # file the user creates.
    json_path = atomic_write_json(tmp_path / "a" / "m.json", {"b": 1, "a": 2})
    text_path = atomic_write_text(tmp_path / "t.tsv", "x\ty\n")
    for path in (json_path, text_path):
        assert os.stat(path).st_mode & 0o777 == _normal_mode()
    assert json.loads(json_path.read_text()) == {"a": 2, "b": 1}
    assert text_path.read_bytes() == b"x\ty\n"


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_file_digest_matches_known_vectors_and_whole_file_hash(tmp_path):
    small = tmp_path / "abc"
    small.write_bytes(b"abc")
    # FIPS 180-2 and RFC 1321 test vectors.
    assert file_digest(small, "sha256") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert file_digest(small, "md5") == "900150983cd24fb0d6963f7d28e17f72"
    # Over several 1 MiB blocks: the hash of all the bytes at once.
    data = np.random.default_rng(0).bytes(2 * (1 << 20) + 123)
    big = tmp_path / "big"
    big.write_bytes(data)
    assert file_digest(big, "sha256") == hashlib.sha256(data).hexdigest()
