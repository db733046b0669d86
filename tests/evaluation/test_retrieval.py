"""Retrieval R@k (CrissCross §E.3) against a brute-force NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest

from binge.evaluation.retrieval import cosine_topk, recall_at_k


def brute_force(q, ql, g, gl, k):
    """Plain loops: cosine to every gallery item, sort, look at the k nearest."""
    hits = 0
    for i in range(len(q)):
        sims = []
        for j in range(len(g)):
            denom = np.linalg.norm(q[i]) * np.linalg.norm(g[j])
            sims.append((-(q[i] @ g[j]) / denom, j))
        nearest = [j for _, j in sorted(sims)[:k]]
        hits += any(gl[j] == ql[i] for j in nearest)
    return hits / len(q)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recall_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(60, 8))
    gl = rng.integers(0, 6, size=60)
    q = rng.normal(size=(25, 8))
    ql = rng.integers(0, 6, size=25)
    got = recall_at_k(q, ql, g, gl, (1, 5, 20))
    for k in (1, 5, 20):
        assert got[f"R@{k}"] == pytest.approx(brute_force(q, ql, g, gl, k))


def test_cosine_not_euclidean():
    # scaled copies are cosine-identical: a far but aligned point is the nearest neighbour
    g = np.array([[100.0, 0.0], [0.9, 0.5]])
    assert cosine_topk(np.array([[1.0, 0.0]]), g, 1)[0, 0] == 0
    r = recall_at_k(np.array([[1.0, 0.0]]), np.array([3]), g, np.array([3, 4]), (1,))
    assert r == {"R@1": 1.0}
