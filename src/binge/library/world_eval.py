"""Same-event retrieval on the TV world: R@k of an embedded library against the ground truth.

Each snippet's label is the event class of the world scene that holds its midpoint
(``ground_truth/<title_id>.json``, ``scenes``; docs/world.md). Every snippet queries the
snippets of the *other shows* of the library (``--exclude show``, the default: the event must
be recognised across a show's look and sound signature) or of the other titles
(``--exclude title``: other episodes of its own show count; the adjacent snippets of its own
scene never do) with faiss's exact inner product (Eq. 1's score; ``--metric cosine`` optional); a query
scores at R@k when one of its k best hits has its event class. Four directions: audio→video
(z_a against z_v), video→audio, video→video, audio→audio. Chance is the expected R@k of a
random ranking of the same gallery.

    python -m binge.library.world_eval --index LIB [LIB ...] --world WORLD
        [--metric ip|cosine] [--exclude show|title] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from binge.library.store import LibraryError

__all__ = ["DIRECTIONS", "snippet_events", "title_groups", "recall_excluding_title",
           "chance_recall",
           "world_retrieval", "main"]

#: direction → (query column, gallery column)
DIRECTIONS = {"a→v": ("z_audio", "z_video"), "v→a": ("z_video", "z_audio"),
              "v→v": ("z_video", "z_video"), "a→a": ("z_audio", "z_audio")}


def _ground_truth(world: Path, tid: str, cache: dict[str, dict]) -> dict:
    if tid not in cache:
        path = Path(world) / "ground_truth" / f"{tid}.json"
        if not path.is_file():
            raise LibraryError(f"{path} is missing: pass the world folder the library's "
                               "titles were generated in (binge world --out)")
        cache[tid] = json.loads(path.read_text())
    return cache[tid]


def snippet_events(world: Path, title_ids: Sequence[str], starts: np.ndarray,
                   ends: np.ndarray) -> np.ndarray:
    """Event class of the scene holding each snippet's midpoint (str array, one per row)."""
    cache: dict[str, dict] = {}
    out = []
    for tid, a, b in zip(title_ids, starts, ends):
        scenes = _ground_truth(world, tid, cache)["scenes"]
        mid = (float(a) + float(b)) / 2
        scene = next((s for s in scenes if s["start_s"] <= mid < s["end_s"]), scenes[-1])
        out.append(scene["event"])
    return np.asarray(out)


def title_groups(world: Path, title_ids: Sequence[str]) -> np.ndarray:
    """The show (``group``) of each row's title, from the ground truth."""
    cache: dict[str, dict] = {}
    return np.asarray([_ground_truth(world, t, cache)["group"] for t in title_ids])


def recall_excluding_title(queries: np.ndarray, gallery: np.ndarray, labels: np.ndarray,
                           titles: np.ndarray, ks: Sequence[int] = (1, 5, 10),
                           metric: str = "ip") -> dict[str, float]:
    """R@k with query i against every gallery row of another title — or of another show when
    ``titles`` holds shows (rows aligned: row i of ``queries`` and of ``gallery`` are the same
    snippet). Ranking by faiss (exact)."""
    from binge.library.index import build_index, search

    index = build_index(gallery, metric, gpu=False)
    _, ids = search(index, queries, len(gallery), metric)
    hits = np.zeros((len(queries), max(ks)), dtype=bool)
    for i, row in enumerate(ids):
        row = row[titles[row] != titles[i]][: max(ks)]
        hits[i, : len(row)] = labels[row] == labels[i]
    return {f"R@{k}": float(hits[:, :k].any(axis=1).mean()) for k in ks}


def chance_recall(labels: np.ndarray, titles: np.ndarray,
                  ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Expected R@k of a uniformly random ranking of the same galleries (hypergeometric)."""
    out = {}
    for k in ks:
        p = []
        for i in range(len(labels)):
            other = titles != titles[i]
            g, pos = int(other.sum()), int((other & (labels == labels[i])).sum())
            p.append(1.0 - math.comb(g - pos, k) / math.comb(g, k) if g >= k else float(pos > 0))
        out[f"R@{k}"] = float(np.mean(p))
    return out


def world_retrieval(index_dir: Path, world: Path, ks: Sequence[int] = (1, 5, 10),
                    metric: str = "ip", exclude: str = "show") -> dict:
    """R@k of every direction, chance, and the counts, for a library of world titles;
    ``exclude``: ``show`` (the gallery is the other shows' snippets) or ``title``."""
    from binge.library.store import read_library, vectors

    if exclude not in ("show", "title"):
        raise LibraryError(f"exclude={exclude!r}: expected 'show' or 'title'")
    table = read_library(Path(index_dir))
    titles = np.asarray(table.column("title_id").to_pylist())
    labels = snippet_events(world, titles, table.column("start_s").to_numpy(),
                            table.column("end_s").to_numpy())
    units = title_groups(world, titles) if exclude == "show" else titles
    result = {"snippets": int(len(titles)), "titles": int(len(set(titles))),
              "shows": int(len(set(title_groups(world, titles)))),
              "events": int(len(set(labels))), "metric": metric, "exclude": exclude,
              "chance": chance_recall(labels, units, ks)}
    for name, (q, g) in DIRECTIONS.items():
        result[name] = recall_excluding_title(vectors(table, q), vectors(table, g), labels,
                                              units, ks, metric)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m binge.library.world_eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", required=True, nargs="+",
                   help="library folder(s) of `binge embed` (one per encoder)")
    p.add_argument("--world", required=True, help="the world folder (binge world --out)")
    p.add_argument("--metric", choices=("ip", "cosine"), default="ip")
    p.add_argument("--exclude", choices=("show", "title"), default="show",
                   help="gallery: the other shows' snippets (default) or the other titles'")
    p.add_argument("--out", help="write every result as JSON here")
    args = p.parse_args(argv)
    results = {}
    try:
        for folder in args.index:
            results[folder] = world_retrieval(Path(folder), Path(args.world), metric=args.metric,
                                              exclude=args.exclude)
    except LibraryError as err:
        print(f"world_eval: {err}", file=sys.stderr)
        return 1
    print("| library | direction | R@1 | R@5 | R@10 |\n| --- | --- | --- | --- | --- |")
    for folder, r in results.items():
        for name in (*DIRECTIONS, "chance"):
            print(f"| {folder} | {name} | " + " | ".join(f"{100 * r[name][f'R@{k}']:.1f}"
                                                        for k in (1, 5, 10)) + " |")
    if args.out:
        from binge.io import write_json

        write_json(results, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
