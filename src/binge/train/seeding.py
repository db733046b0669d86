"""Determinism that survives DataLoader workers and resumption.

Augmentation randomness must not depend on which worker process loads a sample, nor on how
many samples that worker loaded before (a resumed run starts fresh workers in mid-epoch). So
every sample gets its own seed, a pure function of ``(seed, epoch, step, position in the global
batch)``, and is loaded with the global ``random``/``numpy``/``torch`` generators seeded from it;
the caller's generator states are restored afterwards, so loading in the main process
(``num_workers=0``) leaves the training process's RNG streams untouched.

:class:`KeyedBatchSampler` wraps the hierarchical sampler and appends that seed to each
``(title, snippet)`` pair; :class:`KeyedDataset` wraps the snippet dataset, seeds, and calls it
with the plain ``(title, snippet)`` pair of the contract (docs/architecture.md).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from binge.distributed import derive_seed

__all__ = ["sample_seed", "KeyedBatchSampler", "KeyedDataset", "warm_start_batches"]

#: stands in for the epoch in the sample seeds of the pass before the first step
WARM_START_EPOCH = 0x5741524D


def sample_seed(seed: int, epoch: int, step: int, position: int) -> int:
    """A 32-bit seed for one sample: NumPy's SeedSequence hash of the four integers."""
    return derive_seed(seed, epoch, step, position)


class KeyedBatchSampler:
    """Yields this rank's batches of ``(title, snippet, sample_seed)`` triples.

    ``sampler`` is a :class:`binge.sampling.HierarchicalBatchSampler`; call :meth:`set_epoch`
    (with ``start_step`` to resume) before iterating, as for the sampler itself.
    """

    def __init__(self, sampler: Any, seed: int) -> None:
        self.sampler = sampler
        self.seed = seed
        self.epoch = 0
        self.start_step = 0

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        self.sampler.set_epoch(epoch, start_step=start_step)
        self.epoch, self.start_step = epoch, start_step

    def __len__(self) -> int:
        return len(self.sampler) - self.start_step

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        per_rank = self.sampler.batch_size // self.sampler.world_size
        offset = self.sampler.rank * per_rank
        for step in range(self.start_step, len(self.sampler)):
            pairs = self.sampler.batch(self.epoch, step)
            yield [
                (int(n), int(m), sample_seed(self.seed, self.epoch, step, offset + i))
                for i, (n, m) in enumerate(pairs)
            ]


def warm_start_batches(
    counts: list[int], batch_size: int, seed: int, rank: int = 0, world_size: int = 1
) -> list[list[tuple[int, int, int]]]:
    """This rank's batches of ``(title, snippet, sample_seed)`` covering every snippet once.

    The snippets, in (title, snippet) order, are cut into global batches of ``batch_size``;
    each rank takes its consecutive block of every global batch, as in training, so W ranks
    gather exactly the rows of one process. A last global batch not divisible by W is padded
    by repeating its last entry (same seed, so the same sample). Every rank gets the same
    number of batches of the same sizes (collectives stay in lockstep).

    >>> warm_start_batches([2, 3], batch_size=4, seed=0, rank=1, world_size=2)[0][0][:2]
    (1, 0)
    """
    if batch_size % world_size:
        raise ValueError(f"batch size {batch_size} is not divisible by {world_size} ranks")
    pairs = [(n, m) for n, count in enumerate(counts) for m in range(count)]
    out = []
    for g, start in enumerate(range(0, len(pairs), batch_size)):
        keyed = [(n, m, sample_seed(seed, WARM_START_EPOCH, g, i))
                 for i, (n, m) in enumerate(pairs[start:start + batch_size])]
        keyed += keyed[-1:] * (-len(keyed) % world_size)
        per_rank = len(keyed) // world_size
        out.append(keyed[rank * per_rank:(rank + 1) * per_rank])
    return out


class KeyedDataset(Dataset):
    """``ds[(n, m, seed)]`` = ``inner[(n, m)]`` drawn with the global generators seeded by ``seed``,
    or ``inner[(n, m, seed)]`` when ``inner.seeds_from_key`` (it then draws from ``seed`` alone)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, key: tuple[int, int, int]) -> Any:
        n, m, seed = key
        if getattr(self.inner, "seeds_from_key", False):
            # the dataset draws only from a generator of its own seeded by `seed`
            # (SnippetDataset without a user transform): no global state to seed and restore
            return self.inner[(n, m, seed)]
        with _saved_global_rng():
            return _seeded_item(self.inner, n, m, seed)

    def __getitems__(self, keys: list[tuple[int, int, int]]) -> list[Any]:
        """``[self[key] for key in keys]``, sample by sample the same: what torch's DataLoader
        calls for a whole batch (``batch_sampler``).

        With ``inner.seeds_from_key`` the keys go to ``inner.__getitems__`` when it has one
        (:meth:`binge.data.SnippetDataset.__getitems__`: each phase of the batch in a tight
        loop). Otherwise each sample is still loaded with the global generators seeded by its
        own seed, but they are saved before the batch and restored after it, not around every
        sample: the same samples (each reseeds all three before it draws), the caller's
        streams untouched afterwards.
        """
        if getattr(self.inner, "seeds_from_key", False):
            batched = getattr(self.inner, "__getitems__", None)
            keys = [(n, m, seed) for n, m, seed in keys]
            return batched(keys) if batched is not None else [self.inner[k] for k in keys]
        with _saved_global_rng():
            return [_seeded_item(self.inner, n, m, seed) for n, m, seed in keys]


class _saved_global_rng:
    """Saves Python's, NumPy's and torch's CPU generator states; restores them on exit."""

    def __enter__(self) -> None:
        self._py, self._np = random.getstate(), np.random.get_state()
        self._torch = torch.random.get_rng_state()

    def __exit__(self, *exc: Any) -> None:
        random.setstate(self._py)
        np.random.set_state(self._np)
        torch.random.set_rng_state(self._torch)


def _seeded_item(inner: Any, n: int, m: int, seed: int) -> Any:
    """``inner[(n, m)]`` with Python's, NumPy's and torch's CPU generator seeded by ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    # the CPU generator only: torch.manual_seed would also queue CUDA/XPU/MTIA seeds,
    # formatting a stack trace each time (~25 % of a small read)
    torch.random.default_generator.manual_seed(seed)
    return inner[(n, m)]
