"""Generation time of the TV world presets on this machine.

Generates each preset into a fresh temporary folder and reports the wall time, the CPU
time (this process and its workers) and the real-time factor (seconds of pretraining
media per wall second), so that numbers taken on a loaded machine stay comparable.

    python benchmarks/world_generate.py --presets tiny demo --workers 2
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def _cpu() -> float:
    self_, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + kids.ru_utime + kids.ru_stime


def measure(preset: str, workers: int, seed: int = 0, keep: Path | None = None) -> dict:
    from binge.world import generate_world
    from binge.world.plan import plan_titles
    from binge.world.presets import get_preset

    media_s = sum(t.duration for t in plan_titles(get_preset(preset), seed))
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / preset if keep is None else keep / preset
        if target.exists():
            raise SystemExit(f"{target} exists: the timing needs a fresh folder")
        t0, c0 = time.perf_counter(), _cpu()
        out = generate_world(target, preset=preset, seed=seed, workers=workers, progress=False)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"preset": preset, "workers": workers, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "media_s": round(media_s, 1), "media_s_per_wall_s": round(media_s / wall, 2), "bytes": size}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", default=["tiny"])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="generate into KEEP/<preset> and keep it")
    args = ap.parse_args(argv)
    for p in args.presets:
        print(json.dumps(measure(p, args.workers, keep=args.keep)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
