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

Real-world files (docs/data.md, "what prepare does with real-world files"):

* colour: every frame becomes RGB through its own matrix (BT.601 / BT.709 / BT.2020 /
  SMPTE 240M / FCC) and range (limited / full; ``yuvj*`` formats are full); untagged
  frames follow the players' rule: BT.709 when HD (width ≥ 1280 or height > 576), BT.601
  otherwise (:func:`frame_colour`). :func:`transcode_video` writes BT.709 limited range,
  tagged, so any decoder (and ``SnippetDataset``) reads the same RGB;
* geometry: frames are resized to their display shape (sample aspect ratio) and turned
  upright by the display matrix (rotation 90 / 180 / 270), as a player shows them;
* damage: a packet that fails to demux or decode is counted and skipped, decoding goes
  on; video holds the last frame over a gap, audio is placed by its timestamps (zeros
  where packets are missing, overlaps trimmed). :class:`DecodeStats` records the gaps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, Optional

import av
import numpy as np
from av.video.frame import PictureType
from av.video.reformatter import ColorRange, Colorspace

__all__ = [
    "MediaError",
    "DecodeStats",
    "ColourInfo",
    "frame_colour",
    "stream_colour",
    "display_geometry",
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
    "scan_packets",
]


class MediaError(RuntimeError):
    """A media file that cannot be used; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class DecodeStats:
    """What decoding one stream found (filled by :func:`iter_video_frames` /
    :func:`iter_audio` when passed ``stats=``). Times in seconds from the time origin.

    ``end_s``: end of the last decoded content; ``errors``: packets that failed to demux
    or decode (skipped); ``gaps``: (start, end) spans without decodable content inside
    the stream (video: the last frame is held; audio: zeros), counted when longer than
    :data:`GAP_S` (video: also longer than 2.5 frame intervals); ``overlap_s``: audio
    whose timestamps went back in time, trimmed.
    """

    end_s: float = 0.0
    errors: int = 0
    gaps: list[tuple[float, float]] = field(default_factory=list)
    overlap_s: float = 0.0
    frames: int = 0  # decoded source frames (video) or samples at the output rate (audio)

    @property
    def gap_s(self) -> float:
        return float(sum(b - a for a, b in self.gaps))


#: the matrix of the prepared H.264 (BT.709, limited range, tagged): HD sources, the bulk of
#: a library's pixels, are BT.709 already, so most frames need no matrix conversion
STORED_MATRIX = int(Colorspace.ITU709)
#: AVColorSpace tag of STORED_MATRIX (AVCOL_SPC_BT709)
STORED_MATRIX_TAG = 1

#: shortest timestamp jump (s) counted as a gap; audio jumps above it are zero-filled
GAP_S = 0.03
#: demux errors after which a stream is given up as unreadable from there on
MAX_DEMUX_ERRORS = 1000


@dataclass(frozen=True)
class ColourInfo:
    """How a video stream's pixels become RGB: swscale matrix (``Colorspace``), range
    (full or limited), and a readable description, e.g. ``"bt709 limited (untagged HD)"``."""

    matrix: int
    full_range: bool
    text: str


_MATRIX_BY_TAG = {  # AVColorSpace tag → (swscale matrix, name)
    1: (int(Colorspace.ITU709), "bt709"),
    4: (int(Colorspace.FCC), "fcc"),
    5: (int(Colorspace.ITU601), "bt601"),  # BT470BG (PAL)
    6: (int(Colorspace.ITU601), "bt601"),  # SMPTE 170M (NTSC)
    7: (int(Colorspace.SMPTE240M), "smpte240m"),
    9: (int(Colorspace.BT2020), "bt2020"),  # non-constant luminance
    10: (int(Colorspace.BT2020), "bt2020"),  # constant luminance: approximated by NCL
}


def _is_hd(width: int, height: int) -> bool:
    return width >= 1280 or height > 576


def frame_colour(colorspace: int, color_range: int, pix_fmt: str,
                 width: int, height: int) -> ColourInfo:
    """The colour conversion a frame needs, from its tags (AVColorSpace, AVColorRange).

    Untagged matrix: BT.709 for HD (width ≥ 1280 or height > 576), BT.601 for SD, as
    players do (FFmpeg's swscale alone would take BT.601 for both). Untagged range:
    limited, except the full-range ``yuvj*`` pixel formats (and RGB formats).
    """
    if colorspace in _MATRIX_BY_TAG:
        matrix, name = _MATRIX_BY_TAG[colorspace]
        how = "tagged"
    else:
        hd = _is_hd(width, height)
        matrix, name = ((int(Colorspace.ITU709), "bt709") if hd
                        else (int(Colorspace.ITU601), "bt601"))
        how = f"untagged {'HD' if hd else 'SD'}"
    full = (color_range == int(ColorRange.JPEG) or pix_fmt.startswith("yuvj")
            or pix_fmt.startswith(("rgb", "bgr", "gbr", "argb", "abgr", "rgba", "bgra")))
    return ColourInfo(matrix, full, f"{name} {'full' if full else 'limited'} ({how})")


def stream_colour(stream) -> ColourInfo:
    """:func:`frame_colour` from a stream's codec parameters (what probing sees)."""
    cc = stream.codec_context
    return frame_colour(int(cc.colorspace), int(cc.color_range), cc.pix_fmt or "",
                        cc.width, cc.height)


def _sar(stream) -> Fraction:
    for sar in (stream.sample_aspect_ratio, stream.codec_context.sample_aspect_ratio):
        if sar is not None and sar > 0:
            return Fraction(sar)
    return Fraction(1)


def display_geometry(width: int, height: int, sar: Fraction,
                     rotation: int) -> tuple[int, int, int]:
    """(display width, display height, quarter turns) of a stored ``width × height``
    picture with sample aspect ratio ``sar`` and display-matrix ``rotation`` (degrees
    counter-clockwise, FFmpeg's ``av_display_rotation_get``). The display size is the
    stored height and ``width × sar`` (rounded), then swapped for a quarter turn;
    ``np.rot90(picture, turns)`` makes the picture upright."""
    w = max(1, int(round(width * sar))) if sar != 1 else width
    k = int(round(rotation / 90.0)) % 4
    return (height, w, k) if k % 2 else (w, height, k)


@dataclass(frozen=True)
class VideoStreamInfo:
    index: int
    codec: str
    width: int
    height: int
    fps: float  # average frame rate FFmpeg reports (0.0 when unknown)
    duration_s: Optional[float]
    pix_fmt: str = ""
    colour: Optional[ColourInfo] = None
    sar: Fraction = Fraction(1)
    rotation: int = 0  # display matrix, degrees counter-clockwise in [0, 360)
    display_width: int = 0
    display_height: int = 0


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


def _stream_rotation(container, stream) -> int:
    """Display-matrix rotation (degrees counter-clockwise) of the stream's first decodable
    frame, 0 when none (PyAV exposes the matrix on frames, not on streams)."""
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                return int(frame.rotation)
    except av.FFmpegError:
        return 0
    return 0


def _origin(container) -> float:
    return container.start_time / 1e6 if container.start_time is not None else 0.0


def _time_limit(container) -> float:
    """Latest plausible timestamp (s from the origin): the longest stream duration + 2 s,
    or the container's duration + 2 s when no stream has one. A frame stamped later (a
    damaged PES header) is bogus: its time is taken as the end of the previous frame."""
    known = [float(s.duration * s.time_base) for s in container.streams
             if s.duration and s.time_base and s.duration * s.time_base < _WRAP_S / 2]
    if known:
        return max(known) + 2.0
    if container.duration is None or container.duration <= 0:
        return float("inf")
    return container.duration / 1e6 + 2.0


def _announced(container) -> Optional[float]:
    """The duration the file announces (s): the container's, unless a wrapped 33-bit
    MPEG-TS timestamp made it absurd (≥ 13 h); then the longest stream duration."""
    if container.duration is None:
        return None
    seconds = container.duration / 1e6
    if seconds < _WRAP_S / 2:
        return seconds
    known = [float(s.duration * s.time_base) for s in container.streams
             if s.duration and s.time_base and s.duration * s.time_base < _WRAP_S / 2]
    return max(known) if known else None


_MPEG_TB = Fraction(1, 90_000)
_WRAP_S = float(2 ** 33 * _MPEG_TB)  # the 33-bit MPEG clock wraps every 26.5 hours


def _frame_time(frame) -> Optional[float]:
    """A frame's time (s), with a negative 33-bit MPEG-TS timestamp unwrapped (a priming
    frame at −64 ms is written as 2^33 − 5760 ticks); None when it has none."""
    if frame.pts is None or frame.time_base is None:
        return None
    if frame.time_base == _MPEG_TB and frame.pts >= 2 ** 32:
        return float((frame.pts - 2 ** 33) * _MPEG_TB)
    return float(frame.pts * frame.time_base)


def probe(path: str | os.PathLike) -> MediaInfo:
    """Open ``path`` and describe it, choosing the main video and audio streams.

    Raises :class:`MediaError` (naming the file) when FFmpeg cannot read it.
    """
    with _open(path) as container:
        v, a = _pick_video(container), _pick_audio(container)
        video = audio = None
        if v is not None:
            rate = v.average_rate or v.base_rate or 0
            cc = v.codec_context
            rotation = _stream_rotation(container, v) % 360
            dw, dh, _ = display_geometry(cc.width, cc.height, _sar(v), rotation)
            video = VideoStreamInfo(v.index, cc.name, cc.width, cc.height, float(rate),
                                    _stream_duration(v), cc.pix_fmt or "", stream_colour(v),
                                    _sar(v), rotation, dw, dh)
        if a is not None:
            audio = AudioStreamInfo(a.index, a.codec_context.name, a.codec_context.sample_rate,
                                    a.codec_context.channels, _stream_duration(a))
        duration = _announced(container)
        return MediaInfo(str(path), duration, _origin(container), video, audio,
                         len(container.streams.video), len(container.streams.audio))


# ----------------------------------------------------------------------------- decoding
def _resilient_frames(container, stream, path, stats: DecodeStats) -> Iterator:
    """Decoded frames of ``stream``, packet by packet: a packet that fails to decode is
    counted in ``stats.errors`` and skipped, and a demux error restarts demuxing from
    where the demuxer stands (up to :data:`MAX_DEMUX_ERRORS` times), so everything after
    a damaged stretch still decodes."""
    demux_errors = 0
    while True:
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except (av.error.EOFError, av.error.ExitError):
                    raise
                except av.FFmpegError:
                    stats.errors += 1
                    continue
                yield from frames
            return
        except av.error.EOFError:
            return
        except av.FFmpegError as err:
            stats.errors += 1
            demux_errors += 1
            if demux_errors > MAX_DEMUX_ERRORS:
                raise MediaError(path, f"demuxing failed {demux_errors} times ({err})") from err


# ----------------------------------------------------------------------------- audio
def iter_audio(
    path: str | os.PathLike,
    sample_rate: int,
    chunk_seconds: float = 30.0,
    stream_index: Optional[int] = None,
    stats: Optional[DecodeStats] = None,
) -> Iterator[np.ndarray]:
    """Stream the main audio track as mono float32 chunks at ``sample_rate``.

    The track is decoded, resampled by FFmpeg (swresample) keeping its channels, and
    down-mixed to mono as the mean of the channels. Samples are placed by their
    timestamps: sample 0 is at the time origin (the container start time), a track that
    starts later is preceded by zeros, one that starts earlier (e.g. AAC priming with
    negative timestamps) is trimmed, a jump forward of more than :data:`GAP_S` (packets
    missing or damaged) is filled with zeros and a jump back is trimmed, so every sample
    after a gap keeps its time. Only about ``chunk_seconds`` of audio is held at a time.
    ``stats`` (optional) receives the gaps, trimmed overlap and packet errors.

    Yields:
        (n,) float32 arrays in [-1, 1]; their concatenation is the whole track.
    """
    stats = stats if stats is not None else DecodeStats()
    chunk = max(1, int(chunk_seconds * sample_rate))
    with _open(path) as container:
        stream = (container.streams[stream_index] if stream_index is not None
                  else _pick_audio(container))
        if stream is None or stream.type != "audio":
            raise MediaError(path, "no audio stream")
        origin, limit = _origin(container), _time_limit(container)
        resampler = av.AudioResampler(format="fltp", layout=None, rate=sample_rate)
        pending: list[np.ndarray] = []
        pending_n = 0
        skip = 0  # output samples still to drop (start before the origin, overlaps)
        in_end: Optional[float] = None  # where the previous input frame ended (s)
        placed = 0  # output samples placed so far (zeros included)

        def mono(frames) -> Iterator[np.ndarray]:
            for f in frames:
                arr = f.to_ndarray()  # (channels, n) float32, planar
                yield arr.mean(axis=0, dtype=np.float64).astype(np.float32)

        def put(samples: np.ndarray) -> None:
            nonlocal pending_n, skip, placed
            if skip:
                cut = min(skip, len(samples))
                samples, skip = samples[cut:], skip - cut
            if len(samples):
                pending.append(samples)
                pending_n += len(samples)
                placed += len(samples)

        for frame in _resilient_frames(container, stream, path, stats):
            t = _frame_time(frame)
            t = (t - origin) if t is not None else in_end
            if t is not None and not -2.0 < t < limit:  # bogus timestamp
                stats.errors += 1
                t = in_end
            if in_end is None:  # first frame: place it at its time
                offset = int(round((t or 0.0) * sample_rate))
                if (t or 0.0) > GAP_S:  # nothing decodes before it
                    stats.gaps.append((0.0, round(t, 4)))
                if offset > 0:
                    put(np.zeros(offset, dtype=np.float32))
                else:
                    skip = -offset
            elif t is not None and abs(t - in_end) > GAP_S:
                if t > in_end:  # packets missing: silence until this frame's time
                    stats.gaps.append((round(in_end, 4), round(t, 4)))
                    put(np.zeros(int(round((t - in_end) * sample_rate)), dtype=np.float32))
                else:  # timestamps went back: drop what overlaps
                    stats.overlap_s += in_end - t
                    skip += int(round((in_end - t) * sample_rate))
            start = t if t is not None else 0.0
            end = start + frame.samples / frame.sample_rate
            in_end = end if in_end is None else max(in_end, end)
            for samples in mono(resampler.resample(frame)):
                put(samples)
            if pending_n >= chunk:
                yield np.concatenate(pending)
                pending, pending_n = [], 0
        for samples in mono(resampler.resample(None)):
            put(samples)
        stats.frames = placed
        stats.end_s = placed / sample_rate
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


class _Upright:
    """Turns decoded frames into display-shaped, upright, correctly coloured frames of
    one output size and pixel format (set up from the stream and its first frame)."""

    def __init__(self, stream, first, short_side: Optional[int], pix_fmt: str):
        self.colour = frame_colour(int(first.colorspace), int(first.color_range),
                                   first.format.name, first.width, first.height)
        dw, dh, self.turns = display_geometry(first.width, first.height, _sar(stream),
                                              int(first.rotation))
        w, h = (dw, dh) if short_side is None else scaled_size(dw, dh, short_side)
        self.size = (w, h)
        self.scale = (h, w) if self.turns % 2 else (w, h)  # the stored picture's axes
        self.range = int(ColorRange.JPEG if self.colour.full_range else ColorRange.MPEG)
        self.pix_fmt = pix_fmt
        self.direct = (pix_fmt != "rgb24" and not self.turns and not self.colour.full_range
                       and self.colour.matrix == STORED_MATRIX)

    def __call__(self, frame) -> av.VideoFrame:
        if self.direct:
            # a BT.709 limited-range source, upright: already what the prepared copy
            # stores, resized in one swscale pass (the bulk of a library: HD material)
            return frame.reformat(width=self.scale[0], height=self.scale[1],
                                  format=self.pix_fmt, src_colorspace=STORED_MATRIX,
                                  src_color_range=self.range, dst_colorspace=STORED_MATRIX,
                                  dst_color_range=self.range, interpolation="AREA")
        # any other source goes through RGB (swscale's direct YCbCr-to-YCbCr matrix
        # change tints greys by 2-3 codes; through RGB they stay grey)
        rgb = frame.reformat(width=self.scale[0], height=self.scale[1], format="rgb24",
                             src_colorspace=self.colour.matrix, src_color_range=self.range,
                             dst_color_range=int(ColorRange.JPEG), interpolation="AREA")
        if self.turns:
            rgb = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(np.rot90(rgb.to_ndarray(), self.turns)), format="rgb24")
        if self.pix_fmt == "rgb24":
            return rgb
        return rgb.reformat(format=self.pix_fmt, dst_colorspace=STORED_MATRIX,
                            dst_color_range=int(ColorRange.MPEG))


