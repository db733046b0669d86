"""Random-init floor of the learning curves: the probes and discrepancy measures of
``binge.train.monitors.LearningCurves`` on the untrained model of a config (step 0).

    python benchmarks/reproduction/random_init_probes.py --config configs/micro.yaml \\
        --corpus CORPUS --world WORLD [--seeds 0 1 2] [--out floor.json]

Prints one JSON line per seed (the model initialised as ``binge pretrain`` does with
``train.seed``) and writes them to ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--world", required=True, help="folder of `binge world` (downstream/ inside)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    from binge.config import load_config
    from binge.distributed import seed_everything
    from binge.io import write_json
    from binge.models import build_av_model
    from binge.train.monitors import LearningCurves, ProbeSet

    down = Path(args.world) / "downstream"
    cfg = load_config(args.config, [f"data.corpus={args.corpus}", "discrepancy.every_steps=1",
                                    "train.out_dir=/nonexistent"])
    probes = [ProbeSet.load(name, down / name, cfg) for name in ("world-action", "world-sound")]
    rows = []
    for seed in args.seeds:
        seed_everything(seed)  # the trainer's model initialisation
        model = build_av_model(cfg.model)
        cb = LearningCurves(cfg, probes=probes, discrepancy=False)
        from binge.diagnostics.discrepancy import measure, open_heldout

        from binge.train.export import inference_objective

        objective = inference_objective(cfg, model).eval()  # its heads (random too) give the space
        values = cb.measure(model, 0)
        disc = measure(model.eval(), open_heldout(args.corpus, cfg, cfg.discrepancy.split), cfg,
                       objective=objective)
        values.update({f"disc/{k}": float(disc[k]) for k in ("kl_neg_pos", "kl_diff_pos", "kl_neg_diff", "gap")})
        row = {"seed": seed, "step": 0, **values}
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.out:
        write_json(rows, Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
