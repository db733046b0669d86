"""``binge supervised``: the supervised ceiling (:mod:`binge.train.supervised`, issue 14).

The command module is torch-free: the config and ``--ground-truth`` are checked before
:mod:`binge.train.supervised` (torch) is imported, so a bad argument costs no torch import
(docs/cli.md, "fail fast").
"""

from __future__ import annotations

import argparse

HELP = "the supervised ceiling: the same encoders trained with event labels, same data and geometry"

DESCRIPTION = """\
The supervised ceiling: the pretraining encoders trained with the TV world's event labels on the
same data, geometry, augmentations, batch size, optimiser and schedule as `binge pretrain`
(binge.train.supervised; docs/training.md). The run writes out_dir/{metrics.jsonl, tb/,
checkpoints/, export/, run_info.json}; `binge evaluate --checkpoint out_dir/export` probes it
like a pretrained run. Resumable: the same command continues from checkpoints/last.pt.

  binge supervised --config configs/micro.yaml data.corpus=corpus/world \\
      --ground-truth data/world/ground_truth train.out_dir=runs/supervised
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", required=True, help="the pretraining config (configs/micro.yaml)")
    parser.add_argument("--ground-truth", required=True,
                        help="the TV world's ground_truth/ folder (per-second event labels)")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value",
                        help="config overrides, e.g. data.corpus=corpus/world train.out_dir=runs/ceiling")
    parser.add_argument("--restart", action="store_true", help="ignore existing checkpoints")


def _check_ground_truth(path: str) -> None:
    from pathlib import Path

    if not Path(path).is_dir():
        raise FileNotFoundError(f"--ground-truth {path} does not exist; pass the ground_truth/ "
                                "folder of a TV world (binge world)")


def run(args: argparse.Namespace) -> int:
    import logging

    from binge.config import ConfigError, load_config

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        _check_ground_truth(args.ground_truth)
        cfg = load_config(args.config, args.overrides)  # refused before torch is imported
    except (ConfigError, FileNotFoundError) as err:
        raise SystemExit(f"binge supervised: {err}") from err
    from binge.data.corpus import CorpusError
    from binge.runinfo import record_run  # out_dir/run_info.json, as binge pretrain
    from binge.train.supervised import GroundTruthError, train_supervised  # torch

    from binge.locks import FolderLock, LockError  # one writer per run folder, as pretrain

    try:
        with FolderLock(cfg.train.out_dir, "binge supervised",
                        name=f"train.out_dir={cfg.train.out_dir}"), \
                record_run(cfg.train.out_dir, "supervised", device=cfg.train.device):
            out = train_supervised(cfg, args.ground_truth, resume=not args.restart)
    except (ConfigError, CorpusError, GroundTruthError, FileNotFoundError, LockError) as err:
        raise SystemExit(f"binge supervised: {err}") from err
    print(f"binge supervised: wrote {out}")
    return 0