def iter_video_frames(
    path: str | os.PathLike,
    fps: float,
    short_side: Optional[int] = None,
    stream_index: Optional[int] = None,
    max_frames: Optional[int] = None,
    pix_fmt: str = "rgb24",
    threads: int = 1,
    stats: Optional[DecodeStats] = None,
) -> Iterator[av.VideoFrame]:
    """Resample the main video stream to a constant ``fps`` by presentation time.

    Output frame ``k`` is the source frame on screen at time ``(k + 0.5) / fps`` after
    the origin (the centre of its interval ``[k/fps, (k+1)/fps)``), so variable frame
    rate sources come out right, and a stretch lost to damage holds the last good frame.
    Frames are shown as a player shows them: display shape (sample aspect ratio), upright
    (display matrix), RGB through the source's matrix and range (:func:`frame_colour`);
    resized (area filter) so that the shorter side is ``short_side`` (display size if
    None) and converted to ``pix_fmt`` (``rgb24``, or e.g. ``yuv420p``: BT.709 limited
    range, :data:`STORED_MATRIX`). The stream ends at the last source frame's end time. ``stats`` (optional)
    receives gaps and packet errors.
    """
    stats = stats if stats is not None else DecodeStats()
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
        origin, limit = _origin(container), _time_limit(container)
        default_dur = 1.0 / float(stream.average_rate) if stream.average_rate else 1.0 / fps
        convert: Optional[_Upright] = None
        k = 0
        prev = None
        prev_t = 0.0

        for frame in _resilient_frames(container, stream, path, stats):
            stats.frames += 1
            if convert is None:
                convert = _Upright(stream, frame, short_side, pix_fmt)
            t = _frame_time(frame)
            t = (t - origin) if t is not None else None
            if t is None or not -2.0 < t < limit:  # no or bogus timestamp: the next slot
                stats.errors += t is not None
                t = prev_t + default_dur if prev is not None else 0.0
            if prev is None and t > max(GAP_S, 2.5 * default_dur):  # nothing decodes before
                stats.gaps.append((0.0, round(t, 4)))
            if prev is not None:
                if t <= prev_t:  # out-of-order/duplicate timestamp: keep the newer picture
                    prev = frame
                    continue
                if t - prev_t > max(GAP_S, 2.5 * default_dur):
                    stats.gaps.append((round(prev_t + default_dur, 4), round(t, 4)))
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
            stats.end_s = end
            converted = None
            # a title shorter than one output interval (one frame) still gives its frame
            while ((k + 0.5) / fps < end or k == 0) and (max_frames is None or k < max_frames):
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
    on_frame: Optional[Callable[[av.VideoFrame, float], None]] = None,
    threads: int = 1,
    encoder_options: Optional[dict[str, str]] = None,
    stats: Optional[DecodeStats] = None,
) -> int:
    """Transcode the main video stream of ``src`` to H.264 in MP4 for random snippet reads.

    ``fps`` constant frames (see :func:`iter_video_frames`), shorter side ``short_side``,
    no B-frames, ``tune=fastdecode``, one closed GOP every ``keyframe_interval`` frames
    (scene-cut keyframes off) so that every snippet starts on a keyframe; libx264 runs
    single-threaded (parallelism comes from titles), which also keeps the output
    byte-identical from run to run on one kind of CPU (libx264 picks its SIMD code by CPU and
    that code is not bit-exact across instruction sets: the same frames encoded with
    ``x264-params`` ``asm=SSE3`` (or ``asm=AVX2`` on an AVX-512 CPU) give other files, so
    nodes with other CPUs may write other bytes; tests/data/test_transcode_determinism.py
    checks that nothing else, e.g. frame padding, changes them); ``threads`` is for the
    source decoder.
    ``encoder_options`` replaces binge's x264 options ``{"preset": "veryfast", "tune":
    "fastdecode", "crf": str(crf)}`` (benchmarks/loader_speed.py compares others); the GOP
    parameters above are always set. Frames are upright, display-shaped and in BT.709
    limited range whatever the source's tags (:func:`iter_video_frames`), and the stream
    is tagged so (matrix bt709, range tv), so every decoder reads the source's RGB
    (primaries and transfer are neither converted nor tagged). ``stats`` receives the
    source's gaps and packet errors. Returns the number of frames written.
    """
    rate = Fraction(fps).limit_denominator(1001)
    written = 0
    with av.open(str(dst), mode="w", format="mp4") as out:
        ostream = None
        for frame in iter_video_frames(src, fps, short_side, max_frames=max_frames,
                                       pix_fmt="yuv420p", threads=threads, stats=stats):
            if ostream is None:
                ostream = out.add_stream("libx264", rate=rate)
                ostream.width, ostream.height = frame.width, frame.height
                ostream.pix_fmt = "yuv420p"
                ostream.time_base = 1 / rate
                ostream.codec_context.thread_count = 1
                ostream.codec_context.colorspace = STORED_MATRIX_TAG
                ostream.codec_context.color_range = int(ColorRange.MPEG)
                options = encoder_options if encoder_options is not None else {
                    "preset": "veryfast", "tune": "fastdecode", "crf": str(crf)}
                ostream.options = {
                    **options,
                    "x264-params": (f"keyint={keyframe_interval}:min-keyint={keyframe_interval}"
                                    ":scenecut=0:bframes=0:threads=1"),
                }
            if on_frame is not None:  # e.g. scene detection (binge.data.scenes), no 2nd decode
                on_frame(frame, written / fps)
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


