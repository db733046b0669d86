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
        [--memory-only] [--former-audio] [--former-index] [--repeat-short N] [--trace]
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
#: ``--trace``: prepare's steps wrapped to report, for each, the Python memory (tracemalloc)
#: it held at its peak above what was held when it started, the top allocation sites of that
#: growth, and the process's resident high-water mark once the step is over
_TRACE = """
import resource, threading, time, tracemalloc
import binge.data.prepare as P

tracemalloc.start(4)
_STEPS = ("probe_usable", "transcode_video", "_audio_logmel", "write_packet_index",
          "source_fingerprint")

def _traced(name, fn):
    def run(*a, **kw):
        base = tracemalloc.take_snapshot()
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        near = [start, base]
        done = threading.Event()

        def sample():  # keeps the snapshot taken nearest the step's peak
            while not done.wait(0.05):
                now = tracemalloc.get_traced_memory()[0]
                if now > near[0] + (1 << 19):
                    near[:] = [now, tracemalloc.take_snapshot()]
        th = threading.Thread(target=sample, daemon=True)
        th.start()
        try:
            return fn(*a, **kw)
        finally:
            done.set()
            th.join()
            peak = tracemalloc.get_traced_memory()[1] - start
            hw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"TRACE {name}: python peak +{peak / 2**20:.1f} MiB, RSS high-water after it "
                  f"{hw:.0f} MiB", flush=True)
            for stat in near[1].compare_to(base, "traceback")[:4] if near[1] is not base else []:
                if stat.size_diff > (1 << 18):
                    where = " <- ".join(f"{f.filename.split('/')[-1]}:{f.lineno}"
                                        for f in reversed(stat.traceback[-3:]))
                    print(f"TRACE   +{stat.size_diff / 2**20:.1f} MiB  {where}", flush=True)
    return run

for _name in _STEPS:
    setattr(P, _name, _traced(_name, getattr(P, _name)))
"""


#: ``video.pkt`` of a prepared title written alone in a fresh process: now (streamed) or as
#: before (binge <= 511a72e: every (offset, size) row in a Python list; the baseline)
_INDEX = """
import shutil, sys
from pathlib import Path
import av, numpy as np
import binge.data.packet_index as PI
from binge.io import atomic_write_bytes

def _former(video_path, frames_per_snippet):  # without its checks (same bytes for a valid title)
    with av.open(str(video_path)) as c:
        s = c.streams.video[0]
        codec = s.codec_context.name.encode("ascii")
        extra = bytes(s.codec_context.extradata or b"")
        rows = [(p.pos, p.size) for p in c.demux(s) if p.size > 0]
    table = np.asarray(rows, dtype="<i8").reshape(-1, 2)
    head = PI._HEAD.pack(PI.MAGIC, len(codec), len(extra), len(table)) + codec + extra
    head += b"\\0" * (-len(head) % 8)
    return atomic_write_bytes(PI.index_path(video_path), head + table.tobytes())

video = Path({out!r}) / "video.mp4"
video.parent.mkdir(parents=True, exist_ok=True)
shutil.copyfile({video!r}, video)
(_former if {former!r} else PI.write_packet_index)(video, {frames!r})
"""


def index_peak_rss(work: Path, video: Path, frames: int, former: bool) -> tuple[int, bytes]:
    """(peak RSS, bytes written) of ``video.pkt`` written for ``video`` in a fresh process."""
    out = work / f"index_{'former' if former else 'now'}"
    rss = child_peak_rss(_INDEX.format(out=str(out), video=str(video), frames=frames,
                                       former=former))
    return rss, index_path(out / "video.mp4").read_bytes()


def child_peak_rss(code: str) -> int:
    """Run ``python -c code`` and return its peak resident set in bytes (Linux ru_maxrss)."""
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, OMP_NUM_THREADS="1"))
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"child exited with {proc.returncode}: {code.strip()[:200]}")
    return usage.ru_maxrss * 1024


