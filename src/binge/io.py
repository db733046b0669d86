"""The one home of binge's file writes: atomic, durable, and readable by whom the umask says.

Every file binge writes goes through :func:`atomic_path`: the content is written to a temporary
file in the target's own folder, flushed and ``fsync``-ed, given the mode the process umask
allows (``0o666 & ~umask``, as ``open()`` would give a new file; ``tempfile.mkstemp`` and
``safetensors.save_file`` would otherwise leave ``-rw-------``), and only then ``os.replace``-d
onto the target. A crash at any point leaves either the old file or the new one, never a partial
one, and the temporary file is removed on every error path (``BaseException`` included, so a
Ctrl-C does not leave it behind). A temporary file left by a ``kill -9`` starts with ``.`` and
contains ``.tmp-``; :func:`remove_stale_temporaries` cleans them. :func:`file_sha256` is the
one file digest (world manifests, scenes CSVs).

Example::

    from binge.io import atomic_path, write_json
    with atomic_path(run / "model.safetensors") as tmp:
        save_file(tensors, str(tmp))          # any writer that takes a path
    write_json({"step": 3}, run / "state.json")
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "file_mode",
    "file_sha256",
    "remove_stale_temporaries",
    "write_json",
]

_UMASK_LOCK = threading.Lock()
TMP_MARK = ".tmp-"


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # portable fallback: set and restore
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode a new regular file gets under the current umask (``0o666 & ~umask``)."""
    return 0o666 & ~_umask()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it becomes ``path`` atomically.

    The caller writes the whole file to the yielded path (by any means). On a normal exit the
    file is ``fsync``-ed, ``chmod``-ed to :func:`file_mode` and moved onto ``path``; on any
    exception it is deleted and ``path`` is untouched. The temporary name keeps the target's
    suffix (``.png``, ``.mp4``…) because some writers choose their format from it.

    Raises whatever the writer raises, and ``OSError`` (disk full, permission) from the flush
    or the rename, always with the temporary file removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}{TMP_MARK}{os.getpid()}{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_path`); returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically; returns ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(obj: Any, path: str | Path, *, indent: int = 2, sort_keys: bool = False) -> Path:
    """Write ``obj`` as JSON (non-JSON values via ``str``) to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=sort_keys, default=str) + "\n")


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete temporary files of :func:`atomic_path` left in ``folder`` by killed processes.

    Only files named ``.<stem>.tmp-<pid><suffix>`` whose ``pid`` is not a live process are
    removed; returns the removed paths.
    """
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        if not (p.name.startswith(".") and TMP_MARK in p.name and p.is_file()):
            continue
        digits = "".join(ch for ch in p.name.split(TMP_MARK, 1)[1].split(".")[0] if ch.isdigit())
        if digits and _alive(int(digits)):
            continue
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read 1 MiB at a time. Raises ``OSError``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
