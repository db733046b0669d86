"""`binge scenes`: scene boundaries of a prepared corpus (detected, or brought by the user)."""

from __future__ import annotations

import argparse

HELP = "detect (or import) the scene boundaries of a prepared corpus"
DESCRIPTION = """\
Write CORPUS/scenes.csv (title_id, scene, start_s, end_s: contiguous scenes covering each
title), CORPUS/scenes.json (where the boundaries came from: detector and settings, user CSV
path and sha256, or world ground truth; and the CSV's sha256) and run_info-<CSV stem>.json
beside the CSV (run_info-scenes.json by default; binge.runinfo: versions, argv, host,
start/end time; on success), for the scene sampling
policies (sampling.window=scene, sampling.scene_policy=distinct; docs/sampling.md).

By default the scenes are detected with PySceneDetect on the prepared videos (decoded, never
re-transcoded). Resumable: each title's cuts are kept in CORPUS/scenes/<title_id>.json with
the detector settings, and a rerun with the same settings detects only the titles missing.
Titles whose cuts `binge prepare` already recorded with the same settings are not decoded.

--scenes CSV brings your own boundaries (same columns, the manifest's title_id values)
instead, as `binge prepare --scenes CSV` does at the end of prepare; --from-world WORLD takes
the ground-truth scenes of a TV world made by `binge world`; the detector options (--detector,
--threshold, --min-scene-s, --width) are refused with either (nothing is detected). --out writes the CSV elsewhere
(e.g. to keep detected and ground-truth scenes side by side; point sampling.scenes at it).

examples:
  binge scenes corpus/world
  binge scenes corpus/world --detector content --threshold 20 --min-scene-s 2
  binge scenes corpus/world --from-world data/world --out corpus/world/scenes_gt.csv
  binge scenes corpus/movies --scenes my_scenes.csv
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("corpus", metavar="CORPUS", help="a corpus folder (binge prepare)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--scenes", metavar="CSV", help="use these boundaries (title_id, scene, "
                        "start_s, end_s) instead of detecting")
    source.add_argument("--from-world", metavar="WORLD", help="use a TV world's ground-truth "
                        "scenes (WORLD/ground_truth/<title_id>.json)")
    # detector options: None when not given (so that --scenes/--from-world can refuse them)
    parser.add_argument("--detector", choices=["content", "adaptive"], default=None,
                        help="PySceneDetect detector (default: adaptive)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="detector threshold (default: the library's, 27 content / 3 "
                             "adaptive)")
    parser.add_argument("--min-scene-s", type=float, default=None,
                        help="no two cuts closer than this many seconds (default 1)")
    parser.add_argument("--width", type=int, default=None,
                        help="frames are downscaled to this width before detection (default "
                             "128; 0: as decoded)")
    parser.add_argument("--out", metavar="CSV", help="write here instead of CORPUS/scenes.csv")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


#: the options that set how scenes are detected, and their defaults
DETECTOR_OPTIONS = {"detector": "adaptive", "threshold": None, "min_scene_s": 1.0, "width": 128}


def _check_detector_options(args: argparse.Namespace) -> None:
    """--scenes / --from-world bring the boundaries: a detector option given with them would be
    ignored, so it is refused (SceneError, exit 2); otherwise the unset options get their
    defaults."""
    from binge.data.scenes import SceneError

    given = [f"--{k.replace('_', '-')}" for k in DETECTOR_OPTIONS if getattr(args, k) is not None]
    brought = "--scenes" if args.scenes else "--from-world" if args.from_world else None
    if brought and given:
        raise SceneError(f"{'/'.join(given)} set(s) how scenes are detected, but {brought} "
                         "brings the boundaries (nothing is detected): drop "
                         f"{'/'.join(given)}, or drop {brought} to detect")
    for key, default in DETECTOR_OPTIONS.items():
        if getattr(args, key) is None:
            setattr(args, key, default)


def _check_inputs(args: argparse.Namespace) -> None:
    """The corpus, a --scenes CSV's format and a --from-world folder, checked before anything
    heavy is imported (a refusal costs no torch import)."""
    from pathlib import Path

    from binge.data.corpus import read_manifest
    from binge.data.scenes import SceneError, read_scenes_csv

    read_manifest(Path(args.corpus))  # CorpusError naming the folder and the fix
    if args.scenes:
        if not Path(args.scenes).is_file():
            raise SceneError(f"--scenes {args.scenes} does not exist; check the path (nothing "
                             "was written)")
        read_scenes_csv(args.scenes)  # the format (file:line); titles and coverage later
    if args.from_world and not (Path(args.from_world) / "ground_truth").is_dir():
        raise SceneError(f"--from-world {args.from_world} has no ground_truth/ folder; give the "
                         "folder `binge world` wrote")


def run(args: argparse.Namespace) -> int:
    import sys

    from pathlib import Path

    from binge.data.corpus import CorpusError
    from binge.data.scenes import SceneDetectorUnavailable, SceneError

    try:
        _check_detector_options(args)
        _check_inputs(args)
    except (SceneError, CorpusError) as err:
        print(f"binge scenes: {err}", file=sys.stderr)
        return 2  # a user error (docs/cli.md): nothing written
    from binge.runinfo import record_run  # its record of versions imports torch

    from binge.locks import FolderLock, LockError

    csv = Path(args.out) if args.out else Path(args.corpus) / "scenes.csv"
    record = f"run_info-{csv.stem}.json"  # beside the CSV, one per CSV (scenes.csv, gt.csv, …)
    try:  # the record is written at a successful end: a refused command writes nothing
        # one writer per corpus: the cut files and scenes.csv are prepare's too
        with FolderLock(args.corpus, "binge scenes"), \
                record_run(csv.parent, "scenes", filename=record, at_start=False):
            path, info = _run(args)
    except (SceneError, SceneDetectorUnavailable, CorpusError, LockError) as err:
        print(f"binge scenes: {err}", file=sys.stderr)
        return 2  # a user error (docs/cli.md)
    print(f"wrote {info['scenes']} scenes of {info['titles']} titles to {path} "
          f"({info['source']})")
    return 0


def _run(args: argparse.Namespace):
    import json
    from pathlib import Path

    from binge.data.corpus import read_corpus_params, read_manifest
    from binge.data.scenes import (
        DetectorSettings, import_scenes_csv, scenes_from_world, write_corpus_scenes,
    )

    corpus = Path(args.corpus)
    if args.scenes:  # the path `binge prepare --scenes` takes too
        path = import_scenes_csv(corpus, args.scenes, out=args.out)
        return path, json.loads(path.with_suffix(".json").read_text())
    rows = read_manifest(corpus)
    durations = {r["title_id"]: float(r["duration_s"]) for r in rows}
    if args.from_world:
        scenes = scenes_from_world(args.from_world, list(durations), durations)
        info = {"source": "world ground truth", "path": str(Path(args.from_world).resolve()),
                **_world_identity(Path(args.from_world))}
    else:
        settings = DetectorSettings(method=args.detector, threshold=args.threshold,
                                    min_scene_s=args.min_scene_s, width=args.width)
        fps = float(read_corpus_params(corpus)["fps"])
        origins: dict = {}
        scenes = _detect_all(corpus, rows, settings, fps, progress=not args.quiet,
                             origins=origins)
        info = {"source": "detected", "detector": settings.as_dict(), "fps": fps,
                "cuts_from": dict(sorted(origins.items()))}
    path = write_corpus_scenes(corpus, scenes, durations, info, out=args.out)
    return path, json.loads(path.with_suffix(".json").read_text())


def _world_identity(world) -> dict:
    """The preset and seed a TV world was generated with (its world.json), when readable."""
    import json

    try:
        meta = json.loads((world / "world.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: meta[k] for k in ("preset", "seed") if isinstance(meta, dict) and k in meta}


def _detect_all(corpus, rows, settings, fps, progress: bool, origins=None):
    from binge.data.scenes import detect_corpus

    return detect_corpus(corpus, rows, settings, fps, progress=progress, origins=origins)
