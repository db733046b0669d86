"""The paired comparison of the reproduction study: setting − reference seed by seed, with a
Student-t interval (n − 1 degrees of freedom). One home for run_study.py and
discrepancy_curves.py."""

from __future__ import annotations

import math
import statistics


def t_half_width(std: float, n: int, confidence: float = 0.95) -> float:
    """Half-width of the Student-t interval of a mean of ``n`` ≥ 2 values with sample std
    ``std`` (n − 1 degrees of freedom)."""
    from scipy.stats import t as student_t

    return float(student_t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)


def t_interval(diffs: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the paired differences ``diffs`` (≥ 2 of them).

    Raises:
        ValueError: fewer than 2 differences.
    """
    if len(diffs) < 2:
        raise ValueError(f"a paired interval needs >= 2 differences, got {len(diffs)}")
    mean = statistics.mean(diffs)
    half = t_half_width(statistics.stdev(diffs), len(diffs), confidence)
    return mean, mean - half, mean + half
