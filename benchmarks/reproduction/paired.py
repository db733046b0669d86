"""The paired comparison of the reproduction study: setting − reference seed by seed, with a
Student-t interval (n − 1 degrees of freedom). One home for run_study.py and
discrepancy_curves.py."""

from __future__ import annotations

import math
import statistics


def t_interval(diffs: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the paired differences ``diffs`` (≥ 2 of them).

    Raises:
        ValueError: fewer than 2 differences.
    """
    from scipy.stats import t as student_t

    if len(diffs) < 2:
        raise ValueError(f"a paired interval needs >= 2 differences, got {len(diffs)}")
    mean, sd = statistics.mean(diffs), statistics.stdev(diffs)
    half = float(student_t.ppf(0.5 + confidence / 2, len(diffs) - 1)) * sd / math.sqrt(len(diffs))
    return mean, mean - half, mean + half
