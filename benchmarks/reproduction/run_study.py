"""The reproduction study at CPU scale: the direction of the paper's Table 1/2 and Figure 1.

Every setting is pretrained with the same budget (configs/demo.yaml: steps, batch) on the
same prepared TV world, for several seeds, then measured by ``binge discrepancy`` on the
held-out shows and by linear probes on world-action and world-sound. Settings
(tv_paper.md §4.2):

- ``k``       k ∈ {1, 4, 8, 16}, w = M_n                      (Table 1, Fig. 1a)
- ``window``  k = 16, w ∈ {16 (= k, adjacent), 24, M_n}      (Table 1, Fig. 1b–c)
- ``jitter``  σ ∈ {0, 0.5, 1} with k = 1 and k = 16          (Table 2, Fig. 2)
- ``l2``      ℓ2-normalised, τ ∈ {0.07, 0.3}, k = 16, against unnormalised (Table 2)

Usage (the one command that reruns the whole table; resumable, every stage is skipped when
its output exists)::

    python benchmarks/reproduction/run_study.py --out runs/study --seeds 0 1 2
    python benchmarks/reproduction/run_study.py --out runs/study --groups k --seeds 0

Writes ``OUT/study.json`` (every number per seed) and ``OUT/study.md`` (mean ± std).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from binge.cli import main as binge

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "demo.yaml"

#: group → [(setting name, overrides)]
SETTINGS: dict[str, list[tuple[str, list[str]]]] = {
    "k": [(f"k{k}_wM", [f"sampling.k={k}"]) for k in (1, 4, 8, 16)],
    "window": [(f"k16_w{w}", ["sampling.k=16", f"sampling.window={w}",
                              "sampling.short_titles=shrink_window"]) for w in (16, 24)],
    "jitter": [(f"k{k}_jitter{s}", [f"sampling.k={k}", f"augment.color_jitter={s}"])
               for k in (1, 16) for s in (0.5, 1.0)],
    "l2": [(f"k16_l2_tau{t}", ["sampling.k=16", "objective.normalize=true",
                               f"objective.temperature={t}"]) for t in (0.07, 0.3)],
}
EVALS = [("world-action", "world_action_linear_tiny.yaml", "video"),
         ("world-sound", "world_sound_linear_tiny.yaml", "audio")]


def _once(marker: Path, argv: list[str], ok: tuple[int, ...] = (0,)) -> None:
    if marker.exists():
        return
    print("$ binge " + " ".join(argv), flush=True)
    code = binge(argv)
    if code not in ok:
        raise SystemExit(f"failed ({code}): binge {' '.join(argv)}")


def run_setting(out: Path, corpus: Path, world: Path, name: str, overrides: list[str],
                seed: int) -> dict[str, Any]:
    run = out / "runs" / f"{name}_s{seed}"
    _once(run / "export" / "config.json", [
        "pretrain", "--config", str(CONFIG), f"data.corpus={corpus}", f"train.out_dir={run}",
        f"train.seed={seed}", *overrides])
    disc = run / "discrepancy"
    _once(disc / "discrepancy.json", [
        "discrepancy", "--checkpoint", str(run / "checkpoints" / "last.pt"), "--corpus",
        str(corpus), "--out", str(disc)])
    result: dict[str, Any] = {"setting": name, "seed": seed}
    result.update({k: _find_json(disc, "discrepancy.json")[k]
                   for k in ("kl_neg_pos", "kl_diff_pos", "kl_neg_diff", "gap")})
    for dataset, cfg, _ in EVALS:
        ev = run / "eval" / dataset
        _once(ev / "results.json", [
            "evaluate", "--config", str(REPO / "configs" / "eval" / cfg), "--root",
            str(world / "downstream" / dataset), "--checkpoint", str(run / "export"),
            "--out", str(ev), "evaluate.splits=[]", f"evaluate.seed={seed}"])
        result[dataset] = json.loads((ev / "results.json").read_text())["summary"]["top1"]["mean"]
    return result


def _find_json(folder: Path, name: str) -> dict[str, Any]:
    hits = sorted(folder.rglob(name))
    if not hits:
        raise SystemExit(f"no {name} under {folder}")
    return json.loads(hits[-1].read_text())


def summarise(rows: list[dict[str, Any]]) -> str:
    keys = ["world-action", "world-sound", "kl_neg_pos", "kl_diff_pos", "kl_neg_diff", "gap"]
    lines = ["| setting | seeds | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
    for name in dict.fromkeys(r["setting"] for r in rows):
        group = [r for r in rows if r["setting"] == name]
        cells = []
        for key in keys:
            values = [float(r[key]) for r in group]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.3f} ± {sd:.3f}")
        lines.append(f"| {name} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/study"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--groups", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    out = args.out.resolve()
    world, corpus = out / "world", out / "corpus"
    _once(world / "metadata.csv", ["world", "--out", str(world), "--preset", args.preset,
                                   "--seed", "0", "--workers", str(args.workers)])
    _once(corpus / "manifest.csv", ["prepare", "--metadata", str(world / "metadata.csv"),
                                    "--config", str(CONFIG), "--out", str(corpus),
                                    "--workers", str(args.workers)])
    rows = [run_setting(out, corpus, world, name, overrides, seed)
            for group in args.groups for name, overrides in SETTINGS[group]
            for seed in args.seeds]
    (out / "study.json").write_text(json.dumps(rows, indent=1))
    table = summarise(rows)
    (out / "study.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
