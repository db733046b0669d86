"""Media I/O with PyAV: probe a file, pick its streams, decode audio, transcode video.

Plain functions, used by ``binge prepare`` and by the downstream datasets
(UCF101, HMDB51, ESC-50, FSDD). Everything goes through PyAV (FFmpeg's libraries,
libx264 included in its wheel); the ``ffmpeg`` command line is never needed.

Stream choice (deliberate, documented in docs/data.md):

* video: the stream with the most pixels (width × height); ties go to the stream
  FFmpeg marks ``default``, then to the lowest index. Attached pictures (cover art)
  are never chosen.
* audio: the stream with the highest sample rate; ties go to more channels, then to
  ``default``, then to the lowest index.

Time origin: ``t = 0`` is the container's start time (the earliest stream start), so
video and audio stay in sync when one stream starts later than the other. Audio is
down-mixed to mono as **the mean of its channels** (not (L+R)/√2) and resampled with
FFmpeg's swresample.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, Optional

import av
import numpy as np
from av.video.frame import PictureType

__all__ = [
    "MediaError",
    "VideoStreamInfo",
    "AudioStreamInfo",
    "MediaInfo",
    "probe",
    "iter_audio",
    "read_audio",
    "scaled_size",
    "iter_video_frames",
    "read_video",
    "transcode_video",
]


class MediaError(RuntimeError):
    """A media file that cannot be used; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class VideoStreamInfo:
    index: int
    codec: str
    width: int
    height: int
    fps: float  # average frame rate FFmpeg reports (0.0 when unknown)
    duration_s: Optional[float]


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int
    codec: str
    sample_rate: int
    channels: int
    duration_s: Optional[float]


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` found: the chosen streams and how many of each kind exist."""

    path: str
    duration_s: Optional[float]
    start_s: float  # the time origin (container start time)
    video: Optional[VideoStreamInfo]
    audio: Optional[AudioStreamInfo]
    num_video_streams: int
    num_audio_streams: int


def _open(path: str | os.PathLike) -> av.container.InputContainer:
    path = Path(path)
    if not path.is_file():
        raise MediaError(path, "file not found")
    if path.stat().st_size == 0:
        raise MediaError(path, "empty file (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise MediaError(path, f"FFmpeg cannot open it as media ({err})") from err


def _stream_duration(stream) -> Optional[float]:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _is_default(stream) -> int:
    return int(bool(int(stream.disposition) & 1))  # AV_DISPOSITION_DEFAULT


def _pick_video(container):
    candidates = [
        s for s in container.streams.video
        if not (int(s.disposition) & 0x400)  # AV_DISPOSITION_ATTACHED_PIC (cover art)
        and s.codec_context.width and s.codec_context.height
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda s: (s.codec_context.width * s.codec_context.height,
                                          _is_default(s), -s.index))


def _pick_audio(container):
    candidates = [s for s in container.streams.audio if s.codec_context.sample_rate]
    if not candidates:
        return None
    return max(candidates, key=lambda s: (s.codec_context.sample_rate,
                                          s.codec_context.channels, _is_default(s), -s.index))


def _origin(container) -> float:
    return container.start_time / 1e6 if container.start_time is not None else 0.0


def probe(path: str | os.PathLike) -> MediaInfo:
    """Open ``path`` and describe it, choosing the main video and audio streams.

    Raises :class:`MediaError` (naming the file) when FFmpeg cannot read it.
    """
    with _open(path) as container:
        v, a = _pick_video(container), _pick_audio(container)
        video = audio = None
        if v is not None:
            rate = v.average_rate or v.base_rate or 0
            video = VideoStreamInfo(v.index, v.codec_context.name, v.codec_context.width,
                                    v.codec_context.height, float(rate), _stream_duration(v))
        if a is not None:
            audio = AudioStreamInfo(a.index, a.codec_context.name, a.codec_context.sample_rate,
                                    a.codec_context.channels, _stream_duration(a))
        duration = container.duration / 1e6 if container.duration is not None else None
        return MediaInfo(str(path), duration, _origin(container), video, audio,
                         len(container.streams.video), len(container.streams.audio))


# ----------------------------------------------------------------------------- audio
def iter_audio(
    path: str | os.PathLike,
    sample_rate: int,
    chunk_seconds: float = 30.0,
    stream_index: Optional[int] = None,
) -> Iterator[np.ndarray]:
    """Stream the main audio track as mono float32 chunks at ``sample_rate``.

    The track is decoded, resampled by FFmpeg (swresample) keeping its channels, and
    down-mixed to mono as the mean of the channels. Sample 0 is at the time origin
    (the container start time): a track that starts later is preceded by zeros, one
    that starts earlier (e.g. AAC priming with negative timestamps) is trimmed. Only
    about ``chunk_seconds`` of audio is held at a time.

    Yields:
        (n,) float32 arrays in [-1, 1]; their concatenation is the whole track.
    """
    chunk = max(1, int(chunk_seconds * sample_rate))
    with _open(path) as container:
        stream = (container.streams[stream_index] if stream_index is not None
                  else _pick_audio(container))
        if stream is None or stream.type != "audio":
            raise MediaError(path, "no audio stream")
        origin = _origin(container)
        resampler = av.AudioResampler(format="fltp", layout=None, rate=sample_rate)
        pending: list[np.ndarray] = []
        pending_n = 0
        skip = 0  # samples still to drop at the start
        started = False

        def mono(frames) -> Iterator[np.ndarray]:
            for f in frames:
                arr = f.to_ndarray()  # (channels, n) float32, planar
                yield arr.mean(axis=0, dtype=np.float64).astype(np.float32)

        try:
            packets = container.decode(stream)
            for frame in _safe(packets, path):
                if not started:
                    started = True
                    t0 = (frame.time if frame.time is not None else origin) - origin
                    offset = int(round(t0 * sample_rate))
                    if offset > 0:
                        pending.append(np.zeros(offset, dtype=np.float32))
                        pending_n += offset
                    else:
                        skip = -offset
                for samples in mono(resampler.resample(frame)):
                    if skip:
                        cut = min(skip, len(samples))
                        samples, skip = samples[cut:], skip - cut
                    pending.append(samples)
                    pending_n += len(samples)
                    if pending_n >= chunk:
                        yield np.concatenate(pending)
                        pending, pending_n = [], 0
            for samples in mono(resampler.resample(None)):
                pending.append(samples[min(skip, len(samples)):])
                skip = max(0, skip - len(samples))
        except av.FFmpegError as err:
            raise MediaError(path, f"audio decoding failed ({err})") from err
        if pending:
            yield np.concatenate(pending)


def read_audio(
    path: str | os.PathLike,
    sample_rate: int,
    start_s: float = 0.0,
    duration_s: Optional[float] = None,
) -> np.ndarray:
    """The main audio track (or ``[start_s, start_s + duration_s)`` of it) as mono
    float32 at ``sample_rate``: (N,). For short clips (downstream datasets); long
    titles should use :func:`iter_audio`."""
    first = int(round(start_s * sample_rate))
    last = None if duration_s is None else first + int(round(duration_s * sample_rate))
    out: list[np.ndarray] = []
    pos = 0
    for chunk in iter_audio(path, sample_rate):
        lo, hi = pos, pos + len(chunk)
        pos = hi
        if hi <= first:
            continue
        a = max(first - lo, 0)
        b = len(chunk) if last is None else min(len(chunk), last - lo)
        if b > a:
            out.append(chunk[a:b])
        if last is not None and pos >= last:
            break
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def _safe(frames, path) -> Iterator:
    """Iterate decoded frames; a corrupt tail ends the stream instead of raising
    (a truncated file keeps what decoded), other errors become :class:`MediaError`."""
    it = iter(frames)
    while True:
        try:
            frame = next(it)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            return
        except av.FFmpegError as err:
            raise MediaError(path, f"decoding failed ({err})") from err
        yield frame


# ----------------------------------------------------------------------------- video
def scaled_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) with the shorter side = ``short_side``, aspect kept, both even
    (H.264 4:2:0 needs even sizes)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid frame size {width}x{height}")
    scale = short_side / min(width, height)
    w = max(2, int(round(width * scale / 2)) * 2)
    h = max(2, int(round(height * scale / 2)) * 2)
    if width <= height:
        w = short_side + (short_side % 2)
    else:
        h = short_side + (short_side % 2)
    return w, h


def iter_video_frames(
    path: str | os.PathLike,
    fps: float,
    short_side: Optional[int] = None,
    stream_index: Optional[int] = None,
    max_frames: Optional[int] = None,
    pix_fmt: str = "rgb24",
    threads: int = 1,
) -> Iterator[av.VideoFrame]:
    """Resample the main video stream to a constant ``fps`` by presentation time.

    Output frame ``k`` is the source frame on screen at time ``(k + 0.5) / fps`` after
    the origin (the centre of its interval ``[k/fps, (k+1)/fps)``), so variable frame
    rate sources come out right. Frames are resized (area filter) so that the shorter
    side is ``short_side`` (kept as is if None) and converted to ``pix_fmt``.
    The stream ends at the last source frame's end time.
    """
    with _open(path) as container:
        stream = (container.streams[stream_index] if stream_index is not None
                  else _pick_video(container))
        if stream is None or stream.type != "video":
            raise MediaError(path, "no video stream")
        if threads != 1:
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = threads
        else:
            stream.codec_context.thread_count = 1
        origin = _origin(container)
        default_dur = 1.0 / float(stream.average_rate) if stream.average_rate else 1.0 / fps
        size: Optional[tuple[int, int]] = None
        k = 0
        prev = None
        prev_t = 0.0

        def convert(frame):
            nonlocal size
            if size is None:
                size = ((frame.width, frame.height) if short_side is None
                        else scaled_size(frame.width, frame.height, short_side))
            return frame.reformat(width=size[0], height=size[1], format=pix_fmt,
                                  interpolation="AREA")

        for frame in _safe(container.decode(stream), path):
            t = (frame.time if frame.time is not None else prev_t + default_dur) - origin
            if prev is not None:
                if t <= prev_t:  # out-of-order/duplicate timestamp: keep the newer picture
                    prev = frame
                    continue
                converted = None
                while (k + 0.5) / fps < t:
                    if converted is None:
                        converted = convert(prev)
                    yield converted
                    k += 1
                    if max_frames is not None and k >= max_frames:
                        return
            prev, prev_t = frame, t
        if prev is not None:
            end = prev_t + (float(prev.duration * prev.time_base)
                            if prev.duration and prev.time_base else default_dur)
            converted = None
            while (k + 0.5) / fps < end and (max_frames is None or k < max_frames):
                if converted is None:
                    converted = convert(prev)
                yield converted
                k += 1


def read_video(
    path: str | os.PathLike,
    fps: float,
    short_side: Optional[int] = None,
    max_frames: Optional[int] = None,
) -> np.ndarray:
    """Whole clip (short downstream clips) at ``fps`` as a (T, H, W, 3) uint8 array."""
    frames = [f.to_ndarray() for f in iter_video_frames(path, fps, short_side,
                                                        max_frames=max_frames)]
    if not frames:
        raise MediaError(path, "no decodable video frames")
    return np.stack(frames)


def transcode_video(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    fps: float,
    short_side: int,
    keyframe_interval: int,
    crf: int = 23,
    max_frames: Optional[int] = None,
    progress: Optional[Callable[[int], None]] = None,
    threads: int = 1,
    encoder_options: Optional[dict[str, str]] = None,
) -> int:
    """Transcode the main video stream of ``src`` to H.264 in MP4 for random snippet reads.

    ``fps`` constant frames (see :func:`iter_video_frames`), shorter side ``short_side``,
    no B-frames, ``tune=fastdecode``, one closed GOP every ``keyframe_interval`` frames
    (scene-cut keyframes off) so that every snippet starts on a keyframe; libx264 runs
    single-threaded (parallelism comes from titles), which also keeps the output
    byte-identical from run to run; ``threads`` is for the source decoder.
    ``encoder_options`` replaces binge's x264 options ``{"preset": "veryfast", "tune":
    "fastdecode", "crf": str(crf)}`` (benchmarks/loader_speed.py compares others); the GOP
    parameters above are always set. Returns the number of frames written.
    """
    rate = Fraction(fps).limit_denominator(1001)
    written = 0
    with av.open(str(dst), mode="w", format="mp4") as out:
        ostream = None
        for frame in iter_video_frames(src, fps, short_side, max_frames=max_frames,
                                       pix_fmt="yuv420p", threads=threads):
            if ostream is None:
                ostream = out.add_stream("libx264", rate=rate)
                ostream.width, ostream.height = frame.width, frame.height
                ostream.pix_fmt = "yuv420p"
                ostream.time_base = 1 / rate
                ostream.codec_context.thread_count = 1
                options = encoder_options if encoder_options is not None else {
                    "preset": "veryfast", "tune": "fastdecode", "crf": str(crf)}
                ostream.options = {
                    **options,
                    "x264-params": (f"keyint={keyframe_interval}:min-keyint={keyframe_interval}"
                                    ":scenecut=0:bframes=0:threads=1"),
                }
            frame.pts = written
            frame.time_base = 1 / rate  # not ostream.time_base: the muxer changes that one
            # a decoded source I-frame would force a keyframe off the snippet grid
            frame.pict_type = PictureType.NONE
            for packet in ostream.encode(frame):
                out.mux(packet)
            written += 1
            if progress is not None:
                progress(written)
        if ostream is not None:
            for packet in ostream.encode(None):
                out.mux(packet)
    if written == 0:
        raise MediaError(src, "no decodable video frames")
    return written
