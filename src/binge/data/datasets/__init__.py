"""Downstream datasets read from their official layouts (issue 6; paper §4.1).

``load_split(dataset, root, split)`` → :class:`DownstreamSplit`; ``splits_of(dataset, root)``
lists the official splits/folds. ``world-action`` and ``world-sound`` are the TV world's
downstream sets in the UCF101 and ESC-50 layouts.
"""

from __future__ import annotations

from pathlib import Path

from binge.data.datasets.base import DatasetLayoutError, DownstreamSplit, Sample
from binge.data.datasets.esc50 import folds as _esc50_folds
from binge.data.datasets.esc50 import load_esc50
from binge.data.datasets.fsdd import load_fsdd
from binge.data.datasets.hmdb51 import load_hmdb51
from binge.data.datasets.ucf101 import load_ucf101

__all__ = [
    "DatasetLayoutError",
    "DownstreamSplit",
    "Sample",
    "DATASETS",
    "load_split",
    "splits_of",
    "dataset_entry",
    "load_ucf101",
    "load_hmdb51",
    "load_esc50",
    "load_fsdd",
]

#: dataset name → (loader, modality)
DATASETS = {
    "ucf101": (load_ucf101, "video"),
    "hmdb51": (load_hmdb51, "video"),
    "esc50": (load_esc50, "audio"),
    "fsdd": (load_fsdd, "audio"),
    "world-action": (load_ucf101, "video"),
    "world-sound": (load_esc50, "audio"),
}


def dataset_entry(dataset: str) -> tuple:
    """``(loader, modality)`` of ``dataset`` (:data:`DATASETS`). Raises ValueError naming the
    known datasets for any other name."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {sorted(DATASETS)}")
    return DATASETS[dataset]


def load_split(dataset: str, root: str | Path, split: int = 1, verbose: bool = True) -> DownstreamSplit:
    """Load one official split of ``dataset`` at ``root`` (see :data:`DATASETS`)."""
    loader, _ = dataset_entry(dataset)
    return loader(root, split, name=dataset, verbose=verbose)


def splits_of(dataset: str, root: str | Path) -> list[int]:
    """Every official split (UCF101/HMDB51: 1–3; ESC-50: its folds; FSDD: 1)."""
    if dataset in ("esc50", "world-sound"):
        return _esc50_folds(root, dataset)
    if dataset in ("ucf101", "world-action"):
        lists = Path(root) / "ucfTrainTestlist"
        found = [s for s in (1, 2, 3) if (lists / f"trainlist0{s}.txt").is_file()]
        return found or [1]
    if dataset == "hmdb51":
        return [1, 2, 3]
    return [1]
