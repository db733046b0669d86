"""`binge prepare`: prepare a corpus of long titles for fast snippet loading."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "prepare a corpus of long titles for fast snippet loading"
DESCRIPTION = """\
Prepare media files (any container/codec FFmpeg reads) for pretraining: pick each file's
main video and audio streams, transcode the video once to data.fps frames/s with the
shorter side data.short_side (H.264, no B-frames, a keyframe at every snippet start),
store the audio as fp16 log-mel (mono, data.sample_rate) and write manifest.csv with a
show-disjoint 90/10 train/heldout split. Bad files are listed in skipped.csv.

Scene boundaries (docs/sampling.md): detected on the frames transcoded (data.scene_detector,
default adaptive; null: off) into scenes.csv + scenes.json; --scenes CSV brings your own
instead (title_id, scene, start_s, end_s; detection is then off), checked against the
prepared titles exactly as `binge scenes CORPUS --scenes CSV` does.

Resumable: rerun the same command after an interruption; finished titles are kept.
Cluster array jobs: run `--shard i/N` for i = 0..N-1, then the command once without
--shard to assemble the manifest (it redoes nothing); `--slurm --array N` submits both through
submitit (docs/cluster.md). Overrides are section.key=value pairs after the sources, as in
every binge command (`--set KEY=VALUE` is a deprecated alias).

Exit status (docs/cli.md): 0 all titles prepared, 3 some files skipped (see skipped.csv),
2 a user error (bad arguments, config, metadata; the folder in use), 1 a failure (disk full…:
the path is named, finished titles are kept).

examples:
  binge prepare ~/videos --out corpus
  binge prepare world/titles --metadata world/metadata.csv --config configs/tiny.yaml --out corpus
  binge prepare ~/videos --out corpus data.heldout_fraction=0.2 --workers 4
  binge prepare ~/movies --out corpus --scenes my_scenes.csv
  binge prepare ~/videos --out corpus --slurm --array 64 --partition cpu
