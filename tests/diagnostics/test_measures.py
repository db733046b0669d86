"""The measures on embeddings built with a known title effect (paper §3, after Eq. 2)."""

from __future__ import annotations

import numpy as np
import pytest

from binge.config import DiscrepancyConfig
from binge.diagnostics import (
    SimilaritySpec,
    discrepancy_measures,
    kl_divergence,
    pair_similarities,
    sample_pairs,
    select_snippets,
)

CFG = DiscrepancyConfig(max_titles=40, snippets_per_title=12, max_pairs_per_set=5000, bootstrap=100)


def synthetic(title_scale: float, seed: int = 0, d: int = 16):
    """z = title part t_n (scale ``title_scale``) + snippet part s_{n,m} + per-modality noise."""
    sel = select_snippets([30] * 50, CFG.max_titles, CFG.snippets_per_title, CFG.seed)
    rng = np.random.default_rng(seed)
    t = rng.normal(size=(50, d)) * title_scale
    s = rng.normal(size=(len(sel), d))
    zv = t[sel.titles] + s + 0.5 * rng.normal(size=s.shape)
    za = t[sel.titles] + s + 0.5 * rng.normal(size=s.shape)
    return sel, zv, za


def measures(title_scale: float, spec=SimilaritySpec()):
    sel, zv, za = synthetic(title_scale)
    pairs = sample_pairs(sel, CFG.max_pairs_per_set, CFG.seed)
    sims = pair_similarities(zv, za, sel, pairs, spec)
    return sims, discrepancy_measures(sims, CFG)


def test_iid_titles_give_equal_negatives():
    """No title effect: S− and S≠ are one distribution, KL(S−‖S≠) ≈ 0, gap ≈ 0."""
    _, r = measures(title_scale=0.0)
    assert r["kl_neg_diff"] < 0.05
    assert abs(r["gap"]) < 0.1
    assert r["ci"]["gap"][0] < 0 < r["ci"]["gap"][1]  # the interval covers the true 0
    assert r["kl_neg_pos"] > 1.0  # true pairs are far more similar than either negative


def test_title_effect_makes_same_title_negatives_harder():
    """Same-title pairs share t_n: S− sits closer to S+ than S≠ does, as the paper reports."""
    _, r = measures(title_scale=1.0)
    assert r["kl_neg_pos"] < r["kl_diff_pos"]
    assert r["ci"]["gap"][0] > 0  # the whole interval of the gap is above 0
    assert r["kl_neg_diff"] > 0.3 and r["ci"]["kl_neg_diff"][0] > 0.1


def test_measures_are_kl_of_the_pair_sets():
    sims, r = measures(title_scale=0.7)
    v = sims.values
    assert r["kl_neg_pos"] == pytest.approx(kl_divergence(v["neg"], v["pos"]))
    assert r["kl_diff_pos"] == pytest.approx(kl_divergence(v["diff"], v["pos"]))
    assert r["kl_neg_diff"] == pytest.approx(kl_divergence(v["neg"], v["diff"]))
    assert r["gap"] == pytest.approx(r["kl_diff_pos"] - r["kl_neg_pos"])
    for key in ("kl_neg_pos", "kl_diff_pos", "kl_neg_diff", "gap"):
        lo, hi = r["ci"][key]
        assert lo <= hi and lo - 0.05 <= r[key] <= hi + 0.05
    assert r["pairs"]["pos"]["count"] == 40 * 12
    assert r["pairs"]["neg"]["total"] == 40 * 12 * 11
    assert r["pairs"]["diff"]["count"] == CFG.max_pairs_per_set


def test_similarities_are_the_objectives():
    """Dot product of z_v and z_a, or cosine / τ for the ℓ2-normalised variant (Table 2)."""
    sel, zv, za = synthetic(0.5)
    pairs = sample_pairs(sel, 300, 0)
    dot = pair_similarities(zv, za, sel, pairs, SimilaritySpec())
    cos = pair_similarities(zv, za, sel, pairs, SimilaritySpec(normalize=True, temperature=0.07))
    for name, ps in pairs.items():
        a, b = zv[ps.video_rows], za[ps.audio_rows]
        assert np.allclose(dot.values[name], (a * b).sum(1))
        ref = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1) / 0.07
        assert np.allclose(cos.values[name], ref)


def test_bootstrap_is_deterministic_and_knn_needs_no_bootstrap():
    _, a = measures(0.5)
    _, b = measures(0.5)
    assert a["ci"] == b["ci"]
    sel, zv, za = synthetic(0.5)
    sims = pair_similarities(zv, za, sel, sample_pairs(sel, 2000, 0), SimilaritySpec())
    with pytest.raises(ValueError, match="bootstrap"):
        discrepancy_measures(sims, DiscrepancyConfig(estimator="knn"))
    r = discrepancy_measures(sims, DiscrepancyConfig(estimator="knn", bootstrap=0))
    assert r["kl_neg_pos"] < r["kl_diff_pos"] and "ci" not in r


def test_bootstrap_replicate_equals_explicitly_resampled_titles():
    """One replicate = the KL of the pair sets rebuilt from titles drawn with replacement
    (S+/S− pairs repeated w_n times, S≠ pairs w_n·w_n' times), on the point estimate's grid."""
    from dataclasses import replace

    from binge.diagnostics.kl import histogram_grid

    sims, _ = measures(title_scale=0.5)
    cfg = replace(CFG, bootstrap=1)
    r = discrepancy_measures(sims, cfg)
    titles = np.unique(sims.video_units["pos"])
    w = np.random.default_rng([cfg.seed, 2]).multinomial(titles.size, np.full(titles.size, 1 / titles.size))
    mult = dict(zip(titles.tolist(), w.tolist()))
    rebuilt = {}
    for s in ("pos", "neg", "diff"):
        vt, at = sims.video_units[s], sims.audio_units[s]
        reps = [mult[a] * (mult[b] if s == "diff" else 1) for a, b in zip(vt, at)]
        rebuilt[s] = np.repeat(sims.values[s], reps)
    for key, (p, q) in {"kl_neg_pos": ("neg", "pos"), "kl_diff_pos": ("diff", "pos"),
                        "kl_neg_diff": ("neg", "diff")}.items():
        grid = histogram_grid(sims.values[p], sims.values[q])
        cp = np.bincount(grid.bin_index(rebuilt[p]), minlength=grid.num_bins)
        cq = np.bincount(grid.bin_index(rebuilt[q]), minlength=grid.num_bins)
        pp, qq = (cp + 0.5) / (cp + 0.5).sum(), (cq + 0.5) / (cq + 0.5).sum()
        replicate = float(np.sum(pp * np.log(pp / qq)))
        # one replicate: the basic interval is [2θ̂ − r, 2θ̂ − r] (before clipping at 0)
        assert r["ci"][key][1] == pytest.approx(max(2 * r[key] - replicate, 0.0), abs=1e-9)
