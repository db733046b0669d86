"""Measure the KL estimators against the closed form for Gaussians (the table in
docs/diagnostics.md): ``python -m binge.diagnostics.accuracy [--reps 5]``.

For each (P, Q) pair, ``reps`` independent draws of n_P = 20 000 samples of P and n_Q samples of
Q (1 024 as for S+ at the default 64 × 16 snippets, and 20 000 as for S− / S≠) give the mean and
standard deviation of each estimate; the exact value is
``log(σ_Q/σ_P) + (σ_P² + (μ_P − μ_Q)²) / (2σ_Q²) − 1/2``.
"""

from __future__ import annotations

import argparse

import numpy as np

from binge.diagnostics.kl import kl_divergence

#: (μ_P, σ_P, μ_Q, σ_Q)
CASES = [(0, 1, 0, 1), (0, 1, 1, 1), (0, 1, 0, 2), (1, 0.5, 0, 1), (0, 1, 2, 1.5),
         (0, 2, 0, 1), (0, 1, 3, 1)]


def gaussian_kl(m1: float, s1: float, m2: float, s2: float) -> float:
    return float(np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--n-p", type=int, default=20_000)
    args = parser.parse_args(argv)
    print("| P | Q | exact | n_Q | histogram | k-NN (k=1) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for m1, s1, m2, s2 in CASES:
        exact = gaussian_kl(m1, s1, m2, s2)
        for n_q in (1024, 20_000):
            cells = []
            for estimator in ("histogram", "knn"):
                est = []
                for r in range(args.reps):
                    rng = np.random.default_rng([r, n_q])
                    est.append(kl_divergence(rng.normal(m1, s1, args.n_p),
                                             rng.normal(m2, s2, n_q), estimator))
                cells.append(f"{np.mean(est):.3f} ± {np.std(est):.3f}")
            print(f"| N({m1}, {s1}²) | N({m2}, {s2}²) | {exact:.3f} | {n_q} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
