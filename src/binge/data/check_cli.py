"""`binge check`: say what `binge prepare` will do with each file, before transcoding."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "probe media files and say what binge prepare will do with each (no transcoding)"
DESCRIPTION = """\
Probe every file and read its packets without decoding (seconds per title), then print
and write (CSV) what `binge prepare` will do with it: the streams it will pick, colour
(matrix/range, tagged or the untagged SD/HD default) and geometry (sample aspect ratio,
rotation) and how they are handled, each stream's duration and any mismatch, timestamp
gaps and corrupt packets, the title id it will get, and whether it will be prepared or
skipped and why. The verdicts are prepare's own rules; damage inside a packet that still
demuxes is only found when prepare decodes it (it is then reported in the manifest).

Exit status (docs/cli.md): 0 every file will be prepared, 3 some will be skipped, 2 a user
error (bad arguments, config or metadata), 1 a failure.

examples:
  binge check ~/videos
  binge check ~/videos --metadata shows.csv --out check.csv --config configs/tiny.yaml
  binge check ~/videos --corpus corpus/movies     # ids as a rerun into that corpus gives
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="*", metavar="SRC",
                        help="media files or folders (searched recursively); may be omitted "
                             "when --metadata lists the files")
    parser.add_argument("--metadata", metavar="CSV",
                        help="the metadata CSV you will give binge prepare")
    parser.add_argument("--out", metavar="CSV", help="write the rows to this CSV")
    parser.add_argument("--corpus", metavar="CORPUS",
                        help="the corpus folder prepare will write (ids of titles already "
                             "there are kept)")
    parser.add_argument("--config", metavar="YAML",
                        help="config whose data section prepare will use (snippet length)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _check_paths(args: argparse.Namespace) -> None:
    """A SRC, --metadata or --corpus the user named that is not there is a user error (exit 2,
    as for ``binge prepare``), found before any file is probed: a mistyped --corpus would
    otherwise check the files as for a new corpus, without a word."""
    from binge.data.cli import _check_inputs_exist
    from binge.data.corpus import PrepareError

    _check_inputs_exist(list(args.sources), args.metadata)
    if args.corpus is not None:
        corpus = Path(args.corpus)
        if not corpus.is_dir():
            raise PrepareError(f"--corpus {corpus} does not exist; give the folder of a corpus "
                               "binge prepare wrote (or leave --corpus out for a new corpus)")
        if not (corpus / "corpus.json").is_file():
            raise PrepareError(f"--corpus {corpus} is not a corpus written by binge prepare (no "
                               "corpus.json); give that folder (or leave --corpus out for a new "
                               "corpus)")


def run(args: argparse.Namespace) -> int:
    import sys

    from binge.config import ConfigError, load_config
    from binge.data.corpus import PrepareError

    if not args.sources and not args.metadata:
        print("binge check: give media files/folders (SRC) or --metadata", file=sys.stderr)
        return 2
    try:
        _check_paths(args)  # before the config's load and the probe's imports (torch)
        cfg = load_config(args.config, [])
        from binge.data.check import check_sources

        rows = check_sources(args.sources, args.metadata, cfg.data, out_dir=args.corpus,
                             out_csv=args.out, progress=not args.quiet)
    except (ConfigError, PrepareError) as err:
        print(f"binge check: {err}", file=sys.stderr)
        return 2  # a user error (docs/cli.md)
    for r in rows:
        head = f"{r['verdict']:7s} {r.get('title_id') or '-'}  {r['source_path']}"
        print(head + (f"\n        reason: {r['reason']}" if r.get("reason") else ""))
        for key in ("video_stream", "audio_stream", "colour", "geometry", "lost_where"):
            if r.get(key):
                print(f"        {key}: {r[key]}")
    skipped = sum(r["verdict"] == "skip" for r in rows)
    print(f"{len(rows) - skipped} to prepare, {skipped} to skip"
          + (f"; written to {args.out}" if args.out else ""))
    if rows and skipped == len(rows):
        print(f"binge check: none of the {skipped} files can be prepared (the reasons are "
              "above)", file=sys.stderr)
    return 3 if skipped else 0
