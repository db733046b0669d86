"""Results: top-1, confusion matrices, mean ± std over splits, the printed table, the JSON
and the confusion-matrix PNG (paper §4.1: top-1; split 1 for ablations, the mean over all
splits/folds for comparisons)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from binge.io import atomic_path, write_json

__all__ = [
    "top1",
    "confusion_matrix",
    "mean_std",
    "format_table",
    "write_json",
    "plot_confusion",
]


def top1(scores: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose arg-max is the label."""
    return float((np.asarray(scores).argmax(axis=1) == np.asarray(labels)).mean())


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) counts; row = true class, column = prediction."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(labels), np.asarray(predictions)), 1)
    return cm


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    arr = np.asarray(values, dtype=np.float64)
    std = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return float(arr.mean()), std


def format_table(
    rows: list[dict[str, Any]], columns: Sequence[str], percent: Sequence[str] = ()
) -> str:
    """A plain-text table; the ``percent`` columns (fractions) are shown as percentages."""

    def cell(v: Any, as_percent: bool) -> str:
        if isinstance(v, float):
            return f"{100 * v:.2f}" if as_percent and math.isfinite(v) else f"{v:.4g}"
        return str(v)

    body = [[cell(r.get(c, ""), c in percent) for c in columns] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(columns)]
    line = lambda cells: "  ".join(x.rjust(w) for x, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(list(columns)), line(["-" * w for w in widths]), *map(line, body)])


def plot_confusion(cm: np.ndarray, classes: Sequence[str], path: str | Path, title: str) -> Path:
    """Row-normalised confusion matrix as a PNG (atomic write)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(classes)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = min(4 + 0.25 * n, 24)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(n)
    labels = list(classes) if n <= 60 else [""] * n
    ax.set_xticks(ticks, labels, rotation=90, fontsize=max(4, 10 - n // 10))
    ax.set_yticks(ticks, labels, fontsize=max(4, 10 - n // 10))
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return path
