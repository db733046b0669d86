"""Figures: the three similarity histograms of one checkpoint, and the measures against
training step for one or several runs (the curves of paper Figure 1 and Figure 2).

Every figure is written atomically (temporary PNG in the same folder, then renamed: :func:`binge.io.atomic_path`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from binge.diagnostics.measures import KL_TERMS, PairSimilarities
from binge.diagnostics.pairs import PAIR_SETS
from binge.io import atomic_path

__all__ = ["plot_histograms", "plot_curves"]

_COLOURS = {"pos": "tab:green", "neg": "tab:orange", "diff": "tab:blue"}


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def _fmt(result: dict[str, Any], key: str) -> str:
    text = f"{result[key]:.3f}"
    if "ci" in result:
        lo, hi = result["ci"][key]
        text += f" [{lo:.3f}, {hi:.3f}]"
    return text


def plot_histograms(sims: PairSimilarities, result: dict[str, Any], path: str | Path,
                    title: str = "") -> Path:
    """Densities of S+, S−, S≠ on one grid, with the measures (and intervals) in a box."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    allv = np.concatenate([sims.values[s] for s in PAIR_SETS])
    lo, hi = float(allv.min()), float(allv.max())  # every pair shown, none clipped
    smallest = min(sims.values[s].size for s in PAIR_SETS)
    nbins = int(np.clip(2 * np.sqrt(smallest), 10, 80))  # readable for the smallest set
    edges = np.linspace(lo, hi, nbins + 1) if hi > lo else np.linspace(lo - 0.5, lo + 0.5, nbins + 1)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for s, (symbol, meaning) in PAIR_SETS.items():
        v = sims.values[s]
        ax.hist(v, bins=edges, density=True, histtype="stepfilled", alpha=0.25, color=_COLOURS[s])
        ax.hist(v, bins=edges, density=True, histtype="step",
                lw=1.8, color=_COLOURS[s], label=f"{symbol}: {meaning} ({v.size:,} pairs)")
    sim = result.get("similarity", {}).get("kind", "similarity")
    ax.set_xlabel(f"audio–video similarity z_v(n,m)ᵀ z_a(n',m')  [{sim}]")
    ax.set_ylabel("density")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ci = f" ({int(100 * result['bootstrap']['confidence'])} % CI)" if "ci" in result else ""
    lines = [f"{label} = {_fmt(result, key)}" for key, (_, _, label) in KL_TERMS.items()]
    lines.append(f"gap KL(S≠‖S+) − KL(S−‖S+) = {_fmt(result, 'gap')}")
    ax.text(1.02, 1.0, "nats" + ci + "\n" + "\n".join(lines), transform=ax.transAxes,
            ha="left", va="top", fontsize=8, family="monospace",
            bbox={"boxstyle": "round", "fc": "white", "alpha": 0.85, "ec": "0.7"})
    ax.set_title(title or "Eq. 2 similarity distributions (held-out)", fontsize=10)
    for i, warning in enumerate(result.get("warnings", [])):
        fig.text(0.01, -0.02 - 0.04 * i, f"warning: {warning}", fontsize=7, color="tab:red")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.25)  # room for the legend
    return _save(fig, path)


_PANELS = [
    (("kl_neg_pos", "kl_diff_pos"), "KL to S+ (nats)"),
    (("kl_neg_diff",), "KL(S− ‖ S≠) (nats)"),
    (("gap",), "gap KL(S≠‖S+) − KL(S−‖S+) (nats)"),
]
_LABELS = {**{k: v[2] for k, v in KL_TERMS.items()}, "gap": "gap"}
_STYLES = {"kl_neg_pos": "--", "kl_diff_pos": "-", "kl_neg_diff": "-", "gap": "-"}


def plot_curves(runs: Sequence[tuple[str, list[dict[str, Any]]]], path: str | Path,
                title: str = "") -> Path:
    """Measures against step; ``runs`` = [(label, [result with "step", ...]), ...]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for r, (label, points) in enumerate(runs):
        points = sorted(points, key=lambda p: p["step"])
        steps = np.array([p["step"] for p in points])
        colour = colours[r % len(colours)]
        for ax, (keys, ylabel) in zip(axes, _PANELS):
            for key in keys:
                y = np.array([p[key] for p in points])
                name = label if len(keys) == 1 else f"{label}: {_LABELS[key]}"
                ax.plot(steps, y, _STYLES[key], marker="o", ms=3, color=colour, label=name)
                if all("ci" in p for p in points):
                    ci = np.array([p["ci"][key] for p in points])
                    ax.fill_between(steps, ci[:, 0], ci[:, 1], color=colour, alpha=0.15, lw=0)
            ax.set_xlabel("training step")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
    for ax in axes:
        ax.legend(fontsize=7, frameon=False, handlelength=4)  # long enough to show the dashes
    fig.suptitle(title or "discrepancy measures on the held-out split (bands: bootstrap CI)",
                 fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
