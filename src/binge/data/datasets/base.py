"""Shared pieces of the downstream dataset loaders: records, splits, layout errors.

A loader reads a benchmark in the layout users download it in and returns a
:class:`DownstreamSplit`: the training and test samples of one official split/fold with
0-based class indices. Every loader prints how many files it found against how many the
split files list, and raises one :class:`DatasetLayoutError` naming every missing file,
because a loader that silently drops clips is the most common reproduction failure in
this field (reference-figures.md: GDT kept 9,537 of 13,320 UCF101 videos).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

__all__ = ["Sample", "DownstreamSplit", "DatasetLayoutError", "check_files", "layout_fix", "MAX_LISTED"]

#: how many missing files an error message names before it says "and N more"
MAX_LISTED = 20


class DatasetLayoutError(FileNotFoundError):
    """A downstream dataset folder that does not match its official layout."""


@dataclass(frozen=True)
class Sample:
    """One labelled media file. ``group`` ties samples that must stay on one side of a
    cross-validation fold (the UCF101 group, the HMDB51 source video, the FSDD speaker)."""

    path: Path
    label: int
    group: str = ""


@dataclass
class DownstreamSplit:
    """The train/test samples of one official split (1-based ``split``)."""

    name: str
    split: int
    modality: str  # "video" | "audio"
    classes: list[str]
    train: list[Sample] = field(default_factory=list)
    test: list[Sample] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def summary(self) -> str:
        return (
            f"{self.name} split {self.split}: {len(self.train)} train + {len(self.test)} test "
            f"{self.modality} files, {self.num_classes} classes"
        )


def check_files(
    name: str, root: Path, listed: Sequence[Path], fix: str, verbose: bool = True
) -> None:
    """Print found vs listed counts; raise one error naming every listed file that is absent."""
    missing = [p for p in listed if not p.is_file()]
    found = len(listed) - len(missing)
    if verbose:
        print(f"[{name}] {root}: found {found} of {len(listed)} listed files")
    if missing:
        shown = "\n  ".join(str(p) for p in missing[:MAX_LISTED])
        more = f"\n  ... and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
        raise DatasetLayoutError(
            f"{name}: {len(missing)} of {len(listed)} files listed by the split files are "
            f"missing under {root}:\n  {shown}{more}\n{fix}"
        )


#: what marks each official layout in a dataset root, and the datasets read from that layout
LAYOUT_MARKERS = (
    ("ucfTrainTestlist", "the UCF101 layout (ucfTrainTestlist/)", ("ucf101", "world-action")),
    ("meta/esc50.csv", "the ESC-50 layout (meta/esc50.csv)", ("esc50", "world-sound")),
    ("testTrainMulti_7030_splits", "the HMDB51 layout (testTrainMulti_7030_splits/)", ("hmdb51",)),
    ("recordings", "the FSDD layout (recordings/)", ("fsdd",)),
)
#: the TV world's downstream sets (``binge world`` writes them under ``<world>/downstream/``)
WORLD_SETS = {"world-action": "the UCF101 layout: ucfTrainTestlist/ and one folder per class",
              "world-sound": "the ESC-50 layout: meta/esc50.csv and audio/"}


def layout_fix(name: str, root: str | Path, fix: str) -> str:
    """The fix to print when ``root`` does not hold dataset ``name``'s layout: when ``root``
    holds another dataset's layout, which one and the ``--dataset`` that reads it; for the
    TV world's sets, the layout expected and where ``binge world`` wrote it; else ``fix`` (the
    loader's download hint)."""
    root = Path(root)
    for marker, layout, names in LAYOUT_MARKERS:
        if name not in names and (root / marker).exists():
            names = sorted(names, key=lambda n: n != root.name)  # a world's own set first
            return (f"{root} holds a set in {layout}, not {name}: evaluate it with "
                    f"--dataset {' or '.join(names)} (a config of that set), or pass the root of "
                    f"the {name} set")
    if name in WORLD_SETS:
        return (f"{name} expects {WORLD_SETS[name]}: pass the downstream/{name} folder of a TV "
                "world (written by binge world)")
    return fix


def require(path: Path, name: str, fix: str) -> Path:
    """Return ``path`` or raise a :class:`DatasetLayoutError` naming it and the fix."""
    if not path.exists():
        raise DatasetLayoutError(f"{name}: {path} does not exist. {fix}")
    return path


def check_split(name: str, split: int, valid: Sequence[int]) -> None:
    if split not in valid:
        raise ValueError(f"{name} has splits {list(valid)}; got split {split}")
