"""``run_info.json``: what made the outputs of a folder, so a result can be traced to its code.

Every command that writes a folder (``binge prepare``, ``pretrain``, ``evaluate``) records, beside
its outputs: the binge version and, when binge runs from a git checkout, the commit (and whether
tracked files were modified), the versions of Python, torch, torchvision, PyAV and the FFmpeg
inside PyAV, and of the other libraries a result depends on (NumPy, SciPy, scikit-learn, librosa,
PySceneDetect, faiss), the command line (``argv``), the world size (``WORLD_SIZE`` of
torchrun/submitit, else 1), the device, the host and its CPU model, and the start and end time
(UTC, ISO 8601) with the outcome.

Usage::

    with record_run(out_dir, "pretrain", device="cuda"):
        ...   # the command's work; the file is written at start (status "running") and at end

Only the main process (``RANK`` unset or 0) writes. A rerun into the same folder (a resumed
pretraining) keeps the earlier invocations' records under ``previous`` (latest 20).
Writes go through :func:`binge.io.write_json` (atomic).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from binge.io import write_json

__all__ = ["FILENAME", "collect", "git_state", "record_run"]

FILENAME = "run_info.json"
_KEEP_PREVIOUS = 20


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def git_state(path: Optional[Path] = None) -> Optional[dict[str, Any]]:
    """``{"commit", "dirty"}`` of the checkout holding binge's source, or None when installed.

    Only a source tree whose ``src/`` layout sits in a git work tree counts (a pip-installed
    binge under site-packages has no commit to report)."""
    root = path or Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def _versions() -> dict[str, Optional[str]]:
    import av
    import torch
    import torchvision

    import binge

    return {
        "binge": binge.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "av": av.__version__,
        "ffmpeg": getattr(av, "ffmpeg_version_info", None),
        "cuda": torch.version.cuda,
        **{name: _distribution_version(name) for name in RESULT_LIBRARIES},
    }


#: the installed distributions (besides torch, torchvision and PyAV) whose version can change a
#: result: numerics, log-mel, probes, scene cuts, search
RESULT_LIBRARIES = ("numpy", "scipy", "scikit-learn", "librosa", "scenedetect", "faiss-cpu")


def _distribution_version(name: str) -> Optional[str]:
    """The installed version of distribution ``name`` (its metadata, no import); None if absent."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _device(device: Optional[str]) -> str:
    import torch

    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and torch.cuda.is_available():
        return f"{device} ({torch.cuda.get_device_name()}, {torch.cuda.device_count()} visible)"
    return str(device)


def _cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else the platform's word for it): libx264's
    output bytes depend on the CPU type (docs/cluster.md), so a record names it."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect(command: str, argv: Optional[Sequence[str]] = None, device: Optional[str] = None,
            extra: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The record of this invocation (no end time yet); ``argv`` defaults to ``sys.argv``."""
    return {
        "command": command,
        "argv": list(sys.argv if argv is None else argv),
        "cwd": os.getcwd(),
        "versions": _versions(),
        "git": git_state(),
        "world_size": int(os.environ.get("WORLD_SIZE", 1)),
        "device": _device(device),
        "host": socket.gethostname(),
        "cpu": _cpu_model(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "start_time": _now(),
        "end_time": None,
        "status": "running",
        **(extra or {}),
    }


def _previous(path: Path) -> list[dict[str, Any]]:
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(old, dict):
        return []
    earlier = old.pop("previous", [])
    return (list(earlier) + [old])[-_KEEP_PREVIOUS:]


def _restore(path: Path, before: Optional[bytes], created: bool) -> None:
    """Put ``path`` back as it was before this invocation: its earlier bytes, or no file (and no
    folder, when this invocation created it and nothing else is in it)."""
    from binge.io import atomic_write_bytes

    if before is not None:
        atomic_write_bytes(path, before)
        return
    path.unlink(missing_ok=True)
    if created:
        with contextlib.suppress(OSError):  # not empty: another file is there (kept)
            path.parent.rmdir()


@contextlib.contextmanager
def record_run(out_dir: str | Path, command: str, argv: Optional[Sequence[str]] = None,
               device: Optional[str] = None, filename: str = FILENAME,
               extra: Optional[dict[str, Any]] = None, at_start: bool = True) -> Iterator[dict[str, Any]]:
    """Write ``out_dir/filename`` at start and again at the end (``status``: ok / error / interrupted).

    Yields the record (a dict the caller may add keys to before the end). Only rank 0 writes;
    the body's exception is re-raised after the record says ``error: <type>: <message>``, except
    a refusal (a user error, exit 2: docs/cli.md): it leaves the file as it was before the
    command (an earlier run's record, or none), so a refused command adds nothing to the folder.
    ``at_start=False`` (a command that wants its folder absent or empty, ``binge world``): the
    record is written once, at a successful end, and nothing is written on an error."""
    if int(os.environ.get("RANK", 0)) != 0:
        yield {}
        return
    path = Path(out_dir) / filename
    record = collect(command, argv, device, extra)
    if not at_start:
        yield record
        record.update(status="ok", end_time=_now())
        write_json(record, path)
        return
    created = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.read_bytes() if path.exists() else None
    previous = _previous(path) if path.exists() else []
    if previous:
        record["previous"] = previous
    write_json(record, path)
    try:
        yield record
    except KeyboardInterrupt:
        record.update(status="interrupted", end_time=_now())
        write_json(record, path)
        raise
    except BaseException as err:
        from binge.cli import is_refusal

        if is_refusal(err):  # a user error: the folder is left as it was found (docs/cli.md)
            _restore(path, before, created)
            raise
        if isinstance(err, SystemExit) and err.code in (0, None):
            record["status"] = "ok"
        else:
            record["status"] = f"error: {type(err).__name__}: {err}"
        record["end_time"] = _now()
        write_json(record, path)
        raise
    record.update(status=record.get("status") if record.get("status") != "running" else "ok",
                  end_time=_now())
    write_json(record, path)
