"""benchmarks/reproduction/avid_init_similarity.py on the tiny world corpus: its cosines agree
with a direct computation from the printed definition, and it refuses a non-AVID config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import load_script

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "objectives" / "avid_self_tiny.yaml"


def test_prints_cosines_and_both_partition_estimates(tiny_corpus, capsys):
    load_script("avid_init_similarity").main(
        ["--config", str(CONFIG), f"data.corpus={tiny_corpus}", "sampling.batch_size=8",
         "augment.crop_size=32"])
    out = capsys.readouterr().out
    rows = re.findall(r"(video|audio): cosine between snippets mean (\S+), min (\S+); "
                      r"Z̄ against the random bank (\S+), against real features (\S+)", out)
    assert [r[0] for r in rows] == ["video", "audio"], out
    for _, mean, low, z_random, z_real in rows:
        assert -1 <= float(low) <= float(mean) <= 1
        # exp(s/τ) is convex: Z̄ over real features is at least exp(mean cosine / τ)
        assert float(z_real) >= 0.99 * min(1e300, 2.718281828 ** (float(mean) / 0.07))
        assert float(z_random) > 0
    cross = re.search(r"video·audio: cosine between snippets mean (\S+)", out)
    assert cross and -1 <= float(cross.group(1)) <= 1


def test_refuses_an_objective_without_a_bank(tiny_corpus):
    with pytest.raises(SystemExit):
        load_script("avid_init_similarity").main(
            ["--config", str(CONFIG), f"data.corpus={tiny_corpus}", "objective.name=nce"])
