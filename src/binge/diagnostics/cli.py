"""`binge discrepancy`: KL(S−‖S+), KL(S≠‖S+), KL(S−‖S≠) on a held-out split (paper Eq. 2, §4.2)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "discrepancy measures KL(S-||S+), KL(S!=||S+), KL(S-||S!=) on a held-out split"

DESCRIPTION = """\
Embed held-out snippets with a pretrained model and compare the distributions of audio-video
similarities of true pairs (S+), same-title negatives (S-) and other-title negatives (S!=),
paper Eq. 2. Writes discrepancy.json (keys kl_neg_pos, kl_diff_pos, kl_neg_diff, gap, ci,
pairs, estimator, sampling, similarity) and histograms.png per checkpoint; with --run, every
checkpoint of a run and curves.{json,png} (paper Figure 1); with --compare, several runs on one
figure (compare.png); OUT/run_info.json records the invocation (binge.runinfo). Sampling and estimator: the `discrepancy` config section
(see docs/diagnostics.md).

examples:
  binge discrepancy --checkpoint runs/tiny/checkpoints/last.pt --corpus corpus/tiny
  binge discrepancy --run runs/k1 --corpus corpus/tv discrepancy.max_titles=128
  binge discrepancy --compare runs/k1 runs/k16 --corpus corpus/tv --out runs/fig1
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", action="append", metavar="PATH",
                      help="a checkpoint .pt or an export folder (repeat for several)")
    what.add_argument("--run", metavar="DIR",
                      help="a `binge pretrain` out_dir: measure every DIR/checkpoints/step_*.pt")
    what.add_argument("--compare", nargs="+", metavar="RUN",
                      help="several run folders, measured and drawn on one figure")
    what.add_argument("--random-init", action="store_true",
                      help="a randomly initialised model.video/model.audio of --config (the floor)")
    parser.add_argument("--corpus", metavar="CORPUS", default=None,
                        help="a prepared corpus (binge prepare) with a held-out split (default: "
                             "the corpus the checkpoint's run trained on, data.corpus)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output folder (default: discrepancy.out_dir, runs/discrepancy)")
    parser.add_argument("--config", metavar="YAML", default=None,
                        help="config file: its discrepancy section (sampling, estimator); for "
                             "--random-init also its model, data and crop (the snippets of a "
                             "checkpoint are read as its own run was trained)")
    parser.add_argument("--no-cache", action="store_true",
                        help="always re-embed (default: cache embeddings under OUT/cache)")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value",
                        help="config overrides, e.g. discrepancy.max_titles=128")


def _label(path: Path) -> str:
    """``RUN-step_0000020`` for RUN/checkpoints/step_0000020.pt, ``RUN-export`` for RUN/export."""
    path = path.resolve()
    if path.parent.name == "checkpoints":
        return f"{path.parent.parent.name}-{path.stem}"
    return f"{path.parent.name}-{path.stem}" if path.is_file() else f"{path.parent.name}-{path.name}"


def _print(label: str, r: dict) -> None:
    ci = r.get("ci", {})

    def f(key: str) -> str:
        text = f"{r[key]:.4f}"
        return text + (f" [{ci[key][0]:.4f}, {ci[key][1]:.4f}]" if key in ci else "")

    print(f"{label}: KL(S-||S+)={f('kl_neg_pos')}  KL(S!=||S+)={f('kl_diff_pos')}  "
          f"KL(S-||S!=)={f('kl_neg_diff')}  gap={f('gap')}")
    for warning in r.get("warnings", []):
        print(f"  warning: {warning}")


def run(args: argparse.Namespace) -> int:
    """Bad input (missing corpus or checkpoint, wrong config) ends with one clear message."""
    from binge.config import ConfigError

    try:
        return _run(args)
    except (ConfigError, FileNotFoundError, ValueError) as err:
        raise SystemExit(f"binge discrepancy: {err}") from err


def _check_arguments(args: argparse.Namespace) -> None:
    """The arguments' own errors (exit 2), before the config is loaded and torch imported."""
    from binge.config import ConfigError

    if args.random_init and args.corpus is None:
        raise ConfigError("--random-init needs --corpus: pass --corpus CORPUS (a prepared corpus "
                          "with a held-out split)")
    odd = [r for r in args.compare or [] if "=" in r and not Path(r).exists()]
    if odd:
        raise ConfigError(f"{odd} look like overrides, not run folders; put section.key=value "
                          "after the other options, e.g. after --corpus")
    missing = [p for p in args.checkpoint or [] if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"checkpoint {missing[0]} does not exist; pass a checkpoint .pt "
                                "or an export folder of `binge pretrain`")
    runs = [r for r in [args.run, *(args.compare or [])] if r and not Path(r).is_dir()]
    if runs:
        raise FileNotFoundError(f"run folder {runs[0]} does not exist; pass the train.out_dir of "
                                "a `binge pretrain` run")
    if args.corpus is not None and not Path(args.corpus).is_dir():
        raise FileNotFoundError(f"--corpus {args.corpus} does not exist; pass a folder written by "
                                "`binge prepare`")


def _run(args: argparse.Namespace) -> int:
    from binge.config import load_config

    _check_arguments(args)
    cfg = load_config(args.config, args.overrides)  # a config error is refused before torch
    from binge.diagnostics.discrepancy import similarity_spec, with_discrepancy

    out = Path(args.out or cfg.discrepancy.out_dir)
    cache = None if args.no_cache else (cfg.discrepancy.cache_dir or str(out / "cache"))
    cfg = with_discrepancy(cfg, cache_dir=cache)
    # Explicit objective.* overrides beat the similarity read from each checkpoint's run config.
    spec = (similarity_spec(cfg, "command-line objective.* overrides")
            if any(o.startswith("objective.") for o in args.overrides) else None)
    corpus = Path(args.corpus) if args.corpus else None
    from binge.runinfo import record_run

    # OUT/run_info.json, written at a successful end: a refused command writes nothing
    with record_run(out, "discrepancy", device=cfg.discrepancy.device, at_start=False):
        return _measure(args, cfg, out, corpus, spec)


def _measure(args: argparse.Namespace, cfg, out: Path, corpus, spec) -> int:
    """The measurements ``args`` asks for, written under ``out``."""
    from binge.diagnostics.discrepancy import evaluate_checkpoint, write_json
    from binge.diagnostics.runs import compare_runs, evaluate_run

    if args.compare:
        summary = compare_runs(args.compare, corpus, cfg, out)
        for c in summary["runs"]:
            for p in c["points"]:
                _print(f"{c['label']} step {p['step']}", p)
        print(f"wrote {out / 'compare.json'} and {out / 'compare.png'}")
        return 0
    if args.run:
        curves = evaluate_run(args.run, corpus, cfg, out / Path(args.run).resolve().name)
        for p in curves["points"]:
            _print(f"step {p['step']}", p)
        print(f"wrote {out / Path(args.run).resolve().name}/curves.{{json,png}}")
        return 0

    targets = [None] if args.random_init else [Path(p) for p in args.checkpoint]
    results = []
    for target in targets:
        label = "random-init" if target is None else _label(target)
        r = evaluate_checkpoint(target, corpus, cfg, out / label, spec=spec,
                                title=f"{label}: similarity distributions (held-out)")
        results.append({"label": label, **r})
        _print(label, r)
        print(f"wrote {out / label}/discrepancy.json and histograms.png")
    if len(results) > 1:
        write_json({"results": results}, out / "summary.json")
    return 0
