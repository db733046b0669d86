"""`binge evaluate`: downstream evaluation: fine-tuning, linear probe, retrieval."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "downstream evaluation: fine-tuning, linear probe, retrieval"

DESCRIPTION = """\
Evaluate a pretrained encoder (or a randomly initialised one, the floor) on a downstream
benchmark read from its official layout: ucf101, hmdb51 (video), esc50, fsdd (audio), and the
TV world's world-action / world-sound sets. Protocols (paper §4.1, supplement §4; CrissCross §E):
  finetune   full fine-tuning, SGD warm-up + cosine; test on 10 clips x 3 crops (video) or 10 clips
  linear     linear SVM / logistic regression on frozen features, cost chosen by cross-validation
             on the training split only
  retrieval  test samples query the training samples by cosine similarity, R@1/5/20
Writes results.json (every number with its config), run_info.json and confusion-matrix PNGs
to a folder named for the encoder and the protocol,
  <evaluate.out_dir>/<encoder>/<dataset>-<protocol>/   (encoder: random-<model>, or the
                                                        checkpoint path with / as -)
or to --out DIR; it refuses to overwrite another encoder's results.json. Prints a table
(split 1 and mean ± std over the splits asked for). Decoded inputs (frames, log-mel) are cached
once in evaluate.cache_dir when the config sets one, else in <out>/cache (<out>: --out DIR, or
evaluate.out_dir); an entry is keyed by the file and every decode setting and holds no encoder
output, so encoders share an entry only when they read exactly the same input.

examples:
  binge evaluate --config configs/eval/fsdd_linear_tiny.yaml --root ../shared/data/fsdd \\
      --random-init resnet18_audio_tiny
  binge evaluate --config configs/eval/ucf101_finetune.yaml --root data/UCF101 \\
      --checkpoint runs/pretrain/export evaluate.splits=[1,2,3]
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    enc = parser.add_mutually_exclusive_group(required=True)
    enc.add_argument("--checkpoint", metavar="PATH",
                     help="pretrained encoder: an export folder or a pretraining checkpoint")
    enc.add_argument("--random-init", metavar="MODEL_NAME",
                     help="a randomly initialised encoder from binge.models (the floor)")
    parser.add_argument("--config", metavar="YAML", help="configuration file (configs/eval/*.yaml)")
    parser.add_argument("--dataset", help="overrides evaluate.dataset")
    parser.add_argument("--root", metavar="PATH", help="dataset folder (overrides evaluate.root)")
    parser.add_argument("--protocol", choices=["finetune", "linear", "retrieval"],
                        help="overrides evaluate.protocol")
    parser.add_argument("--out", metavar="DIR",
                        help="output folder (default: evaluate.out_dir/<encoder>/<dataset>-<protocol>)")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value",
                        help="config overrides, e.g. evaluate.splits=[1,2,3] evaluate.finetune.epochs=2")


def run(args: argparse.Namespace) -> int:
    from binge.config import ConfigError, load_config

    overrides = list(args.overrides)
    for flag in ("dataset", "protocol"):
        if getattr(args, flag) is not None:
            overrides.append(f"evaluate.{flag}={getattr(args, flag)}")
    try:
        cfg = load_config(args.config, overrides)  # refused before torch is imported
    except ConfigError as err:
        raise SystemExit(f"binge evaluate: {err}") from err
    from binge.data.datasets import DatasetLayoutError
    from binge.cluster import check_model_names
    from binge.evaluation.runner import check_results_folder, evaluate, results_dir
    from binge.runinfo import record_run

    try:
        if args.root is not None:  # paths are set as given, never parsed as YAML
            cfg.evaluate.root = args.root
        if args.out is not None:
            cfg.evaluate.out_dir = args.out
        if args.random_init is not None:
            check_model_names(args.random_init)
        elif not Path(args.checkpoint).exists():
            raise ConfigError(f"--checkpoint {args.checkpoint} does not exist (an export folder "
                              "such as runs/NAME/export, or a checkpoint .pt file)")
        out = Path(args.out) if args.out is not None else results_dir(cfg, args.checkpoint, args.random_init)
        check_results_folder(out, {"checkpoint": args.checkpoint, "random_init": args.random_init})
        with record_run(out, "evaluate", device=cfg.evaluate.device):
            evaluate(cfg, checkpoint=args.checkpoint, random_init=args.random_init, out_dir=out)
    except (ConfigError, DatasetLayoutError, ValueError) as err:
        raise SystemExit(f"binge evaluate: {err}") from err
    return 0
