"""benchmarks/reproduction/discrepancy_curves.py: per-step paired differences of the discrepancy
measures across settings, from ``binge discrepancy --run``'s curves.json files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats


def write_curves(out, setting, seed, values):
    """values: step → (kl_neg_diff, gap)"""
    folder = out / f"{setting}_s{seed}"
    folder.mkdir(parents=True)
    points = [{"step": step, "kl_neg_pos": 0.0, "kl_diff_pos": 0.0, "kl_neg_diff": a, "gap": g}
              for step, (a, g) in values.items()]
    (folder / "curves.json").write_text(json.dumps({"run": str(folder), "points": points}))


def test_paired_differences_match_scipy_per_step(curves, tmp_path):
    rng = np.random.default_rng(0)
    ref = rng.uniform(0.05, 0.2, size=(4, 3))  # seed × step
    other = ref - rng.uniform(-0.02, 0.1, size=(4, 3))
    steps = [100, 200, 300]
    for seed in range(4):
        write_curves(tmp_path, "k1_wM", seed, {s: (ref[seed, i], 0.1) for i, s in enumerate(steps)})
        write_curves(tmp_path, "k8_wM", seed, {s: (other[seed, i], 0.2) for i, s in enumerate(steps)})
    points = {s: curves.load_points(tmp_path, s, list(range(4))) for s in ("k1_wM", "k8_wM")}
    records = curves.summarise(points, "k1_wM")
    for i, step in enumerate(steps):
        rec = next(r for r in records if r["setting"] == "k8_wM" and r["step"] == step
                   and r["measure"] == "kl_neg_diff")
        diffs = other[:, i] - ref[:, i]
        low, high = stats.ttest_rel(other[:, i], ref[:, i]).confidence_interval(0.95)
        got = rec["minus_reference"]
        assert got["mean"] == pytest.approx(diffs.mean())
        assert (got["low"], got["high"]) == pytest.approx((low, high))
        assert got["lower_in"] == int((diffs < 0).sum()) and got["seeds"] == 4
        assert rec["mean"] == pytest.approx(other[:, i].mean())
        assert rec["std"] == pytest.approx(other[:, i].std(ddof=1))
    assert all("minus_reference" not in r for r in records if r["setting"] == "k1_wM")
    text = curves.table(records, "k1_wM", steps)
    assert text.count("| 200 |") == 2  # one row per measure


def test_steps_missing_from_a_seed_are_left_out(curves, tmp_path):
    for seed in range(2):
        steps = {100: (0.1, 0.1), 200: (0.1, 0.1)} if seed == 0 else {100: (0.1, 0.1)}
        write_curves(tmp_path, "k1_wM", seed, steps)
    points = {"k1_wM": curves.load_points(tmp_path, "k1_wM", [0, 1])}
    assert {r["step"] for r in curves.summarise(points, "k1_wM")} == {100}


def test_a_run_without_checkpoints_is_named(curves, tmp_path):
    (tmp_path / "runs" / "k1_wM_s0").mkdir(parents=True)
    with pytest.raises(SystemExit, match="k1_wM_s0: no checkpoints"):
        curves.measure_runs(tmp_path, ["k1_wM_s0"], tmp_path / "out", [])


def test_finished_runs_are_not_measured_again(curves, tmp_path, monkeypatch):
    write_curves(tmp_path / "out", "k1_wM", 0, {100: (0.1, 0.1)})
    monkeypatch.setattr(curves.subprocess, "run", lambda *a, **k: pytest.fail("measured again"))
    curves.measure_runs(tmp_path, ["k1_wM_s0"], tmp_path / "out", [])


def test_endpoint_resolution_counts_intervals_containing_zero(curves, tmp_path):
    rows = [((0.0, 0.05), 0.03, 0.04), ((0.01, 0.2), 0.1, 0.02), ((-0.1, 0.1), 0.05, 0.01)]
    for i, (ci, value, bias) in enumerate(rows):
        folder = tmp_path / "runs" / f"r{i}" / "discrepancy" / "last"
        folder.mkdir(parents=True)
        doc = {k: value for k in ("kl_neg_diff", "gap")}
        doc["ci"] = {k: list(ci) for k in ("kl_neg_diff", "gap")}
        doc["bootstrap_bias"] = {k: bias for k in ("kl_neg_diff", "gap")}
        (folder / "discrepancy.json").write_text(json.dumps(doc))
    res = curves.endpoint_resolution(tmp_path)
    assert res["runs"] == 3
    assert res["kl_neg_diff"] == {"ci_contains_0": 2, "median": 0.05, "median_bootstrap_bias": 0.02}
    assert "contains 0 in 2/3 runs" in curves.endpoint_text(res)
    only = curves.endpoint_resolution(tmp_path, {"r1", "r2"})
    assert only["runs"] == 2 and only["kl_neg_diff"]["ci_contains_0"] == 1


def test_a_step_missing_from_one_reference_seed_is_not_paired(curves, tmp_path):
    for seed in range(2):
        write_curves(tmp_path, "k8_wM", seed, {100: (0.1, 0.1), 200: (0.1, 0.1)})
        ref = {100: (0.2, 0.2), 200: (0.2, 0.2)} if seed == 0 else {100: (0.2, 0.2)}
        write_curves(tmp_path, "k1_wM", seed, ref)
    points = {s: curves.load_points(tmp_path, s, [0, 1]) for s in ("k1_wM", "k8_wM")}
    records = [r for r in curves.summarise(points, "k1_wM") if r["setting"] == "k8_wM"]
    assert {r["step"]: "minus_reference" in r for r in records} == {100: True, 200: False}