# ----------------------------------------------------------------------------- packet scan
def scan_packets(path: str | os.PathLike) -> tuple[MediaInfo, DecodeStats, DecodeStats]:
    """Read every packet of the main video and audio streams without decoding (seconds
    for a long title) and return (probe info, video stats, audio stats): each stream's
    end (last packet's time + duration, from the origin), its timestamp gaps (the rules
    of :func:`iter_video_frames` / :func:`iter_audio`), and packets flagged corrupt or
    that failed to demux. Damage inside a packet that still demuxes is only found by
    decoding (``binge prepare``)."""
    info = probe(path)
    stats = {"video": DecodeStats(), "audio": DecodeStats()}
    with _open(path) as container:
        chosen = [s for s in (_pick_video(container), _pick_audio(container)) if s is not None]
        origin, limit = _origin(container), _time_limit(container)
        spans: dict[int, list[tuple[float, float]]] = {s.index: [] for s in chosen}
        steps = {s.index: (1.0 / float(s.average_rate) if s.type == "video" and s.average_rate
                           else 0.0) for s in chosen}
        demux_errors = 0
        while chosen:
            try:
                for packet in container.demux(chosen):
                    if packet.size == 0:
                        continue
                    st = stats[packet.stream.type]
                    st.errors += bool(packet.is_corrupt)
                    st.frames += 1
                    t = _frame_time(packet)
                    if t is None or not -2.0 < t - origin < limit:
                        st.errors += t is not None
                        continue
                    dur = (float(packet.duration * packet.time_base)
                           if packet.duration and packet.time_base else steps[packet.stream.index])
                    spans[packet.stream.index].append((t - origin, dur))
                break
            except av.error.EOFError:
                break
            except av.FFmpegError:
                demux_errors += 1
                stats["video"].errors += 1  # a demux error belongs to no stream: video's
                if demux_errors > MAX_DEMUX_ERRORS:
                    break
        for s in chosen:  # in presentation order (B-frames arrive out of order)
            _spans_to_stats(sorted(spans[s.index]), max(GAP_S, 2.5 * steps[s.index]),
                            stats[s.type])
    return info, stats["video"], stats["audio"]


def _spans_to_stats(spans: list[tuple[float, float]], jump: float, st: DecodeStats) -> None:
    """End and gaps of a stream from its (start, duration) packets sorted by start."""
    end: Optional[float] = None
    for t, dur in spans:
        if end is None and t > jump:
            st.gaps.append((0.0, round(t, 4)))
        elif end is not None and t - end > jump:
            st.gaps.append((round(end, 4), round(t, 4)))
        end = t + dur if end is None else max(end, t + dur)
    st.end_s = max(0.0, end or 0.0)
