"""The reproduction study at CPU scale: the direction of the paper's Table 1/2 and Figure 1,
and the objective comparison of the seed papers' methods on the same data and budget.

Every setting is pretrained with the same budget on the same prepared TV world (``demo``
preset, seed 0), for several seeds, then measured by ``binge discrepancy`` on the held-out
shows and by linear probes on world-action and world-sound. Two budgets (``--budget``):

- ``micro`` (default; issue 14): ``configs/study/micro.yaml``, the CPU geometry and 1,500-step
  budget of ``binge demo`` (1-s snippets of 8 frames at 32 px, 32 mel filters, the ``*_micro``
  encoders, B = 64); probes ``configs/eval/world_*_linear_micro.yaml`` on every split / fold
  (a seed's number is their mean); the large k is 8.
- ``tiny100``: the earlier study, ``configs/study/pretrain.yaml`` (100 steps of B = 32, tiny
  encoders), probes on split / fold 1; the large k is 16.

Groups (tv_paper.md §4.2; K is the budget's large k):

- ``floor``      randomly initialised encoders, probed only (what pretraining must beat)
- ``k``          k ∈ {1, 4, 8, 16}, w = M_n                    (Table 1, Fig. 1a)
- ``objectives`` Self/Cross/Joint-AVID, AVID+CMA, CrissCross, k = 1 (avid_cma.md, crisscross)
- ``bank``       Self/Cross/Joint-AVID with ``objective.avid.bank_init=encode`` (the bank filled by
                 the initial encoders before step 1, so Z̄ is estimated against real features)
- ``window``     k = K, w ∈ {K (adjacent), 1.5 K}; w = M_n is ``kK_wM`` (Table 1, Fig. 1b–c);
                 and the scene policies (paper §4.2's future work; docs/sampling.md):
                 ``window: scene`` (``kK_wscene``) and ``scene_policy: distinct``
                 (``kK_distinct``), with the detected scenes (CORPUS/scenes.csv, ``binge
                 scenes``) and with the world's ground-truth scenes (``*_gt``)
- ``l2``         ℓ2-normalised, τ ∈ {0.07, 0.3}, k = K, against unnormalised ``kK_wM`` (Table 2)
- ``jitter``     σ ∈ {0.5, 1} with k = 1 and k = K; σ = 0 is ``k1_wM``/``kK_wM`` (Table 2, Fig. 2)

AVID+CMA starts from the same seed's Cross-AVID run at the budget's ``init_step`` (half the
run) and trains the remaining epochs, so the pair keeps one run's budget (avid_cma.md §4.1).

Every (setting, seed) pair is compared with its reference on the same seed (:func:`comparisons`:
each k against k = 1 and against the floor, the window group against w = M_n, ...): the mean
difference and its 95 % interval (Student's t) are the second table of ``OUT/study.md``.

Usage (the one command that reruns the table; resumable: a finished (setting, seed) is never
rerun, every stage is skipped when its output exists, a killed pretraining resumes)::

    python benchmarks/reproduction/run_study.py --jobs 2     # every group, seeds 0-4, micro
    python benchmarks/reproduction/run_study.py --groups floor k window --jobs 2 \
        --only random_init k1_wM k4_wM k8_wM k16_wM k8_w8 k8_wscene k8_distinct \
        k8_wscene_gt k8_distinct_gt                         # a subset of settings
    python benchmarks/reproduction/run_study.py --budget tiny100 --seeds 0 1 2

Writes ``OUT/study.json`` (every number per seed; OUT defaults to ``runs/study_<budget>``),
``OUT/rows/`` (one file per finished run) and ``OUT/study.md`` (mean ± std, then the paired
differences); ``--jobs 2`` runs two (setting, seed) pairs at once, one process and one thread
each (logs in ``OUT/logs/``). ``plot_study.py`` draws the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any, NamedTuple, Optional

import yaml

from binge.cli import main as binge
from binge.io import atomic_write_text
from binge.workers import Job, run_processes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired import t_interval  # noqa: E402  (benchmarks/reproduction/paired.py)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs" / "study"


class Budget(NamedTuple):
    """One study budget: the pretraining config every setting starts from, the probes, the
    large k of the groups (k ∈ {1, 4, 8, 16} always; window, ℓ2 and jitter use ``big_k``) and
    the step AVID+CMA starts from (half the run: the pair keeps one run's budget)."""

    pretrain: Path
    evals: tuple[tuple[str, Path, str], ...]  # (dataset, evaluate config, modality)
    eval_set: tuple[str, ...]  # evaluate overrides of every probe
    big_k: int
    init_step: int


BUDGETS = {
    # issue 14: the CPU geometry of `binge demo` at its 1,500 steps; probes on every split / fold
    "micro": Budget(CONFIGS / "micro.yaml",
                    (("world-action", REPO / "configs/eval/world_action_linear_micro.yaml", "video"),
                     ("world-sound", REPO / "configs/eval/world_sound_linear_micro.yaml", "audio")),
                    ("evaluate.splits=[]",), big_k=8, init_step=700),
    # the earlier study: 100 steps of B = 32 at the tiny geometry; probes on split / fold 1
    "tiny100": Budget(CONFIGS / "pretrain.yaml",
                      (("world-action", CONFIGS / "world_action_linear.yaml", "video"),
                       ("world-sound", CONFIGS / "world_sound_linear.yaml", "audio")),
                      (), big_k=16, init_step=50),
}

AVID_LR = "optim.lr=5e-4"  # the shipped configs/objectives/*_tiny.yaml choices
CRISSCROSS = ["objective.name=crisscross", "augment.pipeline=crisscross", "optim.lr=2e-4",
              "optim.warmup_start_lr=2e-5", "optim.weight_decay=1e-4"]
FLOOR = "random_init"  # no pretraining: the linear probes' floor, one random init per seed


def make_settings(big_k: int) -> dict[str, list[tuple[str, list[str]]]]:
    """group → [(setting name, overrides)]; ``{corpus}`` in an override is the study's corpus."""
    kk = f"sampling.k={big_k}"
    shrink = "sampling.short_titles=shrink_window"
    scene = [(f"k{big_k}_{name}{suffix}", [kk, policy, shrink, *scenes])
             for name, policy in (("wscene", "sampling.window=scene"),
                                  ("distinct", "sampling.scene_policy=distinct"))
             for suffix, scenes in (("", []), ("_gt", ["sampling.scenes={corpus}/scenes_gt.csv"]))]
    return {
        "floor": [(FLOOR, [])],
        "k": [(f"k{k}_wM", [f"sampling.k={k}"]) for k in (1, 4, 8, 16)],
        "objectives": [
            *[(f"avid_{v}", ["objective.name=avid", f"objective.avid.variant={v}", AVID_LR])
              for v in ("self", "cross", "joint")],
            ("avid_cma", ["objective.name=cma", AVID_LR]),  # + its init and epochs, see below
            ("crisscross", CRISSCROSS),
        ],
        "bank": [(f"avid_{v}_encode", ["objective.name=avid", f"objective.avid.variant={v}",
                                       AVID_LR, "objective.avid.bank_init=encode"])
                 for v in ("self", "cross", "joint")],
        "window": [(f"k{big_k}_w{w}", [kk, f"sampling.window={w}", shrink])
                   for w in (big_k, big_k * 3 // 2)] + scene,
        "l2": [(f"k{big_k}_l2_tau{t}", [kk, "objective.normalize=true",
                                        f"objective.temperature={t}"]) for t in (0.07, 0.3)],
        "jitter": [(f"k{k}_jitter{s}", [f"sampling.k={k}", f"augment.color_jitter={s}"])
                   for k in (1, big_k) for s in (0.5, 1.0)],
    }


#: the groups of the default budget (tests and plot_study read the names from here)
SETTINGS = make_settings(BUDGETS["micro"].big_k)
#: a setting that starts from another setting's checkpoint of the same seed, at the budget's
#: ``init_step`` (AVID+CMA from Cross-AVID, avid_cma.md §4.1), and trains the rest of the budget
INIT_FROM = {"avid_cma": "avid_cross"}
KL_KEYS = ["kl_neg_pos", "kl_diff_pos", "kl_neg_diff", "gap"]
METRICS = ["world-action", "world-sound", *KL_KEYS, "loss_first", "loss_last"]
#: the paired differences study.md reports: measures × their labels
PAIRED = [("world-action", "Δ world-action (points)"), ("world-sound", "Δ world-sound (points)"),
          ("kl_neg_diff", "Δ KL(S−‖S≠)")]


def comparisons(settings: dict[str, list[tuple[str, list[str]]]], big_k: int) -> list[tuple[str, str]]:
    """(setting, reference) pairs compared seed by seed: every k against the floor and
    against k = 1; the window, ℓ2 and jitter settings against their w = M_n / σ = 0 runs;
    the objectives against k = 1 (they sample i.i.d.); each bank_init=encode run against
    the same AVID variant with the default bank."""
    base, big = "k1_wM", f"k{big_k}_wM"
    names = {g: [n for n, _ in s] for g, s in settings.items()}
    pairs = [(n, FLOOR) for n in names["k"]]
    pairs += [(n, base) for n in names["k"] if n != base]
    pairs += [(n, big) for g in ("window", "l2") for n in names[g]]
    pairs += [(n, base if n.startswith("k1_") else big) for n in names["jitter"]]
    pairs += [(n, base) for n in names["objectives"]]
    pairs += [(n, n.removesuffix("_encode")) for n in names["bank"]]
    return pairs


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


def _steps(budget: Budget, extra: list[str]) -> tuple[int, int]:
    """(steps per epoch, epochs) of the budget's pretraining config with ``extra`` applied."""
    from binge.config import load_config

    cfg = load_config(budget.pretrain, [o for o in extra if o.startswith(("sampling.", "optim."))])
    return cfg.sampling.steps_per_epoch, cfg.optim.epochs


def _init_overrides(out: Path, name: str, seed: int, budget: Budget, init_step: int,
                    extra: list[str]) -> list[str]:
    """AVID+CMA: start from the same seed's Cross-AVID checkpoint at ``init_step`` and train
    the rest of the budget (whole epochs)."""
    if name not in INIT_FROM:
        return []
    source = INIT_FROM[name]
    ckpt = out / "runs" / f"{source}_s{seed}" / "checkpoints" / f"step_{init_step:07d}.pt"
    if not ckpt.is_file():
        raise SystemExit(f"{name} starts from {ckpt}, which is absent: run {source} first "
                         f"(the objectives group runs it before {name})")
    per_epoch, epochs = _steps(budget, extra)
    left = epochs - init_step // per_epoch  # the epochs after the one init_step ends in
    if left < 1:
        raise SystemExit(f"--init-step {init_step}: expected fewer than the budget's "
                         f"{epochs * per_epoch} steps")
    return [f"objective.cma.init_checkpoint={ckpt}", f"optim.epochs={left}"]


def run_setting(out: Path, corpus: Path, world: Path, name: str, overrides: list[str],
                seed: int, extra: list[str], eval_extra: list[str], budget: Budget,
                init_step: Optional[int] = None) -> dict[str, Any]:
    """Pretrain one (setting, seed), measure its discrepancy and probe it; returns its row
    (also written to ``OUT/rows/<setting>_s<seed>.json``). The ``floor`` setting (FLOOR) only
    probes randomly initialised encoders of that seed."""
    run = out / "runs" / f"{name}_s{seed}"
    result: dict[str, Any] = {"setting": name, "seed": seed}
    if name == FLOOR:
        models = yaml.safe_load(budget.pretrain.read_text())["model"]
        sources = {"video": ["--random-init", models["video"]],
                   "audio": ["--random-init", models["audio"]]}
        result.update(dict.fromkeys([*KL_KEYS, "loss_first", "loss_last"], None))
    else:
        step = budget.init_step if init_step is None else init_step
        _once(run / "export", "config.json", [
            "pretrain", "--config", str(budget.pretrain), f"data.corpus={corpus}",
            f"train.out_dir={run}", f"train.seed={seed}",
            *[o.format(corpus=corpus) for o in overrides],
            *_init_overrides(out, name, seed, budget, step, extra), *extra])
        disc = run / "discrepancy"
        _once(disc, "discrepancy.json", [
            "discrepancy", "--checkpoint", str(run / "checkpoints" / "last.pt"), "--corpus",
            str(corpus), "--out", str(disc)])
        found = _find_json(disc, "discrepancy.json")
        result.update({k: found[k] for k in KL_KEYS})
        result.update(loss_first_last(run / "metrics.jsonl"))
        sources = dict.fromkeys(("video", "audio"), ["--checkpoint", str(run / "export")])
    for dataset, cfg, modality in budget.evals:
        ev = run / "eval" / dataset
        _once(ev, "results.json", [
            "evaluate", "--config", str(cfg), "--root",
            str(world / "downstream" / dataset), *sources[modality],
            "--out", str(ev), f"evaluate.seed={seed}",
            f"evaluate.cache_dir={out / 'eval_cache'}", *budget.eval_set, *eval_extra])
        summary = json.loads((ev / "results.json").read_text())["summary"]
        result[dataset] = 100.0 * summary["top1"]["mean"]
    atomic_write_text(_row_path(out, name, seed), json.dumps(result, indent=1))
    return result


def _row_path(out: Path, name: str, seed: int) -> Path:
    return out / "rows" / f"{name}_s{seed}.json"


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


def paired_difference(rows: list[dict[str, Any]], setting: str, reference: str,
                      key: str) -> Optional[tuple[int, float, float, float, int]]:
    """Setting − reference on measure ``key``, seed by seed over the seeds both have:
    (seeds, mean difference, 95 % CI low, high, seeds where the difference is > 0) with
    Student's t (n − 1 degrees of freedom); None with fewer than 2 common seeds or a
    missing value."""
    def by_seed(name: str) -> dict[int, Any]:
        return {r["seed"]: r.get(key) for r in rows if r["setting"] == name}

    a, b = by_seed(setting), by_seed(reference)
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2 or any(a[s] is None or b[s] is None for s in seeds):
        return None
    diffs = [float(a[s]) - float(b[s]) for s in seeds]
    mean, low, high = t_interval(diffs)
    return len(diffs), mean, low, high, sum(d > 0 for d in diffs)


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


def summarise_paired(rows: list[dict[str, Any]], pairs: list[tuple[str, str]]) -> str:
    """A Markdown table of the paired differences (mean [95 % CI]) for every pair with ≥ 2
    common seeds; empty when there is none."""
    lines = []
    for setting, reference in pairs:
        cells = []
        seeds = 0
        for key, _ in PAIRED:
            got = paired_difference(rows, setting, reference, key)
            if got is None:
                cells.append("—")
                continue
            seeds, mean, lo, hi, up = got
            digits = 1 if key.startswith("world") else 3
            cells.append(f"{mean:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}] ({up}/{seeds} > 0)")
        if seeds:
            lines.append(f"| {setting} | {reference} | {seeds} | " + " | ".join(cells) + " |")
    if not lines:
        return ""
    head = ["setting", "− reference", "seeds", *[label for _, label in PAIRED]]
    return "\n".join(["| " + " | ".join(head) + " |", "|---" * len(head) + "|", *lines])


def write_tables(out: Path, rows: list[dict[str, Any]], pairs: list[tuple[str, str]]) -> None:
    atomic_write_text(out / "study.json", json.dumps(rows, indent=1))
    paired = summarise_paired(rows, pairs)
    text = summarise(rows) + "\n"
    if paired:
        text += ("\nPaired differences, setting − reference on the same seeds: mean [95 % CI, "
                 "Student's t] (seeds where the difference is positive).\n\n" + paired + "\n")
    atomic_write_text(out / "study.md", text)


def prepare_world(out: Path, preset: str, workers: int, budget: Budget) -> tuple[Path, Path]:
    """The study's TV world and its prepared corpus. Both commands are resumable and return
    at once when their output is complete, so they always run."""
    world, corpus = out / "world", out / "corpus"
    for argv in (["world", "--out", str(world), "--preset", preset, "--seed", "0",
                  "--workers", str(workers)],
                 ["prepare", "--metadata", str(world / "metadata.csv"), "--config",
                  str(budget.pretrain), "--out", str(corpus), "--workers", str(workers)],
                 ["scenes", str(corpus), "--quiet"],  # detected: CORPUS/scenes.csv
                 ["scenes", str(corpus), "--from-world", str(world),
                  "--out", str(corpus / "scenes_gt.csv")]):
        _run(argv)
    return world, corpus


def _plan(groups: list[str], seeds: list[int], settings: dict[str, list[tuple[str, list[str]]]],
          only: Optional[list[str]]) -> list[tuple[str, list[str], int]]:
    """(setting, overrides, seed) in run order: group by group, seed by seed."""
    return [(name, overrides, seed) for group in groups for seed in seeds
            for name, overrides in settings[group] if not only or name in only]


def _load_rows(out: Path, known: set[str]) -> dict[tuple[str, int], dict[str, Any]]:
    """Finished rows: study.json of an earlier invocation, then OUT/rows/ (newer wins)."""
    rows = {}
    if (out / "study.json").is_file():
        rows = {(r["setting"], r["seed"]): r for r in json.loads((out / "study.json").read_text())}
    for path in sorted((out / "rows").glob("*.json")):
        r = json.loads(path.read_text())
        rows[(r["setting"], r["seed"])] = r
    return {key: r for key, r in rows.items() if key[0] in known}


def run_study(out: Path, groups: list[str], seeds: list[int], preset: str = "demo",
              workers: int = 2, extra: Optional[list[str]] = None,
              eval_extra: Optional[list[str]] = None, init_step: Optional[int] = None,
              only: Optional[list[str]] = None, budget: str = "micro",
              jobs: int = 1) -> list[dict[str, Any]]:
    """Every (group, seed, setting) in that order, or only the settings named in ``only``,
    ``jobs`` at a time (separate processes, one thread each); writes study.json/md after
    each run, keeping the rows of earlier invocations. A finished (setting, seed) is not
    rerun (its row is in OUT/rows/)."""
    spec = BUDGETS[budget]
    settings = make_settings(spec.big_k)
    known = {name for g in settings.values() for name, _ in g}
    if only and set(only) - known:
        raise SystemExit(f"unknown settings {sorted(set(only) - known)}; known: {sorted(known)}")
    out = out.resolve()
    world, corpus = prepare_world(out, preset, workers, spec)
    rows = _load_rows(out, known)
    pairs = comparisons(settings, spec.big_k)
    todo = [p for p in _plan(groups, seeds, settings, only) if (p[0], p[2]) not in rows]
    if jobs > 1:
        _run_parallel(out, todo, jobs, rows, pairs, settings, budget, preset, workers,
                      extra or [], eval_extra or [], init_step)
    for name, overrides, seed in todo if jobs <= 1 else []:
        rows[(name, seed)] = run_setting(out, corpus, world, name, overrides, seed,
                                         extra or [], eval_extra or [], spec, init_step)
        write_tables(out, _ordered(list(rows.values()), settings), pairs)
    ordered = _ordered(list(rows.values()), settings)
    write_tables(out, ordered, pairs)
    return ordered


def _run_parallel(out: Path, todo: list[tuple[str, list[str], int]], jobs: int,
                  rows: dict[tuple[str, int], dict[str, Any]], pairs: list[tuple[str, str]],
                  settings: dict[str, list[tuple[str, list[str]]]], budget: str, preset: str,
                  workers: int, extra: list[str], eval_extra: list[str],
                  init_step: Optional[int]) -> None:
    """Run ``todo`` as child processes of this script (``--one``), ``jobs`` at a time, one
    thread each (:func:`binge.workers.run_processes`); a setting of INIT_FROM waits for its
    source run of the same seed. Each child's output goes to OUT/logs/<setting>_s<seed>.log;
    a failure stops the study after the running children end, naming the log."""
    common = [sys.executable, str(Path(__file__).resolve()), "--out", str(out),
              "--budget", budget, "--preset", preset, "--workers", str(workers),
              *[a for o in extra for a in ("--set", o)],
              *[a for o in eval_extra for a in ("--eval-set", o)],
              *(["--init-step", str(init_step)] if init_step is not None else [])]
    runs = {f"{name}_s{seed}": (name, seed) for name, _, seed in todo}
    plan = [Job(key, [*common, "--one", name, str(seed)], out / "logs" / f"{key}.log",
                after=[f"{INIT_FROM[name]}_s{seed}"] if name in INIT_FROM else [])
            for key, (name, seed) in runs.items()]

    def started(job: Job) -> None:
        print(f"[study] {' seed '.join(map(str, runs[job.key]))}   (log: {job.log})", flush=True)

    def done(job: Job, seconds: float, cpu: float) -> None:
        name, seed = runs[job.key]
        rows[(name, seed)] = json.loads(_row_path(out, name, seed).read_text())
        write_tables(out, _ordered(list(rows.values()), settings), pairs)
        print(f"[study] done: {name} seed {seed} ({seconds:.0f} s, {cpu:.0f} s CPU)", flush=True)

    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    failed = run_processes(plan, jobs, started, done, env, poll_s=1.0)
    if failed:
        raise SystemExit("; ".join(failed))


def _ordered(rows: list[dict[str, Any]],
             settings: Optional[dict[str, list[tuple[str, list[str]]]]] = None) -> list[dict[str, Any]]:
    """Rows in the order of the settings (floor, k, objectives, ...), then by seed."""
    settings = settings or SETTINGS
    order = {name: i for i, (name, _) in enumerate(s for g in settings.values() for s in g)}
    return sorted(rows, key=lambda r: (order[r["setting"]], r["seed"]))


def _run_one(args: argparse.Namespace) -> None:
    """``--one SETTING SEED``: one (setting, seed) of a parallel study (a child process)."""
    spec = BUDGETS[args.budget]
    settings = make_settings(spec.big_k)
    overrides = {n: o for g in settings.values() for n, o in g}
    name, seed = args.one[0], int(args.one[1])
    if name not in overrides:
        raise SystemExit(f"unknown setting {name!r}")
    out = args.out.resolve()
    run_setting(out, out / "corpus", out / "world", name, overrides[name], seed, args.set,
                args.eval_set, spec, args.init_step)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="study folder (default: runs/study_<budget>)")
    parser.add_argument("--budget", default="micro", choices=list(BUDGETS),
                        help="micro: the demo's CPU geometry, 1,500 steps (default); "
                             "tiny100: the earlier 100-step study")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--groups", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--preset", default="demo", help="TV world preset (demo | tiny)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=1,
                        help="(setting, seed) runs at once, one process and one thread each")
    parser.add_argument("--set", action="append", default=[], metavar="section.key=value",
                        help="extra pretraining override for every setting (e.g. for a smoke run)")
    parser.add_argument("--eval-set", action="append", default=[], metavar="section.key=value",
                        help="extra evaluation override for every probe")
    parser.add_argument("--init-step", type=int, default=None,
                        help="the Cross-AVID step AVID+CMA starts from (default: the budget's)")
    parser.add_argument("--only", nargs="+", metavar="SETTING",
                        help="run only these settings of the chosen groups (e.g. k1_wM k8_wM)")
    parser.add_argument("--one", nargs=2, metavar=("SETTING", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.out = args.out or Path("runs") / f"study_{args.budget}"
    if args.one:
        _run_one(args)
        return
    rows = run_study(args.out, args.groups, args.seeds, args.preset, args.workers,
                     args.set, args.eval_set, args.init_step, args.only, args.budget, args.jobs)
    print(summarise(rows))


if __name__ == "__main__":
    main()
