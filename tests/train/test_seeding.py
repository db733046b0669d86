"""Per-sample seeds: independent of worker and history, and the caller's RNG is untouched."""

from __future__ import annotations

import random

import numpy as np
import torch

from binge.sampling import HierarchicalBatchSampler
from binge.train.seeding import KeyedBatchSampler, KeyedDataset, sample_seed


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
