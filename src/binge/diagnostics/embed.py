"""Embed the selected held-out snippets once, in batches, and cache the result on disk.

The snippets are read from a :class:`~binge.data.SnippetDataset` built with ``augment=False``
(deterministic crop, no masking or jitter), turned into model input on the device
(``video_to_float``) and passed through the run's ``Embedder.embed_video`` / ``embed_audio``
(the encoders, then the heads of the objective that trained them) under
``torch.inference_mode`` in eval mode. Memory is one batch of media plus the K × d embeddings.

The cache is one ``.npz`` per key — a hash of the checkpoint (resolved path, size, mtime), the
corpus (resolved path, manifest size and mtime), the split and the sampling parameters — holding
``z_video``, ``z_audio`` and the selection it was computed for, written atomically.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn

from binge.diagnostics.pairs import SnippetSelection
from binge.distributed import resolve_device  # noqa: F401  (re-exported; the one resolver)
from binge.io import atomic_path

__all__ = ["embed_snippets", "file_fingerprint", "cache_key", "cached_embeddings", "resolve_device"]


def _collate(items: list[dict[str, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.stack([it["video"] for it in items]), torch.stack([it["audio"] for it in items])


def embed_snippets(
    model: nn.Module,
    dataset: Any,
    selection: SnippetSelection,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    num_workers: int = 0,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """z_video, z_audio (K, d) float32 of the selected snippets, rows in selection order.
    ``model``: anything with ``embed_video`` / ``embed_audio`` (an ``Embedder``: encoders +
    the objective's heads)."""
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    from binge.data.transforms import video_to_float

    if getattr(dataset, "augment", False):
        raise ValueError("embed the held-out snippets without augmentation: SnippetDataset(..., augment=False)")
    device = torch.device(device)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=selection.items(),
                        num_workers=num_workers, collate_fn=_collate)
    was_training = model.training
    model.eval()
    zv, za = [], []
    try:
        with torch.inference_mode():
            for video, audio in tqdm(loader, desc="embed held-out snippets", disable=not progress,
                                     unit="batch"):
                video = video_to_float(video.to(device, non_blocking=True))
                audio = audio.to(device, non_blocking=True).float()
                zv.append(model.embed_video(video).float().cpu())
                za.append(model.embed_audio(audio).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(zv).numpy(), torch.cat(za).numpy()


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """Resolved path, size and modification time of a file, or of every file in a folder."""
    path = Path(path).resolve()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {"path": str(path),
            "files": [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files]}


def cache_key(parts: dict[str, Any]) -> str:
    """A short stable hash of a JSON-able description of what was embedded."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def cached_embeddings(
    cache_dir: Optional[str | Path],
    key: str,
    selection: SnippetSelection,
    compute: Callable[[], tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(z_video, z_audio, hit): read ``cache_dir/<key>.npz`` or compute and write it atomically."""
    if cache_dir is None:
        zv, za = compute()
        return zv, za, False
    folder = Path(cache_dir)
    path = folder / f"emb-{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            if np.array_equal(data["titles"], selection.titles) and np.array_equal(
                data["snippets"], selection.snippets
            ):
                return data["z_video"], data["z_audio"], True
        # same key, other selection: only possible if the corpus changed in place; recompute
    zv, za = compute()
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, z_video=zv, z_audio=za, titles=selection.titles, snippets=selection.snippets)
    return zv, za, False
