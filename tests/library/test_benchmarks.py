"""The library benchmarks run end to end at toy sizes (their figures are measured, not asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_search_speed_runs_and_full_probe_recall_is_exact():
    res = _load("search_speed").main(["--n", "3000", "--d", "32", "--clusters", "20",
                                      "--queries", "50", "--single", "3", "--nlist", "16",
                                      "--train", "1000", "--nprobe", "2", "16", "--threads", "1"])
    assert res["ivf"][-1]["recall_at_10"] == 1.0  # nprobe = nlist scans every cell: exact
    assert 0 <= res["ivf"][0]["recall_at_10"] <= 1


def test_embed_speed_runs_on_the_tiny_corpus(tiny_corpus, tiny_export):
    res = _load("embed_speed").main(["--corpus", str(tiny_corpus), "--checkpoint",
                                     str(tiny_export), "--read-snippets", "32",
                                     "--batch-size", "8"])
    from binge.data import SnippetDataset

    assert res["embed_snippets"] == len(SnippetDataset(tiny_corpus, crop_size=None))  # all
    assert res["embed_snippets_s"] > 0 and res["loader_read_snippets_s"] > 0
