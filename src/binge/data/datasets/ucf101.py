"""UCF101 from its official layout (Soomro et al. 2012; paper §4.1 "Downstream Evaluation").

Layout as downloaded::

    root/<ClassName>/v_<ClassName>_gXX_cYY.avi      (or root/UCF-101/<ClassName>/...)
    root/ucfTrainTestlist/classInd.txt               "1 ApplyEyeMakeup" (1-based)
    root/ucfTrainTestlist/trainlist0{1,2,3}.txt      "ApplyEyeMakeup/v_..._g08_c01.avi 1"
    root/ucfTrainTestlist/testlist0{1,2,3}.txt       "ApplyEyeMakeup/v_..._g01_c01.avi"

Labels are the 1-based indices of ``classInd.txt`` minus one; a test file's label comes
from its class folder. The world engine's ``world-action`` set uses the same layout.
"""

from __future__ import annotations

import re
from pathlib import Path

from binge.data.datasets.base import (
    DatasetLayoutError,
    DownstreamSplit,
    Sample,
    check_files,
    check_split,
    layout_fix,
    require,
)

__all__ = ["load_ucf101", "read_class_index", "SPLITS"]

SPLITS = (1, 2, 3)
LIST_DIR = "ucfTrainTestlist"
_GROUP = re.compile(r"_g(\d+)_c\d+", re.IGNORECASE)
_FIX = "Download UCF101 and its train/test lists and unpack both into the same folder."


def _lines(path: Path) -> list[str]:
    """Non-empty lines without Windows line endings (the official lists have \\r\\n)."""
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]


def read_class_index(path: Path) -> list[str]:
    """``classInd.txt`` → class names ordered by their 1-based index."""
    entries: dict[int, str] = {}
    for ln in _lines(path):
        parts = ln.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DatasetLayoutError(f"{path}: expected '<index> <ClassName>', got {ln!r}")
        entries[int(parts[0])] = parts[1]
    if sorted(entries) != list(range(1, len(entries) + 1)):
        raise DatasetLayoutError(f"{path}: class indices are not 1..{len(entries)}")
    return [entries[i] for i in range(1, len(entries) + 1)]


def _video_dir(root: Path) -> Path:
    """The folder holding the class folders: ``root`` or ``root/UCF-101``."""
    nested = root / "UCF-101"
    return nested if nested.is_dir() else root


def _group(rel: str) -> str:
    match = _GROUP.search(rel)
    return f"g{match.group(1)}" if match else Path(rel).stem


def load_ucf101(
    root: str | Path, split: int = 1, name: str = "ucf101", verbose: bool = True
) -> DownstreamSplit:
    """Read split ``split`` (1–3) of UCF101 at ``root``; every listed file must exist."""
    check_split(name, split, SPLITS)
    root = Path(root)
    fix = layout_fix(name, root, _FIX)
    lists = require(root / LIST_DIR, name, fix)
    classes = read_class_index(require(lists / "classInd.txt", name, fix))
    by_name = {c.lower(): i for i, c in enumerate(classes)}
    videos = _video_dir(root)

    def label_of_folder(rel: str, where: Path) -> int:
        folder = rel.split("/")[0].lower()
        if folder not in by_name:
            raise DatasetLayoutError(f"{where}: {rel!r} is in no class of classInd.txt")
        return by_name[folder]

    train_list = require(lists / f"trainlist0{split}.txt", name, fix)
    train: list[Sample] = []
    for ln in _lines(train_list):
        parts = ln.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise DatasetLayoutError(f"{train_list}: expected '<path> <label>', got {ln!r}")
        label = int(parts[1]) - 1
        if not 0 <= label < len(classes):
            raise DatasetLayoutError(f"{train_list}: label {parts[1]} outside 1..{len(classes)}")
        if label != label_of_folder(parts[0], train_list):
            raise DatasetLayoutError(
                f"{train_list}: {parts[0]} is listed with label {parts[1]} "
                f"({classes[label]}) but lies in another class folder"
            )
        train.append(Sample(videos / parts[0], label, _group(parts[0])))

    test_list = require(lists / f"testlist0{split}.txt", name, fix)
    test = [
        Sample(videos / ln.split()[0], label_of_folder(ln.split()[0], test_list), _group(ln))
        for ln in _lines(test_list)
    ]
    check_files(name, videos, [s.path for s in train + test], fix, verbose)
    return DownstreamSplit(name, split, "video", classes, train, test)
