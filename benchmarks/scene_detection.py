"""Scene-boundary detection (binge.data.scenes) against the TV world's ground truth, and a
contact sheet of the cuts detected on real clips.

For each world preset: generate the world (seed 0), prepare it with the study's data settings
(configs/study/pretrain.yaml: 5 fps, 64-px short side, as the demo), detect the cuts of every
prepared title exactly as `binge scenes` does (decode of the prepared video, PySceneDetect fed
frame by frame), and match them one-to-one to the ground-truth cuts (scene starts after 0 in
ground_truth/<title_id>.json): a detected cut counts if a true cut lies within one snippet
(L = 3.2 s), nearest first. Precision = matched / detected, recall = matched / true cuts;
recall is also given for the cuts where the location (the set) changes, the only ones with a
change of background: at the others only the dominant event and the character change.

    python benchmarks/scene_detection.py                       # tiny and demo, both detectors
    python benchmarks/scene_detection.py --presets tiny --work /tmp/scenes
    python benchmarks/scene_detection.py --contact-sheet docs/figures/scene_cuts_clips.png

The contact sheet decodes ../shared/data/av_clips (Sintel, Big Buck Bunny) at 5 fps as
`binge prepare` does, detects with the default settings (adaptive) and draws every frame, the first
frame of each detected scene framed in red, for a reader to check by eye.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SNIPPET_S = 3.2
DETECTORS = {
    "content (threshold 27)": dict(method="content"),
    "content (threshold 15)": dict(method="content", threshold=15.0),
    "adaptive (threshold 3, the default)": dict(method="adaptive"),
    "adaptive (threshold 2)": dict(method="adaptive", threshold=2.0),
}


def match_cuts(detected: list[float], truth: list[float], tol: float) -> list[tuple[int, int]]:
    """One-to-one matches (i_detected, j_true) with |Δt| ≤ tol, closest pairs first."""
    pairs = sorted((abs(d - t), i, j) for i, d in enumerate(detected)
                   for j, t in enumerate(truth) if abs(d - t) <= tol)
    used_d, used_t, out = set(), set(), []
    for _, i, j in pairs:
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
            out.append((i, j))
    return out


def build_corpus(work: Path, preset: str) -> tuple[Path, Path]:
    from binge.config import load_config
    from binge.data.prepare import prepare_corpus
    from binge.world import generate_world

    world = work / preset / "world"
    corpus = work / preset / "corpus"
    if not (world / "metadata.csv").is_file():
        generate_world(world, preset=preset, seed=0)
    if not (corpus / "manifest.csv").is_file():
        data = load_config(REPO / "configs" / "study" / "pretrain.yaml").data
        prepare_corpus([world / "titles"], corpus, metadata=world / "metadata.csv", data=data,
                       workers=1)
    return world, corpus


def evaluate_preset(work: Path, preset: str) -> list[dict]:
    from binge.data.corpus import read_corpus_params, read_manifest
    from binge.data.scenes import DetectorSettings, detect_title

    world, corpus = build_corpus(work, preset)
    rows = read_manifest(corpus)
    fps = float(read_corpus_params(corpus)["fps"])
    truth, located = {}, {}
    for r in rows:
        gt = json.loads((world / "ground_truth" / f"{r['title_id']}.json").read_text())["scenes"]
        cuts = [(b["start_s"], a["location"] != b["location"]) for a, b in zip(gt, gt[1:])
                if b["start_s"] < r["duration_s"]]
        truth[r["title_id"]] = [t for t, _ in cuts]
        located[r["title_id"]] = [loc for _, loc in cuts]
    out = []
    for name, kw in DETECTORS.items():
        settings = DetectorSettings(**kw)
        n_det = n_true = n_match = n_loc = n_loc_match = 0
        offsets = []
        t0 = time.perf_counter()
        for r in rows:
            det = detect_title(corpus, r, settings, fps)
            tr = truth[r["title_id"]]
            matches = match_cuts(det, tr, SNIPPET_S)
            n_det += len(det)
            n_true += len(tr)
            n_match += len(matches)
            n_loc += sum(located[r["title_id"]])
            n_loc_match += sum(located[r["title_id"]][j] for _, j in matches)
            offsets += [abs(det[i] - tr[j]) for i, j in matches]
        out.append({
            "preset": preset, "detector": name, "titles": len(rows), "true_cuts": n_true,
            "detected": n_det, "matched": n_match,
            "precision": n_match / n_det if n_det else float("nan"),
            "recall": n_match / n_true if n_true else float("nan"),
            "location_cuts": n_loc,
            "recall_location_cuts": n_loc_match / n_loc if n_loc else float("nan"),
            "median_offset_s": float(np.median(offsets)) if offsets else float("nan"),
            "seconds": time.perf_counter() - t0,
        })
    return out


def contact_sheet(out_png: Path, clips: list[Path], fps: float = 5.0, short_side: int = 72,
                  per_row: int = 20) -> list[dict]:
    """Every frame of each clip at ``fps``; first frames of detected scenes framed in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from binge.data.media import iter_video_frames
    from binge.data.scenes import DetectorSettings, SceneCutDetector, detection_frame
    from binge.io import atomic_path

    panels, report = [], []
    settings = DetectorSettings()
    for clip in clips:
        frames, det = [], SceneCutDetector(fps, settings)
        for i, frame in enumerate(iter_video_frames(clip, fps, short_side)):
            rgb = detection_frame(frame, 0)
            det.push(rgb, i / fps)
            frames.append(rgb)
        cuts = det.finish()
        cut_frames = {int(round(c * fps)) for c in cuts}
        h, w = frames[0].shape[:2]
        pad = 3
        rows = -(-len(frames) // per_row)
        canvas = np.full((rows * (h + 2 * pad), per_row * (w + 2 * pad), 3), 255, np.uint8)
        for i, f in enumerate(frames):
            r, c = divmod(i, per_row)
            y, x = r * (h + 2 * pad), c * (w + 2 * pad)
            if i in cut_frames:
                canvas[y:y + h + 2 * pad, x:x + w + 2 * pad] = (230, 20, 20)
            canvas[y + pad:y + pad + h, x + pad:x + pad + w] = f[:h, :w]
        panels.append((clip.name, canvas, rows, h + 2 * pad, cuts))
        report.append({"clip": clip.name, "frames": len(frames), "cuts_s": cuts})
    heights = [p[1].shape[0] for p in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(16, 16 * sum(heights) /
                                                     panels[0][1].shape[1] + 0.6 * len(panels)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (name, canvas, rows, row_h, cuts) in zip(axes[:, 0], panels, strict=True):
        ax.imshow(canvas)
        ax.set_yticks([(r + 0.5) * row_h for r in range(rows)])
        ax.set_yticklabels([f"{r * per_row / fps:.0f} s" for r in range(rows)])
        ax.set_xticks([])
        ax.set_title(f"{name}: {len(cuts)} detected cut(s) at "
                     + (", ".join(f"{c:.1f} s" for c in cuts) or "none")
                     + f" — every frame at {fps:g} fps, red = first frame of a detected scene",
                     fontsize=10)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", nargs="+", default=["tiny", "demo"])
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "bench_scenes",
                    help="worlds and corpora are built here once and reused")
    ap.add_argument("--contact-sheet", type=Path, default=None, metavar="PNG",
                    help="also draw the cuts detected on Sintel and Big Buck Bunny")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    args = ap.parse_args(argv)
    results = []
    for preset in args.presets:
        results += evaluate_preset(args.work, preset)
    print("| preset | detector | titles | true cuts | detected | precision | recall | "
          "recall, location cuts | median offset (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['preset']} | {r['detector']} | {r['titles']} | {r['true_cuts']} | "
              f"{r['detected']} | {r['precision']:.3f} | {r['recall']:.3f} | "
              f"{r['recall_location_cuts']:.3f} ({r['location_cuts']}) | "
              f"{r['median_offset_s']:.2f} |")
    sheet = None
    if args.contact_sheet is not None:
        root = Path(os.environ.get("BINGE_SHARED_DATA", REPO.parent / "shared" / "data"))
        clips = [root / "av_clips" / n for n in ("sintel_5s.mp4", "big_buck_bunny_0_30.webm")]
        absent = [str(c) for c in clips if not c.is_file()]
        if absent:
            print(f"contact sheet skipped: {', '.join(absent)} absent (set BINGE_SHARED_DATA)",
                  file=sys.stderr)
        else:
            sheet = contact_sheet(args.contact_sheet, clips)
            for s in sheet:
                print(f"{s['clip']}: {s['frames']} frames, cuts at {s['cuts_s']}")
    if args.json is not None:
        from binge.io import write_json

        write_json({"results": results, "contact_sheet": sheet}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
