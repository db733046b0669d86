"""``binge demo``: the whole pipeline on the embedded TV world, on a laptop CPU.

The demo is nothing but the stage commands run in order; each one is printed before it
runs, so a user moves to their own titles by swapping one path (the ``binge prepare``
source). Every stage is resumable on its own (the world generator reuses a finished
folder, ``prepare`` keeps finished titles, ``pretrain`` resumes from its last checkpoint)
and the demo records finished stages in ``OUT/demo_state.json``, so rerunning the same
command after an interruption continues where it stopped. Independent stages run as
``--jobs`` processes at once (one thread each: on 2 cores two small trainings at once do
twice the work of one with two threads).

Stages (paper §3–4 at the CPU geometry of configs/demo.yaml; docs/world.md says why):
  1. ``binge world``        the ``demo`` preset of the procedural TV world
  2. ``binge prepare``      its titles → a prepared corpus (show-disjoint held-out split)
  3. ``binge pretrain``     Eq. 1 NCE with k = 1 (the i.i.d. baseline), k = 8 (w = M_n) and
                            k = 8 with w = 8, each measuring held-out linear probes and the
                            discrepancy every 250 steps (the learning curves)
     ``binge supervised``   the ceiling: the same encoders trained with the world's event labels
  4. ``binge evaluate``     linear probes on world-action, world-sound and the real FSDD for a
                            random encoder (the floor), every pretrained one and the ceiling
  5. a results table and the learning-curve plot (OUT/results.md, OUT/curves.png)
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from binge.io import atomic_write_text, write_json

HELP = "run the whole pipeline on the embedded TV world (world → prepare → pretrain → evaluate)"
DESCRIPTION = (
    __doc__.split("Stages", 1)[0].strip()
    + "\n\nexamples:\n  binge demo\n  binge demo --out demo_out --jobs 2\n"
)

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_FILE = "demo_state.json"
#: (run name, its overrides of demo.yaml): the i.i.d. baseline, the paper's k = 8 with
#: w = M_n, and k = 8 inside windows of w = k adjacent snippets
RUNS: dict[str, list[str]] = {
    "k1": ["sampling.k=1"],
    "k8": ["sampling.k=8"],
    "k8_w8": ["sampling.k=8", "sampling.window=8"],
}
LABELS = {"random": "random init", "k1": "k = 1", "k8": "k = 8 (w = M_n)",
          "k8_w8": "k = 8, w = k", "ceiling": "supervised ceiling"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world and of every run")
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS),
                        help="pretraining runs (default: k1 k8 k8_w8)")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the supervised ceiling")
    parser.add_argument("--preset", default="demo", help="TV world preset (demo | tiny)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for world generation and prepare")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="stages run at once (trainings, evaluations; default: 2)")
    parser.add_argument("--config-dir", default=None,
                        help="folder holding demo.yaml and eval/ (default: ./configs, else the "
                             "configs shipped with binge)")
    parser.add_argument("--fsdd", default=None,
                        help="FSDD folder (default: $BINGE_SHARED_DATA/fsdd or ../shared/data/fsdd; "
                             "skipped with a message when absent)")
    parser.add_argument("--no-fsdd", action="store_true", help="skip the FSDD probe")
    parser.add_argument("--pretrain-set", action="append", default=[], metavar="section.key=value",
                        help="extra overrides for every training run, the ceiling too (repeatable)")


# ----------------------------------------------------------------------------- helpers
def _config_dir(arg: str | None) -> Path:
    """--config-dir, else ./configs, else the configs shipped with binge (a pip install too)."""
    from binge import config

    candidates = [Path(arg)] if arg else [Path.cwd() / "configs", config.shipped_config_dir()]
    for cand in candidates:
        if (cand / "demo.yaml").is_file():
            return cand
    raise SystemExit(
        f"binge demo: no demo.yaml in {', '.join(map(str, candidates))}; reinstall binge (its "
        "configs ship with it) or pass --config-dir pointing at a configs/ folder"
    )


def _fsdd_dir(arg: str | None) -> Path | None:
    if arg:
        path = Path(arg)
        if not (path / "recordings").is_dir():
            raise SystemExit(f"binge demo: --fsdd {path} has no recordings/ folder")
        return path
    shared = Path(os.environ.get("BINGE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    path = shared / "fsdd"
    return path if (path / "recordings").is_dir() else None


class _State:
    """Finished stages, persisted atomically so an interrupted demo resumes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}

    def __contains__(self, key: str) -> bool:
        return key in self.done

    def mark(self, key: str, value: Any = True) -> None:
        self.done[key] = value
        write_json(self.done, self.path, indent=1)


