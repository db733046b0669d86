"""Nearest-neighbour retrieval (CrissCross §E.3, following Xu et al. 2019 / Patrick et al. 2021).

Every test sample (its features averaged over 10 uniform clips) queries the training
samples by cosine similarity; a query scores at R@k when at least one of its k nearest
training samples has its class. No normalisation beyond the cosine itself (§E.3 found
none helped).
"""

from __future__ import annotations

import numpy as np

__all__ = ["cosine_topk", "recall_at_k"]


def cosine_topk(queries: np.ndarray, gallery: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """Indices (Q, k) of the ``k`` gallery rows most cosine-similar to each query row.

    Ties are broken by the lower gallery index (a stable sort), so results are
    deterministic. Zero vectors have similarity 0 to everything.
    """
    k = min(int(k), len(gallery))

    def unit(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(norm > 0, norm, 1.0)

    q, g = unit(queries), unit(gallery)
    out = np.empty((len(q), k), dtype=np.int64)
    for i in range(0, len(q), chunk):
        sim = q[i : i + chunk] @ g.T
        out[i : i + chunk] = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    return out


def recall_at_k(
    query_feats: np.ndarray,
    query_labels: np.ndarray,
    gallery_feats: np.ndarray,
    gallery_labels: np.ndarray,
    ks: tuple[int, ...] | list[int] = (1, 5, 20),
) -> dict[str, float]:
    """R@k for every k in ``ks``: the fraction of queries with a same-class sample among
    their k nearest gallery samples. Returns ``{"R@1": …, "R@5": …}`` in [0, 1]."""
    query_labels = np.asarray(query_labels)
    gallery_labels = np.asarray(gallery_labels)
    top = cosine_topk(query_feats, gallery_feats, max(ks))
    hit = gallery_labels[top] == query_labels[:, None]  # (Q, kmax)
    return {f"R@{k}": float(hit[:, :k].any(axis=1).mean()) for k in ks}
