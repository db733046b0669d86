"""binge.io: the one atomic writer (modes from the umask, nothing partial, temporaries cleaned)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from binge.io import atomic_path, atomic_write_text, file_mode, remove_stale_temporaries, write_json


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664), (0o077, 0o600)])
def test_mode_follows_umask(tmp_path, umask, mask, mode):
    umask(mask)
    assert file_mode() == mode
    p = write_json({"a": 1}, tmp_path / "x.json")
    assert stat.S_IMODE(p.stat().st_mode) == mode
    # the same mode a plain open() would give a new file
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert stat.S_IMODE(plain.stat().st_mode) == mode


def test_failed_write_keeps_old_file_and_leaves_no_temporary(tmp_path):
    target = atomic_write_text(tmp_path / "m.csv", "old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer died")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv"]


def test_temporary_keeps_suffix_for_format_sniffing_writers(tmp_path):
    with atomic_path(tmp_path / "fig.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path and tmp.name.startswith(".")
        tmp.write_bytes(b"x")
    assert (tmp_path / "fig.png").read_bytes() == b"x"


def test_remove_stale_temporaries_only_removes_dead_writers(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".last.tmp-{dead}.pt"
    live = tmp_path / f".last.tmp-{os.getpid()}.pt"
    keep = tmp_path / "last.pt"
    for p in (stale, live, keep):
        p.write_bytes(b"")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert live.exists() and keep.exists() and not stale.exists()


def test_file_sha256_is_hashlib_over_the_whole_file(tmp_path):
    import hashlib

    from binge.io import file_sha256

    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 9000  # > 2 MiB: several 1-MiB blocks and a partial last one
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
