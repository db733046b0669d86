"""``loader_speed.py --corpus`` runs on the tiny corpus and reports ratios of its own rows."""

from __future__ import annotations

import pytest

from conftest import load_benchmark


def test_corpus_loader_reports_consistent_ratios(tiny_corpus):
    bench = load_benchmark("loader_speed")
    out = bench.corpus_loader(tiny_corpus, k=1, snippets=40, rounds=2, profile=0, batch=8)
    cpu = out["per_cpu_s"]
    assert set(cpu) == {"decode-only", "read_video", "full loader", "full loader, per item",
                        "full loader + collate", "full loader, global seeding"}
    assert all(v > 0 for v in cpu.values())
    assert out["full_over_decode"] == pytest.approx(cpu["full loader"] / cpu["decode-only"])
    assert out["per_item_over_decode"] == pytest.approx(cpu["full loader, per item"]
                                                        / cpu["decode-only"])
    assert out["collate_over_decode"] == pytest.approx(cpu["full loader + collate"]
                                                       / cpu["decode-only"])
