"""Atomic checkpoints with rotation, and RNG states stored so that ``weights_only`` loads them.

A checkpoint is one ``torch.save`` file holding only tensors and plain containers (dict, list,
int, float, str, None), so :func:`load_checkpoint` reads it with ``torch.load(weights_only=True)``
and never unpickles arbitrary objects. Every write goes to a temporary file in the same folder,
is flushed to disk and then ``os.replace``-d over the target: a crash (kill -9, full disk) at any
moment leaves either the old file or the new one, never a truncated one.
"""

from __future__ import annotations

import os
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from binge.io import atomic_path

__all__ = [
    "CheckpointError",
    "atomic_save",
    "load_checkpoint",
    "capture_rng_state",
    "restore_rng_state",
    "CheckpointManager",
]

_STEP_FILE = re.compile(r"^step_(\d{7,})\.pt$")


class CheckpointError(ValueError):
    """A file that is not a readable binge checkpoint (corrupt, foreign, truncated)."""


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (temporary file + fsync + ``os.replace``)."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)
    return path


def _reason(err: Exception) -> str:
    """One line saying why ``torch.load`` refused a file (its own messages run to many lines)."""
    text = str(err)
    if "Weights only load failed" in text:
        return ("it holds Python objects that binge never unpickles: only tensors and plain "
                "values are read, weights_only=True")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{type(err).__name__}: {first[:200]}"


#: what a command that reads a checkpoint expects (the files a binge run writes)
EXPECTED = "give a checkpoint a binge run wrote (RUN/checkpoints/last.pt or step_NNNNNNN.pt)"


def is_run_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is named as a run's own checkpoint (``checkpoints/last.pt`` or
    ``checkpoints/step_NNNNNNN.pt``): only such a file may be advised for deletion."""
    p = Path(path)
    return p.parent.name == "checkpoints" and (p.name == "last.pt" or bool(_STEP_FILE.match(p.name)))


def _unreadable(path: Path, err: Exception) -> CheckpointError:
    """The one-line refusal of a file ``torch.load`` could not read: a file that is not a
    complete PyTorch archive (another kind of file, or truncated) is named as such without the
    unpickler's internals; deletion is advised only for a run's own checkpoint."""
    if not zipfile.is_zipfile(path):
        what = "not a binge checkpoint (not a complete PyTorch file: another kind of file, or cut short)"
    else:
        what = f"not a readable binge checkpoint ({_reason(err)})"
    fix = (f"{EXPECTED}, or delete this one (the run's own checkpoint) to start over"
           if is_run_checkpoint(path) else EXPECTED)
    return CheckpointError(f"{path} is {what}; {fix}")


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`atomic_save` with ``weights_only=True``.

    Raises:
        FileNotFoundError: ``path`` is not there.
        CheckpointError: ``path`` is not a readable binge checkpoint (one line, no internals).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or foreign files
        raise _unreadable(path, err) from err
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} does not hold a checkpoint dict; {EXPECTED}")
    return state


# ----------------------------------------------------------------------------- RNG states
def capture_rng_state() -> dict[str, Any]:
    """Python, NumPy, torch CPU (and CUDA) generator states as tensors and plain values."""
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "python": {
            "version": int(py_version),
            "state": torch.tensor(py_state, dtype=torch.int64),
            "gauss": py_gauss,
        },
        "numpy": {
            "name": str(np_name),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_gauss),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state(
        (
            npy["name"],
            npy["keys"].numpy().astype(np.uint32),
            npy["pos"],
            npy["has_gauss"],
            npy["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ----------------------------------------------------------------------------- rotation
class CheckpointManager:
    """``folder/step_XXXXXXX.pt`` every save, ``folder/last.pt`` always the newest.

    Keeps the ``keep`` newest step files (``keep <= 0`` keeps all); ``last.pt`` is a hard link
    to (or, where the file system has no hard links, a copy of) the newest step file.
    """

    def __init__(self, folder: str | Path, keep: int = 3) -> None:
        self.folder = Path(folder)
        self.keep = keep

    @property
    def last(self) -> Path:
        return self.folder / "last.pt"

    def step_path(self, step: int) -> Path:
        return self.folder / f"step_{step:07d}.pt"

    def step_files(self) -> list[Path]:
        """Step files, oldest first."""
        if not self.folder.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.folder.iterdir() if (m := _STEP_FILE.match(p.name))]
        return [p for _, p in sorted(found)]

    def save(self, state: dict[str, Any], step: int) -> Path:
        path = atomic_save(state, self.step_path(step))
        tmp = _tmp_path(self.last)
        if tmp.exists():
            tmp.unlink()
        try:
            os.link(path, tmp)
        except OSError:
            atomic_save(state, self.last)
        else:
            os.replace(tmp, self.last)
        self._rotate()
        return path

    def _rotate(self) -> None:
        if self.keep <= 0:
            return
        for old in self.step_files()[: -self.keep]:
            old.unlink()
