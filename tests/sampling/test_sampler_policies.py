"""Sampling units (titles / stitched shows), the short-title policy, errors and the config path."""

from __future__ import annotations

import logging

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from binge.config import ConfigError, SamplingConfig, load_config
from binge.sampling import HierarchicalBatchSampler, build_sampler, floyd_sample


def test_show_unit_stitches_episodes_and_maps_back_to_real_titles():
    # show "a" = titles 0 (3 snippets) + 2 (3 snippets); show "b" = titles 1 + 3
    lengths = [3, 4, 3, 4]
    groups = ["a", "b", "a", "b"]
    s = HierarchicalBatchSampler(lengths, batch_size=4, k=2, window=2, seed=0, groups=groups)
    assert s.unit_ids == ["a", "b"] and s.num_units == 2
    crossing = set()
    for step in range(300):
        batch = s.global_batch(0, step)
        assert {groups[t] for t, _ in batch[:2]} != {groups[t] for t, _ in batch[2:]}
        for g in (batch[:2], batch[2:]):
            (t0, m0), (t1, m1) = g
            assert groups[t0] == groups[t1]
            if t0 != t1:  # adjacent across the episode boundary: last of one, first of next
                crossing.add(((t0, m0), (t1, m1)))
            else:
                assert m1 == m0 + 1
    assert crossing == {((0, 2), (2, 0)), ((1, 3), (3, 0))}


def test_show_unit_with_empty_episode_maps_every_index():
    s = HierarchicalBatchSampler([2, 0, 3, 0], batch_size=5, k=5, groups=[0, 0, 0, 0])
    assert sorted(s.global_batch(0, 0)) == [(0, 0), (0, 1), (2, 0), (2, 1), (2, 2)]


def test_short_titles_skip_policy_excludes_and_logs(caplog):
    lengths = [1, 3, 10, 20, 6]
    with caplog.at_level(logging.INFO, logger="binge.sampling"):
        s = HierarchicalBatchSampler(lengths, batch_size=6, k=2, window=5, short_titles="skip")
    assert s.num_excluded == 2 and s.num_units == 3
    assert "excluded 2 of 5 titles with fewer than 5 snippets" in caplog.text
    titles = {t for step in range(100) for t, _ in s.global_batch(0, step)}
    assert titles == {2, 3, 4}
    assert len(s) == (10 + 20 + 6) // 6


def test_short_titles_shrink_window_keeps_titles_with_at_least_k():
    lengths = [1, 3, 10, 20]
    s = HierarchicalBatchSampler(lengths, batch_size=6, k=2, window=5,
                                 short_titles="shrink_window")
    assert s.num_excluded == 1  # only M_n = 1 < k
    titles = {t for step in range(100) for t, _ in s.global_batch(0, step)}
    assert titles == {1, 2, 3}


def test_too_few_titles_is_a_clear_error():
    with pytest.raises(ValueError, match="B/k = 3 distinct"):
        HierarchicalBatchSampler([1, 3, 10, 20], batch_size=6, k=2, window=5)
    with pytest.raises(ValueError, match="multiple of k"):
        HierarchicalBatchSampler([10, 10], batch_size=5, k=2)
    with pytest.raises(ValueError, match="world_size"):
        HierarchicalBatchSampler([10, 10], batch_size=4, k=1, world_size=3)
    with pytest.raises(ValueError, match="window"):
        HierarchicalBatchSampler([10, 10], batch_size=4, k=4, window=2)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        HierarchicalBatchSampler([2, 1], batch_size=4, k=1)


def test_floyd_sample_is_distinct_and_in_range():
    import numpy as np

    rng = np.random.default_rng(0)
    for n, k in [(1, 1), (5, 5), (1000, 3), (10, 0)]:
        out = floyd_sample(rng, n, k)
        assert len(set(out.tolist())) == k and all(0 <= x < n for x in out)
    with pytest.raises(ValueError):
        floyd_sample(rng, 3, 4)


def test_build_sampler_from_the_config_section():
    cfg = load_config(None, ["sampling.batch_size=8", "sampling.k=2", "sampling.window=4",
                             "sampling.unit=show", "sampling.steps_per_epoch=7"])
    s = build_sampler(cfg.sampling, [10, 10, 10, 10], groups=[0, 1, 2, 3], seed=3, rank=1,
                      world_size=2)
    assert (s.batch_size, s.k, s.window, s.rank, s.world_size, len(s)) == (8, 2, 4, 1, 2, 7)
    assert s.unit_kind == "show"
    with pytest.raises(ValueError, match="groups"):
        build_sampler(cfg.sampling, [10, 10, 10, 10])
    with pytest.raises(ConfigError, match="title_weighting"):
        load_config(None, ["sampling.title_weighting=random"])
    assert SamplingConfig().title_weighting == "length" and SamplingConfig().k == 1


class _Pairs(Dataset):
    def __getitem__(self, key):
        n, m = key
        return torch.tensor([n, m])

    def __len__(self):
        return 0


def test_works_as_a_dataloader_batch_sampler():
    s = HierarchicalBatchSampler([12, 9, 30, 5], batch_size=6, k=3, window=4, seed=1,
                                 rank=1, world_size=2, steps_per_epoch=5)
    s.set_epoch(2, start_step=1)
    loaded = [b.tolist() for b in DataLoader(_Pairs(), batch_sampler=s)]
    assert loaded == [[list(p) for p in s.batch(2, step)] for step in range(1, 5)]


def test_k1_ignores_the_window_inside_a_title():
    """k = 1: a window constrains nothing, so the snippet is uniform in its title."""
    from scipy.stats import chisquare

    s = HierarchicalBatchSampler([20, 30], batch_size=2, k=1, window=4, seed=8,
                                 short_titles="shrink_window")
    counts = {0: [0] * 20, 1: [0] * 30}
    for step in range(3000):
        for t, m in s.global_batch(0, step):
            counts[t][m] += 1
    assert chisquare(counts[0]).pvalue > 1e-3 and chisquare(counts[1]).pvalue > 1e-3


def test_groups_with_replacement_stay_pair_disjoint_or_fail_clearly():
    s = HierarchicalBatchSampler([4], batch_size=4, k=2, window=2, distinct_titles=False)
    outcomes = []
    for step in range(30):
        try:
            batch = s.global_batch(0, step)
        except RuntimeError as err:
            assert "lower sampling.batch_size" in str(err)
            outcomes.append("error")
        else:
            assert sorted(batch) == [(0, 0), (0, 1), (0, 2), (0, 3)]
            outcomes.append("ok")
    assert set(outcomes) == {"ok", "error"}  # {1, 2} drawn first leaves no adjacent pair
