"""Snippet loading speed per core: the prepared corpus against seek + decode in the source.

One process, one thread, the same random snippets (16 frames at 5 fps, paper settings:
short side 190, crop 158, 48 kHz, 96 mels) of a long 720p H.264 title, in one run:

* ``source video``       — the seed papers' design: seek in the source file, decode at the
  source frame rate up to the snippet end, keep the frames on screen at 5 fps, resize;
* ``source video+audio`` — the same plus decoding the snippet's audio and its log-mel;
* ``storage decode-only``— ``SnippetDataset.read_video``: the 16 frames of the prepared
  H.264 copy (keyframe at the snippet start; read through its packet index ``video.pkt``,
  or by a seek in the MP4 for corpora without one), to RGB;
* ``log-mel slice``      — ``SnippetDataset.read_audio`` from the fp16 ``.npy`` (one pread);
* ``full loader``        — ``ds[(n, m)]``: decode, random crop, log-mel slice, masking;
* ``JPEG decode-only``   — the alternative storage: the same frames as JPEG files
  (quality 90), read and decoded with ``torchvision.io.decode_jpeg``.

Speeds are snippets per CPU second (per core; robust on a shared machine); wall-clock
speeds are printed beside them. The methods run interleaved in rounds, so that changes in
the load of a shared machine hit them alike. Usage:
``python benchmarks/loader_speed.py [--minutes 2] [--snippets 200] [--source-preset P]
[--grain SIGMA] [--work DIR]``; ``--grain 4`` makes the source a live-action proxy (film
grain of σ = 4 luma code values on every frame, see ``prepare_common.long_title``), and
the prepared copy is made from that grainy source too.

``--corpus DIR`` measures the full loader against decode-only at a prepared corpus's own
geometry instead (e.g. the CPU geometry of ``configs/micro.yaml``: 8 frames of 43×32 from
1-s snippets, crop 32, 16 kHz, 32 mels), on the corpus's training titles, with the
sampler's real keys and per-sample seeds (``HierarchicalBatchSampler`` + ``KeyedBatchSampler``,
B = 64, ``--k``), see :func:`corpus_loader`::

    binge world --out /tmp/lw/world --preset tiny
    binge prepare --metadata /tmp/lw/world/metadata.csv --config configs/micro.yaml --out /tmp/lw/corpus
    python benchmarks/loader_speed.py --corpus /tmp/lw/corpus [--k 1] [--snippets 2000] [--profile 2000]

``--x264-settings`` runs another comparison instead: the source's frames at 5 fps, short
side 190 (what ``binge prepare`` feeds the encoder) are encoded with a few x264 settings of
the prepared copy (keyframe every 16 frames, no B-frames, one thread, as in
``binge.data.media.transcode_video``); for each it prints kB per second of video, the luma
PSNR against those un-encoded frames, and the decode-only speed (the steps of
``SnippetDataset.read_video``: seek, decode 16 frames, RGB) over the same random snippets.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from torchvision.io import decode_jpeg, encode_jpeg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_common import long_title  # noqa: E402

from binge.config import DataConfig  # noqa: E402
from binge.data import SnippetDataset  # noqa: E402
from binge.data.logmel import LogMelSettings, log_mel  # noqa: E402
from binge.data.media import iter_video_frames, scaled_size, transcode_video  # noqa: E402
from binge.data.prepare import prepare_corpus  # noqa: E402


class SourceReader:
    """Seek + decode a snippet straight from the source file (the seed papers' loader)."""

    def __init__(self, path: Path, data: DataConfig, audio: bool):
        self.c = av.open(str(path))
        self.v = self.c.streams.video[0]
        self.v.codec_context.thread_count = 1
        self.data, self.audio = data, audio
        self.size = scaled_size(self.v.codec_context.width, self.v.codec_context.height,
                                data.short_side)
        self.settings = LogMelSettings.from_config(data)

    def video(self, start: float) -> np.ndarray:
        d = self.data
        self.c.seek(int(start / self.v.time_base), stream=self.v, backward=True)
        times = start + (np.arange(d.frames) + 0.5) / d.fps
        out, prev = [], None
        for f in self.c.decode(self.v):
            while len(out) < d.frames and f.time > times[len(out)] and prev is not None:
                out.append(prev.reformat(width=self.size[0], height=self.size[1],
                                         format="rgb24", interpolation="AREA").to_ndarray())
            if len(out) == d.frames:
                break
            prev = f
        return np.stack(out)

    def audio_logmel(self, start: float) -> np.ndarray:
        d = self.data
        a = self.c.streams.audio[0]
        self.c.seek(int(start / a.time_base), stream=a, backward=True)
        res = av.AudioResampler(format="fltp", layout=None, rate=d.sample_rate)
        chunks, t0 = [], None
        for f in self.c.decode(a):
            t0 = f.time if t0 is None else t0
            for r in res.resample(f):
                chunks.append(r.to_ndarray().mean(axis=0))
            if f.time > start + d.snippet_seconds:
                break
        y = np.concatenate(chunks)
        first = int(round((start - t0) * d.sample_rate))
        y = y[max(first, 0):max(first, 0) + int(d.snippet_seconds * d.sample_rate)]
        return log_mel(y, self.settings)

    def __call__(self, m: int):
        start = m * self.data.snippet_seconds
        v = self.video(start)
        return (v, self.audio_logmel(start)) if self.audio else v


def _measure(methods: dict, rounds: int) -> dict[str, tuple[float, float]]:
    """Run the methods interleaved in ``rounds`` rounds (so that a change in the machine's
    load hits all of them alike); return snippets per CPU-second and per wall-second.

    ``methods[name] = (fn, items)`` with one snippet per item, or ``(fn, items, size)`` with
    ``size(item)`` snippets per item (a batch)."""
    cpu = dict.fromkeys(methods, 0.0)
    wall = dict.fromkeys(methods, 0.0)
    count = dict.fromkeys(methods, 0)
    for r in range(rounds):
        for name, (fn, items, *size) in methods.items():
            chunk = items[r::rounds]
            w0, c0 = time.perf_counter(), time.process_time()
            for it in chunk:
                fn(it)
            wall[name] += time.perf_counter() - w0
            cpu[name] += time.process_time() - c0
            count[name] += sum(map(size[0], chunk)) if size else len(chunk)
    results = {}
    for name in methods:
        results[name] = (count[name] / cpu[name], count[name] / wall[name])
        print(f"{name:24s} {count[name]:5d} snippets  {results[name][0]:9.1f} /cpu-s  "
              f"{results[name][1]:9.1f} /wall-s", flush=True)
    return results


# x264 settings of the prepared copy compared by --x264-settings; binge's is the first
X264_SETTINGS = {
    "veryfast fastdecode crf23 (binge)": {"preset": "veryfast", "tune": "fastdecode", "crf": "23"},
    "veryfast crf23 (CABAC, deblock)": {"preset": "veryfast", "crf": "23"},
    "medium fastdecode crf23": {"preset": "medium", "tune": "fastdecode", "crf": "23"},
    "ultrafast fastdecode crf23": {"preset": "ultrafast", "tune": "fastdecode", "crf": "23"},
    "veryfast fastdecode baseline crf23": {"preset": "veryfast", "tune": "fastdecode",
                                           "crf": "23", "profile": "baseline"},
    "veryfast fastdecode crf26": {"preset": "veryfast", "tune": "fastdecode", "crf": "26"},
    "veryfast fastdecode crf28": {"preset": "veryfast", "tune": "fastdecode", "crf": "28"},
}


class CopyReader:
    """Decode-only read of a snippet from a prepared-style H.264 copy (the steps of
    ``SnippetDataset.read_video``: seek to the snippet's keyframe, 16 frames to RGB)."""

    def __init__(self, path: Path, data: DataConfig):
        from av.video.reformatter import VideoReformatter

        self.c = av.open(str(path))
        self.s = self.c.streams.video[0]
        self.s.codec_context.thread_count = 1
        self.tb, self.data, self.rgb = float(self.s.time_base), data, VideoReformatter()
        self.h, self.w = self.s.codec_context.height, self.s.codec_context.width

    def __call__(self, m: int) -> np.ndarray:
        d, first = self.data, m * self.data.frames
        self.c.seek(int((first + 0.5) / d.fps / self.tb), stream=self.s, backward=True,
                    any_frame=False)
        out, got = np.empty((d.frames, self.h, self.w, 3), np.uint8), 0
        for f in self.c.decode(self.s):
            if round(f.pts * self.tb * d.fps) < first:
                continue
            out[got] = self.rgb.reformat(f, format="rgb24", threads=1).to_ndarray()
            got += 1
            if got == d.frames:
                return out
        raise RuntimeError(f"{m}: {got} frames")


def x264_settings(src: Path, work: Path, data: DataConfig, snippets: int, rounds: int) -> None:
    """Size, luma PSNR and decode-only speed of the prepared copy per x264 setting."""
    ref = [f.to_ndarray() for f in iter_video_frames(src, data.fps, data.short_side,
                                                     pix_fmt="yuv420p")]
    h, w = ref[0].shape[0] * 2 // 3, ref[0].shape[1]
    out_dir = work / f"x264_{src.stem}"
    out_dir.mkdir(parents=True, exist_ok=True)
    files, psnr = {}, {}
    for k, (name, opts) in enumerate(X264_SETTINGS.items()):
        files[name] = out_dir / f"setting{k}.mp4"
        transcode_video(src, files[name], data.fps, data.short_side, data.frames,
                        encoder_options=opts)
        with av.open(str(files[name])) as c:
            mse = [np.mean((f.to_ndarray()[:h].astype(np.float64) - ref[i][:h]) ** 2)
                   for i, f in enumerate(c.decode(video=0))]
        assert len(mse) == len(ref), (name, len(mse), len(ref))
        psnr[name] = 10 * np.log10(255 ** 2 / np.mean(mse))
    num = len(ref) // data.frames
    ms = np.random.default_rng(0).integers(0, num, size=snippets).tolist()
    readers = {name: CopyReader(f, data) for name, f in files.items()}
    for r in readers.values():
        r(0)
    print(f"{src.name}: {len(ref)} frames {w}x{h} at {data.fps:g} fps, {num} snippets")
    res = _measure({name: (r, ms) for name, r in readers.items()}, rounds)
    base = res[next(iter(res))][0]
    print(f"{'x264 setting of the prepared copy':36s} {'kB/s':>6s} {'Y-PSNR':>7s} "
          f"{'/cpu-s':>7s} {'vs binge':>8s}")
    for name in res:
        kbs = files[name].stat().st_size / (len(ref) / data.fps) / 1e3
        print(f"{name:36s} {kbs:6.1f} {psnr[name]:7.2f} {res[name][0]:7.1f} "
              f"{res[name][0] / base:8.2f}")


class GlobalSeeded:
    """A dataset seen without ``seeds_from_key``: ``KeyedDataset`` then seeds the three global
    generators before each ``inner[(n, m)]`` (saved and restored once per batch; the path before
    per-sample generators, and still the one of datasets with a user ``transform``)."""

    def __init__(self, inner: SnippetDataset):
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, pair):
        return self.inner[pair]


