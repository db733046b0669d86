"""The discrepancy measures of paper §3 (after Eq. 2) with bootstrap intervals over titles.

Given embeddings z_v, z_a of K snippets and the pair sets of :mod:`.pairs`, the similarity of a
pair is the one the objective used: ``(z_v^{n,m})ᵀ z_a^{n',m'}`` in the unnormalized space of
Eq. 1, or ``cos(z_v, z_a) / τ`` for the ℓ2-normalized variant (paper §4.2, Table 2). Reported:

- ``kl_neg_pos``  = KL(S− ‖ S+), ``kl_diff_pos`` = KL(S≠ ‖ S+), ``kl_neg_diff`` = KL(S− ‖ S≠),
- ``gap``         = KL(S≠ ‖ S+) − KL(S− ‖ S+),

the last two being the paper's *discrepancy measures*. Uncertainty: ``bootstrap`` replicates
draw the T selected titles with replacement (multiplicities w_n); a pair of S+ or S− counts
w_n times and a pair of S≠ w_n·w_n' times, on the same histogram grid as the point estimate.
Intervals are *basic* (reverse-percentile) intervals ``[2θ̂ − q_{1−α/2}, 2θ̂ − q_{α/2}]`` at
level ``confidence``: a plug-in KL is biased upwards, more so on replicates (repeated titles make
the histograms lumpier), and the basic interval carries that shift back instead of reporting an
interval that can miss the point estimate; KL bounds are clipped at 0. The bootstrap bias
``mean(replicates) − θ̂`` is reported too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from binge.config import DiscrepancyConfig
from binge.diagnostics.kl import histogram_grid, kl_divergence, kl_from_counts
from binge.diagnostics.pairs import PAIR_SETS, PairSet, SnippetSelection
from binge.objectives.base import SimilaritySpec  # the objectives own it (Objective.similarity)

__all__ = ["SimilaritySpec", "PairSimilarities", "pair_similarities", "discrepancy_measures", "KL_TERMS"]

#: measure key → (P set, Q set, label) for KL(P ‖ Q).
KL_TERMS: dict[str, tuple[str, str, str]] = {
    "kl_neg_pos": ("neg", "pos", "KL(S− ‖ S+)"),
    "kl_diff_pos": ("diff", "pos", "KL(S≠ ‖ S+)"),
    "kl_neg_diff": ("neg", "diff", "KL(S− ‖ S≠)"),
}


@dataclass(frozen=True)
class PairSimilarities:
    """Similarities of each set, with the unit (video side, audio side) of every pair."""

    values: dict[str, np.ndarray]  # set → (P,) float64
    video_units: dict[str, np.ndarray]  # set → (P,) unit (title n, or show) of the video
    audio_units: dict[str, np.ndarray]  # set → (P,) unit of the audio
    totals: dict[str, int]  # set → size of the full set before subsampling


def pair_similarities(
    z_video: np.ndarray,
    z_audio: np.ndarray,
    selection: SnippetSelection,
    pairs: dict[str, PairSet],
    spec: SimilaritySpec,
    chunk: int = 4096,
) -> PairSimilarities:
    """Similarity of every sampled pair; z_video, z_audio are (K, d), rows as ``selection``."""
    zv = np.asarray(z_video, dtype=np.float64)
    za = np.asarray(z_audio, dtype=np.float64)
    if zv.shape != za.shape or zv.shape[0] != len(selection):
        raise ValueError(
            f"embeddings {zv.shape} / {za.shape} do not match the {len(selection)} selected rows"
        )
    if spec.normalize:
        if spec.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {spec.temperature}")
        zv = zv / np.maximum(np.linalg.norm(zv, axis=1, keepdims=True), 1e-12)
        za = za / np.maximum(np.linalg.norm(za, axis=1, keepdims=True), 1e-12)
    values, vt, at, totals = {}, {}, {}, {}
    for name, ps in pairs.items():
        out = np.empty(len(ps))
        for s in range(0, len(ps), chunk):  # bounded memory: chunk × d at a time
            rv, ra = ps.video_rows[s : s + chunk], ps.audio_rows[s : s + chunk]
            out[s : s + chunk] = np.einsum("pd,pd->p", zv[rv], za[ra])
        values[name] = out / spec.temperature if spec.normalize else out
        vt[name] = selection.units[ps.video_rows]
        at[name] = selection.units[ps.audio_rows]
        totals[name] = ps.total
    return PairSimilarities(values, vt, at, totals)


def _summary(x: np.ndarray) -> dict[str, float]:
    q = np.percentile(x, [5, 50, 95])
    return {"mean": float(x.mean()), "std": float(x.std()), "p05": float(q[0]),
            "median": float(q[1]), "p95": float(q[2])}


def _bootstrap(
    sims: PairSimilarities, cfg: DiscrepancyConfig, grids: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Replicate values of every KL term and of the gap (resampling titles, module doc)."""
    titles = np.unique(sims.video_units["pos"])  # every selected unit has its S+ pairs
    index = {s: (np.searchsorted(titles, sims.video_units[s]),
                 np.searchsorted(titles, sims.audio_units[s])) for s in PAIR_SETS}
    bins = {key: {s: grids[key].bin_index(sims.values[s]) for s in KL_TERMS[key][:2]}
            for key in KL_TERMS}
    rng = np.random.default_rng([cfg.seed, 2])
    out = {key: np.empty(cfg.bootstrap) for key in [*KL_TERMS, "gap"]}
    for b in range(cfg.bootstrap):
        w = rng.multinomial(titles.size, np.full(titles.size, 1.0 / titles.size)).astype(float)
        weight = {s: w[index[s][0]] * (w[index[s][1]] if s == "diff" else 1.0) for s in PAIR_SETS}
        for key, (p, q, _) in KL_TERMS.items():
            nb = grids[key].num_bins
            cp = np.bincount(bins[key][p], weights=weight[p], minlength=nb)
            cq = np.bincount(bins[key][q], weights=weight[q], minlength=nb)
            out[key][b] = kl_from_counts(cp, cq, cfg.smoothing)
        out["gap"][b] = out["kl_diff_pos"][b] - out["kl_neg_pos"][b]
    return out


