"""binge.locks: a second process is refused with the holder named; kill -9 frees the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from binge.locks import LOCK_NAME, FolderLock, LockError

HOLD = """
import sys, time
from binge.locks import FolderLock
lock = FolderLock(sys.argv[1], "binge pretrain --config x.yaml").acquire()
print("held", flush=True)
time.sleep(60)
"""


def _holder(folder):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_process_is_refused_naming_the_holder(tmp_path):
    proc = _holder(tmp_path)
    try:
        with pytest.raises(LockError) as err:
            FolderLock(tmp_path, "binge prepare").acquire()
        msg = str(err.value)
        assert f"pid {proc.pid}" in msg and "binge pretrain --config x.yaml" in msg and str(tmp_path) in msg
    finally:
        proc.kill()
        proc.wait()


def test_kill9_releases_the_lock(tmp_path):
    proc = _holder(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with FolderLock(tmp_path, "binge prepare") as lock:
        assert lock.holder()["pid"] == os.getpid()
    assert (tmp_path / LOCK_NAME).read_text() == ""  # released: holder cleared


def test_same_object_is_reentrant_and_release_lets_others_in(tmp_path):
    lock = FolderLock(tmp_path, "a")
    assert lock.acquire() is lock.acquire()
    lock.release()
    other = FolderLock(tmp_path, "b").acquire()
    other.release()


FORK_HOLD = """
import os, sys, time
from binge.locks import FolderLock
lock = FolderLock(sys.argv[1], "binge pretrain").acquire()
if os.fork() == 0:          # a DataLoader-like worker that outlives its parent for a while
    time.sleep(30)
    os._exit(0)
print("held", flush=True)
time.sleep(60)
"""


def test_forked_children_of_a_killed_holder_do_not_keep_the_lock(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", FORK_HOLD, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with FolderLock(tmp_path, "binge pretrain --resume"):
            pass
    finally:
        os.killpg(proc.pid, signal.SIGKILL)


def test_second_lock_in_the_same_process_is_refused(tmp_path):
    with FolderLock(tmp_path, "first"):
        with pytest.raises(LockError, match="in use by `first`"):
            FolderLock(tmp_path, "second").acquire()
    FolderLock(tmp_path, "third").acquire().release()


def test_a_refusal_inside_the_lock_leaves_no_lock_file_nor_folder(tmp_path):
    """docs/cli.md: a refused command (exit 2) adds nothing: the lock file and the folder this
    lock created go; a fault (exit 1) keeps them; an existing folder and lock file are kept."""
    from binge.config import ConfigError

    fresh = tmp_path / "fresh" / "run"
    with pytest.raises(ConfigError):
        with FolderLock(fresh, "binge pretrain"):
            raise ConfigError("refused")
    assert not fresh.exists() and (tmp_path / "fresh").exists()  # only what it created goes

    with pytest.raises(RuntimeError):
        with FolderLock(fresh, "binge pretrain"):
            raise RuntimeError("a failure, not a refusal")
    assert (fresh / LOCK_NAME).read_bytes() == b""  # kept, released

    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(ConfigError):
        with FolderLock(mine, "binge pretrain"):
            raise ConfigError("refused")
    assert list(mine.iterdir()) == []  # the user's folder stays, without a lock file
    with pytest.raises(ConfigError):
        with FolderLock(fresh, "binge pretrain"):
            raise ConfigError("refused")
    assert (fresh / LOCK_NAME).exists()  # a lock file of an earlier run is not removed


def test_a_lock_file_removed_by_a_refused_holder_cannot_be_held_twice(tmp_path, monkeypatch):
    """A process that opened the lock file just before a refused holder removed it must not hold
    the removed file (a third process would lock the new one): acquire locks the file that is
    at the path."""
    import fcntl

    import binge.locks as locks

    FolderLock(tmp_path, "earlier run").acquire().release()  # the lock file exists
    real = fcntl.lockf
    calls = []

    def remove_first(fd, op):  # the holder removes the file between our open and our lock
        if not calls:
            os.unlink(tmp_path / LOCK_NAME)
        calls.append(op)
        return real(fd, op)

    monkeypatch.setattr(locks.fcntl, "lockf", remove_first)
    lock = FolderLock(tmp_path, "second").acquire()
    try:
        assert os.path.samestat(os.fstat(lock._fd), os.stat(tmp_path / LOCK_NAME))
        assert lock.holder()["command"] == "second"
    finally:
        lock.release()


@pytest.mark.parametrize("command", ["scenes", "supervised"])
def test_scenes_and_supervised_lock_their_folder(tiny_corpus, tmp_path, capsys, command):
    """`binge scenes` writes into the corpus (cut files, scenes.csv: prepare's too) and
    `binge supervised` into its run folder: a second writer is refused naming the holder."""
    from pathlib import Path

    from binge.cli import main

    tiny = Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml"
    import shutil

    folder = tmp_path / "run"
    if command == "scenes":
        shutil.copytree(tiny_corpus, folder)
    argv = {"scenes": ["scenes", str(folder), "--quiet"],
            "supervised": ["supervised", "--config", str(tiny), "--ground-truth",
                           str(tmp_path), f"train.out_dir={folder}",
                           f"data.corpus={tiny_corpus}"]}[command]
    with FolderLock(folder, "binge prepare --out folder"):
        before = sorted(p.name for p in folder.iterdir())
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    assert code == 2
    assert "is in use by `binge prepare --out folder`" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == before  # the refused call wrote nothing
