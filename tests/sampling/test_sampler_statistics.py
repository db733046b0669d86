"""Distributions of the sampler against the paper's definitions (chi-square, fixed seeds).

Level: each test rejects at p < 0.001 (scipy.stats.chisquare); the seeds are fixed, so the
tests are deterministic, and a wrong distribution (e.g. uniform instead of ∝ M_n) gives
p-values far below that level (checked in test_chi_square_detects_the_wrong_weighting).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chisquare

from binge.sampling import HierarchicalBatchSampler

ALPHA = 1e-3
LENGTHS = [5, 8, 12, 17, 20, 23, 30, 31, 40, 44, 50, 57, 60, 64, 70, 75, 80, 90, 99, 120]


def first_group_titles(sampler: HierarchicalBatchSampler, steps: int) -> np.ndarray:
    """The title of the first group of each batch: the first successive draw of the batch."""
    return np.array([sampler.global_batch(0, s)[0][0] for s in range(steps)])


def title_counts(sampler: HierarchicalBatchSampler, steps: int) -> np.ndarray:
    counts = np.zeros(len(LENGTHS))
    for s in range(steps):
        for t, _ in sampler.global_batch(0, s):
            counts[t] += 1
    return counts


def test_uniform_titles_have_uniform_frequencies():
    """n ~ U(1, N): every title is in a batch equally often (B/k = 4 distinct of N = 20)."""
    s = HierarchicalBatchSampler(LENGTHS, batch_size=12, k=3, window=5, seed=11,
                                 title_weighting="uniform")
    counts = title_counts(s, 3000) / 3  # groups per title
    assert counts.sum() == 3000 * 4
    assert chisquare(counts).pvalue > ALPHA
    first = np.bincount(first_group_titles(s, 3000), minlength=len(LENGTHS))
    assert chisquare(first).pvalue > ALPHA


def test_length_weighting_draws_titles_in_proportion_to_length():
    """The first of the B/k distinct draws (successive sampling) is ∝ M_n."""
    s = HierarchicalBatchSampler(LENGTHS, batch_size=12, k=3, seed=5, title_weighting="length")
    first = np.bincount(first_group_titles(s, 4000), minlength=len(LENGTHS))
    expected = np.asarray(LENGTHS, float) / sum(LENGTHS) * first.sum()
    assert chisquare(first, expected).pvalue > ALPHA


def test_k1_with_length_weighting_is_iid_over_all_snippets():
    """The paper's baseline: every snippet of ∪X_n equally likely (titles ∝ M_n)."""
    lengths = [3, 7, 12, 25, 1, 40, 9]
    s = HierarchicalBatchSampler(lengths, batch_size=8, k=1, seed=2, title_weighting="length")
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    counts = np.zeros(sum(lengths))
    for step in range(3000):
        for t, m in s.global_batch(0, step):
            counts[offsets[t] + m] += 1
    assert chisquare(counts).pvalue > ALPHA
    per_title = np.add.reduceat(counts, offsets)
    assert chisquare(per_title, np.asarray(lengths) / sum(lengths) * counts.sum()).pvalue > ALPHA


def test_k1_with_uniform_titles_gives_snippets_probability_one_over_n_m():
    """Title-uniform k = 1: P(x_{n,m}) = 1 / (N·M_n), over-sampling short titles."""
    lengths = [2, 5, 10, 30]
    s = HierarchicalBatchSampler(lengths, batch_size=1, k=1, seed=9, title_weighting="uniform")
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    counts = np.zeros(sum(lengths))
    steps = 12000
    for step in range(steps):
        (t, m), = s.global_batch(0, step)
        counts[offsets[t] + m] += 1
    expected = np.concatenate([np.full(m, 1.0 / (len(lengths) * m)) for m in lengths]) * steps
    assert chisquare(counts, expected).pvalue > ALPHA


def test_snippets_within_a_title_are_uniform_without_window():
    """w = M_n: every k-subset equally likely, so each snippet's frequency is uniform."""
    s = HierarchicalBatchSampler([30, 30], batch_size=8, k=4, seed=4, distinct_titles=False)
    counts = np.zeros(30)
    for step in range(2000):
        for t, m in s.global_batch(0, step):
            if t == 0:
                counts[m] += 1
    assert chisquare(counts).pvalue > ALPHA


def test_chi_square_detects_the_wrong_weighting():
    """The level is meaningful: uniform titles fail the ∝ M_n test (and vice versa)."""
    uniform = HierarchicalBatchSampler(LENGTHS, batch_size=12, k=3, seed=5)
    first = np.bincount(first_group_titles(uniform, 4000), minlength=len(LENGTHS))
    expected = np.asarray(LENGTHS, float) / sum(LENGTHS) * first.sum()
    assert chisquare(first, expected).pvalue < 1e-12
    by_length = HierarchicalBatchSampler(LENGTHS, batch_size=12, k=3, seed=5,
                                         title_weighting="length")
    first = np.bincount(first_group_titles(by_length, 4000), minlength=len(LENGTHS))
    assert chisquare(first).pvalue < 1e-12
