"""Property tests of the scene policies (``window="scene"``, ``scene_policy="distinct"``).

Random corpora with random scene layouts; every batch is checked against a reference built
here from the inputs alone: each pair's scene is found by bisecting its own title's scene
starts, units are rebuilt from the groups, and the short-scene policy is recomputed.
"""

from __future__ import annotations

import bisect
import logging

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from binge.config import ConfigError, SamplingConfig, apply_overrides, from_dict
from binge.sampling import HierarchicalBatchSampler, build_sampler


@st.composite
def scene_corpora(draw, policy: str):
    n = draw(st.integers(1, 20))
    lengths = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    scenes = []
    for m in lengths:
        cuts = draw(st.sets(st.integers(1, max(1, m - 1)), max_size=8)) if m > 1 else set()
        scenes.append([0] + sorted(c for c in cuts if c < m) if m > 0 else [])
    k = draw(st.integers(1, 4))
    world = draw(st.sampled_from([1, 2, 3]))
    batch = k * world * draw(st.integers(1, 3))
    use_groups = draw(st.booleans())
    groups = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)) if use_groups else None
    return dict(
        snippets_per_title=lengths, scenes=scenes, batch_size=batch, k=k, world_size=world,
        seed=draw(st.integers(0, 2**31)), groups=groups,
        title_weighting=draw(st.sampled_from(["uniform", "length"])),
        short_titles=draw(st.sampled_from(["skip", "shrink_window"])),
        distinct_titles=draw(st.sampled_from([None, True] + ([False] if k == 1 else []))),
        **({"window": "scene"} if policy == "scene" else {"scene_policy": "distinct"}),
    )


def make(args):
    try:
        return HierarchicalBatchSampler(**args)
    except ValueError as err:  # too few eligible units for one batch: a documented refusal
        if "batch" not in str(err):
            raise
        assume(False)


def scene_of(args, title, snippet):
    """(title, scene) id of a pair, and that scene's snippet count."""
    starts = args["scenes"][title]
    j = bisect.bisect_right(starts, snippet) - 1
    end = starts[j + 1] if j + 1 < len(starts) else args["snippets_per_title"][title]
    return (title, j), end - starts[j]


def unit_layout(args):
    """unit id per title, each title's offset in its stitched unit, and unit lengths."""
    lengths, groups = args["snippets_per_title"], args["groups"]
    unit_of = list(range(len(lengths))) if groups is None else list(groups)
    offset, acc = [0] * len(lengths), {}
    for t, u in enumerate(unit_of):
        offset[t] = acc.get(u, 0)
        acc[u] = offset[t] + lengths[t]
    return unit_of, offset, acc


def check_common(args, s, step):
    k, world = args["k"], args["world_size"]
    full = s.global_batch(0, step)
    assert len(full) == args["batch_size"] and len(set(full)) == len(full)
    # ranks: contiguous slices whose concatenation is the global batch
    per_rank = [HierarchicalBatchSampler(**{**args, "rank": r}).batch(0, step)
                for r in range(world)]
    assert sum(per_rank, []) == full
    # determinism: a fresh sampler gives the same batch
    assert HierarchicalBatchSampler(**args).global_batch(0, step) == full
    unit_of, offset, unit_len = unit_layout(args)
    groups = [full[i:i + k] for i in range(0, len(full), k)]
    for g in groups:
        assert len({unit_of[t] for t, _ in g}) == 1
        for t, m in g:
            assert 0 <= m < args["snippets_per_title"][t]
    return groups, unit_of, offset, unit_len


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(scene_corpora("scene"), st.integers(0, 50))
def test_window_scene_groups_lie_in_one_scene(args, step):
    s = make(args)
    k = args["k"]
    groups, unit_of, offset, unit_len = check_common(args, s, step)
    for g in groups:
        ids = [scene_of(args, t, m) for t, m in g]
        if len({i for i, _ in ids}) == 1:
            assert ids[0][1] >= k or args["short_titles"] == "shrink_window"
            continue
        # only shrink_window may leave one scene: k consecutive snippets of the unit that
        # hold every snippet of a scene shorter than k
        assert args["short_titles"] == "shrink_window" and k > 1
        pos = [offset[t] + m for t, m in g]
        assert pos == list(range(pos[0], pos[0] + k))
        whole = [i for i, n in ids if n < k and sum(1 for j, _ in ids if j == i) == n]
        assert whole, (g, ids)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(scene_corpora("distinct"), st.integers(0, 50))
def test_scene_distinct_groups_span_k_scenes(args, step):
    s = make(args)
    k = args["k"]
    groups, unit_of, offset, unit_len = check_common(args, s, step)
    scenes_in_unit: dict = {}
    for t, u in enumerate(unit_of):
        scenes_in_unit[u] = scenes_in_unit.get(u, 0) + len(args["scenes"][t])
    for g in groups:
        ids = {scene_of(args, t, m)[0] for t, m in g}
        u = unit_of[g[0][0]]
        if scenes_in_unit[u] >= k:
            assert len(ids) == k
        else:  # the documented fallback: only under shrink_window, as w = M_n
            assert args["short_titles"] == "shrink_window"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.sampled_from(["scene", "distinct"]).flatmap(scene_corpora))