def _command(argv: Sequence[str]) -> str:
    return "binge " + " ".join(shlex.quote(a) for a in argv)


def _run_stage(state: _State, key: str, argv: list[str]) -> None:
    """Print the equivalent shell command, run it in-process, record success."""
    from binge.cli import main as binge_main

    command = _command(argv)
    if key in state:
        print(f"\n[demo] done already: {command}", flush=True)
        return
    print(f"\n[demo] $ {command}", flush=True)
    start, cpu = time.perf_counter(), _cpu_seconds()
    code = binge_main(argv)
    if code != 0:
        raise SystemExit(f"binge demo: stage '{key}' failed with exit status {code}: {command}")
    state.mark(key, {"seconds": round(time.perf_counter() - start, 1),
                     "cpu_seconds": round(_cpu_seconds() - cpu, 1), "command": command})


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its ended children (worker pools)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _run_parallel(state: _State, stages: list[tuple[str, list[str]]], jobs: int, logs: Path) -> None:
    """Run ``stages`` as ``python -m binge`` processes, ``jobs`` at a time, one thread each
    (:func:`binge.workers.run_processes`); each one's output goes to ``logs/<key>.log``. Any
    failure stops the demo (after the running ones end) with the log's path."""
    from binge.workers import Job, run_processes

    todo, commands = [], {}
    for key, argv in stages:
        commands[key] = _command(argv)
        if key in state:
            print(f"\n[demo] done already: {commands[key]}", flush=True)
        else:
            todo.append(Job(key, [sys.executable, "-m", "binge", *argv], logs / f"{key}.log"))

    def started(job: Job) -> None:
        print(f"\n[demo] $ {commands[job.key]}   (log: {job.log})", flush=True)

    def done(job: Job, seconds: float, cpu: float) -> None:
        state.mark(job.key, {"seconds": seconds, "cpu_seconds": cpu, "command": commands[job.key]})
        print(f"[demo] done in {seconds:.0f} s ({cpu:.0f} s CPU): {job.key}", flush=True)

    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    failed = run_processes(todo, jobs, started, done, env)
    if failed:
        raise SystemExit("binge demo: stage " + "; stage ".join(failed))


# ----------------------------------------------------------------------------- stages
def _eval_jobs(world: Path, fsdd: Path | None, cfg_dir: Path) -> list[tuple[str, str, Path, str]]:
    """(name, config, dataset root, modality) for every downstream set of the demo."""
    jobs = [
        ("world-action", "eval/world_action_linear_micro.yaml", world / "downstream" / "world-action", "video"),
        ("world-sound", "eval/world_sound_linear_micro.yaml", world / "downstream" / "world-sound", "audio"),
    ]
    if fsdd is not None:
        jobs.append(("fsdd", "eval/fsdd_linear_micro.yaml", fsdd, "audio"))
    return [(n, str(cfg_dir / c), r, m) for n, c, r, m in jobs]


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _top1(results: dict[str, Any] | None) -> dict[str, Any] | None:
    return (results or {}).get("summary", {}).get("top1") or None


def _summary_value(results: dict[str, Any] | None) -> str:
    """Top-1 accuracy in % from a results.json of binge evaluate: mean ± std over splits, or,
    for a single split (FSDD), the 95 % Wilson interval of its test clips (scipy's
    ``binomtest``), so that one split's number carries its own uncertainty."""
    top1 = _top1(results)
    if not top1:
        return "n/a"
    if top1["n"] == 1 and results.get("splits"):
        from scipy.stats import binomtest

        split = results["splits"][0]
        clips = int(split["num_test"])
        interval = binomtest(round(split["top1"] * clips), clips).proportion_ci(0.95, "wilson")
        return (f"{100 * top1['mean']:.1f} [{100 * interval.low:.1f}, {100 * interval.high:.1f}] "
                f"(1 split, {clips} clips)")
    return f"{100 * top1['mean']:.1f} ± {100 * top1['std']:.1f} ({top1['n']} split{'s' * (top1['n'] > 1)})"


