"""Cost against title length: per-snippet reads and ``binge prepare``'s peak memory.

Two generated titles (``bench_corpus.synth_source`` at the prepared geometry and frame rate, no grain,
so that prepare's work is the transcode, the log-mel and the index, not a resize), a long
one (default 120 min) and a short one (default 10 min), at the paper's geometry by default:

* **reads** — ``KeyedDataset(SnippetDataset)`` on random snippets of each title (full
  loader: packet-index read, decode, crop, log-mel, masking), one process, one thread,
  interleaved rounds; and the same through the MP4 seek path (the corpus without
  ``video.pkt``). Reported: snippets per CPU-second and long / short.
* **prepare's memory** — ``prepare_corpus`` of each title alone in a fresh process; its
  peak resident set (``ru_maxrss`` of that child, from ``os.wait4``), long / short; beside
  it the peak of a process that only imports binge (the floor of any prepare). With
  ``--former-audio`` each title is also prepared, in the same run, with the log-mel step as
  it was before it streamed to disk (every fp16 part held, concatenated, ``np.save``; kept
  here as ``_FORMER_AUDIO``), the baseline of the memory figure.

``--memory-only`` skips the reads (the memory figure alone is much cheaper at the small
geometry, whose 2-hour title prepares in minutes).

    python benchmarks/title_length.py [--geometry paper] [--long-minutes 120]
        [--short-minutes 10] [--snippets 300] [--work DIR] [--json F]
        [--memory-only] [--former-audio]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_corpus import CROP, GEOMETRIES, synth_source  # noqa: E402
from loader_speed import _measure  # noqa: E402

from binge.data import SnippetDataset  # noqa: E402
from binge.data.corpus import read_manifest  # noqa: E402
from binge.data.packet_index import index_path  # noqa: E402
from binge.train.seeding import KeyedDataset  # noqa: E402

_PREPARE = """
import sys
sys.path.insert(0, {bench!r})
from bench_corpus import GEOMETRIES
from binge.data.prepare import prepare_corpus
prepare_corpus([{src!r}], {out!r}, data=GEOMETRIES[{geometry!r}], workers=1, progress=False)
"""
_IMPORT_ONLY = "import binge.data.prepare, binge.data.dataset"
_FORMER_AUDIO = """
import numpy as np
import binge.data.prepare as P

def _former(job, data, stats, path):  # binge <= a4fae84: all parts held, concatenated, saved
    streamer = P.StreamingLogMel(P.LogMelSettings.from_config(data))
    parts = [streamer.push(chunk).T.astype(np.float16)
             for chunk in P.iter_audio(job.source_path, data.sample_rate, stats=stats)]
    parts.append(streamer.finish().T.astype(np.float16))
    logmel = np.ascontiguousarray(np.concatenate(parts, axis=0))
    np.save(path, logmel)
    return len(logmel), streamer.num_samples

