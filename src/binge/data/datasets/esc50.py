"""ESC-50 from its official layout (Piczak 2015; paper §4.1, Table 1).

Layout as downloaded::

    root/audio/<fold>-<src>-<take>-<target>.wav     2,000 five-second clips
    root/meta/esc50.csv                             filename,fold,target,category,esc10,src_file,take

Split ``k`` (1–5) tests on fold ``k`` and trains on the other four; labels are ``target``.
The world engine's ``world-sound`` set uses the same layout (its csv may have fewer folds).
"""

from __future__ import annotations

import csv
from pathlib import Path

from binge.data.datasets.base import (
    DatasetLayoutError,
    DownstreamSplit,
    Sample,
    check_files,
    layout_fix,
    require,
)

__all__ = ["load_esc50", "read_meta", "folds"]

COLUMNS = ("filename", "fold", "target", "category")
_FIX = "Download ESC-50 (audio/ and meta/esc50.csv) and point the root at its folder."


def read_meta(root: str | Path, name: str = "esc50") -> list[dict[str, str]]:
    """Rows of ``meta/esc50.csv``; the required columns must be present."""
    path = require(Path(root) / "meta" / "esc50.csv", name, layout_fix(name, root, _FIX))
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetLayoutError(f"{path}: missing column(s) {missing}; has {reader.fieldnames}")
        return list(reader)


def folds(root: str | Path, name: str = "esc50") -> list[int]:
    """The folds present in the csv (1–5 for ESC-50)."""
    return sorted({int(r["fold"]) for r in read_meta(root, name)})


def load_esc50(
    root: str | Path, split: int = 1, name: str = "esc50", verbose: bool = True
) -> DownstreamSplit:
    """Fold ``split`` is the test set, the other folds the training set."""
    root = Path(root)
    rows = read_meta(root, name)
    present = sorted({int(r["fold"]) for r in rows})
    if split not in present:
        raise ValueError(f"{name} has folds {present}; got split {split}")
    names: dict[int, str] = {}
    for r in rows:
        target = int(r["target"])
        if names.setdefault(target, r["category"]) != r["category"]:
            raise DatasetLayoutError(f"{root}/meta/esc50.csv: target {target} has two categories")
    if sorted(names) != list(range(len(names))):
        raise DatasetLayoutError(f"{root}/meta/esc50.csv: targets are not 0..{len(names) - 1}")
    classes = [names[i] for i in range(len(names))]
    fix = layout_fix(name, root, _FIX)
    audio = require(root / "audio", name, fix)
    train: list[Sample] = []
    test: list[Sample] = []
    for r in rows:
        sample = Sample(audio / r["filename"], int(r["target"]), r.get("src_file") or r["filename"])
        (test if int(r["fold"]) == split else train).append(sample)
    check_files(name, audio, [s.path for s in train + test], fix, verbose)
    return DownstreamSplit(name, split, "audio", classes, train, test)
