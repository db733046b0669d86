"""binge.demo's results table cells and the table against the floor, from results.json files
written as binge evaluate writes them (fast: no training)."""

from __future__ import annotations

import json
import math

import pytest

from binge import demo


def write_results(out, enc, name, top1s, num_test):
    folder = out / "eval" / enc / name
    folder.mkdir(parents=True)
    mean = sum(top1s) / len(top1s)
    std = (sum((t - mean) ** 2 for t in top1s) / (len(top1s) - 1)) ** 0.5 if len(top1s) > 1 else 0.0
    doc = {"splits": [{"split": i + 1, "top1": t, "num_test": num_test} for i, t in enumerate(top1s)],
           "summary": {"top1": {"mean": mean, "std": std, "n": len(top1s)}}}
    (folder / "results.json").write_text(json.dumps(doc))


def wilson(hits, n, z=1.959963984540054):
    """The Wilson score interval written out (Wilson 1927)."""
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_one_split_gets_its_wilson_interval_and_several_their_std(tmp_path):
    write_results(tmp_path, "k8", "fsdd", [271 / 300], 300)
    write_results(tmp_path, "k8", "world-sound", [0.9, 0.8, 1.0], 64)
    lo, hi = wilson(271, 300)
    one = demo._summary_value(json.loads((tmp_path / "eval/k8/fsdd/results.json").read_text()))
    assert one == f"90.3 [{100 * lo:.1f}, {100 * hi:.1f}] (1 split, 300 clips)"
    many = demo._summary_value(json.loads((tmp_path / "eval/k8/world-sound/results.json").read_text()))
    assert many == "90.0 ± 10.0 (3 splits)"
    assert demo._summary_value(None) == "n/a"


def test_floor_table_is_each_encoder_minus_random_init(tmp_path):
    jobs = [("world-action", "", tmp_path, "video"), ("fsdd", "", tmp_path, "audio")]
    write_results(tmp_path, "random", "world-action", [0.25, 0.30], 96)
    write_results(tmp_path, "random", "fsdd", [0.90], 300)
    write_results(tmp_path, "k8", "world-action", [0.60, 0.70], 96)
    write_results(tmp_path, "k8", "fsdd", [0.88], 300)
    write_results(tmp_path, "k1", "world-action", [0.5, 0.5], 96)  # no FSDD result for k1
    lines = demo.floor_table(tmp_path, ["random", "k1", "k8"], jobs).splitlines()
    assert lines[0] == "| encoder − random init | Δ world-action (points) | Δ fsdd (points) |"
    assert lines[2] == "| k = 1 | +22.5 | n/a |"
    assert lines[3] == f"| {demo.LABELS['k8']} | +37.5 | {100 * (0.88 - 0.90):+.1f} |"
    assert len(lines) == 4  # random init itself has no row
