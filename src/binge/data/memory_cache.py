"""An in-memory cache of decoded snippets for corpora that fit in RAM (issue 14).

At the CPU geometry of ``configs/micro.yaml`` (8 frames of 43×32 per 1-s snippet) the model
step is cheap enough that decoding H.264 sets the pace of pretraining. For a corpus whose
decoded frames fit in memory (the ``demo`` world: ~2,300 training snippets × 33 KB ≈ 75 MB)
:class:`MemorySnippetDataset` keeps the **whole** frames of every snippet after its first
decode; every later read crops them from memory. The first pass still goes through the real
loader (``SnippetDataset.read_video``: seek, decode, RGB), and the augmentations (random crop,
colour jitter, audio masking) are still drawn per sample and step, by the same code in the
same order, so a run with the cache is the run without it, to the bit
(``tests/data/test_memory_cache.py``). Audio is read from the memory-mapped log-mel as before
(already a slice of a page-cached array).

Switched on by ``data.memory_cache: true``. Each DataLoader worker holds its own cache (with
``persistent_workers`` it lives across epochs); memory grows to
``∑ M_n · frames · H · W · 3`` bytes per worker.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from binge.data.dataset import SnippetDataset

__all__ = ["MemorySnippetDataset", "snippet_dataset_class"]


class MemorySnippetDataset(SnippetDataset):
    """A :class:`~binge.data.SnippetDataset` whose ``read_video`` decodes each snippet once.

    Same constructor, same ``ds[(n, m)]``; ``cached_snippets`` and ``cached_bytes`` say how
    much is held. Whole frames are kept (crop boxes differ per step).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._frames: dict[tuple[int, int], np.ndarray] = {}

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_frames"] = {}  # each process fills its own (decoding, not pickling)
        return state

    @property
    def cached_snippets(self) -> int:
        return len(self._frames)

    @property
    def cached_bytes(self) -> int:
        return sum(a.nbytes for a in self._frames.values())

    def read_video(self, n: int, m: int,
                   box: Optional[tuple[int, int, int]] = None) -> np.ndarray:
        """(T, H, W, 3) uint8 frames of snippet (n, m), or the square ``box = (top, left,
        size)`` of each; decoded on the first call, from memory afterwards."""
        full = self._frames.get((n, m))
        if full is None:
            full = super().read_video(n, m, None)
            full.setflags(write=False)
            self._frames[(n, m)] = full
        if box is None:
            return full.copy()
        top, left, size = box
        return np.ascontiguousarray(full[:, top:top + size, left:left + size])


def snippet_dataset_class(cfg: Any) -> type[SnippetDataset]:
    """The training dataset class for ``cfg``: the memory cache when ``data.memory_cache``."""
    return MemorySnippetDataset if getattr(cfg.data, "memory_cache", False) else SnippetDataset
