"""Run a function over every test view of every sample and average per sample
(paper §4.1: "we average the model predictions across these 30 views")."""

from __future__ import annotations

from typing import Callable

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from binge.evaluation.clips import ViewClips, collate_views
from binge.evaluation.views import average_by_sample

__all__ = ["map_views"]


@torch.no_grad()
def map_views(
    dataset: ViewClips,
    fn: Callable[[torch.Tensor], torch.Tensor],
    batch_size: int,
    device: torch.device,
    num_workers: int = 0,
    desc: str = "views",
) -> torch.Tensor:
    """(N, D): ``fn`` ((V, C, …) → (V, D)) on every view, averaged over the views of each
    sample. Views go through ``fn`` in chunks of ``batch_size``; the result is on the CPU."""
    per_sample = max(1, dataset.n_clips * dataset.n_crops)
    loader = DataLoader(  # several samples per forward when they have few views
        dataset, batch_size=max(1, batch_size // per_sample), shuffle=False,
        num_workers=num_workers, collate_fn=collate_views,
    )
    outs, index = [], []
    for views, idx in tqdm(loader, desc=desc, leave=False, dynamic_ncols=True):
        for i in range(0, len(views), batch_size):
            outs.append(fn(views[i : i + batch_size].to(device)).float().cpu())
        index.append(idx)
    return average_by_sample(torch.cat(outs), torch.cat(index), len(dataset))
