"""``binge embed``: per-snippet features and embeddings of a title library (docs/library.md)."""

from __future__ import annotations

import argparse

HELP = "write per-snippet features and Eq. 1 embeddings of every title (Parquet, resumable)"
DESCRIPTION = """\
For every snippet of every title, write title_id, snippet, start_s, end_s, the pooled backbone
features feat_video / feat_audio and the projection embeddings z_video / z_audio (Eq. 1's
space) of a pretrained export, one Parquet shard per title under OUT/titles/, and a per-title
summary (mean vectors) in OUT/titles.parquet, and OUT/run_info.json (binge.runinfo: versions,
argv, device, host, start/end time; written when the command succeeds).

Sources: a prepared corpus (--corpus; it must have been prepared with the export's data
settings), or media files / folders, which are prepared first into OUT/corpus with the
export's settings (the decode and log-mel of `binge prepare`).

Resumable: rerun the same command after an interruption; finished titles are kept.

Media files that cannot be used (no video or audio stream, empty, not media, unreadable) are
skipped as `binge prepare` skips them and listed in OUT/corpus/skipped.csv; the usable ones
are embedded. Exit status (docs/cli.md): 0 all embedded, 3 some files skipped, 2 a user error
(no usable file at all, bad arguments, another job's OUT), 1 a failure.

examples:
  binge embed --checkpoint runs/k8/export --corpus corpus/world --split heldout --out lib/heldout
  binge embed --checkpoint runs/k8/export ~/clips/a.mp4 ~/clips/b.mkv --out lib/clips
  binge embed --random-init configs/tiny.yaml --corpus corpus/world --split heldout --out lib/floor
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", metavar="FILE", help="media files or folders to embed")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", help="export folder (or checkpoint .pt)")
    which.add_argument("--random-init", metavar="CONFIG",
                       help="instead of an export: the randomly initialised models of this "
                            "config (seed --seed), exported to OUT/random_init_export")
    p.add_argument("--seed", type=int, default=0, help="seed of --random-init")
    p.add_argument("--corpus", help="prepared corpus folder (instead of FILEs)")
    p.add_argument("--split", choices=("train", "heldout"), help="only this split of --corpus")
    p.add_argument("--titles", nargs="+", metavar="ID", help="only these title ids of --corpus")
    p.add_argument("--out", required=True, help="library folder to write (rerun to resume)")
    p.add_argument("--batch-size", type=int, default=32, help="snippets per forward pass")
    p.add_argument("--workers", type=int, default=2,
                   help="DataLoader processes decoding snippets (and prepare processes)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present, bf16) | cpu | cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _check_paths(args: argparse.Namespace) -> None:
    """A --checkpoint, --random-init config, --corpus or FILE the user named that is not there:
    a user error (exit 2) found before torch is imported (docs/cli.md, fail fast)."""
    from pathlib import Path

    named = [("--checkpoint", args.checkpoint), ("--random-init", args.random_init),
             ("--corpus", args.corpus), *(("FILE", f) for f in args.files)]
    for flag, path in named:
        if path and not Path(path).exists():
            raise FileNotFoundError(f"{flag} {path} does not exist; check the path (nothing "
                                    "was written)")


def run(args: argparse.Namespace) -> int:
    """Exit 0, or 3 when some media files were skipped (``binge prepare``'s convention, listed
    in OUT/corpus/skipped.csv); errors go to binge.cli (LibraryError & co.: a one-line refusal,
    exit 2; anything else: a failure, exit 1, its traceback under --debug; docs/cli.md)."""
    from pathlib import Path

    _check_paths(args)
    from binge.library.embed import embed_library, random_init_export
    from binge.runinfo import record_run

    # OUT/run_info.json, written at a successful end: a refused command leaves OUT untouched
    with record_run(args.out, "embed", device=args.device, at_start=False) as record:
        checkpoint = args.checkpoint or random_init_export(
            args.random_init, Path(args.out) / "random_init_export", args.seed)
        report = embed_library(checkpoint, args.out, corpus=args.corpus,
                               files=args.files or None, split=args.split, titles=args.titles,
                               batch_size=args.batch_size, workers=args.workers,
                               device=args.device, progress=not args.quiet)
        record.update(titles_embedded=len(report.embedded), snippets=report.snippets,
                      skipped=len(report.skipped))
    rate = report.snippets / report.seconds if report.seconds > 0 else 0.0
    print(f"{len(report.titles)} titles in {report.out_dir}: {len(report.embedded)} embedded "
          f"({report.snippets} snippets, {rate:.1f} snippets/s), {len(report.reused)} kept "
          "from an earlier run")
    if report.skipped:
        print(f"skipped {len(report.skipped)} media file(s), listed in "
              f"{report.prepared.out_dir / 'skipped.csv'}:")
    for path, reason in report.skipped:
        print(f"  skipped {path}: {reason}")
    return report.exit_code
