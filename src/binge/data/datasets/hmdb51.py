"""HMDB51 from its official layout (Kuehne et al. 2011; paper §4.1).

Layout as downloaded (the per-class ``.rar`` archives unpacked)::

    root/<class>/<video>.avi                                  (or root/hmdb51_org/<class>/)
    root/testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt   "<video>.avi <id>"

with id 1 = train, 2 = test, 0 = unused. Class indices follow the sorted class names of
the split files (51 classes).
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

__all__ = ["load_hmdb51", "SPLITS"]

SPLITS = (1, 2, 3)
SPLIT_DIR = "testTrainMulti_7030_splits"
_SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<split>[123])\.txt$")
_FIX = "Unpack the HMDB51 class archives and testTrainMulti_7030_splits into one folder."


def _video_dir(root: Path) -> Path:
    nested = root / "hmdb51_org"
    return nested if nested.is_dir() else root


def load_hmdb51(
    root: str | Path, split: int = 1, name: str = "hmdb51", verbose: bool = True
) -> DownstreamSplit:
    """Read split ``split`` (1–3) of HMDB51 at ``root``; every train/test file must exist."""
    check_split(name, split, SPLITS)
    root = Path(root)
    split_dir = require(root / SPLIT_DIR, name, layout_fix(name, root, _FIX))
    files = {}
    for path in split_dir.iterdir():
        match = _SPLIT_FILE.match(path.name)
        if match and int(match.group("split")) == split:
            files[match.group("cls")] = path
    if not files:
        raise DatasetLayoutError(f"{name}: no *_test_split{split}.txt in {split_dir}. {_FIX}")
    classes = sorted(files)
    videos = _video_dir(root)
    train: list[Sample] = []
    test: list[Sample] = []
    for label, cls in enumerate(classes):
        for ln in files[cls].read_text().splitlines():
            parts = ln.split()
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise DatasetLayoutError(f"{files[cls]}: expected '<video> 0|1|2', got {ln!r}")
            sample = Sample(videos / cls / parts[0], label, Path(parts[0]).stem)
            if parts[1] == "1":
                train.append(sample)
            elif parts[1] == "2":
                test.append(sample)
    check_files(name, videos, [s.path for s in train + test], _FIX, verbose)
    return DownstreamSplit(name, split, "video", classes, train, test)
