"""``binge demo``: the whole pipeline on the embedded TV world, on a laptop CPU.

The demo is nothing but the stage commands run in order; each one is printed before it
runs, so a user moves to their own titles by swapping one path (the ``binge prepare``
source). Every stage is resumable on its own (the world generator reuses a finished
folder, ``prepare`` keeps finished titles, ``pretrain`` resumes from its last checkpoint)
and the demo records finished stages in ``OUT/demo_state.json``, so rerunning the same
command after an interruption continues where it stopped.

Stages (paper §3–4 at CPU scale):
  1. ``binge world``        the ``demo`` preset of the procedural TV world
  2. ``binge prepare``      its titles → a prepared corpus (show-disjoint held-out split)
  3. ``binge pretrain``     Eq. 1 NCE with k = 1 (the i.i.d. baseline) and with k > 1
  4. ``binge discrepancy``  KL measures of every run on the held-out shows (Fig. 1)
  5. ``binge evaluate``     linear probes on world-action, world-sound and the real FSDD,
                            for a random encoder (the floor) and each pretrained one
  6. a results table        printed, and written to OUT/results.md + OUT/results.json
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

from binge.io import write_json

HELP = "run the whole pipeline on the embedded TV world (world → prepare → pretrain → discrepancy → evaluate)"
DESCRIPTION = (
    __doc__.split("Stages", 1)[0].strip()
    + "\n\nexamples:\n  binge demo\n  binge demo --out demo_out --ks 1 8 --workers 2\n"
)

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_FILE = "demo_state.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world and of every run")
    parser.add_argument(
        "--ks", type=int, nargs="+", default=[1, 8],
        help="sample sizes k to pretrain with (k = 1 is the i.i.d. baseline; default: 1 8)",
    )
    parser.add_argument("--preset", default="demo", help="TV world preset (demo | tiny)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for world generation and prepare")
    parser.add_argument("--config-dir", default=None,
                        help="folder holding demo.yaml and eval/ (default: the repo's configs/)")
    parser.add_argument("--fsdd", default=None,
                        help="FSDD folder (default: $BINGE_SHARED_DATA/fsdd or ../shared/data/fsdd; "
                             "skipped with a message when absent)")
    parser.add_argument("--no-fsdd", action="store_true", help="skip the FSDD probe")
    parser.add_argument("--pretrain-set", action="append", default=[], metavar="section.key=value",
                        help="extra overrides for every pretraining run (repeatable)")


# ----------------------------------------------------------------------------- helpers
def _config_dir(arg: str | None) -> Path:
    candidates = [Path(arg)] if arg else [Path.cwd() / "configs", REPO_ROOT / "configs"]
    for cand in candidates:
        if (cand / "demo.yaml").is_file():
            return cand
    raise SystemExit(
        f"binge demo: no demo.yaml in {', '.join(map(str, candidates))}; run from the binge "
        "repository or pass --config-dir pointing at its configs/ folder"
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


def _run_stage(state: _State, key: str, argv: list[str], ok_codes: Sequence[int] = (0,)) -> None:
    """Print the equivalent shell command, run it in-process, record success."""
    from binge.cli import main as binge_main

    command = "binge " + " ".join(shlex.quote(a) for a in argv)
    if key in state:
        print(f"\n[demo] done already: {command}", flush=True)
        return
    print(f"\n[demo] $ {command}", flush=True)
    start = time.perf_counter()
    code = binge_main(argv)
    if code not in ok_codes:
        raise SystemExit(f"binge demo: stage '{key}' failed with exit status {code}: {command}")
    state.mark(key, {"seconds": round(time.perf_counter() - start, 1), "command": command})


# ----------------------------------------------------------------------------- stages
def _eval_jobs(out: Path, world: Path, fsdd: Path | None, cfg_dir: Path) -> list[tuple[str, str, Path, str]]:
    """(name, config, dataset root, modality) for every downstream set of the demo."""
    jobs = [
        ("world-action", "eval/world_action_linear_tiny.yaml", world / "downstream" / "world-action", "video"),
        ("world-sound", "eval/world_sound_linear_tiny.yaml", world / "downstream" / "world-sound", "audio"),
    ]
    if fsdd is not None:
        jobs.append(("fsdd", "eval/fsdd_linear_tiny.yaml", fsdd, "audio"))
    return [(n, str(cfg_dir / c), r, m) for n, c, r, m in jobs]


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _summary_value(results: dict[str, Any] | None) -> str:
    """Top-1 accuracy in % (mean ± std over splits) from a results.json of binge evaluate."""
    top1 = (results or {}).get("summary", {}).get("top1")
    if not top1:
        return "n/a"
    return f"{100 * top1['mean']:.1f} ± {100 * top1['std']:.1f} ({top1['n']} split{'s' * (top1['n'] > 1)})"


def _final_discrepancy(out: Path, run_name: str) -> dict[str, Any] | None:
    """The measures of a run's last checkpoint (``binge discrepancy --compare`` curves)."""
    curves = _read_json(out / "discrepancy" / run_name / "curves.json")
    points = (curves or {}).get("points") or []
    return max(points, key=lambda p: p["step"]) if points else None


