"""The loader and sampler scale benchmarks run at toy sizes and report consistent figures."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import load_benchmark


def test_sampler_scale_epoch_formula_and_ratios():
    bench = load_benchmark("sampler_scale")
    out = bench.main(["--titles", "40", "--max-snippets", "400", "--batch", "64",
                      "--batches", "2"])
    assert out["total_snippets"] == 40 * 400
    assert [r["setting"] for r in out["rows"]] == list(bench.SETTINGS)
    for r in out["rows"]:
        assert r["steps_per_epoch"] == r["formula"] == 40 * 400 // 64
        assert r["retained_bytes"] > 0 and r["s_per_batch"] > 0
        assert r["vs_iid_numpy"] == pytest.approx(r["s_per_batch"] / out["iid_numpy_s_per_batch"])


def test_scenes_start_at_zero_and_stay_inside_titles():
    bench = load_benchmark("sampler_scale")
    lengths, scenes = bench.lengths_and_scenes(5, 300)
    for m, starts in zip(lengths, scenes):
        assert starts[0] == 0 and all(0 < s < m for s in starts[1:])
        assert np.all(np.diff(starts) >= 20) and np.all(np.diff(starts) <= 60)


@pytest.mark.slow
def test_many_titles_small(tmp_path):
    bench = load_benchmark("many_titles")
    out = bench.main(["--geometry", "small", "--titles", "12", "--title-seconds", "20",
                      "--snippets", "24", "--batch", "32", "--rounds", "1",
                      "--work", str(tmp_path)])
    cpu = out["per_cpu_s"]
    assert set(cpu) == {"decode-only", "index read_video k=1", "full loader k=16",
                        "full loader k=1", "per item k=1", "no index k=16", "no index k=1"}
    assert out["k1_over_k16"] == pytest.approx(cpu["full loader k=1"] / cpu["full loader k=16"])
    assert out["full_k16_over_decode"] == pytest.approx(cpu["full loader k=16"]
                                                        / cpu["decode-only"])
    # the corpus without the index really has none, the other has one per title
    assert not list((tmp_path / "many_small_12_noindex").rglob("*.pkt"))
    assert len(list((tmp_path / "many_small_12").rglob("*.pkt"))) == 12


def test_sampler_keys_follow_k(tmp_path):
    bench = load_benchmark("many_titles")
    keys16 = bench.sampler_keys([40] * 20, 16, 32, 64)
    keys1 = bench.sampler_keys([40] * 20, 1, 32, 64)
    assert len(keys16) == len(keys1) == 64
    # k = 16: each batch of 32 holds 2 titles × 16 snippets; k = 1 spreads over many titles
    assert len({n for n, _, _ in keys16[:32]}) == 2
    assert len({n for n, _, _ in keys1[:32]}) > 2


@pytest.mark.slow
def test_title_length_small(tmp_path):
    bench = load_benchmark("title_length")
    out = bench.main(["--geometry", "small", "--long-minutes", "1", "--short-minutes", "0.25",
                      "--snippets", "8", "--rounds", "1", "--work", str(tmp_path),
                      "--former-audio"])
    assert out["snippets"] == {"short": 15, "long": 60}
    assert set(out["former_prepare_peak_rss"]) == {"short", "long"}
    rss = out["prepare_peak_rss"]
    assert rss["short"] > out["import_only_peak_rss"] / 2 and rss["long"] > 0
    assert out["prepare_rss_long_over_short"] == pytest.approx(rss["long"] / rss["short"])
    names = list(out["per_cpu_s"])
    assert out["read_long_over_short_index"] == pytest.approx(
        out["per_cpu_s"][names[2]] / out["per_cpu_s"][names[0]])
