"""``binge pretrain``: self-supervised pretraining (Eq. 1 NCE, AVID, CMA, CrissCross)."""

from __future__ import annotations

import argparse

HELP = "self-supervised pretraining (Eq. 1 NCE, AVID, CMA, CrissCross)"

DESCRIPTION = """\
Pretrain the video and audio encoders on a prepared corpus (paper §3, supplement §4).

  binge pretrain --config configs/tiny.yaml data.corpus=corpus/tiny
  torchrun --nproc-per-node 8 -m binge pretrain --config configs/paper/table1/tv_k1.yaml \\
      data.corpus=/data/tv train.out_dir=runs/tv_k1
  binge pretrain --config configs/paper/table1/tv_k1.yaml data.corpus=/data/tv \\
      train.out_dir=runs/tv_k1 --slurm --nodes 2 --gpus-per-node 8 --partition gpu

Overrides are section.key=value pairs applied on top of the config file. The run writes
out_dir/{config.yaml, run_info.json, metrics.jsonl, tb/, checkpoints/, export/}. Running the same command
again resumes from out_dir/checkpoints/last.pt (SIGTERM saves one at the next step boundary).
--slurm submits the same command as a multi-node job through submitit (docs/cluster.md).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="YAML config file (configs/tiny.yaml, configs/paper/table1/*.yaml)")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value",
                        help="config overrides, e.g. data.corpus=corpus/tiny sampling.k=4")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", metavar="CHECKPOINT",
                       help="resume from this checkpoint (default: out_dir/checkpoints/last.pt if it exists)")
    group.add_argument("--restart", action="store_true",
                       help="ignore existing checkpoints in out_dir and start from step 0")
    from binge.cluster import add_slurm_arguments

    add_slurm_arguments(parser, "pretrain")


def _check_corpus(cfg) -> None:
    """``data.corpus`` set, a prepared corpus, prepared with the config's parameters: checked
    before the run folder is locked or touched (a refusal creates nothing)."""
    from pathlib import Path

    from binge.config import ConfigError
    from binge.data.corpus import read_manifest

    if not cfg.data.corpus:
        raise ConfigError("data.corpus is not set: pass data.corpus=PATH (a folder written by "
                          "`binge prepare`)")
    read_manifest(Path(cfg.data.corpus), cfg.data)  # CorpusError naming the folder and the fix


def run(args: argparse.Namespace) -> int:
    import logging

    from binge.config import ConfigError, load_config
    from binge.data.corpus import CorpusError

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from binge.cluster import ClusterError, check_cluster_flags, check_model_names, submit_pretrain
    from binge.runinfo import record_run

    try:
        cfg = load_config(args.config, args.overrides)
        check_model_names(cfg.model.video, cfg.model.audio)
        check_cluster_flags(args)
        if getattr(args, "slurm", False):
            return submit_pretrain(args, cfg.train.out_dir)
        _check_corpus(cfg)  # before the run folder is touched
    except (ConfigError, ClusterError) as err:
        raise SystemExit(f"binge pretrain: {err}") from err
    resume = False if args.restart else (args.resume or True)
    import os

    from binge.train.loop import pretrain  # torch: imported once the config is known good
    from contextlib import nullcontext

    from binge.locks import FolderLock, LockError  # rank 0 holds the run folder (docs/cli.md)
    try:
        with FolderLock(cfg.train.out_dir, "binge pretrain",
                        name=f"train.out_dir={cfg.train.out_dir}") if int(os.environ.get("RANK", 0)) == 0 \
                else nullcontext(), record_run(cfg.train.out_dir, "pretrain", device=cfg.train.device):
            out = pretrain(cfg, resume=resume)
    except (ConfigError, CorpusError, FileNotFoundError, ValueError, LockError) as err:
        raise SystemExit(f"binge pretrain: {err}") from err
    print(f"binge pretrain: wrote {out}")
    return 0
