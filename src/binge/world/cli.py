"""`binge world`: generate the procedural TV world (media files + metadata + ground truth)."""

from __future__ import annotations

import sys

HELP = "generate the procedural TV world (media files + metadata + ground truth)"
DESCRIPTION = """\
Generate the procedural TV world: shows with episodes and standalone movies as real
H.264 + AAC MP4 files, each title full of content-exclusive artifacts (palette and grading,
set textures, a recurring character with a voice, a theme motif, a mastering signature)
and semantic audio-visual events whose sound is driven by their motion. Writes
titles/*.mp4, metadata.csv, ground_truth/*.json and two downstream sets in the UCF101
(downstream/world-action) and ESC-50 (downstream/world-sound) layouts. A re-run into a
finished folder with the same preset and seed reuses it. See docs/world.md.

examples:
  binge world --out data/world --preset demo --workers 2
  binge world --contact-sheet data/world --out world.png
"""


def add_arguments(parser) -> None:
    parser.add_argument("--out", required=True, help="output folder (or the PNG with --contact-sheet)")
    parser.add_argument("--preset", default="tiny", help="world size: tiny (seconds, tests) or demo (minutes)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical bytes")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes over titles")
    parser.add_argument("--contact-sheet", metavar="WORLD_DIR", default=None,
                        help="instead of generating, save a contact sheet of WORLD_DIR to the PNG --out")
    parser.add_argument("--titles", type=int, default=4, help="titles on the contact sheet")


def run(args) -> int:
    from binge.world import WorldError, generate_world
    from binge.world.contact_sheet import contact_sheet

    if args.contact_sheet is not None:
        try:
            path = contact_sheet(args.contact_sheet, args.out, titles=args.titles)
        except FileNotFoundError as err:
            print(f"binge world: {err}", file=sys.stderr)
            return 2
        print(f"contact sheet: {path}")
        return 0
    from binge.runinfo import record_run

    try:
        with record_run(args.out, "world", at_start=False):  # run_info.json beside the world
            out = generate_world(args.out, preset=args.preset, seed=args.seed, workers=args.workers)
    except (WorldError, ValueError) as err:
        print(f"binge world: {err}", file=sys.stderr)
        return 2
    print(f"world ({args.preset}, seed {args.seed}): {out}")
    return 0