def floor_table(out: Path, encoders: list[str], jobs: list[tuple[str, str, Path, str]]) -> str:
    """Markdown: each trained encoder's probe accuracy minus the random encoder's (the floor),
    in points, per set; "n/a" where either is missing."""
    floor = {name: _top1(_read_json(out / "eval" / "random" / name / "results.json"))
             for name, *_ in jobs}
    rows = [["encoder − random init"] + [f"Δ {name} (points)" for name, *_ in jobs]]
    rows.append(["---"] * len(rows[0]))
    for enc in (e for e in encoders if e != "random"):
        row = [LABELS.get(enc, enc)]
        for name, *_ in jobs:
            top1 = _top1(_read_json(out / "eval" / enc / name / "results.json"))
            row.append(f"{100 * (top1['mean'] - floor[name]['mean']):+.1f}"
                       if top1 and floor[name] else "n/a")
        rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def read_curve(run: Path) -> list[dict[str, Any]]:
    """The learning-curve records (``probe/…``, ``disc/…``) of a run's metrics.jsonl, by step."""
    path = run / "metrics.jsonl"
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    points = {r["step"]: r for r in rows if any(k.startswith(("probe/", "disc/")) for k in r)}
    return [points[s] for s in sorted(points)]


def _loss_range(run: Path) -> str:
    path = run / "metrics.jsonl"
    if not path.is_file():
        return "–"
    losses = [r for r in (json.loads(line) for line in path.read_text().splitlines() if line.strip())
              if "loss" in r]
    return f"{losses[0]['loss']:.2f} → {losses[-1]['loss']:.2f}" if losses else "–"


