"""The discrepancy measures *during* training, paired by seed across settings of the study.

The study (``run_study.py``) measures Eq. 2's discrepancy measures once, at the last step. This
script measures them at every checkpoint the study kept (``train.checkpoint_every_steps``) of
the chosen settings and seeds, with ``binge discrepancy --run`` (resumable: a run whose
``curves.json`` exists is not measured again), and then compares each setting with a reference
**step by step, paired by seed**: mean difference, 95 % Student-t interval over the seeds and
the number of seeds where the setting is lower. It writes

- ``OUT/<setting>_s<seed>/curves.json``  ``binge discrepancy --run``'s own output, one per run;
- ``OUT/paired.json`` / ``OUT/paired.md`` the per-step means and paired differences, and how
                                          well the study's end-point measures are resolved
                                          (runs whose bootstrap interval contains 0);
- ``OUT/discrepancy_curves.png``        KL(S−‖S≠) and the gap against step, mean and 95 %
                                          interval over the seeds, one line per setting.

Usage (from the study's worktree, whose ``binge`` prepared the study's corpus)::

    python benchmarks/reproduction/discrepancy_curves.py --study runs/study_micro \\
        --settings k1_wM k8_wM k16_wM --reference k1_wM
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

from binge.io import atomic_write_text, write_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired import t_half_width, t_interval  # noqa: E402  (benchmarks/reproduction/paired.py)

MEASURES = {"kl_neg_diff": "KL(S−‖S≠)", "gap": "gap KL(S≠‖S+) − KL(S−‖S+)"}


def measure_runs(study: Path, names: list[str], out: Path, overrides: list[str]) -> None:
    """``binge discrepancy --run`` for every study run folder in ``names`` (``<setting>_s<seed>``)
    that has no ``OUT/<name>/curves.json`` yet, on the study's corpus.

    Raises:
        SystemExit: a run folder is missing (named), or ``binge discrepancy`` failed.
    """
    for name in names:
        run = study / "runs" / name
        if (out / name / "curves.json").is_file():
            continue
        if not (run / "checkpoints").is_dir():
            raise SystemExit(f"{run}: no checkpoints; run the study's setting first (run_study.py)")
        argv = [sys.executable, "-m", "binge", "discrepancy", "--run", str(run),
                "--corpus", str(study / "corpus"), "--out", str(out), *overrides]
        print("$", " ".join(argv[1:]), flush=True)
        if subprocess.run(argv).returncode != 0:
            raise SystemExit(f"binge discrepancy failed on {run}")


def load_points(out: Path, setting: str, seeds: list[int]) -> dict[int, dict[int, dict[str, float]]]:
    """seed → step → measures, from ``OUT/<setting>_s<seed>/curves.json``."""
    points: dict[int, dict[int, dict[str, float]]] = {}
    for seed in seeds:
        curves = json.loads((out / f"{setting}_s{seed}" / "curves.json").read_text())
        points[seed] = {int(p["step"]): {k: float(p[k]) for k in MEASURES} for p in curves["points"]}
    return points


def paired(a: dict[int, float], b: dict[int, float]) -> Optional[dict[str, float]]:
    """a − b over the seeds both have: mean, 95 % t interval, seeds where a < b; None with
    fewer than 2 common seeds."""
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return None
    diffs = [a[s] - b[s] for s in seeds]
    mean, low, high = t_interval(diffs)
    return {"seeds": len(diffs), "mean": mean, "low": low, "high": high,
            "lower_in": sum(d < 0 for d in diffs)}


def summarise(points: dict[str, dict[int, dict[int, dict[str, float]]]],
              reference: str) -> list[dict[str, Any]]:
    """One record per (setting, step, measure): the mean and std over seeds and, for a setting
    other than ``reference``, its paired difference against it at the same step."""
    def common_steps(seeds: dict[int, dict[int, dict[str, float]]]) -> set[int]:
        return set.intersection(*(set(p) for p in seeds.values()))

    ref_steps = common_steps(points[reference])
    records = []
    for setting, seeds in points.items():
        steps = sorted(common_steps(seeds))
        for step in steps:
            for key in MEASURES:
                values = {s: seeds[s][step][key] for s in seeds}
                record = {"setting": setting, "step": step, "measure": key, "seeds": len(values),
                          "mean": statistics.mean(values.values()),
                          "std": statistics.stdev(values.values()) if len(values) > 1 else 0.0}
                if setting != reference and step in ref_steps:
                    ref = {s: points[reference][s][step][key] for s in points[reference]}
                    record["minus_reference"] = paired(values, ref)
                records.append(record)
    return records


def table(records: list[dict[str, Any]], reference: str, steps: list[int]) -> str:
    """Markdown: per measure, one row per step, each setting's mean and its paired
    difference against ``reference``."""
    lines = []
    settings = list(dict.fromkeys(r["setting"] for r in records))
    for key, label in MEASURES.items():
        lines += [f"**{label}**", "", "| step | " + " | ".join(settings) + " |",
                  "| ---: |" + " --- |" * len(settings)]
        for step in steps:
            cells = []
            for setting in settings:
                rec = next((r for r in records if r["setting"] == setting and r["step"] == step
                            and r["measure"] == key), None)
                if rec is None:
                    cells.append("–")
                    continue
                cell = f"{rec['mean']:.3f}"
                diff = rec.get("minus_reference")
                if diff:
                    cell += (f" ({diff['mean']:+.3f} [{diff['low']:+.3f}, {diff['high']:+.3f}], "
                             f"lower in {diff['lower_in']}/{diff['seeds']})")
                cells.append(cell)
            lines.append(f"| {step} | " + " | ".join(cells) + " |")
        lines += ["", f"Mean over seeds; in brackets the paired difference − {reference} "
                  "[95 % t interval] and the seeds where the setting is lower.", ""]
    return "\n".join(lines)


def endpoint_resolution(study: Path, runs: Optional[set[str]] = None) -> dict[str, Any]:
    """How well the study's own end-point measures (``STUDY/runs/<run>/discrepancy/*/
    discrepancy.json``, with their title bootstrap) are resolved: per measure, the runs whose
    95 % interval contains 0, and the median value and bootstrap bias (mean(replicates) − θ̂,
    the plug-in estimator's upward bias at this sample size). ``runs``: only these run folders
    (``<setting>_s<seed>``); every run by default."""
    found = sorted(f for f in study.glob("runs/*/discrepancy/*/discrepancy.json")
                   if runs is None or f.parents[2].name in runs)
    docs = [json.loads(f.read_text()) for f in found]
    docs = [d for d in docs if d.get("ci") and d.get("bootstrap_bias")]
    out: dict[str, Any] = {"runs": len(docs)}
    for key in MEASURES:
        if docs:
            out[key] = {"ci_contains_0": sum(d["ci"][key][0] <= 0 <= d["ci"][key][1] for d in docs),
                        "median": statistics.median(d[key] for d in docs),
                        "median_bootstrap_bias": statistics.median(d["bootstrap_bias"][key]
                                                                   for d in docs)}
    return out


def endpoint_text(res: dict[str, Any]) -> str:
    lines = [f"End point (the study's own measures, {res['runs']} runs with a bootstrap):"]
    for key, label in MEASURES.items():
        if key in res:
            r = res[key]
            lines.append(f"- {label}: interval contains 0 in {r['ci_contains_0']}/{res['runs']} "
                         f"runs; median {r['median']:.3f}, median bootstrap bias "
                         f"{r['median_bootstrap_bias']:.3f}")
    return "\n".join(lines) + "\n"


def plot(records: list[dict[str, Any]], path: Path) -> Path:
    """KL(S−‖S≠) and the gap against step: mean ± 95 % t half-width over seeds per setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(MEASURES), figsize=(5 * len(MEASURES), 3.6))
    for ax, (key, label) in zip(axes, MEASURES.items()):
        for setting in dict.fromkeys(r["setting"] for r in records):
            rows = [r for r in records if r["setting"] == setting and r["measure"] == key]
            steps = [r["step"] for r in rows]
            mean = [r["mean"] for r in rows]
            half = [t_half_width(r["std"], r["seeds"]) if r["seeds"] > 1 else 0.0 for r in rows]
            ax.plot(steps, mean, label=setting)
            ax.fill_between(steps, [m - h for m, h in zip(mean, half)],
                            [m + h for m, h in zip(mean, half)], alpha=0.2)
        ax.set_xlabel("step")
        ax.set_ylabel(f"{label} (nats)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=Path("runs/study_micro"))
    parser.add_argument("--settings", nargs="+", default=["k1_wM", "k8_wM", "k16_wM"])
    parser.add_argument("--reference", default="k1_wM")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, help="default: STUDY/discrepancy_curves")
    parser.add_argument("--steps", nargs="+", type=int, default=[100, 200, 300, 500, 1000, 1500],
                        help="the steps of the Markdown table (the figure has every step)")
    parser.add_argument("--endpoint-from", type=Path, metavar="STUDY_JSON",
                        help="count the end-point runs of this study.json's rows only (e.g. the "
                             "docs' snapshot of the complete settings); default: every run")
    parser.add_argument("--set", dest="overrides", action="append", default=["discrepancy.bootstrap=0"],
                        metavar="section.key=value", help="binge discrepancy overrides")
    args = parser.parse_args(argv)
    if args.reference not in args.settings:
        parser.error(f"--reference {args.reference} is not among --settings {args.settings}")
    out = args.out or args.study / "discrepancy_curves"
    names = [f"{s}_s{seed}" for s in args.settings for seed in args.seeds]
    measure_runs(args.study.resolve(), names, out.resolve(), args.overrides)
    points = {s: load_points(out, s, args.seeds) for s in args.settings}
    records = summarise(points, args.reference)
    runs = ({f"{r['setting']}_s{r['seed']}" for r in json.loads(args.endpoint_from.read_text())}
            if args.endpoint_from else None)
    resolution = endpoint_resolution(args.study, runs)
    write_json({"per_step": records, "endpoint": resolution}, out / "paired.json", indent=1)
    text = table(records, args.reference, args.steps) + "\n" + endpoint_text(resolution)
    atomic_write_text(out / "paired.md", text)
    print(text)
    print(f"wrote {out / 'paired.md'}, {plot(records, out / 'discrepancy_curves.png')}")


if __name__ == "__main__":
    main()
