"""The hierarchical sampler at the paper's scale: 13 K titles of up to 2 K snippets (26 M).

For each setting — k ∈ {1, 16} × w ∈ {M_n, 64}, and the scene policies (``window: scene``
and ``scene_policy: distinct``, with generated scenes: a cut every 20–60 snippets) — builds
:func:`binge.sampling.build_sampler` (B = 512, one rank) and reports, in one process:

* build CPU time and the memory it holds (``tracemalloc`` peak during the build, and the size
  retained afterwards);
* CPU time per global batch (``global_batch(epoch, step)`` over ``--batches`` steps; CPU
  time, not wall: robust on a shared machine, and the sampler is single-threaded);
* the epoch length against the formula ``len = Σ M_n // B`` (w = M_n, or any w; the
  scene policies count their own units, printed beside);
* the ratio of each setting's time per batch to the baseline of the same run: drawing
  B snippets i.i.d. with NumPy (``integers`` over Σ M_n + ``searchsorted`` to (n, m)),
  the least any sampler of B snippets can cost.

    python benchmarks/sampler_scale.py [--titles 13000] [--max-snippets 2000] [--json F]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from typing import Any, Optional

import numpy as np

from binge.config import SamplingConfig
from binge.sampling import build_sampler

SETTINGS = {
    "k=1 w=M_n": {"k": 1, "window": None, "title_weighting": "length"},
    "k=1 w=64": {"k": 1, "window": 64, "title_weighting": "length"},
    "k=16 w=M_n": {"k": 16, "window": None, "title_weighting": "uniform"},
    "k=16 w=64": {"k": 16, "window": 64, "title_weighting": "uniform"},
    "k=16 w=scene": {"k": 16, "window": "scene", "title_weighting": "uniform",
                     "short_titles": "shrink_window"},
    "k=16 distinct scenes": {"k": 16, "window": None, "scene_policy": "distinct",
                             "title_weighting": "uniform", "short_titles": "shrink_window"},
}


def lengths_and_scenes(titles: int, max_snippets: int, seed: int = 0):
    """M_n (all ``max_snippets``: 13 K × 2 K = 26 M) and scene starts every 20–60 snippets."""
    rng = np.random.default_rng(seed)
    lengths = np.full(titles, max_snippets, dtype=np.int64)
    scenes = []
    for m in lengths:
        cuts = np.cumsum(rng.integers(20, 61, size=int(m) // 20 + 1))
        scenes.append([0, *cuts[cuts < m].tolist()])
    return lengths.tolist(), scenes


def iid_baseline(lengths: list[int], batch: int, steps: int) -> float:
    """Seconds per batch of B i.i.d. snippets: NumPy integers + searchsorted to (n, m)."""
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    t0 = time.process_time()
    for step in range(steps):
        rng = np.random.default_rng([0, step])
        flat = rng.integers(0, offsets[-1], size=batch)
        n = np.searchsorted(offsets, flat, side="right") - 1
        _ = list(zip(n.tolist(), (flat - offsets[n]).tolist()))
    return (time.process_time() - t0) / steps


def measure(name: str, options: dict, lengths: list[int], scenes: list, batch: int,
            steps: int) -> dict[str, Any]:
    cfg = SamplingConfig(batch_size=batch, **options)
    tracemalloc.start()
    t0 = time.process_time()
    sampler = build_sampler(cfg, lengths, seed=0, scenes=scenes)
    build_s = time.process_time() - t0
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sampler.set_epoch(0)
    sampler.global_batch(0, 0)  # first call outside the timing
    t0 = time.process_time()
    for step in range(1, steps + 1):
        b = sampler.global_batch(0, step)
    per_batch = (time.process_time() - t0) / steps
    assert len(b) == batch, (name, len(b))
    return {"setting": name, "build_s": build_s, "build_peak_bytes": peak,
            "retained_bytes": retained, "s_per_batch": per_batch,
            "steps_per_epoch": len(sampler), "formula": sum(lengths) // batch}


def main(argv: Optional[list[str]] = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--titles", type=int, default=13_000)
    ap.add_argument("--max-snippets", type=int, default=2_000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--batches", type=int, default=50, help="timed global batches per setting")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS))
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    lengths, scenes = lengths_and_scenes(args.titles, args.max_snippets)
    base = iid_baseline(lengths, args.batch, args.batches)
    rows = []
    print(f"{args.titles} titles, M_n = {args.max_snippets}, Σ M_n = {sum(lengths):,}, "
          f"B = {args.batch}; i.i.d. NumPy baseline {base * 1e3:.2f} ms per batch")
    print("| setting | build s | build peak MB | retained MB | ms / batch | vs i.i.d. NumPy "
          "| steps / epoch | Σ M_n // B |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in args.settings:
        r = measure(name, SETTINGS[name], lengths, scenes, args.batch, args.batches)
        r["vs_iid_numpy"] = r["s_per_batch"] / base
        rows.append(r)
        print(f"| {name} | {r['build_s']:.2f} | {r['build_peak_bytes'] / 1e6:.1f} | "
              f"{r['retained_bytes'] / 1e6:.1f} | {r['s_per_batch'] * 1e3:.2f} | "
              f"{r['vs_iid_numpy']:.1f}× | {r['steps_per_epoch']:,} | {r['formula']:,} |",
              flush=True)
    out = {"titles": args.titles, "max_snippets": args.max_snippets, "batch": args.batch,
           "total_snippets": sum(lengths), "iid_numpy_s_per_batch": base, "rows": rows}
    if args.json:
        from binge.io import write_json

        write_json(out, args.json)
    return out


if __name__ == "__main__":
    main()
