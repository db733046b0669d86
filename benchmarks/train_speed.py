"""Training speed of ``binge pretrain`` on this machine: steps/s, snippets/s, data-wait fraction.

Runs the real trainer (:class:`binge.train.loop.Trainer`: sampler → SnippetDataset → DataLoader →
model + objective → Adam) for a few steps of a config (default ``configs/tiny.yaml``) with
``data.num_workers`` = 0 and 1, and, as the baseline in the same command, the same model,
objective and optimiser stepping on one batch already in memory (compute only, no loading).
The first ``--warmup`` steps of each run are not counted. The ratio trainer / compute-only
is the share of compute throughput the input pipeline lets through. FLOPs per snippet of the
paper's config and what they mean per GPU: ``benchmarks/model_flops.py``.

    .venv/bin/python benchmarks/train_speed.py [--corpus PREPARED] [--config configs/tiny.yaml]
        [--steps 8] [--warmup 2] [--threads 1] [section.key=value ...]

Without ``--corpus`` the tiny TV world is generated and prepared in a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from binge.config import load_config
from binge.distributed import DistInfo
from binge.train.loop import Trainer
from binge.train.metrics import read_metrics

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=str(REPO / "configs" / "tiny.yaml"))
    p.add_argument("overrides", nargs="*", help="section.key=value overrides")
    p.add_argument("--corpus", default=None, help="a prepared corpus (default: build the tiny world)")
    p.add_argument("--steps", type=int, default=8, help="timed steps per run")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1], help="data.num_workers values")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return p.parse_args(argv)


def build_tiny_corpus(folder: Path, cfg) -> Path:
    from binge.data.prepare import prepare_corpus
    from binge.world import generate_world

    world = generate_world(folder / "world", preset="tiny", seed=0)
    out = folder / "corpus"
    prepare_corpus([world / "titles"], out, metadata=world / "metadata.csv", data=cfg.data, workers=1)
    return out


def trainer_run(cfg, steps: int, warmup: int) -> dict:
    """Steps of the real loop; per-step records of metrics.jsonl → rates over the timed steps."""
    cfg.train.max_steps = warmup + steps
    cfg.train.log_every_steps = 1
    cfg.train.checkpoint_every_steps = 10**9  # one checkpoint, at the end
    trainer = Trainer(cfg, DistInfo(0, 0, 1, torch.device("cpu"), None), resume=False)
    trainer.fit()
    records = read_metrics(Path(cfg.train.out_dir) / "metrics.jsonl")[warmup:]
    seconds = [1.0 / r["steps_per_s"] for r in records]
    wait = sum(r["data_wait_fraction"] * s for r, s in zip(records, seconds))
    total = sum(seconds)
    return {"steps": len(records), "steps_per_s": len(records) / total,
            "snippets_per_s": len(records) * cfg.sampling.batch_size / total,
            "data_wait_fraction": wait / total, "final_loss": records[-1]["loss"]}


def compute_only(cfg, steps: int, warmup: int) -> dict:
    """The same model, objective and optimiser on one in-memory batch: no data loading."""
    cfg.train.max_steps = 1
    trainer = Trainer(cfg, DistInfo(0, 0, 1, torch.device("cpu"), None), resume=False)
    trainer.batches.set_epoch(0)
    batch = trainer._to_device(next(iter(trainer.loader)))
    trainer.step_module.train()
    for _ in range(warmup):
        trainer._train_step(batch)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer._train_step(batch)
    total = time.perf_counter() - t0
    return {"steps": steps, "steps_per_s": steps / total,
            "snippets_per_s": steps * cfg.sampling.batch_size / total, "data_wait_fraction": 0.0}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    base = load_config(args.config, args.overrides)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus or str(build_tiny_corpus(Path(tmp), base))
        rows = {}
        cfg = load_config(args.config, [*args.overrides, f"data.corpus={corpus}",
                                        f"train.out_dir={tmp}/compute"])
        rows["compute only (batch in memory)"] = compute_only(cfg, args.steps, args.warmup)
        for w in args.workers:
            cfg = load_config(args.config, [*args.overrides, f"data.corpus={corpus}",
                                            f"train.out_dir={tmp}/w{w}", f"data.num_workers={w}"])
            rows[f"trainer, num_workers={w}"] = trainer_run(cfg, args.steps, args.warmup)
    ref = rows["compute only (batch in memory)"]["steps_per_s"]
    print(f"\nconfig {args.config} {' '.join(args.overrides)}: B = {base.sampling.batch_size}, "
          f"crop {base.augment.crop_size}, {base.model.video} + {base.model.audio}, "
          f"{args.threads} thread(s), {args.steps} timed steps after {args.warmup}")
    print("| run | steps/s | snippets/s | data-wait fraction | vs compute only |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        print(f"| {name} | {r['steps_per_s']:.3f} | {r['snippets_per_s']:.2f} | "
              f"{r['data_wait_fraction']:.1%} | {r['steps_per_s'] / ref:.2f}× |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
