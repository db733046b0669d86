"""Test media with known events, written with PyAV (no ffmpeg CLI).

A title is black video with white "flash" frames during [e, e + flash_s) and silent audio
with a loud 1 kHz "click" during [e, e + click_s), for each event time e. The ground truth
of the sync tests is the list of event times given here.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Sequence

import av
import numpy as np


def make_title(
    path: Path,
    duration_s: float = 8.0,
    events: Sequence[float] = (1.0, 4.4),
    fps: float = 25.0,
    size: tuple[int, int] = (160, 96),
    sample_rate: int = 44_100,
    channels: int = 2,
    video: bool = True,
    audio: bool = True,
    vfr: bool = False,
    flash_s: float = 0.2,
    click_s: float = 0.05,
    video_codec: str = "libx264",
    audio_codec: str = "aac",
    extra_video: bool = False,
    extra_audio: bool = False,
    gop: int = 0,
    seed: int = 0,
) -> Path:
    """Write ``path`` (container from its suffix) and return it."""
    rng = np.random.default_rng(seed)
    path = Path(path)
    w, h = size
    with av.open(str(path), mode="w") as out:
        vstreams, astreams = [], []
        if video:
            rate = Fraction(fps).limit_denominator(1000)
            vs = out.add_stream(video_codec, rate=rate)
            vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
            if gop:  # source keyframe interval (off the output's snippet grid)
                vs.options = {"g": str(gop), "keyint_min": str(gop)}
            vstreams.append(vs)
            if extra_video:  # a smaller second video stream (must not be picked)
                vs2 = out.add_stream(video_codec, rate=rate)
                vs2.width, vs2.height, vs2.pix_fmt = w // 2, h // 2, "yuv420p"
                vstreams.append(vs2)
        if audio:
            layout = {1: "mono", 2: "stereo", 6: "5.1"}[channels]
            as_ = out.add_stream(audio_codec, rate=sample_rate, layout=layout)
            astreams.append(as_)
            if extra_audio:  # a lower-rate second audio stream (must not be picked)
                as2 = out.add_stream(audio_codec, rate=8000, layout="mono")
                astreams.append(as2)
        if video:
            # frame times: constant rate, or jittered (variable frame rate) when vfr
            n = int(round(duration_s * fps))
            if vfr:
                steps = rng.uniform(0.5, 1.5, size=n) / fps
                times = np.concatenate([[0.0], np.cumsum(steps)[:-1]])
                times = times[times < duration_s]
            else:
                times = np.arange(n) / fps
            tb = Fraction(1, 1000)
            for vs in vstreams:
                vs.time_base = tb
            for t in times:
                bright = any(e <= t < e + flash_s for e in events)
                img = np.full((h, w, 3), 235 if bright else 16, dtype=np.uint8)
                for vs in vstreams:
                    frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
                        width=vs.width, height=vs.height, format="yuv420p")
                    frame.pts = int(round(t * 1000))
                    frame.time_base = tb
                    for p in vs.encode(frame):
                        out.mux(p)
        for i, as_ in enumerate(astreams):
            sr = as_.codec_context.sample_rate
            nch = as_.codec_context.channels
            total = int(round(duration_s * sr))
            t = np.arange(total) / sr
            y = 0.001 * rng.standard_normal(total)
            for e in events:
                on = (t >= e) & (t < e + click_s)
                y[on] += 0.8 * np.sin(2 * np.pi * 1000 * t[on])
            y = np.repeat(y[None].astype(np.float32), nch, axis=0)
            frame_size = as_.codec_context.frame_size or 1024
            for start in range(0, total, frame_size):
                chunk = np.ascontiguousarray(y[:, start:start + frame_size])
                fmt = as_.codec_context.format.name
                if fmt.endswith("p"):
                    frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=as_.layout.name)
                else:
                    frame = av.AudioFrame.from_ndarray(chunk.T.reshape(1, -1).copy(), format="flt",
                                                       layout=as_.layout.name)
                frame.sample_rate = sr
                frame.pts = start
                frame.time_base = Fraction(1, sr)
                for p in as_.encode(frame):
                    out.mux(p)
        for s in vstreams + astreams:
            for p in s.encode(None):
                out.mux(p)
    return path