def test_exclusions_match_the_reference(args):
    s = make(args)
    k, shrink = args["k"], args["short_titles"] == "shrink_window"
    unit_of, offset, unit_len = unit_layout(args)
    units = sorted(set(unit_of), key=unit_of.index)
    excluded = 0
    for u in units:
        titles = [t for t in range(len(unit_of)) if unit_of[t] == u]
        sizes = [scene_of(args, t, m)[1] for t in titles for m in args["scenes"][t]]
        if unit_len[u] < k:
            excluded += 1
        elif args.get("window") == "scene" and not shrink and max(sizes, default=0) < k:
            excluded += 1
        elif args.get("scene_policy") == "distinct" and not shrink and len(sizes) < k:
            excluded += 1
    assert s.num_excluded == excluded and s.num_units == len(units) - excluded


def test_exclusions_are_counted_in_the_log(caplog):
    # title 0: scenes of 2 + 1 snippets (none ≥ k=3); title 1: one scene of 5; title 2: 3 + 3
    lengths, scenes = [3, 5, 6], [[0, 2], [0], [0, 3]]
    with caplog.at_level(logging.INFO, logger="binge.sampling"):
        s = HierarchicalBatchSampler(lengths, batch_size=3, k=3, window="scene", scenes=scenes)
    assert s.num_excluded == 1 and s.num_short_scenes == 2
    assert "excluded 1 of 3 titles with fewer than 3 snippets in one scene" in caplog.text
    assert "2 of 5 scenes have fewer than k=3 snippets (never drawn)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="binge.sampling"):
        s = HierarchicalBatchSampler(lengths, batch_size=2, k=2, scene_policy="distinct",
                                     scenes=scenes, short_titles="shrink_window")
    assert s.num_excluded == 0 and s.num_few_scene_units == 1
    assert "1 titles have fewer than k=2 scenes (drawn as w = M_n)" in caplog.text


def test_show_unit_keeps_scene_ids_per_episode():
    # show "a": episodes 0 and 2, each one scene of 4 snippets; a scene never crosses them
    lengths, groups, scenes = [4, 6, 4], ["a", "b", "a"], [[0], [0, 3], [0]]
    s = HierarchicalBatchSampler(lengths, batch_size=4, k=4, window="scene", scenes=scenes,
                                 groups=groups, distinct_titles=False)
    assert s.num_scenes == 4
    seen = set()
    for step in range(200):
        batch = s.global_batch(0, step)
        assert len({t for t, _ in batch}) == 1  # one scene = one episode
        seen.add(batch[0][0])
    assert seen == {0, 2}  # show "b" has no scene of 4 snippets: excluded


def test_scene_is_drawn_in_proportion_to_its_length():
    # one title, scenes of 2, 6 and 12 snippets; k = 2: P(scene) = 2/20, 6/20, 12/20
    s = HierarchicalBatchSampler([20], batch_size=2, k=2, window="scene",
                                 scenes=[[0, 2, 8]], distinct_titles=False)
    counts = np.zeros(3)
    for step in range(4000):
        (_, m0), _ = s.global_batch(0, step)
        counts[np.searchsorted([0, 2, 8], m0, side="right") - 1] += 1
    expected = 4000 * np.array([2, 6, 12]) / 20
    assert np.all(np.abs(counts - expected) < 4 * np.sqrt(expected))


def test_memory_is_one_number_per_title_and_per_scene():
    lengths = [100] * 50
    scenes = [list(range(0, 100, 10))] * 50
    s = HierarchicalBatchSampler(lengths, batch_size=8, k=4, window="scene", scenes=scenes)
    arrays = [v for v in vars(s).values() if isinstance(v, np.ndarray)]
    assert max(a.size for a in arrays) <= 50 * 10 + 1


def test_bad_scene_arguments_are_refused():
    with pytest.raises(ValueError, match="need the titles' scenes"):
        HierarchicalBatchSampler([10], batch_size=2, k=2, window="scene")
    with pytest.raises(ValueError, match="set window to None"):
        HierarchicalBatchSampler([10], batch_size=2, k=2, window=4, scene_policy="distinct",
                                 scenes=[[0]])
    with pytest.raises(ValueError, match="ascending snippet starts"):
        HierarchicalBatchSampler([10], batch_size=2, k=2, window="scene", scenes=[[1, 5]])
    with pytest.raises(ValueError, match="'scene'"):
        HierarchicalBatchSampler([10], batch_size=2, k=2, window="shot", scenes=[[0]])


def test_config_path_builds_the_scene_sampler():
    cfg = from_dict(SamplingConfig, apply_overrides({}, ["k=2", "batch_size=4", "window=scene"]))
    assert cfg.window == "scene"
    s = build_sampler(cfg, [6, 6], scenes=[[0, 3], [0]])
    assert s.window == "scene" and s.num_scenes == 3
    cfg = from_dict(SamplingConfig, apply_overrides({}, ["k=2", "batch_size=4",
                                                        "scene_policy=distinct"]))
    s = build_sampler(cfg, [6, 6], scenes=[[0, 3], [0, 2, 4]])
    assert s.scene_policy == "distinct"
    with pytest.raises(ConfigError, match="window"):
        from_dict(SamplingConfig, {"window": "shot"}, "sampling")
