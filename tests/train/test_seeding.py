"""The warm-start pass's batches (binge.train.seeding.warm_start_batches)."""

from __future__ import annotations

import pytest

from binge.train.seeding import warm_start_batches

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
