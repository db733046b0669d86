"""The KL estimators against the closed form for Gaussians (module doc of binge.diagnostics.kl)."""

from __future__ import annotations

import numpy as np
import pytest

from binge.diagnostics import kl_divergence
from binge.diagnostics.kl import histogram_grid, kl_from_counts

N = 20_000


def gaussian_kl(m1: float, s1: float, m2: float, s2: float) -> float:
    """KL(N(m1, s1²) ‖ N(m2, s2²)) in nats, written out plainly."""
    return float(np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5)


# P no wider than Q and not far out in Q's tail: where a 20k-sample estimate can be accurate.
CASES = [(0, 1, 1, 1), (0, 1, 0, 2), (1, 0.5, 0, 1), (0, 1, 2, 1.5), (0.3, 0.8, -0.2, 1.1),
         (5, 2, 4, 3)]


@pytest.mark.parametrize("estimator", ["histogram", "knn"])
@pytest.mark.parametrize("m1,s1,m2,s2", CASES)
def test_gaussian_closed_form(estimator, m1, s1, m2, s2):
    rng = np.random.default_rng(1)
    p, q = rng.normal(m1, s1, N), rng.normal(m2, s2, N)
    exact = gaussian_kl(m1, s1, m2, s2)
    est = kl_divergence(p, q, estimator)
    # stated tolerance: 0.04 nats + 5 % of the exact value
    assert abs(est - exact) <= 0.04 + 0.05 * exact, (est, exact)


@pytest.mark.parametrize("estimator", ["histogram", "knn"])
@pytest.mark.parametrize("nq", [1_000, N])
def test_same_distribution_is_near_zero(estimator, nq):
    rng = np.random.default_rng(2)
    p, q = rng.gamma(2.0, 1.5, N), rng.gamma(2.0, 1.5, nq)  # skewed, not only Gaussians
    assert abs(kl_divergence(p, q, estimator)) < 0.03


def test_unequal_sizes_like_s_plus():
    """S+ is the smaller sample (K pairs) against 20k of S− / S≠: still on the closed form."""
    rng = np.random.default_rng(3)
    p, q = rng.normal(0, 1, N), rng.normal(1, 1.2, 1024)
    exact = gaussian_kl(0, 1, 1, 1.2)
    assert abs(kl_divergence(p, q) - exact) <= 0.06 + 0.1 * exact


def test_tail_of_q_is_underestimated_as_documented():
    """P wider than Q: mass where Q was never sampled; both estimators fall short (docs)."""
    rng = np.random.default_rng(4)
    p, q = rng.normal(0, 2, N), rng.normal(0, 1, N)
    exact = gaussian_kl(0, 2, 0, 1)  # 0.807
    for estimator in ("histogram", "knn"):
        est = kl_divergence(p, q, estimator)
        assert 0.6 * exact < est < exact


def test_kl_is_asymmetric_and_ordered():
    rng = np.random.default_rng(5)
    p = rng.normal(0, 1, N)
    near, far = rng.normal(0.5, 1, N), rng.normal(1.5, 1, N)
    assert kl_divergence(p, near) < kl_divergence(p, far)
    a, b = rng.normal(0, 1, N), rng.normal(0, 3, N)
    assert abs(kl_divergence(a, b) - kl_divergence(b, a)) > 0.3  # 0.65 vs 2.40 exactly


def test_histogram_grid_rule():
    rng = np.random.default_rng(6)
    p, q = rng.normal(0, 1, 8000), rng.normal(0, 1, 1000)
    grid = histogram_grid(p, q)
    iqr = np.subtract(*np.percentile(q, [75, 25]))
    width = 2 * iqr * 1000 ** (-1 / 3)  # Freedman–Diaconis of the coarser (smaller) sample
    assert grid.edges[0] == min(p.min(), q.min()) and grid.edges[-1] == max(p.max(), q.max())
    assert grid.num_bins == int(np.ceil((grid.edges[-1] - grid.edges[0]) / width))
    assert histogram_grid(p, q, bins=7).num_bins == 7


def test_kl_from_counts_matches_plain_formula():
    cp, cq = np.array([3.0, 0.0, 5.0, 2.0]), np.array([1.0, 4.0, 4.0, 1.0])
    p, q = (cp + 0.5) / (cp + 0.5).sum(), (cq + 0.5) / (cq + 0.5).sum()
    assert kl_from_counts(cp, cq, 0.5) == pytest.approx(float(np.sum(p * np.log(p / q))))
    assert kl_from_counts(cp, np.array([1.0, 4.0, 0.0, 1.0]), 0.0) == float("inf")  # q_b = 0 < p_b


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="1-D"):
        kl_divergence(np.zeros((3, 2)), np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        kl_divergence(np.array([0.0, np.nan, 1.0]), np.zeros(5))
    with pytest.raises(ValueError, match="estimator"):
        kl_divergence(np.arange(5.0), np.arange(5.0), "kde")
    with pytest.raises(ValueError, match="distinct"):
        kl_divergence(np.array([0.0, 0.0, 1.0]), np.arange(5.0), "knn")
    assert kl_divergence(np.ones(10), np.ones(10)) == 0.0  # one value in both: no divergence
