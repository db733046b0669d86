"""What the scene policies change in a batch: same-scene pairs inside a title's group.

For the TV world's ground-truth scenes (binge.data.scenes.scenes_from_world) and each snippet
length L (3.2 s: the paper's and the study's geometry; 1 s: configs/micro.yaml), draws batches
of B = 64 with k snippets per title under each policy, titles as units, and reports, over
all pairs of snippets of the same group: the share that lie in the same true scene (the
near-duplicate negatives a scene-aware sampler adds or removes) and their mean distance in
seconds. Only the sampler runs (no decoding, no training): titles' M_n = duration // L.

    python benchmarks/scene_sampling.py --world runs/bench_scenes/demo/world
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

from binge.data.scenes import scenes_from_world, snippet_scene_starts
from binge.sampling import HierarchicalBatchSampler

POLICIES = {
    "w = M_n": dict(window=None),
    "w = k": dict(window="k"),
    "window: scene": dict(window="scene"),
    "scene_policy: distinct": dict(scene_policy="distinct"),
}


def measure(world: Path, L: float, k: int, batches: int, short: str,
            batch_size: int = 64) -> list[dict]:
    meta = [json.loads(p.read_text()) for p in sorted((world / "ground_truth").glob("*.json"))]
    ids = [p.stem for p in sorted((world / "ground_truth").glob("*.json"))]
    durations = {t: float(m["scenes"][-1]["end_s"]) for t, m in zip(ids, meta)}
    scenes = scenes_from_world(world, ids)
    lengths = [int(durations[t] // L) for t in ids]
    starts = [snippet_scene_starts(scenes[t], m, L) for t, m in zip(ids, lengths)]
    rows = []
    for name, kw in POLICIES.items():
        kw = {**kw, "window": k if kw.get("window") == "k" else kw.get("window")}
        try:
            s = HierarchicalBatchSampler(lengths, batch_size=batch_size, k=k, seed=0, scenes=starts,
                                         short_titles=short, **kw)
        except ValueError as err:
            rows.append({"L": L, "k": k, "policy": name, "error": str(err)})
            continue
        same = dist = pairs = 0
        for step in range(batches):
            batch = s.global_batch(0, step)
            for g in range(0, len(batch), k):
                group = batch[g:g + k]
                t = group[0][0]
                scene = np.searchsorted(starts[t], [m for _, m in group], side="right")
                for (a, sa), (b, sb) in itertools.combinations(zip(group, scene), 2):
                    same += int(sa == sb)
                    dist += abs(a[1] - b[1]) * L
                    pairs += 1
        rows.append({"L": L, "k": k, "policy": name, "titles_used": s.num_units,
                     "titles": len(ids), "same_scene": same / pairs,
                     "mean_distance_s": dist / pairs})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", type=Path, required=True, help="a TV world (binge world)")
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--short-titles", default="shrink_window", choices=["skip", "shrink_window"])
    args = ap.parse_args(argv)
    print("| L (s) | k | policy | titles drawn | same-scene pairs | mean distance (s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for L, k in ((3.2, 16), (3.2, 8), (1.0, 8)):
        for r in measure(args.world, L, k, args.batches, args.short_titles):
            if "error" in r:
                print(f"| {L:g} | {k} | {r['policy']} | refused: {r['error']} | | |")
                continue
            print(f"| {L:g} | {k} | {r['policy']} | {r['titles_used']} of {r['titles']} | "
                  f"{r['same_scene']:.3f} | {r['mean_distance_s']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