"""


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard {text!r}: expected i/N, e.g. 0/8") from None
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError(f"--shard {text!r}: expected 0 <= i < N")
    return i, n


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="*", metavar="SRC | section.key=value",
                        help="media files or folders (searched recursively; may be omitted "
                             "when --metadata lists the files), then config overrides such as "
                             "data.heldout_fraction=0.2")
    parser.add_argument("--out", required=True, metavar="CORPUS", help="corpus folder to write")
    parser.add_argument("--metadata", metavar="CSV",
                        help="CSV with a 'path' column (relative to the CSV) and optional "
                             "title_id, group (show), genre, kind, split")
    parser.add_argument("--config", metavar="YAML",
                        help="config file whose data section sets the snippet geometry and "
                             "log-mel parameters (default: the paper's)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="data.KEY=VALUE", help="deprecated: give data.KEY=VALUE after the sources")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="titles prepared in parallel (processes; default 1)")
    parser.add_argument("--shard", type=_shard, default=(0, 1), metavar="i/N",
                        help="prepare only shard i of N (array jobs)")
    parser.add_argument("--scenes", metavar="CSV",
                        help="scene boundaries to use instead of detecting them (title_id, "
                             "scene, start_s, end_s), checked against the prepared titles; with "
                             "--shard give it to the assemble run too")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    from binge.cluster import add_slurm_arguments

    add_slurm_arguments(parser, "prepare")


def _check_inputs_exist(sources: list[str], metadata: "str | None") -> None:
    """A source or --metadata the user named that is not there is a user error (exit 2), found
    before anything is written (a missing file found while scanning a folder is skipped)."""
    import os

    from binge.data.corpus import PrepareError

    gone = [s for s in sources if not os.path.exists(s)]
    if gone:
        raise PrepareError(f"source {gone[0]} does not exist; check the path (nothing was written)")
    if metadata and not os.path.isfile(metadata):
        raise PrepareError(f"--metadata {metadata} does not exist; check the path (nothing was "
                           "written)")


def _check_scenes_file(path: str) -> str:
    """``--scenes CSV``: its format (columns, numbering, contiguity) is checked before anything
    is prepared; its titles and coverage after (:func:`binge.data.scenes.import_scenes_csv`).
    Returns the absolute path (array tasks may run elsewhere)."""
    import os

    from binge.data.corpus import PrepareError
    from binge.data.scenes import read_scenes_csv

    if not os.path.isfile(path):
        raise PrepareError(f"--scenes {path} does not exist; check the path (nothing was written)")
    read_scenes_csv(path)
    return os.path.abspath(path)


def _refuse_detector_with_scenes(cfg, overrides: list[str]) -> None:
    """``--scenes CSV`` brings the boundaries: a detector asked for on the command line
    (``data.scene_detector=...``) would be ignored, so it is refused (the config file's
    detector, a default, is turned off without a word)."""
    from binge.data.corpus import PrepareError

    asked = [o for o in overrides if o.split("=", 1)[0].strip() == "data.scene_detector"]
    if asked and cfg.data.scene_detector is not None:
        raise PrepareError(f"{asked[-1]} asks for detection, but --scenes brings the boundaries "
                           "(nothing is detected): drop one of the two")


def _import_scenes(out: str, csv_path: str) -> str:
    """The `binge scenes --scenes` path, after prepare; a CSV that does not fit is a user error
    that keeps the prepared titles."""
    from binge.data.scenes import SceneError, import_scenes_csv

    try:
        path = import_scenes_csv(out, csv_path)
    except SceneError as err:
        raise SceneError(f"{err} (the prepared titles are kept: fix the CSV, then run `binge "
                         f"scenes {out} --scenes {csv_path}`)") from None
    return str(path)


def run(args: argparse.Namespace) -> int:
    import logging
    import sys

    from binge.config import ConfigError, load_config
    from binge.data.corpus import CorpusError, PrepareError
    from binge.locks import LockError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    from binge.cluster import ClusterError, check_cluster_flags, split_overrides, submit_prepare
    from binge.runinfo import record_run

    sources, overrides = split_overrides(args.sources)
    if args.overrides:
        print("binge prepare: --set is deprecated; give section.key=value after the sources",
              file=sys.stderr)
    if not sources and not args.metadata:
        print("binge prepare: give media files/folders (SRC) or --metadata", file=sys.stderr)
        return 2
    try:
        cfg = load_config(args.config, [*args.overrides, *overrides])
        if args.scenes:  # the user's boundaries: no detection
            import dataclasses

            _refuse_detector_with_scenes(cfg, [*args.overrides, *overrides])
            args.scenes = _check_scenes_file(args.scenes)
            cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, scene_detector=None))
        if not (Path(args.out).is_dir() and any(Path(args.out).iterdir())):
            _check_inputs_exist(sources, args.metadata)  # an existing corpus checks its own way
        check_cluster_flags(args)
        if getattr(args, "slurm", False):
            return submit_prepare(args)
        from binge.data.prepare import prepare_corpus  # torch: only once the command is valid

        i, n = args.shard
        from contextlib import nullcontext

        from binge.locks import FolderLock, refuse_file  # one writer per corpus; shards write
        if n != 1:  # their own titles and take no lock: the lock's own file check, without it
            refuse_file(Path(args.out), f"--out {args.out}")
        with FolderLock(args.out, "binge prepare", name=f"--out {args.out}") if n == 1 \
                else nullcontext(), \
                record_run(args.out, "prepare", filename="run_info.json" if n == 1
                        else f"shards/run_info-{i}-of-{n}.json"):
            report = prepare_corpus(sources, args.out, metadata=args.metadata, data=cfg.data,
                                    workers=args.workers, shard=args.shard,
                                    progress=not args.quiet)
            scenes = _import_scenes(args.out, args.scenes) if args.scenes and report.manifest \
                else None
    except (ConfigError, CorpusError, PrepareError, ClusterError, LockError) as err:
        print(f"binge prepare: {err}", file=sys.stderr)
        return 2  # a user error (docs/cli.md): fix the command and rerun
    except OSError as err:  # disk full, permissions: finished titles are kept, rerun resumes
        print(f"binge prepare: {err}; finished titles are kept, rerun the same command "
              "to resume", file=sys.stderr)
        return 1
    where = report.manifest or f"{args.out} (shard {args.shard[0]}/{args.shard[1]})"
    print(f"prepared {len(report.title_ids)} titles ({report.new} new, {report.reused} "
          f"already done) into {where}; skipped {len(report.skipped)}")
    if scenes:
        print(f"scenes from {args.scenes} written to {scenes}")
    for path, reason in report.skipped:
        print(f"  skipped {path}: {reason}")
    for title_id, lost_s, where in report.lossy:  # kept, with what was lost (manifest.csv)
        print(f"  {title_id}: lost {lost_s:.2f} s: {where}")
    if report.skipped and not report.title_ids:
        print(f"binge prepare: none of the {len(report.skipped)} files could be prepared (the "
              f"reasons are above and in {Path(args.out) / 'skipped.csv'}); the corpus is empty",
              file=sys.stderr)
    return report.exit_code
