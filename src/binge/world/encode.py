"""Deterministic, atomic media writers: MP4 (H.264 + AAC), AVI (MPEG-4 Part 2), WAV.

Byte-identical output for identical input: libx264 runs single-threaded with fixed
settings, encoders and muxers run with the ``bitexact`` flags (no version strings or
creation times), and every file is written to a temporary name in its destination folder
and then moved into place (:func:`binge.io.atomic_path`), so a partial file is never visible
under its final name.
"""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import av
import numpy as np
from av.codec.context import Flags

from binge.io import atomic_path, atomic_write_bytes

AUDIO_FRAME = 1024  # AAC frame size


def write_bytes(path: Path, data: bytes) -> None:
    """Atomically write ``data`` to ``path`` (:func:`binge.io.atomic_write_bytes`)."""
    atomic_write_bytes(path, data)


def _video_stream(container, codec: str, fps: float, w: int, h: int, options: dict[str, str]):
    stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001), options=options)
    stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
    stream.thread_count = 1
    stream.codec_context.flags |= Flags.bitexact
    return stream


def _encode_frame(container, stream, rgb: np.ndarray, index: int) -> None:
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    frame.pts = index
    container.mux(stream.encode(frame))


def write_mp4(
    path: Path, frames: Iterable[np.ndarray], audio: np.ndarray, fps: float, sr: int, w: int, h: int, crf: int = 20
) -> None:
    """H.264 (libx264, yuv420p, CRF ``crf``) + AAC-LC mono at ``sr`` in MP4, interleaved.

    ``audio`` is mono float32 in [−1, 1]; frame i is shown at i / fps.
    """
    x264 = {"crf": str(crf), "preset": "ultrafast", "threads": "1", "g": str(int(round(2 * fps))), "bf": "2"}
    with atomic_path(path) as tmp:
        with av.open(str(tmp), "w", format="mp4", options={"fflags": "+bitexact"}) as c:
            vs = _video_stream(c, "libx264", fps, w, h, x264)
            ast = c.add_stream("aac", rate=sr, layout="mono", options={"aac_coder": "fast"})
            ast.bit_rate = 64_000
            ast.codec_context.flags |= Flags.bitexact
            pos = 0
            for i, rgb in enumerate(frames):
                _encode_frame(c, vs, rgb, i)
                until = min(audio.shape[0], int(round((i + 1) / fps * sr)))
                while pos + AUDIO_FRAME <= until or (until == audio.shape[0] and pos < until):
                    chunk = audio[pos : pos + AUDIO_FRAME]
                    af = av.AudioFrame.from_ndarray(chunk[None, :].astype(np.float32), format="fltp", layout="mono")
                    af.sample_rate, af.pts = sr, pos
                    c.mux(ast.encode(af))
                    pos += chunk.shape[0]
            c.mux(vs.encode(None))
            c.mux(ast.encode(None))


def write_avi(path: Path, frames: Iterable[np.ndarray], fps: float, w: int, h: int) -> None:
    """MPEG-4 Part 2 video (FourCC XVID, as UCF101 distributes its clips) in AVI, no audio."""
    with atomic_path(path) as tmp:
        with av.open(str(tmp), "w", format="avi", options={"fflags": "+bitexact"}) as c:
            vs = _video_stream(c, "mpeg4", fps, w, h, {"qscale": "3"})
            vs.codec_context.codec_tag = "XVID"
            vs.codec_context.qscale = 3
            for i, rgb in enumerate(frames):
                _encode_frame(c, vs, rgb, i)
            c.mux(vs.encode(None))


def write_wav(path: Path, audio: np.ndarray, sr: int) -> None:
    """16-bit PCM mono WAV (as ESC-50 distributes its clips)."""
    pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2")
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(sr)
            f.writeframes(pcm.tobytes())
