"""Kullback–Leibler divergence between two 1-D samples (paper §3, the text after Eq. 2).

Two estimators, chosen by name:

``histogram`` (the default)
    Both samples are counted on one shared grid spanning ``[min, max]`` of their union. The
    bin width is the Freedman–Diaconis width ``2·IQR·n^(-1/3)`` of each sample, taking the
    coarser of the two (the smaller sample sets the resolution it can support), capped at
    ``max_bins`` bins; an integer ``bins`` fixes the count instead. Every bin gets
    ``smoothing`` pseudo-counts (0.5: Krichevsky–Trofimov) in both histograms, so that
    ``KL(P‖Q) = Σ_b p_b log(p_b / q_b)`` stays finite where Q has no sample. The grid is fixed
    once, so bootstrap replicates are weighted counts on the same bins.

``knn``
    The 1-D k-nearest-neighbour estimator of Wang, Kulkarni and Verdú (IEEE Trans. Inf. Theory
    55(5), 2009, Eq. 5): ``(1/n) Σ_i log(ν_k(i) / ρ_k(i)) + log(m / (n − 1))`` with ρ_k the
    distance from P_i to its k-th neighbour among the other P samples and ν_k to its k-th
    neighbour among the Q samples. It has no bins, but needs distinct sample values.

Both are consistent, and both underestimate KL(P‖Q) where P puts mass in a tail of Q that
the Q sample never reached (no finite sample can tell how thin that tail is); see
``docs/diagnostics.md`` for the measured error on Gaussians.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

import numpy as np

__all__ = ["kl_divergence", "HistogramGrid", "histogram_grid", "kl_from_counts", "kl_knn"]

Bins = Union[int, Literal["fd"]]


@dataclass(frozen=True)
class HistogramGrid:
    """A shared grid: ``edges`` (nbins + 1,) and how its width was chosen."""

    edges: np.ndarray
    rule: str

    @property
    def num_bins(self) -> int:
        return len(self.edges) - 1

    def bin_index(self, x: np.ndarray) -> np.ndarray:
        """Bin of every sample (values outside the grid are clipped into the end bins)."""
        idx = np.searchsorted(self.edges, np.asarray(x, dtype=np.float64), side="right") - 1
        return np.clip(idx, 0, self.num_bins - 1)

    def describe(self) -> dict:
        return {
            "rule": self.rule,
            "num_bins": self.num_bins,
            "low": float(self.edges[0]),
            "high": float(self.edges[-1]),
            "width": float(self.edges[1] - self.edges[0]),
        }


def _as_samples(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of samples, got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"{name} needs at least 2 samples, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values; check the embeddings")
    return arr


def _fd_width(x: np.ndarray) -> float:
    q75, q25 = np.percentile(x, [75, 25])
    return float(2.0 * (q75 - q25) * x.size ** (-1.0 / 3.0))


def histogram_grid(*samples: np.ndarray, bins: Bins = "fd", max_bins: int = 512) -> HistogramGrid:
    """One grid for several 1-D samples: their joint range, split as the module doc states."""
    arrays = [_as_samples(s, f"sample {i}") for i, s in enumerate(samples)]
    low = min(float(a.min()) for a in arrays)
    high = max(float(a.max()) for a in arrays)
    if high <= low:  # every value identical: one bin of width 1 around it
        return HistogramGrid(np.array([low - 0.5, low + 0.5]), "constant")
    if bins == "fd":
        width = max(_fd_width(a) for a in arrays)
        if width <= 0.0:  # an IQR of 0 (mostly one value): fall back to the count cap
            count, rule = max_bins, f"fd (IQR 0: {max_bins} bins)"
        else:
            count, rule = int(np.clip(np.ceil((high - low) / width), 1, max_bins)), "fd"
    elif isinstance(bins, int) and not isinstance(bins, bool) and bins >= 1:
        count, rule = bins, "fixed"
    else:
        raise ValueError(f"bins must be 'fd' or a positive integer, got {bins!r}")
    return HistogramGrid(np.linspace(low, high, count + 1), rule)


def kl_from_counts(p_counts: np.ndarray, q_counts: np.ndarray, smoothing: float = 0.5) -> float:
    """Σ_b p_b log(p_b/q_b) for (weighted) counts on one grid, ``smoothing`` added per bin."""
    if smoothing < 0:
        raise ValueError(f"smoothing must be ≥ 0, got {smoothing}")
    p = np.asarray(p_counts, dtype=np.float64) + smoothing
    q = np.asarray(q_counts, dtype=np.float64) + smoothing
    p, q = p / p.sum(), q / q.sum()
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")  # only reachable with smoothing = 0
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def kl_knn(p: np.ndarray, q: np.ndarray, k: int = 1) -> float:
    """Wang–Kulkarni–Verdú k-NN estimate of KL(P‖Q) for 1-D samples (their Eq. 5, d = 1)."""
    from scipy.spatial import cKDTree

    p = _as_samples(p, "p_samples")
    q = _as_samples(q, "q_samples")
    if k < 1 or k >= p.size or k > q.size:
        raise ValueError(f"k = {k} needs 1 ≤ k < len(p) = {p.size} and k ≤ len(q) = {q.size}")
    rho = cKDTree(p[:, None]).query(p[:, None], k=k + 1)[0][:, k]
    nu = cKDTree(q[:, None]).query(p[:, None], k=k)[0]
    nu = nu if k == 1 else nu[:, k - 1]
    if np.any(rho == 0) or np.any(nu == 0):
        raise ValueError(
            "the k-NN estimator needs distinct sample values (some distances are 0); "
            "use estimator='histogram' for samples with ties"
        )
    return float(np.mean(np.log(nu / rho)) + np.log(q.size / (p.size - 1)))


def kl_divergence(
    p_samples: np.ndarray,
    q_samples: np.ndarray,
    estimator: Literal["histogram", "knn"] = "histogram",
    *,
    bins: Bins = "fd",
    smoothing: float = 0.5,
    k: int = 1,
) -> float:
    """KL(P‖Q) in nats from 1-D samples of P and Q (see the module doc for the estimators).

    >>> rng = np.random.default_rng(0)
    >>> round(kl_divergence(rng.normal(0, 1, 20000), rng.normal(1, 1, 20000)), 1)  # exact 0.5
    0.5
    """
    p = _as_samples(p_samples, "p_samples")
    q = _as_samples(q_samples, "q_samples")
    if estimator == "knn":
        return kl_knn(p, q, k=k)
    if estimator != "histogram":
        raise ValueError(f"estimator must be 'histogram' or 'knn', got {estimator!r}")
    grid = histogram_grid(p, q, bins=bins)
    p_counts = np.bincount(grid.bin_index(p), minlength=grid.num_bins)
    q_counts = np.bincount(grid.bin_index(q), minlength=grid.num_bins)
    return kl_from_counts(p_counts, q_counts, smoothing)
