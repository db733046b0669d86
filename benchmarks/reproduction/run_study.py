"""The reproduction study at CPU scale: the direction of the paper's Table 1/2 and Figure 1,
and the objective comparison of the seed papers' methods on the same data and budget.

Every setting is pretrained with the same budget (``configs/study/pretrain.yaml``: 100 steps
of B = 32) on the same prepared TV world (``demo`` preset, seed 0), for several seeds, then
measured by ``binge discrepancy`` on the held-out shows and by linear probes on world-action
and world-sound (``configs/study/world_*_linear.yaml``). Groups (tv_paper.md §4.2):

- ``floor``      randomly initialised encoders, probed only (what pretraining must beat)
- ``k``          k ∈ {1, 4, 8, 16}, w = M_n                    (Table 1, Fig. 1a)
- ``objectives`` Self/Cross/Joint-AVID, AVID+CMA, CrissCross, k = 1 (avid_cma.md, crisscross)
- ``bank``       Self/Cross/Joint-AVID with ``objective.avid.bank_init=encode`` (the bank filled by
                 the initial encoders before step 1, so Z̄ is estimated against real features)
- ``window``     k = 16, w ∈ {16 (= k, adjacent), 24}; w = M_n is ``k16_wM`` (Table 1, Fig. 1b–c);
                 and the scene policies (paper §4.2's future work; docs/sampling.md):
                 ``window: scene`` (``k16_wscene``) and ``scene_policy: distinct``
                 (``k16_distinct``), with the detected scenes (CORPUS/scenes.csv, ``binge
                 scenes``) and with the world's ground-truth scenes (``*_gt``)
- ``l2``         ℓ2-normalised, τ ∈ {0.07, 0.3}, k = 16, against unnormalised ``k16_wM`` (Table 2)
- ``jitter``     σ ∈ {0.5, 1} with k = 1 and k = 16; σ = 0 is ``k1_wM``/``k16_wM`` (Table 2, Fig. 2)

AVID+CMA starts from the same seed's Cross-AVID run at step 50 and trains 50 steps, so its
budget is the same 100 steps (avid_cma.md §4.1 initialises CMA from Cross-AVID).

Usage (the one command that reruns the whole table; resumable, every stage is skipped when
its output exists, and ``OUT/study.json`` is rewritten after every run)::

    python benchmarks/reproduction/run_study.py --out runs/study --seeds 0 1 2
    python benchmarks/reproduction/run_study.py --out runs/study --groups k --seeds 0

Writes ``OUT/study.json`` (every number per seed) and ``OUT/study.md`` (mean ± std);
``plot_study.py`` draws the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any, Optional

import yaml

from binge.cli import main as binge
from binge.data.corpus import atomic_write_text

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs" / "study"

AVID_LR = "optim.lr=5e-4"  # the shipped configs/objectives/*_tiny.yaml choices
CRISSCROSS = ["objective.name=crisscross", "augment.pipeline=crisscross", "optim.lr=2e-4",
              "optim.warmup_start_lr=2e-5", "optim.weight_decay=1e-4"]

#: the scene policies, run with the window group; "{corpus}" is the study's corpus folder
SCENE_SETTINGS = [
    (f"k16_{name}{suffix}", ["sampling.k=16", policy, "sampling.short_titles=shrink_window",
                             *scenes])
    for name, policy in (("wscene", "sampling.window=scene"),
                         ("distinct", "sampling.scene_policy=distinct"))
    for suffix, scenes in (("", []), ("_gt", ["sampling.scenes={corpus}/scenes_gt.csv"]))
]
#: group → [(setting name, overrides)]
FLOOR = "random_init"  # no pretraining: the linear probes' floor, one random init per seed
SETTINGS: dict[str, list[tuple[str, list[str]]]] = {
    "floor": [(FLOOR, [])],
    "k": [(f"k{k}_wM", [f"sampling.k={k}"]) for k in (1, 4, 8, 16)],
    "objectives": [
        *[(f"avid_{v}", ["objective.name=avid", f"objective.avid.variant={v}", AVID_LR])
          for v in ("self", "cross", "joint")],
        ("avid_cma", ["objective.name=cma", AVID_LR, "optim.epochs=2"]),  # + init, see below
        ("crisscross", CRISSCROSS),
    ],
    "bank": [(f"avid_{v}_encode", ["objective.name=avid", f"objective.avid.variant={v}", AVID_LR,
                                   "objective.avid.bank_init=encode"])
             for v in ("self", "cross", "joint")],
    "window": [(f"k16_w{w}", ["sampling.k=16", f"sampling.window={w}",
                              "sampling.short_titles=shrink_window"]) for w in (16, 24)]
    + SCENE_SETTINGS,
    "l2": [(f"k16_l2_tau{t}", ["sampling.k=16", "objective.normalize=true",
                               f"objective.temperature={t}"]) for t in (0.07, 0.3)],
    "jitter": [(f"k{k}_jitter{s}", [f"sampling.k={k}", f"augment.color_jitter={s}"])
               for k in (1, 16) for s in (0.5, 1.0)],
}
#: a setting that starts from another setting's checkpoint of the same seed, at the step
#: given by ``--init-step`` (default 50 of 100: the pair keeps the budget of one run)
INIT_FROM = {"avid_cma": "avid_cross"}
EVALS = [("world-action", "world_action_linear.yaml", "video"),
         ("world-sound", "world_sound_linear.yaml", "audio")]
KL_KEYS = ["kl_neg_pos", "kl_diff_pos", "kl_neg_diff", "gap"]
METRICS = ["world-action", "world-sound", *KL_KEYS, "loss_first", "loss_last"]


def _once(folder: Path, marker: str, argv: list[str]) -> None:
    """Run ``binge argv`` unless a file named ``marker`` exists under ``folder`` (what makes
    the study resumable; each stage writes its marker last, atomically)."""
    if folder.is_dir() and any(folder.rglob(marker)):
        return
    _run(argv)


def _run(argv: list[str]) -> None:
    print("$ binge " + " ".join(argv), flush=True)
    code = binge(argv)
    if code != 0:
        raise SystemExit(f"failed ({code}): binge {' '.join(argv)}")


def _init_overrides(out: Path, name: str, seed: int, step: int) -> list[str]:
    if name not in INIT_FROM:
        return []
    source = INIT_FROM[name]
    ckpt = out / "runs" / f"{source}_s{seed}" / "checkpoints" / f"step_{step:07d}.pt"
    if not ckpt.is_file():
        raise SystemExit(f"{name} starts from {ckpt}, which is absent: run {source} first "
                         f"(the objectives group runs it before {name})")
    return [f"objective.cma.init_checkpoint={ckpt}"]


def run_setting(out: Path, corpus: Path, world: Path, name: str, overrides: list[str],
                seed: int, extra: list[str], eval_extra: list[str],
                init_step: int = 50) -> dict[str, Any]:
    """Pretrain one (setting, seed), measure its discrepancy and probe it; returns its row.
    The ``floor`` setting (FLOOR) only probes randomly initialised encoders of that seed."""
    run = out / "runs" / f"{name}_s{seed}"
    result: dict[str, Any] = {"setting": name, "seed": seed}
    if name == FLOOR:
        models = yaml.safe_load((CONFIGS / "pretrain.yaml").read_text())["model"]
        sources = {"video": ["--random-init", models["video"]],
                   "audio": ["--random-init", models["audio"]]}
        result.update(dict.fromkeys([*KL_KEYS, "loss_first", "loss_last"], None))
    else:
        _once(run / "export", "config.json", [
            "pretrain", "--config", str(CONFIGS / "pretrain.yaml"), f"data.corpus={corpus}",
            f"train.out_dir={run}", f"train.seed={seed}",
            *[o.format(corpus=corpus) for o in overrides],
            *_init_overrides(out, name, seed, init_step), *extra])
        disc = run / "discrepancy"
        _once(disc, "discrepancy.json", [
            "discrepancy", "--checkpoint", str(run / "checkpoints" / "last.pt"), "--corpus",
            str(corpus), "--out", str(disc)])
        found = _find_json(disc, "discrepancy.json")
        result.update({k: found[k] for k in KL_KEYS})
        result.update(loss_first_last(run / "metrics.jsonl"))
        sources = dict.fromkeys(("video", "audio"), ["--checkpoint", str(run / "export")])
    for dataset, cfg, modality in EVALS:
        ev = run / "eval" / dataset
        _once(ev, "results.json", [
            "evaluate", "--config", str(CONFIGS / cfg), "--root",
            str(world / "downstream" / dataset), *sources[modality],
            "--out", str(ev), f"evaluate.seed={seed}",
            f"evaluate.cache_dir={out / 'eval_cache'}", *eval_extra])
        summary = json.loads((ev / "results.json").read_text())["summary"]
        result[dataset] = 100.0 * summary["top1"]["mean"]
    return result


def loss_first_last(metrics: Path) -> dict[str, float]:
    """The training loss at the first and the last logged step of a run (metrics.jsonl)."""
    logged = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    losses = [entry["loss"] for entry in logged if "loss" in entry]
    if not losses:
        raise SystemExit(f"{metrics}: no logged loss")
    return {"loss_first": losses[0], "loss_last": losses[-1]}


def _find_json(folder: Path, name: str) -> dict[str, Any]:
    hits = sorted(folder.rglob(name))
    if not hits:
        raise SystemExit(f"no {name} under {folder}")
    return json.loads(hits[-1].read_text())


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(rows: list[dict[str, Any]]) -> str:
    """A Markdown table: one line per setting, mean ± std over its seeds."""
    head = ["setting", "seeds", "world-action top-1 %", "world-sound top-1 %",
            "KL(S−‖S+)", "KL(S≠‖S+)", "KL(S−‖S≠)", "gap", "loss, first step",
            "loss, last step"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name in dict.fromkeys(r["setting"] for r in rows):
        group = [r for r in rows if r["setting"] == name]
        cells = []
        for key in METRICS:
            if any(r.get(key) is None for r in group):
                cells.append("—")
                continue
            mean, sd = mean_std([float(r[key]) for r in group])
            cells.append(f"{mean:.1f} ± {sd:.1f}" if key.startswith("world") else
                         f"{mean:.2f} ± {sd:.2f}" if key.startswith("loss") else
                         f"{mean:.3f} ± {sd:.3f}")
        lines.append(f"| {name} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def prepare_world(out: Path, preset: str, workers: int) -> tuple[Path, Path]:
    """The study's TV world and its prepared corpus. Both commands are resumable and return
    at once when their output is complete, so they always run."""
    world, corpus = out / "world", out / "corpus"
    for argv in (["world", "--out", str(world), "--preset", preset, "--seed", "0",
                  "--workers", str(workers)],
                 ["prepare", "--metadata", str(world / "metadata.csv"), "--config",
                  str(CONFIGS / "pretrain.yaml"), "--out", str(corpus), "--workers", str(workers)],
                 ["scenes", str(corpus), "--quiet"],  # detected: CORPUS/scenes.csv
                 ["scenes", str(corpus), "--from-world", str(world),
                  "--out", str(corpus / "scenes_gt.csv")]):
        _run(argv)
    return world, corpus


def run_study(out: Path, groups: list[str], seeds: list[int], preset: str = "demo",
              workers: int = 2, extra: Optional[list[str]] = None,
              eval_extra: Optional[list[str]] = None, init_step: int = 50,
              only: Optional[list[str]] = None) -> list[dict[str, Any]]:
    """Every (group, seed, setting) in that order, or only the settings named in ``only``;
    writes study.json/md after each run, keeping the rows of earlier invocations."""
    known = {name for g in SETTINGS.values() for name, _ in g}
    if only and set(only) - known:
        raise SystemExit(f"unknown settings {sorted(set(only) - known)}; known: {sorted(known)}")
    out = out.resolve()
    world, corpus = prepare_world(out, preset, workers)
    done = json.loads((out / "study.json").read_text()) if (out / "study.json").is_file() else []
    rows = [r for r in done if r["setting"] in known]
    for group in groups:
        for seed in seeds:
            for name, overrides in SETTINGS[group]:
                if only and name not in only:
                    continue
                row = run_setting(out, corpus, world, name, overrides, seed,
                                  extra or [], eval_extra or [], init_step)
                rows = _ordered([r for r in rows if (r["setting"], r["seed"]) != (name, seed)]
                                + [row])
                atomic_write_text(out / "study.json", json.dumps(rows, indent=1))
                atomic_write_text(out / "study.md", summarise(rows) + "\n")
    return _ordered(rows)


def _ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in the order of SETTINGS (floor, k, objectives, ...), then by seed."""
    order = {name: i for i, (name, _) in enumerate(s for g in SETTINGS.values() for s in g)}
    return sorted(rows, key=lambda r: (order[r["setting"]], r["seed"]))


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/study"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--groups", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--preset", default="demo", help="TV world preset (demo | tiny)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="section.key=value",
                        help="extra pretraining override for every setting (e.g. for a smoke run)")
    parser.add_argument("--eval-set", action="append", default=[], metavar="section.key=value",
                        help="extra evaluation override for every probe")
    parser.add_argument("--init-step", type=int, default=50,
                        help="the Cross-AVID step AVID+CMA starts from (default 50)")
    parser.add_argument("--only", nargs="+", metavar="SETTING",
                        help="run only these settings of the chosen groups (e.g. k1_wM k8_wM)")
    args = parser.parse_args(argv)
    rows = run_study(args.out, args.groups, args.seeds, args.preset, args.workers,
                     args.set, args.eval_set, args.init_step, args.only)
    print(summarise(rows))


if __name__ == "__main__":
    main()
