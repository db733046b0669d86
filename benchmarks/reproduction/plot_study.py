"""Figures of the reproduction study from ``OUT/study.json`` (written by ``run_study.py``).

- ``k.png``          the paper's Fig. 1a at CPU scale: the discrepancy measures and the
                     linear-probe accuracies against k (w = M_n), mean ± std over seeds, with
                     the random-init floor as a band;
- ``jitter.png``     the paper's Fig. 2 / Table 2 at CPU scale: the discrepancy measures and
                     the probes against the colour-jitter strength σ for k = 1 and the
                     budget's large k (8 at ``--budget micro``, 16 at ``tiny100``)
                     (σ = 0 is ``k{k}_wM``);
- ``settings.png``   every setting's probe accuracies side by side (mean ± std over seeds).

Only the settings present in study.json are drawn, so the figures can be made while the
study is still running. Usage::

    python benchmarks/reproduction/plot_study.py --study runs/study_micro/study.json \
        --out docs/study/micro
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path
from typing import Any, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

KL = {"kl_neg_pos": "KL(S−‖S+)", "kl_diff_pos": "KL(S≠‖S+)", "kl_neg_diff": "KL(S−‖S≠)",
      "gap": "gap KL(S≠‖S+) − KL(S−‖S+)"}
PROBES = {"world-action": "world-action (video)", "world-sound": "world-sound (audio)"}
FLOOR = "random_init"


def by_setting(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by setting, in their order in study.json."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["setting"], []).append(row)
    return groups


def mean_std(rows: list[dict[str, Any]], key: str) -> tuple[float, float]:
    values = [float(r[key]) for r in rows if r.get(key) is not None]
    if not values:
        return float("nan"), float("nan")
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def save_figure(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def draw_floor(ax: Any, groups: dict[str, list[dict[str, Any]]], key: str, colour: str,
               label: str) -> None:
    """The random-init floor of ``key`` as a dotted line with a ±std band, if it was measured."""
    if FLOOR not in groups:
        return
    mean, sd = mean_std(groups[FLOOR], key)
    ax.axhspan(mean - sd, mean + sd, color=colour, alpha=0.15, lw=0)
    ax.axhline(mean, color=colour, ls=":", lw=1, label=label)


def plot_k(groups: dict[str, list[dict[str, Any]]], path: Path) -> Optional[Path]:
    """Discrepancy and probe accuracy against k for the ``k{k}_wM`` settings."""
    ks = sorted(int(m.group(1)) for name in groups if (m := re.fullmatch(r"k(\d+)_wM", name)))
    if not ks:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label in KL.items():
        stats = np.array([mean_std(groups[f"k{k}_wM"], key) for k in ks])
        left.errorbar(ks, stats[:, 0], yerr=stats[:, 1], marker="o", capsize=3, label=label)
    left.set(xlabel="k (snippets per title in a batch; w = M_n)", ylabel="nats",
             title="discrepancy on the held-out shows")
    for colour, (key, label) in zip(("C0", "C1"), PROBES.items()):
        stats = np.array([mean_std(groups[f"k{k}_wM"], key) for k in ks])
        right.errorbar(ks, stats[:, 0], yerr=stats[:, 1], marker="o", capsize=3,
                       color=colour, label=label)
        draw_floor(right, groups, key, colour, f"{label}: random init")
    right.set(xlabel="k (snippets per title in a batch; w = M_n)", ylabel="linear probe top-1 %",
              title="transfer (mean ± std over seeds)")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False)
    return save_figure(fig, path)


def jitter_settings(groups: dict[str, list[dict[str, Any]]], k: int) -> list[tuple[float, str]]:
    """(σ, setting) pairs of k's colour-jitter series present in ``groups``, σ ascending;
    σ = 0 is the plain ``k{k}_wM`` run."""
    found = [(float(m.group(1)), name) for name in groups
             if (m := re.fullmatch(rf"k{k}_jitter([\d.]+)", name))]
    if f"k{k}_wM" in groups:
        found.append((0.0, f"k{k}_wM"))
    return sorted(found)


def jitter_ks(groups: dict[str, list[dict[str, Any]]]) -> list[int]:
    """The k values with a colour-jitter run in ``groups`` (``k{k}_jitter{σ}``), ascending:
    1 and the budget's large k (8 at ``--budget micro``, 16 at ``tiny100``)."""
    return sorted({int(m.group(1)) for name in groups if (m := re.fullmatch(r"k(\d+)_jitter[\d.]+", name))})


def plot_jitter(groups: dict[str, list[dict[str, Any]]], path: Path) -> Optional[Path]:
    """KL(S−‖S≠), the gap and both probes against σ, one line per k with jitter runs."""
    series = {k: jitter_settings(groups, k) for k in jitter_ks(groups)}
    if not any(len(v) > 1 for v in series.values()):
        return None
    panels = {"kl_neg_diff": KL["kl_neg_diff"], "gap": KL["gap"], **PROBES}
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.8))
    for ax, (key, label) in zip(axes, panels.items()):
        for i, (k, pairs) in enumerate(series.items()):
            colour = f"C{3 * i}"  # C0, C3, C6: as before for two series
            if not pairs:
                continue
            stats = np.array([mean_std(groups[name], key) for _, name in pairs])
            ax.errorbar([sig for sig, _ in pairs], stats[:, 0], yerr=stats[:, 1], marker="o",
                        capsize=3, color=colour, label=f"k = {k}")
        if key in PROBES:
            draw_floor(ax, groups, key, "0.5", "random init")
        ax.set(xlabel="colour jitter σ", ylabel="linear probe top-1 %" if key in PROBES else "nats",
               title=label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False)
    return save_figure(fig, path)


def plot_settings(groups: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """Probe accuracy of every setting (bars: mean; whiskers: std over seeds)."""
    names = list(groups)
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 0.7 * len(names) + 4), 4.5), sharex=True)
    x = np.arange(len(names))
    for ax, (key, label) in zip(axes, PROBES.items()):
        stats = np.array([mean_std(groups[n], key) for n in names])
        colours = ["0.6" if n == FLOOR else "C0" for n in names]
        ax.bar(x, stats[:, 0], yerr=stats[:, 1], capsize=3, color=colours)
        ax.set(ylabel="linear probe top-1 %", title=label)
        ax.set_xticks(x, names, rotation=60, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=Path("runs/study_micro/study.json"))
    parser.add_argument("--out", type=Path, default=Path("docs/study"))
    args = parser.parse_args(argv)
    groups = by_setting(json.loads(args.study.read_text()))
    args.out.mkdir(parents=True, exist_ok=True)
    for made in (plot_k(groups, args.out / "k.png"), plot_jitter(groups, args.out / "jitter.png"),
                 plot_settings(groups, args.out / "settings.png")):
        if made is not None:
            print(f"wrote {made}")


if __name__ == "__main__":
    main()
