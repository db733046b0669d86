"""Shared by the data benchmarks: a real-ish long 720p title built from the real clips.

``long_title(work, minutes, preset)`` loops ``big_buck_bunny_0_30.webm`` (real 1280×720
24 fps footage with real stereo audio, ../shared/data/av_clips) into an H.264 + AAC 48 kHz
stereo MP4 of ``minutes`` minutes, once; later calls reuse it. ``preset`` is the x264
preset of the source: ``medium`` (x264's and ffmpeg's default: B-frames, 3 reference
frames, CABAC, keyframe every ≤ 250 frames) stands for a typical distributed file;
``veryfast`` gives a source that is cheaper to decode.

``grain=σ`` (> 0) makes a live-action proxy: before encoding, each frame's luma gets fresh
Gaussian noise of standard deviation σ code values (8-bit, per pixel and per frame, seeded;
chroma untouched), the way film grain and sensor noise make every frame of a live-action
title differ from the last in fine detail. A flat-shaded cartoon is far cheaper to code and
to decode than such footage. libx264 runs on one thread (one core, and a byte-identical file
from run to run).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def shared_clips() -> Path:
    root = Path(os.environ.get("BINGE_SHARED_DATA", REPO.parent / "shared" / "data"))
    path = root / "av_clips" / "big_buck_bunny_0_30.webm"
    if not path.is_file():
        raise SystemExit(f"{path} is absent: set BINGE_SHARED_DATA to a copy of shared/data")
    return path


def long_title(work: Path, minutes: float, preset: str = "medium", grain: float = 0.0) -> Path:
    """Build (once) and return ``work/long_<minutes>min_<preset>[_grain<σ>].mp4``."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / (f"long_{minutes:g}min_{preset}" + (f"_grain{grain:g}" if grain > 0 else "")
                  + ".mp4")
    if out.is_file():
        return out
    src = shared_clips()
    tmp = out.with_suffix(".tmp.mp4")
    from binge.data.media import read_audio

    audio = read_audio(src, 48_000)
    clip_s = 30.0
    loops = int(np.ceil(minutes * 60 / clip_s))
    with av.open(str(tmp), "w") as o:
        vs = o.add_stream("libx264", rate=24)
        vs.width, vs.height, vs.pix_fmt = 1280, 720, "yuv420p"
        vs.codec_context.thread_count = 1
        vs.options = {"preset": preset, "crf": "23", "x264-params": "threads=1"}
        as_ = o.add_stream("aac", rate=48_000, layout="stereo")
        y = np.tile(audio[: int(clip_s * 48_000)], loops).astype(np.float32)
        k, pos = 0, 0  # video frames and audio samples written (interleaved per frame)
        rng = np.random.default_rng(0)
        for _ in range(loops):  # decode the clip again per loop: never all frames in memory
            with av.open(str(src)) as c:
                for f in c.decode(c.streams.video[0]):
                    f = f.reformat(format="yuv420p")
                    if grain > 0:
                        f = _add_grain(f, grain, rng)
                    f.pts, f.time_base = k, Fraction(1, 24)
                    k += 1
                    for p in vs.encode(f):
                        o.mux(p)
                    while pos < min(len(y), k * 2000):  # 48 000 / 24 samples per frame
                        chunk = np.ascontiguousarray(np.stack([y[pos:pos + 1024]] * 2))
                        a = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                        a.sample_rate, a.pts, a.time_base = 48_000, pos, Fraction(1, 48_000)
                        pos += chunk.shape[1]
                        for p in as_.encode(a):
                            o.mux(p)
        for s in (vs, as_):
            for p in s.encode(None):
                o.mux(p)
    os.replace(tmp, out)
    return out


def _add_grain(frame: av.VideoFrame, sigma: float, rng: np.random.Generator) -> av.VideoFrame:
    """``frame`` (yuv420p) with N(0, σ²) noise added to its luma, rounded and clipped."""
    yuv = frame.to_ndarray()  # (H * 3 / 2, W): the Y plane, then U and V
    h, w = frame.height, frame.width
    y = yuv[:h].astype(np.float32) + rng.standard_normal((h, w), dtype=np.float32) * sigma
    yuv[:h] = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return av.VideoFrame.from_ndarray(yuv, format="yuv420p")
