"""Pooling of an encoder's last feature map into one vector per clip (CrissCross §E.1).

``forward_features`` gives (B, C, T', H', W') for video and (B, C, F', T') for audio
(docs/architecture.md). ``global`` pooling (``avg`` or ``max``) gives (B, C); a
``max_kernel`` such as (1, 4, 4) for video or (1, 3) for audio max-pools with that window
(stride = window) and flattens, as in the linear-probe protocols of CrissCross §E.1 and
AVID-CMA §5.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F

__all__ = ["pool_features"]


def pool_features(
    fmap: torch.Tensor, mode: str = "avg", max_kernel: Optional[Sequence[int]] = None
) -> torch.Tensor:
    """(B, C, *dims) → (B, D). ``max_kernel`` (one entry per dim) overrides ``mode``."""
    dims = fmap.ndim - 2
    if max_kernel is not None:
        kernel = tuple(int(k) for k in max_kernel)
        if len(kernel) != dims:
            raise ValueError(f"max_kernel {kernel} needs {dims} entries for a map of shape {tuple(fmap.shape)}")
        kernel = tuple(min(k, s) for k, s in zip(kernel, fmap.shape[2:]))
        pool = F.max_pool3d if dims == 3 else F.max_pool2d
        return pool(fmap, kernel, kernel).flatten(1)
    flat = fmap.flatten(2)
    if mode == "avg":
        return flat.mean(dim=2)
    if mode == "max":
        return flat.amax(dim=2)
    raise ValueError(f"pooling must be 'avg' or 'max', got {mode!r}")
