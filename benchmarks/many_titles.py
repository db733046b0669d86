"""The full loader over many titles, in the sampler's real access pattern, per core.

A generated corpus of ``--titles`` titles (default 1,000; hard links to 4 prepared base
titles, see ``bench_corpus.py``) at the paper's or the small geometry. The keys are the first
snippets of the training batches of ``HierarchicalBatchSampler`` (B = ``--batch``, w = M_n,
uniform title weighting, seed 0) with their per-sample seeds (``KeyedBatchSampler``), read a
batch at a time through ``KeyedDataset(SnippetDataset).__getitems__`` exactly as a DataLoader
worker does with the trainer's ``batch_sampler`` (without the collate). In one process, one
thread, interleaved in rounds (``loader_speed._measure``):

* ``decode-only``        — the baseline: seek + decode + RGB of the same number of snippets
  of one title whose MP4 was opened beforehand (``loader_speed.CopyReader``);
* ``index read_video k=1`` — ``SnippetDataset.read_video`` alone (packet index, decode,
  RGB, crop) at the k = 1 keys: the full loader without seeding, augmentation and audio;
* ``full loader k=16`` / ``k=1`` — packet-index reads (``video.pkt``, the default);
* ``per item k=1``      — the same k = 1 batches one ``__getitem__`` at a time, kept in a
  list per batch: what torch's fetcher does for a dataset without ``__getitems__``;
* ``no index k=16`` / ``k=1``    — the same corpus without ``video.pkt``: seek in the MP4,
  16 containers kept open per process (the loader before the index).

Reported: snippets per CPU-second, k = 1 / k = 16 and full loader / decode-only::

    python benchmarks/many_titles.py --geometry small [--titles 1000] [--snippets 400]
    python benchmarks/many_titles.py --geometry paper
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_corpus import CROP, GEOMETRIES, base_corpus, replicate  # noqa: E402
from loader_speed import CopyReader, _measure  # noqa: E402

from binge.config import SamplingConfig  # noqa: E402
from binge.data import SnippetDataset  # noqa: E402
from binge.data.corpus import read_manifest  # noqa: E402
from binge.data.packet_index import index_path  # noqa: E402
from binge.sampling import build_sampler  # noqa: E402
from binge.train.seeding import KeyedBatchSampler, KeyedDataset  # noqa: E402


def sampler_keys(counts: list[int], k: int, batch: int, count: int) -> list[tuple[int, int, int]]:
    """The first ``count`` (title, snippet, seed) keys of the training batches, in order."""
    return [key for b in sampler_batches(counts, k, batch, count) for key in b]


def sampler_batches(counts: list[int], k: int, batch: int,
                    count: int) -> list[list[tuple[int, int, int]]]:
    """The training batches holding the first ``count`` keys (the last one cut short)."""
    cfg = SamplingConfig(batch_size=batch, k=k, title_weighting="uniform")
    keyed = KeyedBatchSampler(build_sampler(cfg, counts, seed=0), seed=0)
    keyed.set_epoch(0)
    out: list[list[tuple[int, int, int]]] = []
    done = 0
    for b in keyed:
        out.append(b[:count - done])
        done += len(out[-1])
        if done >= count:
            break
    return out


def without_index(corpus: Path, out: Path) -> Path:
    """A copy of ``corpus`` (hard links) whose titles have no ``video.pkt``."""
    if (out / "manifest.csv").is_file():
        return out
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(corpus, out, copy_function=lambda s, d: Path(d).hardlink_to(s))
    for row in read_manifest(out):
        p = index_path(out / row["video_path"])
        p.unlink()  # removes the link in the copy only
    return out


def components(ds: SnippetDataset, reps: int = 300) -> dict[str, float]:
    """CPU µs per snippet of the steps the loader changed, each measured alone, in pairs
    (before → after): RGB conversion (swscale auto threads → one thread), the per-sample
    seed (``torch.manual_seed`` → the CPU generator only), a title's first read at k = 1
    (``av.open`` + seek + decode → the index header + ``pread``), the log-mel open
    (``np.load(mmap_mode="r")`` → the parsed ``.npy`` header)."""
    import random
    import time

    from binge.data.dataset import _npy_layout

    def cpu_us(fn, n=reps) -> float:
        t0 = time.process_time()
        for i in range(n):
            fn(i)
        return (time.process_time() - t0) / n * 1e6

    frames = list(ds._frames_seek(0, 1))[:ds.frames]
    rgb = ds._rgb
    audio = str(Path(ds._root) / ds._audio[0])

    def first_read_old(i):  # the title is not among the open containers: open, seek, decode
        ds._containers.clear()
        ds._video_index[0] = None
        ds.read_video(0, i % ds.num_snippets[0])

    def first_read_new(i):  # the title's index header not yet read: read it, pread, decode
        ds._video_index.clear()
        ds.read_video(0, i % ds.num_snippets[0])

    def seed_all(i):
        random.seed(i), np.random.seed(i), torch.manual_seed(i)

    def seed_cpu(i):
        random.seed(i), np.random.seed(i), torch.random.default_generator.manual_seed(i)

    ds._index_header(0)
    out = {
        "rgb, swscale auto threads": cpu_us(lambda i: [rgb.reformat(f, format="rgb24")
                                                       for f in frames]),
        "rgb, one thread": cpu_us(lambda i: [rgb.reformat(f, format="rgb24", threads=1)
                                             for f in frames]),
        "seed: torch.manual_seed": cpu_us(seed_all),
        "seed: CPU generator only": cpu_us(seed_cpu),
        "first read of a title: av.open + seek + decode": cpu_us(first_read_old, 50),
        "first read of a title: index header + pread + decode": cpu_us(first_read_new, 50),
        "log-mel open: np.load mmap": cpu_us(lambda i: np.load(audio, mmap_mode="r"), 100),
        "log-mel open: .npy header parse": cpu_us(
            lambda i: _npy_layout(audio, ds._settings.n_mels), 100),
    }
    for name, us in out.items():
        print(f"{name:54s} {us:9.1f} CPU-µs per snippet")
    return out


def profile(indexed: KeyedDataset, seeking: KeyedDataset, batches: list, top: int) -> dict:
    """cProfile of the full loader (the DataLoader's batch path, ``__getitems__``) over the
    sampler's ``batches``, with and without the packet index."""
    import cProfile
    import pstats

    out = {}
    for name, ds in (("packet index", indexed), ("no index (seek, 16 open)", seeking)):
        prof = cProfile.Profile()
        prof.enable()
        for batch in batches:
            ds.__getitems__(batch)
        prof.disable()
        stats = pstats.Stats(prof)
        count = sum(map(len, batches))
        print(f"\n== {name}: {stats.total_tt / count * 1e3:.3f} ms per snippet under the "
              "profiler (own time, top functions) ==")
        stats.sort_stats("tottime").print_stats(top)
        out[name] = stats.total_tt / count
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--geometry", choices=["small", "paper"], default="small")
    ap.add_argument("--titles", type=int, default=1000)
    ap.add_argument("--title-seconds", type=float, default=120.0)
    ap.add_argument("--snippets", type=int, default=400, help="snippets per method")
    ap.add_argument("--batch", type=int, default=64, help="B of the sampler (k = 16: B/16 titles)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--work", type=Path, default=Path("bench_work"))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="instead: cProfile the full loader at k = 1 (index and no index) and "
                         "print the N most costly functions by own time")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    data = GEOMETRIES[args.geometry]
    base = base_corpus(args.work, args.geometry, args.title_seconds)
    corpus = replicate(base, args.work / f"many_{args.geometry}_{args.titles}", args.titles)
    plain = without_index(corpus, args.work / f"many_{args.geometry}_{args.titles}_noindex")
    crop = CROP[args.geometry]
    indexed = KeyedDataset(SnippetDataset(corpus, crop_size=crop, data=data))
    seeking = KeyedDataset(SnippetDataset(plain, crop_size=crop, data=data))
    counts = indexed.inner.num_snippets
    batches = {k: sampler_batches(counts, k, args.batch, args.snippets) for k in (1, 16)}
    keys = {k: [key for b in v for key in b] for k, v in batches.items()}
    distinct = {k: len({n for n, _, _ in v}) for k, v in keys.items()}
    reader = CopyReader(base / read_manifest(base)[0]["video_path"], data)
    ms = np.random.default_rng(0).integers(0, counts[0], size=args.snippets).tolist()
    reader(0)
    print(f"{args.titles} titles of {counts[0]} snippets ({args.geometry}: {data.frames} frames "
          f"{data.short_side} px at {data.fps:g} fps, crop {crop}); {args.snippets} keys per "
          f"method: {distinct[1]} distinct titles at k = 1, {distinct[16]} at k = 16")
    if args.profile:
        return profile(indexed, seeking, batches[1], args.profile)
    box = (0, 0, crop)  # the loader's crop, at a fixed place
    res = _measure({
        "decode-only": (reader, ms),
        "index read_video k=1": (lambda key: indexed.inner.read_video(key[0], key[1], box),
                                 keys[1]),
        "full loader k=16": (indexed.__getitems__, batches[16], len),
        "per item k=1": (lambda b: [indexed[key] for key in b], batches[1], len),
        "full loader k=1": (indexed.__getitems__, batches[1], len),
        "no index k=16": (seeking.__getitems__, batches[16], len),
        "no index k=1": (seeking.__getitems__, batches[1], len),
    }, rounds=args.rounds)
    cpu = {name: r[0] for name, r in res.items()}
    parts = components(indexed.inner)
    out = {"components_cpu_us": parts, "geometry": args.geometry, "titles": args.titles,
           "snippets": args.snippets,
           "per_cpu_s": cpu,
           "k1_over_k16": cpu["full loader k=1"] / cpu["full loader k=16"],
           "full_k16_over_decode": cpu["full loader k=16"] / cpu["decode-only"],
           "full_k1_over_decode": cpu["full loader k=1"] / cpu["decode-only"],
           "per_item_k1_over_decode": cpu["per item k=1"] / cpu["decode-only"],
           "index_read_video_over_decode": cpu["index read_video k=1"] / cpu["decode-only"],
           "no_index_k1_over_k16": cpu["no index k=1"] / cpu["no index k=16"],
           "index_over_no_index_k1": cpu["full loader k=1"] / cpu["no index k=1"]}
    for key in ("k1_over_k16", "full_k16_over_decode", "full_k1_over_decode",
                "per_item_k1_over_decode",
                "index_read_video_over_decode",
                "no_index_k1_over_k16", "index_over_no_index_k1"):
        print(f"{key:24s} {out[key]:.2f}")
    if args.json:
        from binge.io import write_json

        write_json(out, args.json)
    return out


if __name__ == "__main__":
    main()