def corpus_loader(corpus: Path, k: int, snippets: int, rounds: int, profile: int,
                  batch: int = 64) -> dict:
    """Full loader vs decode-only at the corpus's geometry (per core, one process, one thread).

    * ``decode-only``  — seek + decode + RGB of random snippets of the corpus's longest
      training title, its MP4 opened beforehand (:class:`CopyReader`): the baseline;
    * ``read_video``   — ``SnippetDataset.read_video`` at the keys (packet index, crop box);
    * ``full loader``  — ``KeyedDataset(SnippetDataset).__getitems__(batch)``: what a
      DataLoader worker runs for each batch of the sampler (``batch_sampler``: torch calls
      ``__getitems__``; per-sample generators seeded from the keys), without the collate;
    * ``full loader, per item`` — ``KeyedDataset(SnippetDataset)[(n, m, seed)]`` for each
      key of a batch, kept in a list: the same samples one ``__getitem__`` at a time, as
      torch's fetcher reads a dataset without ``__getitems__``;
    * ``full loader + collate`` — the batched path and ``default_collate`` (the trainer's
      collate: the batch stacked into tensors);
    * ``full loader, global seeding`` — the same through :class:`GlobalSeeded` (the global
      generators seeded, saved and restored per sample, as before).
    """
    from binge.config import SamplingConfig
    from binge.data.corpus import read_corpus_params
    from binge.sampling import build_sampler
    from binge.train.seeding import KeyedBatchSampler, KeyedDataset

    params = read_corpus_params(corpus)
    data = DataConfig(**{key: params[key] for key in ("frames", "fps", "short_side",
                                                       "sample_rate", "n_mels", "n_fft",
                                                       "hop_length")})
    crop = min(int(params["short_side"]), 158)  # the paper's 158 of 190; whole squares below
    ds = SnippetDataset(corpus, split="train", augment=True, crop_size=crop, data=data)
    keyed, old = KeyedDataset(ds), KeyedDataset(GlobalSeeded(ds))
    sampler = KeyedBatchSampler(build_sampler(SamplingConfig(batch_size=batch, k=k),
                                              ds.num_snippets, seed=0), seed=0)
    keys: list = []
    batches: list = []
    for epoch in range(10**6):
        sampler.set_epoch(epoch)
        for batch in sampler:
            batches.append(batch[:snippets - len(keys)])
            keys.extend(batches[-1])
            if len(keys) >= snippets:
                break
        if len(keys) >= snippets:
            break
    n0 = int(np.argmax(ds.num_snippets))
    reader = CopyReader(corpus / ds._video[n0], data)
    ms = np.random.default_rng(0).integers(0, ds.num_snippets[n0], snippets).tolist()
    box = (0, 0, crop)
    for key in keys[:50]:  # headers, decoders: what each process reads once
        keyed[key], old[key]
    from torch.utils.data import default_collate
    reader(0)
    titles = len({key[0] for key in keys})
    print(f"{corpus}: {len(ds.num_snippets)} training titles, {data.frames} frames of "
          f"{ds._width[n0]}x{ds._height[n0]}, crop {crop}, {data.sample_rate} Hz, "
          f"{data.n_mels} mels; {snippets} keys at k = {k} over {titles} titles; one "
          "process, one thread")
    res = _measure({
        "decode-only": (reader, ms),
        "read_video": (lambda key: ds.read_video(key[0], key[1], box), keys),
        "full loader": (keyed.__getitems__, batches, len),
        "full loader, per item": (lambda b: [keyed[key] for key in b], batches, len),
        "full loader + collate": (lambda b: default_collate(keyed.__getitems__(b)), batches, len),
        "full loader, global seeding": (old.__getitems__, batches, len),
    }, rounds=rounds)
    cpu = {name: r[0] for name, r in res.items()}
    out = {"corpus": str(corpus), "k": k, "snippets": snippets, "per_cpu_s": cpu,
           "full_over_decode": cpu["full loader"] / cpu["decode-only"],
           "per_item_over_decode": cpu["full loader, per item"] / cpu["decode-only"],
           "collate_over_decode": cpu["full loader + collate"] / cpu["decode-only"],
           "global_seeding_over_decode": cpu["full loader, global seeding"] / cpu["decode-only"],
           "read_video_over_decode": cpu["read_video"] / cpu["decode-only"]}
    print(f"full loader / decode-only: {out['full_over_decode']:.2f}; per item: "
          f"{out['per_item_over_decode']:.2f}; with the collate: "
          f"{out['collate_over_decode']:.2f}; with global seeding: "
          f"{out['global_seeding_over_decode']:.2f}; read_video / decode-only: "
          f"{out['read_video_over_decode']:.2f}")
    if profile:
        import cProfile
        import pstats

        todo, done = [], 0
        while done < profile:  # whole batches of the sampler, cycled
            todo.append(batches[len(todo) % len(batches)])
            done += len(todo[-1])
        prof = cProfile.Profile(time.process_time)  # CPU time: robust on a shared machine
        prof.enable()
        for batch in todo:
            keyed.__getitems__(batch)
        prof.disable()
        stats = pstats.Stats(prof)
        print(f"\ncProfile, full loader (batched), {done} snippets: "
              f"{stats.total_tt / done * 1e6:.0f} CPU-µs per snippet under the profiler")
        stats.sort_stats("tottime").print_stats(15)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--snippets", type=int, default=200, help="snippets per fast method")
    ap.add_argument("--source-snippets", type=int, default=18, help="snippets per source method")
    ap.add_argument("--rounds", type=int, default=6, help="interleaved measurement rounds")
    ap.add_argument("--work", type=Path, default=Path("bench_work"))
    ap.add_argument("--source-preset", default="medium",
                    help="x264 preset of the generated source title (medium: x264's default)")
    ap.add_argument("--grain", type=float, default=0.0,
                    help="film grain of the source: luma noise σ in 8-bit code values (0: none)")
    ap.add_argument("--corpus", type=Path, default=None,
                    help="measure the full loader vs decode-only on this prepared corpus at "
                         "its own geometry instead (see the module docstring)")
    ap.add_argument("--k", type=int, default=1, help="--corpus: snippets per title (k)")
    ap.add_argument("--batch", type=int, default=64, help="--corpus: the sampler's B")
    ap.add_argument("--profile", type=int, default=0,
                    help="--corpus: cProfile this many full-loader reads")
    ap.add_argument("--json", default=None, help="--corpus: write the figures here")
    ap.add_argument("--x264-settings", action="store_true",
                    help="compare x264 settings of the prepared copy instead (size, PSNR, "
                         "decode-only speed)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.corpus is not None:
        out = corpus_loader(args.corpus, args.k, args.snippets, args.rounds, args.profile,
                            args.batch)
        if args.json:
            from binge.io import write_json

            write_json(out, args.json)
        return
    data = DataConfig()
    src = long_title(args.work, args.minutes, args.source_preset, grain=args.grain)
    if args.x264_settings:
        x264_settings(src, args.work, data, args.snippets, args.rounds)
        return
    corpus = args.work / f"corpus_{src.stem}"
    prepare_corpus([src], corpus, data=data, progress=False)
    ds = SnippetDataset(corpus, augment=True, crop_size=158, data=data)
    num = ds.num_snippets[0]
    rng = np.random.default_rng(0)
    ms = rng.integers(0, num, size=args.snippets).tolist()
    ms_src = ms[: args.source_snippets]
    with av.open(str(src)) as c:
        seconds = c.duration / av.time_base
        v_bytes = sum(p.size for p in c.demux(c.streams.video[0]))
    print(f"title {src.name}: {num} snippets; source video {v_bytes * 8e-6 / seconds:.2f} "
          f"Mbit/s (file {src.stat().st_size * 8e-6 / seconds:.2f}); random snippets, one "
          "process, one thread")
    ds.read_video(0, 0), ds.read_audio(0, 0)  # open the files once (lazy per process)
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        jpeg_bytes = 0
        for m in sorted(set(ms)):
            for k, frame in enumerate(ds.read_video(0, m)):
                data_ = encode_jpeg(torch.from_numpy(frame).permute(2, 0, 1), quality=90)
                Path(tmp, f"{m}_{k}.jpg").write_bytes(data_.numpy().tobytes())
                jpeg_bytes += data_.numel()

        def jpeg(m):
            for k in range(data.frames):
                raw = torch.frombuffer(bytearray(Path(tmp, f"{m}_{k}.jpg").read_bytes()),
                                       dtype=torch.uint8)
                decode_jpeg(raw)

        results = _measure({
            "source video": (SourceReader(src, data, audio=False), ms_src),
            "source video+audio": (SourceReader(src, data, audio=True), ms_src),
            "storage decode-only": (lambda m: ds.read_video(0, m), ms),
            "log-mel slice": (lambda m: ds.read_audio(0, m), ms),
            "full loader": (lambda m: ds[(0, m)], ms),
            "JPEG decode-only": (jpeg, ms),
        }, rounds=args.rounds)
    h264_bytes = (corpus / ds._video[0]).stat().st_size
    jpeg_per_s = jpeg_bytes / (len(set(ms)) * data.snippet_seconds)
    h264_per_s = h264_bytes / (num * data.snippet_seconds)
    full, src_v, src_av = (results["full loader"][0], results["source video"][0],
                           results["source video+audio"][0])
    print(f"disk per second of video: H.264 {h264_per_s / 1e3:.1f} kB, JPEG q90 "
          f"{jpeg_per_s / 1e3:.1f} kB ({jpeg_per_s / h264_per_s:.1f}x)")
    print(f"full loader / source video+audio: {full / src_av:.0f}x; / source video: "
          f"{full / src_v:.0f}x  (per core)")
    print(f"full loader / storage decode-only: {full / results['storage decode-only'][0]:.0%}")


if __name__ == "__main__":
    main()