def discrepancy_measures(sims: PairSimilarities, cfg: DiscrepancyConfig) -> dict[str, Any]:
    """The measures, their bootstrap intervals, pair counts and the estimator settings."""
    for s in PAIR_SETS:
        if sims.values[s].size < 2:
            raise ValueError(f"{PAIR_SETS[s][0]} holds {sims.values[s].size} pair(s); need ≥ 2")
    result: dict[str, Any] = {}
    grids = {}
    for key, (p, q, _) in KL_TERMS.items():
        result[key] = kl_divergence(sims.values[p], sims.values[q], cfg.estimator,
                                    bins=cfg.bins, smoothing=cfg.smoothing, k=cfg.knn_k)
        if cfg.estimator == "histogram":
            grids[key] = histogram_grid(sims.values[p], sims.values[q], bins=cfg.bins)
    result["gap"] = result["kl_diff_pos"] - result["kl_neg_pos"]

    estimator: dict[str, Any] = {"name": cfg.estimator}
    if cfg.estimator == "histogram":
        estimator.update(bins=cfg.bins, smoothing=cfg.smoothing,
                         grids={key: g.describe() for key, g in grids.items()})
    else:
        estimator.update(k=cfg.knn_k)
    result["estimator"] = estimator

    if cfg.bootstrap > 0:
        if cfg.estimator != "histogram":
            raise ValueError(
                "bootstrap intervals need estimator='histogram' (resampled titles repeat "
                "values, which the k-NN estimator cannot take); set discrepancy.bootstrap=0 "
                "with discrepancy.estimator=knn"
            )
        reps = _bootstrap(sims, cfg, grids)
        alpha = (1.0 - cfg.confidence) / 2.0
        result["ci"] = {}
        for key, v in reps.items():
            lo, hi = 2 * result[key] - np.quantile(v, 1 - alpha), 2 * result[key] - np.quantile(v, alpha)
            if key != "gap":  # a KL is ≥ 0
                lo, hi = max(lo, 0.0), max(hi, 0.0)
            result["ci"][key] = [float(lo), float(hi)]
        result["bootstrap_std"] = {k: float(v.std(ddof=1)) if v.size > 1 else None
                                   for k, v in reps.items()}
        result["bootstrap_bias"] = {k: float(v.mean() - result[k]) for k, v in reps.items()}
    result["bootstrap"] = {"replicates": cfg.bootstrap, "unit": "title",
                           "confidence": cfg.confidence, "interval": "basic (reverse percentile)",
                           "seed": cfg.seed}
    result["pairs"] = {
        s: {"symbol": PAIR_SETS[s][0], "definition": PAIR_SETS[s][1],
            "count": int(sims.values[s].size), "total": int(sims.totals[s]),
            **_summary(sims.values[s])}
        for s in PAIR_SETS
    }
    return result