def _results_table(out: Path, encoders: list[str], jobs: list[tuple[str, str, Path, str]]) -> str:
    header = (["encoder"] + [f"{name} top-1 %" for name, *_ in jobs]
              + ["KL(S−‖S+)", "KL(S≠‖S+)", "KL(S−‖S≠)"])
    rows = [header, ["---"] * len(header)]
    for enc in encoders:
        row = [enc]
        for name, *_ in jobs:
            row.append(_summary_value(_read_json(out / "eval" / enc / name / "results.json")))
        disc = _final_discrepancy(out, enc) if enc != "random" else None
        keys = ("kl_neg_pos", "kl_diff_pos", "kl_neg_diff")
        row += [f"{disc[k]:.3f}" for k in keys] if disc else ["–"] * len(keys)
        rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    cfg_dir = _config_dir(args.config_dir)
    demo_cfg = str(cfg_dir / "demo.yaml")
    fsdd = None if args.no_fsdd else _fsdd_dir(args.fsdd)
    state = _State(out / STATE_FILE)
    world, corpus = out / "world", out / "corpus"

    _run_stage(state, "world", ["world", "--out", str(world), "--preset", args.preset,
                                "--seed", str(args.seed), "--workers", str(args.workers)])
    _run_stage(state, "prepare", ["prepare", "--metadata", str(world / "metadata.csv"),
                                  "--config", demo_cfg, "--out", str(corpus),
                                  "--workers", str(args.workers)])
    runs = {}
    for k in args.ks:
        name = f"k{k}"
        runs[name] = out / "runs" / name
        _run_stage(state, f"pretrain-{name}", [
            "pretrain", "--config", demo_cfg, f"data.corpus={corpus}",
            f"train.out_dir={runs[name]}", f"sampling.k={k}", f"train.seed={args.seed}",
            *args.pretrain_set,
        ])
    _run_stage(state, "discrepancy", [
        "discrepancy", "--compare", *map(str, runs.values()), "--corpus", str(corpus),
        "--config", demo_cfg, "--out", str(out / "discrepancy"),
    ])
    if fsdd is None and not args.no_fsdd:
        print("\n[demo] FSDD not found (set BINGE_SHARED_DATA or --fsdd): skipping the FSDD probe")
    jobs = _eval_jobs(out, world, fsdd, cfg_dir)
    encoders = ["random", *runs]
    for enc in encoders:
        for name, cfg, root, modality in jobs:
            source = (["--random-init", _random_model(demo_cfg, modality)] if enc == "random"
                      else ["--checkpoint", str(runs[enc] / "export")])
            _run_stage(state, f"evaluate-{enc}-{name}", [
                "evaluate", "--config", cfg, "--root", str(root), *source,
                "--out", str(out / "eval" / enc / name), f"evaluate.seed={args.seed}",
                "evaluate.splits=[]",  # every split / fold of the set
            ])

    table = _results_table(out, encoders, jobs)
    minutes = sum(stage["seconds"] for stage in state.done.values()) / 60
    text = (
        "# binge demo results\n\nTop-1 accuracy (%) of linear probes on frozen features "
        "(mean ± std over the splits / folds of each set), and the discrepancy measures of the "
        "last checkpoint on the held-out shows (paper Eq. 2; KL in nats).\n\n"
        f"{table}\n\nThe stages took {minutes:.1f} min in all; their commands and times are in "
        f"{STATE_FILE}.\n"
    )
    (out / "results.md").write_text(text)
    print("\n" + text)
    print(f"[demo] plots: {out / 'discrepancy'} (histograms.png, compare.png), "
          f"{out / 'eval'} (confusion matrices)")
    return 0


def _random_model(demo_cfg: str, modality: str) -> str:
    from binge.config import load_config

    cfg = load_config(demo_cfg)
    return cfg.model.video if modality == "video" else cfg.model.audio


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="binge demo")
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
