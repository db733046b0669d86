"""Per-sample seeds: independent of worker and history, and the caller's RNG is untouched;
the warm-start pass's batches (``warm_start_batches``)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from binge.sampling import HierarchicalBatchSampler
from binge.train.seeding import KeyedBatchSampler, KeyedDataset, sample_seed, warm_start_batches


class RandomAugment:
    """A dataset whose samples draw from the three global generators, as augmentations do."""

    def __len__(self):
        return 1

    def __getitem__(self, pair):
        n, m = pair
        return (n, m, random.random(), float(np.random.rand()), float(torch.rand(())))


def test_sample_seed_is_a_pure_function():
    assert sample_seed(0, 1, 2, 3) == sample_seed(0, 1, 2, 3)
    seeds = {sample_seed(0, e, s, i) for e in range(3) for s in range(5) for i in range(8)}
    assert len(seeds) == 3 * 5 * 8


def test_keyed_dataset_is_deterministic_and_leaves_global_rng_alone():
    ds = KeyedDataset(RandomAugment())
    torch.manual_seed(5)
    expected_next = torch.rand(2)
    torch.manual_seed(5)
    a = ds[(1, 2, 123)]
    _ = ds[(3, 4, 999)]  # history must not matter
    assert torch.equal(torch.rand(2), expected_next)
    assert ds[(1, 2, 123)] == a
    assert ds[(1, 2, 124)] != a


def test_keyed_batches_resume_and_split_across_ranks():
    lengths = [30, 20, 50, 10]
    one = KeyedBatchSampler(HierarchicalBatchSampler(lengths, 8, 2, seed=3), seed=3)
    one.set_epoch(1)
    full = list(one)
    resumed = KeyedBatchSampler(HierarchicalBatchSampler(lengths, 8, 2, seed=3), seed=3)
    resumed.set_epoch(1, start_step=2)
    assert list(resumed) == full[2:]
    ranks = []
    for r in range(2):
        s = KeyedBatchSampler(HierarchicalBatchSampler(lengths, 8, 2, seed=3, rank=r, world_size=2), seed=3)
        s.set_epoch(1)
        ranks.append(list(s))
    assert [a + b for a, b in zip(*ranks)] == full


COUNTS = [3, 5, 2, 4]  # 14 snippets


def _flat(batches):
    return [key for batch in batches for key in batch]


def test_one_process_sees_every_snippet_once_in_order():
    batches = warm_start_batches(COUNTS, batch_size=4, seed=7)
    assert [len(b) for b in batches] == [4, 4, 4, 2]
    pairs = [(n, m) for n, m, _ in _flat(batches)]
    assert pairs == [(n, m) for n, c in enumerate(COUNTS) for m in range(c)]
    assert len({s for _, _, s in _flat(batches)}) == 14  # a seed per sample


@pytest.mark.parametrize("world", [2, 4])
def test_ranks_blocks_rebuild_the_global_batches(world):
    """Rank r's batch g is the r-th block of global batch g: gathered in rank order, W ranks
    hold the rows of one process (the last batch padded with its last entry)."""
    single = warm_start_batches(COUNTS, batch_size=4, seed=7)
    ranks = [warm_start_batches(COUNTS, 4, 7, rank=r, world_size=world) for r in range(world)]
    assert len({len(r) for r in ranks}) == 1
    for g, want in enumerate(single):
        gathered = [key for r in ranks for key in r[g]]
        assert len({len(r[g]) for r in ranks}) == 1, "ranks must stay in lockstep"
        assert gathered[: len(want)] == want
        assert all(key == want[-1] for key in gathered[len(want):])


def test_batch_not_divisible_by_ranks_is_refused():
    with pytest.raises(ValueError, match="divisible"):
        warm_start_batches(COUNTS, batch_size=6, seed=0, world_size=4)
