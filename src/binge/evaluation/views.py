"""Where the test views of a sample lie in time and space (paper §4.1 "Downstream Evaluation").

Video: ``n_clips`` clips uniformly in time × ``n_crops`` spatial crops (left, centre,
right along the longer side) = 10 × 3 = 30 views; audio: 10 clips uniformly in time.
Training clips start uniformly at random in the sample. Predictions (or features) are
averaged over the views of one sample with :func:`average_by_sample`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "View",
    "uniform_starts",
    "random_start",
    "crop_offsets",
    "view_grid",
    "average_by_sample",
]


@dataclass(frozen=True)
class View:
    """One test view: clip ``clip`` starting at frame ``start``, crop ``crop`` at (y0, x0)."""

    clip: int
    crop: int
    start: int
    y0: int = 0
    x0: int = 0


def uniform_starts(length: int, clip: int, n: int) -> list[int]:
    """Start indices of ``n`` clips of ``clip`` units spread uniformly over ``length`` units.

    The first clip starts at 0 and the last ends at the end (``length - clip``); a sample
    shorter than a clip gives ``n`` starts at 0 (the clip is padded by the reader).
    """
    last = max(int(length) - int(clip), 0)
    return [int(round(s)) for s in np.linspace(0.0, last, int(n))]


def random_start(rng: np.random.Generator, length: int, clip: int) -> int:
    """A start drawn uniformly from ``0 … length - clip`` (0 when the sample is shorter)."""
    return int(rng.integers(0, max(int(length) - int(clip), 0) + 1))


def crop_offsets(height: int, width: int, crop: int, n: int) -> list[tuple[int, int]]:
    """(y0, x0) of ``n`` square crops of side ``crop``.

    ``n == 1``: the centre crop. Otherwise the crops run along the longer side from one
    end to the other (for ``n == 3`` and landscape frames: left, centre, right), centred
    on the shorter side.
    """
    if crop > height or crop > width:
        raise ValueError(f"crop {crop} does not fit a {height}×{width} frame")
    cy, cx = (height - crop) // 2, (width - crop) // 2
    if n == 1:
        return [(cy, cx)]
    if width >= height:
        return [(cy, int(round(x))) for x in np.linspace(0, width - crop, n)]
    return [(int(round(y)), cx) for y in np.linspace(0, height - crop, n)]


def view_grid(
    length: int, clip: int, n_clips: int, height: int = 0, width: int = 0, crop: int = 0,
    n_crops: int = 1,
) -> list[View]:
    """All ``n_clips × n_crops`` views of a sample, clip-major (view i = clip i // n_crops).

    For audio pass ``n_crops=1`` and leave the spatial arguments at 0.
    """
    offsets = crop_offsets(height, width, crop, n_crops) if crop else [(0, 0)] * n_crops
    return [
        View(c, k, start, y0, x0)
        for c, start in enumerate(uniform_starts(length, clip, n_clips))
        for k, (y0, x0) in enumerate(offsets)
    ]


def average_by_sample(values: torch.Tensor, sample_index: torch.Tensor, num_samples: int) -> torch.Tensor:
    """Mean of the rows of ``values`` (V, C) that belong to each sample: (num_samples, C).

    ``sample_index`` (V,) gives the sample of every view; every sample needs ≥ 1 view.
    """
    sample_index = sample_index.long()
    counts = torch.bincount(sample_index, minlength=num_samples)
    if (counts == 0).any():
        missing = torch.nonzero(counts == 0).flatten().tolist()[:10]
        raise ValueError(f"samples {missing} have no views")
    out = torch.zeros(num_samples, values.shape[1], dtype=values.dtype, device=values.device)
    out.index_add_(0, sample_index.to(values.device), values)
    return out / counts.to(values.device, values.dtype).unsqueeze(1)
