"""Folder locks: two processes must never write one corpus or one run folder at once.

``binge prepare`` locks its ``--out`` folder and ``binge pretrain`` its ``train.out_dir``
(rank 0 only: the ranks of one job share the folder by design). The lock is an advisory POSIX
record lock (``fcntl.lockf``) on ``<folder>/.binge.lock``, held for the life of the process: the
kernel releases it the moment the process ends, however it ends (``kill -9`` included), so a
stale lock cannot block a rerun. POSIX locks belong to the process, not to the file description:
forked children (DataLoader workers, prepare's pool) do not hold it, so a rerun is not refused
while the killed process's workers wind down (``flock`` would be). The file records who holds
it (command, pid, host, start time) so that the process that is refused can name the holder.

POSIX locks are honoured between processes of one machine and on cluster file systems with
lock support (NFSv4, Lustre, GPFS); on a file system without it :class:`FolderLock` raises
:class:`LockError` saying so, rather than running unprotected.

A command refused inside the lock (a user error, exit 2: docs/cli.md) leaves no trace of the
lock: the lock file is removed if this process created it, and the folder too if this process
created it and nothing else is in it. ``acquire`` checks that the file it locked is still the
one at the path, so removing it cannot let two processes hold the lock at once.

Example::

    with FolderLock(out_dir, "binge prepare"):
        ...  # only this process writes out_dir
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Optional

__all__ = ["FolderLock", "LockError", "LOCK_NAME", "refuse_file"]

LOCK_NAME = ".binge.lock"

#: lock files held by this process (POSIX locks do not conflict within one process, and
#: closing any descriptor of the file would drop the lock: so a second holder is refused here).
_HELD: dict[str, "FolderLock"] = {}


class LockError(RuntimeError):
    """The folder is held by another process (or cannot be locked on this file system)."""


def _holder_text(info: dict[str, Any]) -> str:
    if not info:
        return "another process"
    since = info.get("since")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if since else "?"
    return (f"`{info.get('command', '?')}` (pid {info.get('pid', '?')} on {info.get('host', '?')}, "
            f"since {when})")


def refuse_file(folder: Path, name: str) -> None:
    """An output folder that is an existing file (or lies under one) is a user error, found
    before any work: it would otherwise end in ``File exists`` with advice to resume."""
    above = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if above == folder:
        raise LockError(f"{name} is a file, not a folder; give a folder (created if missing)")
    if above is not None:
        raise LockError(f"{name}: {above} is a file, not a folder; give a folder path (created "
                        "if missing)")


class FolderLock:
    """An exclusive, non-blocking lock on ``folder`` (created if missing).

    ``acquire()`` raises :class:`LockError` naming the holder when another process has it.
    Re-entrant within one process only through one object: a second ``FolderLock`` on the same
    folder in the same process is refused like another process would be.
    """

    def __init__(self, folder: str | Path, command: Optional[str] = None,
                 name: Optional[str] = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.command = command or " ".join(["binge", *sys.argv[1:]])
        #: how the user gave the folder, for errors ("--out corpus", "train.out_dir=runs/x")
        self.name = name or str(self.folder)
        self._fd: Optional[int] = None

    def acquire(self) -> "FolderLock":
        """Lock the folder (created if missing). Raises :class:`LockError` when it is held, or,
        before anything is created, when the path (or a folder above it) is a file."""
        if self._fd is not None:
            return self
        refuse_file(self.folder, self.name)
        self._made_folder = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        key = os.path.realpath(self.path)
        if key in _HELD:
            raise LockError(f"{self.folder} is in use by {_holder_text(self.holder())}; wait for "
                            "it to finish (or stop it), or choose another output folder")
        fd = self._lock_file()
        info = {"command": self.command, "pid": os.getpid(), "host": socket.gethostname(),
                "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd
        self._key = key
        _HELD[key] = self
        return self

    def _lock_file(self) -> int:
        """Open (creating if missing) and lock the lock file; the locked file is the one at the
        path (a refused holder may have removed the file it had opened: then try again)."""
        for _ in range(100):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
                self._made_file = True
            except FileExistsError:
                try:
                    fd = os.open(self.path, os.O_RDWR)
                except FileNotFoundError:
                    continue  # removed between the two opens
                self._made_file = False
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise LockError(
                        f"{self.folder} is in use by {_holder_text(self.holder())}; wait for it "
                        "to finish (or stop it), or choose another output folder") from None
                raise LockError(f"cannot lock {self.path}: {exc.strerror}; this file system does "
                                "not support file locks, so binge cannot guard the folder") from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)  # locked a file that a refused holder removed: lock the new one
        raise LockError(f"cannot lock {self.path}: the lock file keeps being replaced; check "
                        "what else writes into the folder")

    def holder(self) -> dict[str, Any]:
        """What the lock file says about its holder ({} when unreadable)."""
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def release(self, remove: bool = False) -> None:
        """Unlock. ``remove``: also delete the lock file if this process created it, and the
        folder if this process created it and it is now empty (a refused command's traces)."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            if remove and self._made_file:  # still holding the lock: nobody else has the file
                self.path.unlink(missing_ok=True)
            fcntl.lockf(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None
            _HELD.pop(self._key, None)
        if remove and self._made_file and self._made_folder:
            with contextlib.suppress(OSError):  # not empty: something else is there (kept)
                self.folder.rmdir()

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        from binge.cli import is_refusal  # the exit-2 classification of every command

        self.release(remove=exc is not None and is_refusal(exc))