def results_table(out: Path, encoders: list[str], jobs: list[tuple[str, str, Path, str]]) -> str:
    """Markdown: per encoder, the probes (mean ± std over splits), the discrepancy measures of
    the last learning-curve point, and the training loss (first → last logged window)."""
    header = (["encoder"] + [f"{name} top-1 %" for name, *_ in jobs]
              + ["KL(S−‖S+)", "KL(S≠‖S+)", "KL(S−‖S≠)", "loss (first → last)"])
    rows = [header, ["---"] * len(header)]
    for enc in encoders:
        row = [LABELS.get(enc, enc)]
        for name, *_ in jobs:
            row.append(_summary_value(_read_json(out / "eval" / enc / name / "results.json")))
        curve = read_curve(out / "runs" / enc) if enc not in ("random", "ceiling") else []
        last = curve[-1] if curve else {}
        for key in ("kl_neg_pos", "kl_diff_pos", "kl_neg_diff"):
            value = last.get(f"disc/{key}")
            row.append(f"{value:.3f}" if value is not None else "–")
        row.append(_loss_range(out / "runs" / enc) if enc != "random" else "–")
        rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def plot_curves(out: Path, runs: list[str], path: Path) -> Path | None:
    """probe accuracy (world-action, world-sound) and KL(S−‖S≠) against the step, per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from binge.io import atomic_path

    curves = {r: read_curve(out / "runs" / r) for r in runs}
    if not any(curves.values()):
        return None
    panels = [("probe/world-action", "world-action probe top-1"),
              ("probe/world-sound", "world-sound probe top-1"),
              ("disc/kl_neg_diff", "KL(S−‖S≠) (nats)")]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6))
    for ax, (key, title) in zip(axes, panels):
        for run, points in curves.items():
            pts = [(p["step"], p[key]) for p in points if key in p]
            if pts:
                ax.plot(*zip(*pts), marker="o", label=LABELS.get(run, run))
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def run(args: argparse.Namespace) -> int:
    """Every stage (resuming finished ones); ``OUT/run_info.json`` beside ``demo_state.json``."""
    from binge.runinfo import record_run

    out = Path(args.out).resolve()
    cfg_dir = _config_dir(args.config_dir)  # no configs: refused before anything is written
    with record_run(out, "demo"):
        return _run_stages(args, out, cfg_dir)


def _run_stages(args: argparse.Namespace, out: Path, cfg_dir: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    demo_cfg = str(cfg_dir / "demo.yaml")
    fsdd = None if args.no_fsdd else _fsdd_dir(args.fsdd)
    state = _State(out / STATE_FILE)
    world, corpus = out / "world", out / "corpus"
    wall = time.perf_counter()

    _run_stage(state, "world", ["world", "--out", str(world), "--preset", args.preset,
                                "--seed", str(args.seed), "--workers", str(args.workers)])
    _run_stage(state, "prepare", ["prepare", "--metadata", str(world / "metadata.csv"),
                                  "--config", demo_cfg, "--out", str(corpus),
                                  "--workers", str(args.workers)])
    down = world / "downstream"
    probes = f"discrepancy.probes=[world-action={down / 'world-action'},world-sound={down / 'world-sound'}]"
    common = [f"data.corpus={corpus}", f"train.seed={args.seed}"]
    training: list[tuple[str, list[str]]] = []
    for name in args.runs:
        training.append((f"pretrain-{name}", [
            "pretrain", "--config", demo_cfg, *common, f"train.out_dir={out / 'runs' / name}",
            *RUNS[name], probes, *args.pretrain_set]))
    encoders = ["random", *args.runs]
    if not args.no_ceiling:
        training.append(("supervised-ceiling", [
            "supervised", "--config", demo_cfg, "--ground-truth", str(world / "ground_truth"),
            *common, f"train.out_dir={out / 'runs' / 'ceiling'}", *args.pretrain_set]))
        encoders.append("ceiling")
    _run_parallel(state, training, args.jobs, out / "logs")

    if fsdd is None and not args.no_fsdd:
        print("\n[demo] FSDD not found (set BINGE_SHARED_DATA or --fsdd): skipping the FSDD probe")
    jobs = _eval_jobs(world, fsdd, cfg_dir)
    evaluations = []
    for enc in encoders:
        for name, cfg, root, modality in jobs:
            source = (["--random-init", _random_model(demo_cfg, modality)] if enc == "random"
                      else ["--checkpoint", str(out / "runs" / enc / "export")])
            evaluations.append((f"evaluate-{enc}-{name}", [
                "evaluate", "--config", cfg, "--root", str(root), *source,
                "--out", str(out / "eval" / enc / name), f"evaluate.seed={args.seed}",
                f"evaluate.cache_dir={out / 'eval' / 'cache'}",
                "evaluate.splits=[]",  # every split / fold of the set
            ]))
    _run_parallel(state, evaluations, args.jobs, out / "logs")

    table = results_table(out, encoders, jobs)
    plot = plot_curves(out, list(args.runs), out / "curves.png")
    stage_minutes = sum(s["seconds"] for s in state.done.values()) / 60
    text = (
        "# binge demo results\n\nTop-1 accuracy (%) of linear probes on frozen features "
        "(mean ± std over the splits / folds of each set; for a set of one split, the 95 % Wilson "
        "interval of its test clips); the discrepancy measures (paper Eq. 2, "
        "KL in nats) on the held-out shows at the last step; the Eq. 1 loss of the first and "
        f"last logged window (log(2B − 1) = {_log2b(demo_cfg):.2f} at chance).\n\n"
        f"{table}\n\nAgainst the floor (one seed; a single-split set's interval is in "
        f"the table above):\n\n{floor_table(out, encoders, jobs)}\n\n"
        "Learning curves (probes on split 1 and KL(S−‖S≠) every "
        f"{_every(demo_cfg)} steps): {plot.name if plot else 'none'}. This invocation took "
        f"{(time.perf_counter() - wall) / 60:.1f} min of wall time; the stages, run "
        f"{args.jobs} at a time, add up to {stage_minutes:.1f} min (commands and times: "
        f"{STATE_FILE}).\n"
    )
    atomic_write_text(out / "results.md", text)
    print("\n" + text)
    print(f"[demo] plots: {out / 'curves.png'} (learning curves), {out / 'eval'} (confusion matrices)")
    return 0


def _log2b(demo_cfg: str) -> float:
    import math

    from binge.config import load_config

    return math.log(2 * load_config(demo_cfg).sampling.batch_size - 1)


def _every(demo_cfg: str) -> int:
    from binge.config import load_config

    return load_config(demo_cfg).discrepancy.every_steps


def _random_model(demo_cfg: str, modality: str) -> str:
    from binge.config import load_config

    cfg = load_config(demo_cfg)
    return cfg.model.video if modality == "video" else cfg.model.audio


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="binge demo")
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