P._audio_logmel = _former
"""


def child_peak_rss(code: str) -> int:
    """Run ``python -c code`` and return its peak resident set in bytes (Linux ru_maxrss)."""
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, OMP_NUM_THREADS="1"))
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"child exited with {proc.returncode}: {code.strip()[:200]}")
    return usage.ru_maxrss * 1024


def prepare_title(work: Path, geometry: str, minutes: float,
                  former: bool = False) -> tuple[Path, int]:
    """(prepared corpus, prepare's peak RSS) of one generated title of ``minutes``; with
    ``former``, the log-mel step as it was before streaming (``_FORMER_AUDIO``)."""
    data = GEOMETRIES[geometry]
    # no grain: a 2-hour grainy source takes ~10 CPU-minutes to encode; reads of the
    # prepared copy are compared between lengths, not against other content
    src = synth_source(work / f"len_{geometry}_{minutes:g}min.mp4", minutes * 60,
                       data.short_side, seed=1, fps=int(data.fps), sample_rate=data.sample_rate,
                       scale=1, grain=0.0)
    out = work / f"len_{geometry}_{minutes:g}min{'_former' if former else ''}"
    shutil.rmtree(out, ignore_errors=True)
    code = _PREPARE.format(bench=str(Path(__file__).resolve().parent), src=str(src),
                           out=str(out), geometry=geometry)
    rss = child_peak_rss((_FORMER_AUDIO if former else "") + code)
    return out, rss


def _no_index(corpus: Path) -> Path:
    out = corpus.with_name(corpus.name + "_noindex")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(corpus, out, copy_function=lambda s, d: Path(d).hardlink_to(s))
    for row in read_manifest(out):
        index_path(out / row["video_path"]).unlink()
    return out


def main(argv: Optional[list[str]] = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--geometry", choices=sorted(GEOMETRIES), default="paper")
    ap.add_argument("--long-minutes", type=float, default=120.0)
    ap.add_argument("--short-minutes", type=float, default=10.0)
    ap.add_argument("--snippets", type=int, default=300, help="snippets per method")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--work", type=Path, default=Path("bench_work"))
    ap.add_argument("--json", default=None)
    ap.add_argument("--memory-only", action="store_true", help="prepare's peak RSS only")
    ap.add_argument("--former-audio", action="store_true",
                    help="also prepare with the former in-memory log-mel step (baseline)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    args.work.mkdir(parents=True, exist_ok=True)
    data = GEOMETRIES[args.geometry]
    floor = child_peak_rss(_IMPORT_ONLY)
    corpora, rss, former = {}, {}, {}
    for label, minutes in (("short", args.short_minutes), ("long", args.long_minutes)):
        corpora[label], rss[label] = prepare_title(args.work, args.geometry, minutes)
        if args.former_audio:
            base, former[label] = prepare_title(args.work, args.geometry, minutes, former=True)
            same = all((corpora[label] / r["audio_path"]).read_bytes()
                       == (base / r["audio_path"]).read_bytes()
                       for r in read_manifest(corpora[label]))
            print(f"{label}: audio.npy byte-identical to the former step's: {same}")
    out = {"geometry": args.geometry, "long_minutes": args.long_minutes,
           "short_minutes": args.short_minutes, "prepare_peak_rss": rss,
           "import_only_peak_rss": floor,
           "prepare_rss_long_over_short": rss["long"] / rss["short"]}
    print(f"prepare peak RSS: short {rss['short'] / 2**20:.0f} MiB, long {rss['long'] / 2**20:.0f}"
          f" MiB, long / short {out['prepare_rss_long_over_short']:.2f} (import only: "
          f"{floor / 2**20:.0f} MiB)")
    if former:
        out["former_prepare_peak_rss"] = former
        out["former_rss_long_over_short"] = former["long"] / former["short"]
        print(f"former log-mel step, same run: short {former['short'] / 2**20:.0f} MiB, long "
              f"{former['long'] / 2**20:.0f} MiB, long / short "
              f"{out['former_rss_long_over_short']:.2f}")
    if args.memory_only:
        _write(out, args.json)
        return out
    methods = {}
    rng = np.random.default_rng(0)
    snippets = {}
    for label, corpus in corpora.items():
        for kind, c in (("index", corpus), ("seek", _no_index(corpus))):
            ds = KeyedDataset(SnippetDataset(c, crop_size=CROP[args.geometry], data=data))
            count = ds.inner.num_snippets[0]
            snippets[label] = count
            keys = [(0, int(m), i) for i, m in enumerate(rng.integers(0, count, args.snippets))]
            ds[keys[0]]  # opens what it keeps open (the seek path's container)
            methods[f"{kind} {label} ({count} snippets)"] = (ds.__getitem__, keys)
    print(f"{args.geometry}: long title {args.long_minutes:g} min ({snippets['long']} snippets),"
          f" short {args.short_minutes:g} min ({snippets['short']})")
    res = _measure(methods, rounds=args.rounds)
    cpu = {name: r[0] for name, r in res.items()}
    names = list(cpu)
    out.update({
        "snippets": snippets, "per_cpu_s": cpu,
        "read_long_over_short_index": cpu[names[2]] / cpu[names[0]],
        "read_long_over_short_seek": cpu[names[3]] / cpu[names[1]],
    })
    print(f"reads, long / short (snippets per CPU-s): index {out['read_long_over_short_index']:.2f},"
          f" seek {out['read_long_over_short_seek']:.2f}")
    _write(out, args.json)
    return out


def _write(out: dict, path: Optional[str]) -> None:
    if path:
        from binge.io import write_json

        write_json(out, path)


if __name__ == "__main__":
    main()
