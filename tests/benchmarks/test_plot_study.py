"""benchmarks/reproduction/plot_study.py draws the study's figures from study.json rows."""

from __future__ import annotations

import json
import statistics

import matplotlib.image as mpimg


def rows():
    out = [{"setting": "random_init", "seed": s, "world-action": 20.0 + s, "world-sound": 60.0,
            "kl_neg_pos": None, "kl_diff_pos": None, "kl_neg_diff": None, "gap": None}
           for s in range(2)]
    for k in (1, 4, 16):
        out += [{"setting": f"k{k}_wM", "seed": s, "world-action": 10.0 + k + s,
                 "world-sound": 50.0 + s, "kl_neg_pos": 0.1 * k, "kl_diff_pos": 0.2,
                 "kl_neg_diff": 0.3, "gap": 0.1} for s in range(2)]
    for k, sigma in ((1, 0.5), (1, 1.0), (16, 1.0)):
        out += [{"setting": f"k{k}_jitter{sigma}", "seed": s, "world-action": 12.0 + s,
                 "world-sound": 55.0, "kl_neg_pos": 0.1, "kl_diff_pos": 0.2,
                 "kl_neg_diff": 0.2 * sigma, "gap": 0.1} for s in range(2)]
    return out


def test_jitter_series_start_at_the_plain_run_and_sort_by_sigma(plot):
    group = plot.by_setting(rows())
    assert plot.jitter_settings(group, 1) == [(0.0, "k1_wM"), (0.5, "k1_jitter0.5"),
                                              (1.0, "k1_jitter1.0")]
    assert plot.jitter_settings(group, 16) == [(0.0, "k16_wM"), (1.0, "k16_jitter1.0")]
    assert plot.jitter_settings(group, 4) == [(0.0, "k4_wM")]
    assert plot.jitter_ks(group) == [1, 16]
    micro = plot.by_setting([{"setting": n, "seed": 0} for n in ("k8_wM", "k8_jitter0.5", "k1_jitter1.0")])
    assert plot.jitter_ks(micro) == [1, 8]  # the micro budget's large k is 8


def test_mean_std_skips_missing_values_and_uses_sample_std(plot):
    group = plot.by_setting(rows())
    assert plot.mean_std(group["k4_wM"], "world-action") == (14.5, statistics.stdev([14.0, 15.0]))
    mean, sd = plot.mean_std(group["random_init"], "kl_neg_pos")
    assert mean != mean and sd != sd  # NaN: the floor has no discrepancy


def test_figures_are_written_from_study_json(tmp_path, plot):
    study = tmp_path / "study.json"
    study.write_text(json.dumps(rows()))
    plot.main(["--study", str(study), "--out", str(tmp_path / "figs")])
    for name in ("k.png", "jitter.png", "settings.png"):
        image = mpimg.imread(tmp_path / "figs" / name)
        assert image.ndim == 3 and image.shape[0] > 100 and image.std() > 0
