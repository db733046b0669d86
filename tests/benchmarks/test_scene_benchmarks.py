"""benchmarks/scene_detection.py's cut matching and benchmarks/scene_sampling.py on the tiny
world (the numbers in docs/sampling.md and docs/study.md come from these scripts)."""

from __future__ import annotations

from conftest import load_benchmark


def test_match_cuts_is_one_to_one_within_tolerance_nearest_first():
    match = load_benchmark("scene_detection").match_cuts
    # 10.0 is nearest to 10.5, so 12.0 may not take it; 30 has no true cut within 3.2 s
    assert sorted(match([10.5, 12.0, 30.0], [10.0, 20.0], 3.2)) == [(0, 0)]
    assert sorted(match([9.0, 19.0], [10.0, 20.0], 3.2)) == [(0, 0), (1, 1)]
    assert match([], [1.0], 3.2) == [] and match([1.0], [], 3.2) == []


def test_scene_sampling_shares_follow_the_policies(tiny_world):
    rows = load_benchmark("scene_sampling").measure(tiny_world, 1.0, 2, 20, "skip", batch_size=8)
    assert not [r for r in rows if "error" in r]
    share = {r["policy"]: r["same_scene"] for r in rows}
    assert share["window: scene"] == 1.0  # skip: every group inside one scene
    assert share["scene_policy: distinct"] == 0.0  # two different scenes, always
    assert 0.0 < share["w = M_n"] < 1.0