def prepare_title(work: Path, geometry: str, minutes: float,
                  former: bool = False, trace: bool = False) -> tuple[Path, int]:
    """(prepared corpus, prepare's peak RSS) of one generated title of ``minutes``; with
    ``former``, the log-mel step as it was before streaming (``_FORMER_AUDIO``); with
    ``trace``, prepare's steps print their memory (``_TRACE``; tracing adds to the RSS)."""
    data = GEOMETRIES[geometry]
    # no grain: a 2-hour grainy source takes ~10 CPU-minutes to encode; reads of the
    # prepared copy are compared between lengths, not against other content
    src = synth_source(work / f"len_{geometry}_{minutes:g}min.mp4", minutes * 60,
                       data.short_side, seed=1, fps=int(data.fps), sample_rate=data.sample_rate,
                       scale=1, grain=0.0)
    tag = ("_former" if former else "") + ("_trace" if trace else "")
    out = work / f"len_{geometry}_{minutes:g}min{tag}"
    shutil.rmtree(out, ignore_errors=True)
    code = _PREPARE.format(bench=str(Path(__file__).resolve().parent), src=str(src),
                           out=str(out), geometry=geometry)
    rss = child_peak_rss((_FORMER_AUDIO if former else "") + (_TRACE if trace else "") + code)
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
    ap.add_argument("--repeat-short", type=int, default=1,
                    help="prepare the short title this many times (run-to-run noise)")
    ap.add_argument("--former-index", action="store_true",
                    help="also write each title's packet index alone in a fresh process, "
                         "streamed and as before (rows in a list), and compare peak RSS")
    ap.add_argument("--trace", action="store_true",
                    help="also prepare each title once more with prepare's steps traced "
                         "(tracemalloc growth sites, RSS high-water after each step)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    args.work.mkdir(parents=True, exist_ok=True)
    data = GEOMETRIES[args.geometry]
    floor = child_peak_rss(_IMPORT_ONLY)
    corpora, rss, former, index_rss = {}, {}, {}, {}
    for label, minutes in (("short", args.short_minutes), ("long", args.long_minutes)):
        corpora[label], rss[label] = prepare_title(args.work, args.geometry, minutes)
        if label == "short" and args.repeat_short > 1:
            out_rep = [rss[label]] + [prepare_title(args.work, args.geometry, minutes)[1]
                                      for _ in range(args.repeat_short - 1)]
            rss["short_runs"] = out_rep
            print("short title prepared again: peak RSS "
                  + ", ".join(f"{r / 2**20:.0f}" for r in out_rep) + " MiB", flush=True)
        if args.former_index:
            video = corpora[label] / read_manifest(corpora[label])[0]["video_path"]
            idx = {f: index_peak_rss(args.work, video, data.frames, f) for f in (False, True)}
            same = idx[False][1] == idx[True][1] == index_path(video).read_bytes()
            index_rss[label] = {"now": idx[False][0], "former": idx[True][0]}
            print(f"{label}: packet index alone, peak RSS streamed {idx[False][0] / 2**20:.0f} "
                  f"MiB, former {idx[True][0] / 2**20:.0f} MiB; byte-identical: {same}",
                  flush=True)
        if args.former_audio:
            base, former[label] = prepare_title(args.work, args.geometry, minutes, former=True)
            same = all((corpora[label] / r["audio_path"]).read_bytes()
                       == (base / r["audio_path"]).read_bytes()
                       for r in read_manifest(corpora[label]))
            print(f"{label}: audio.npy byte-identical to the former step's: {same}")
        if args.trace:
            print(f"{label} ({minutes:g} min), traced:", flush=True)
            prepare_title(args.work, args.geometry, minutes, trace=True)
    out = {"geometry": args.geometry, "long_minutes": args.long_minutes,
           "short_minutes": args.short_minutes, "prepare_peak_rss": rss,
           "import_only_peak_rss": floor,
           "prepare_rss_long_over_short": rss["long"] / rss["short"]}
    if index_rss:
        out["index_peak_rss"] = index_rss
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
