"""Generators of real-world conditions (issue 13), written with PyAV only.

Each generator writes a small title whose ground truth is known by construction: the
RGB of colour patches, the shape of a disc, the upright direction, and the times of
audio-visual events (a white flash + a 1 kHz click). Conditions: colour matrix / range
/ tags, sample aspect ratio, display-matrix rotation, streams of different lengths, a
header that lies about the duration, damaged bytes, missing audio packets, degenerate
streams.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional, Sequence

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

#: colour card: (RGB) patches laid out left to right, top row then bottom row
PATCHES = np.array([[36, 36, 36], [219, 219, 219], [200, 40, 40], [40, 180, 60],
                    [50, 60, 200], [230, 180, 140], [128, 128, 128], [250, 240, 20]],
                   dtype=np.uint8)

#: matrix name → (swscale matrix, AVColorSpace tag, primaries tag, transfer tag)
MATRICES = {
    "bt601": (int(Colorspace.ITU601), 6, 6, 6),
    "bt709": (int(Colorspace.ITU709), 1, 1, 1),
    "bt2020": (int(Colorspace.BT2020), 9, 9, 14),
}


def card(width: int, height: int) -> np.ndarray:
    """The colour card as an (H, W, 3) uint8 image: 4 × 2 patches."""
    img = np.zeros((height, width, 3), dtype=np.uint8)
    for i, rgb in enumerate(PATCHES):
        r, c = divmod(i, 4)
        img[r * height // 2:(r + 1) * height // 2, c * width // 4:(c + 1) * width // 4] = rgb
    return img


def patch_means(img: np.ndarray) -> np.ndarray:
    """Mean RGB of the centre half of each card patch of an (H, W, 3) image: (8, 3)."""
    h, w = img.shape[:2]
    out = []
    for i in range(len(PATCHES)):
        r, c = divmod(i, 4)
        y0, y1 = r * h // 2, (r + 1) * h // 2
        x0, x1 = c * w // 4, (c + 1) * w // 4
        dy, dx = (y1 - y0) // 4, (x1 - x0) // 4
        out.append(img[y0 + dy:y1 - dy, x0 + dx:x1 - dx].reshape(-1, 3).mean(axis=0))
    return np.array(out)


def disc(width: int, height: int, sar: Fraction = Fraction(1)) -> np.ndarray:
    """A white disc, round when displayed with sample aspect ratio ``sar``, on black,
    with a red square in the top-left quadrant (which way is up): stored (H, W, 3)."""
    img = np.zeros((height, width, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    r = 0.35 * height
    x = (xx + 0.5 - width / 2) * float(sar)  # display units
    y = yy + 0.5 - height / 2
    img[x ** 2 + y ** 2 <= r ** 2] = 255
    img[: height // 6, : width // 6] = (255, 0, 0)
    return img


def upright_marker(img: np.ndarray) -> str:
    """Which corner of an (H, W, 3) image holds the red square ('tl', 'tr', 'bl', 'br')."""
    h, w = img.shape[:2]
    red = (img[..., 0].astype(int) - img[..., 1]) > 100
    ys, xs = np.nonzero(red)
    return ("t" if ys.mean() < h / 2 else "b") + ("l" if xs.mean() < w / 2 else "r")


def disc_roundness(img: np.ndarray) -> float:
    """Width / height of the white disc in an (H, W, 3) image, from the second moments of
    its brightness (std of x over std of y; 1 for a circle, sub-pixel accurate)."""
    white = np.clip(img.min(axis=2).astype(np.float64) - 64, 0, None)  # the disc only
    ys, xs = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    total = white.sum()
    mx, my = (white * xs).sum() / total, (white * ys).sum() / total
    vx = (white * (xs - mx) ** 2).sum() / total
    vy = (white * (ys - my) ** 2).sum() / total
    return float(np.sqrt(vx / vy))


def _tone(total: int, sr: int, clicks: Sequence[float], click_s: float,
          rng: np.random.Generator) -> np.ndarray:
    t = np.arange(total) / sr
    y = 0.001 * rng.standard_normal(total)
    for e in clicks:
        on = (t >= e) & (t < e + click_s)
        y[on] += 0.8 * np.sin(2 * np.pi * 1000 * t[on])
    return y.astype(np.float32)


def make_clip(
    path: Path,
    duration_s: float = 4.0,
    image: Optional[Callable[[float], np.ndarray]] = None,
    size: tuple[int, int] = (160, 120),
    fps: float = 25.0,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    matrix: str = "bt601",
    full_range: bool = False,
    tag: bool = True,
    sar: Optional[Fraction] = None,
    rotation: int = 0,
    events: Sequence[float] = (),
    flash_s: float = 0.2,
    audio: bool = True,
    audio_s: Optional[float] = None,
    audio_samples: Optional[int] = None,
    video_frames: Optional[int] = None,
    sample_rate: int = 16_000,
    drop_audio: Optional[tuple[float, float]] = None,
    click_s: float = 0.05,
    seed: int = 0,
    faststart: bool = False,
) -> Path:
    """Write one title (container from the suffix) and return its path.

    Video: ``image(t)`` (stored pixels, (H, W, 3) uint8 RGB; default: the colour card,
    white during the flashes at ``events``), encoded to YCbCr with ``matrix`` and range
    (full or limited), tagged (matrix, primaries, transfer, range) or not; ``sar`` and
    ``rotation`` (display matrix, degrees counter-clockwise, MP4/MOV) as given.
    Audio: AAC mono, noise + 1 kHz clicks at ``events``, ``audio_s`` long (default: the
    video's length), or exactly ``audio_samples`` samples; ``drop_audio=(a, b)``: packets
    starting in [a, b) are not written (a timestamp gap).
    """
    path = Path(path)
    rng = np.random.default_rng(seed)
    w, h = size
    image = image or (lambda t: np.full((h, w, 3), 235, np.uint8)
                      if any(e <= t < e + flash_s for e in events) else card(w, h))
    sws, spc, pri, trc = MATRICES[matrix]
    crange = int(ColorRange.JPEG if full_range else ColorRange.MPEG)
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), mode="w", options=options) as out:
        rate = Fraction(fps).limit_denominator(1000)
        vs = out.add_stream(codec, rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        vs.time_base = Fraction(1, 1000)
        cc = vs.codec_context
        if tag:
            cc.colorspace, cc.color_primaries, cc.color_trc = spc, pri, trc
            cc.color_range = crange
        elif full_range and not pix_fmt.startswith("yuvj"):
            raise ValueError("untagged full range needs a yuvj pixel format")
        if codec == "libx264":  # a keyframe every 2 s, as distributed files have
            gop = str(max(1, int(round(2 * fps))))
            vs.options = {"preset": "ultrafast", "g": gop, "keyint_min": gop}
        if sar is not None:
            cc.sample_aspect_ratio = sar
        if rotation:
            vs.set_display_rotation(rotation)
        streams = [vs]
        if audio:
            as_ = out.add_stream("aac", rate=sample_rate, layout="mono")
            streams.append(as_)
        n = video_frames if video_frames is not None else int(round(duration_s * fps))
        for i in range(n):
            t = i / fps
            frame = av.VideoFrame.from_ndarray(image(t), format="rgb24").reformat(
                format=pix_fmt, dst_colorspace=sws, dst_color_range=crange)
            frame.pts = int(round(t * 1000))
            frame.time_base = Fraction(1, 1000)
            for p in vs.encode(frame):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
        if audio:
            total = (audio_samples if audio_samples is not None
                     else int(round((audio_s if audio_s is not None else duration_s)
                                    * sample_rate)))
            y = _tone(total, sample_rate, events, click_s, rng)
            fs = as_.codec_context.frame_size or 1024
            for start in range(0, total, fs):
                frame = av.AudioFrame.from_ndarray(y[None, start:start + fs].copy(),
                                                   format="fltp", layout="mono")
                frame.sample_rate, frame.pts = sample_rate, start
                frame.time_base = Fraction(1, sample_rate)
                for p in as_.encode(frame):
                    _mux_audio(out, p, drop_audio)
            for p in as_.encode(None):
                _mux_audio(out, p, drop_audio)
    return path


def _mux_audio(out, packet, drop: Optional[tuple[float, float]]) -> None:
    if drop is not None and packet.pts is not None:
        t = float(packet.pts * packet.time_base)
        if drop[0] <= t < drop[1]:
            return
    out.mux(packet)


def damage(path: Path, fraction: float, nbytes: int = 1536, seed: int = 0) -> Path:
    """Overwrite ``nbytes`` of ``path`` with random bytes, starting at ``fraction`` of
    its size (kept past the container header: MP4 ``mdat`` start, MKV first cluster)."""
    data = bytearray(path.read_bytes())
    first = max(data.find(b"mdat"), data.find(b"\x1f\x43\xb6\x75")) + 64  # mdat / Cluster
    start = min(max(int(fraction * len(data)), first), len(data) - nbytes - 64)
    data[start:start + nbytes] = np.random.default_rng(seed).integers(
        0, 256, nbytes, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def lie_about_duration(path: Path, factor: float = 10.0) -> Path:
    """Multiply the Matroska Segment Info Duration (EBML 0x4489, an 8-byte float) by
    ``factor`` in place: a header that announces more than the content."""
    data = bytearray(path.read_bytes())
    i = data.find(b"\x44\x89\x88")
    if i < 0:
        raise ValueError(f"{path}: no 8-byte Matroska Duration element")
    value = np.frombuffer(bytes(data[i + 3:i + 11]), dtype=">f8")[0]
    data[i + 3:i + 11] = np.array([value * factor], dtype=">f8").tobytes()
    path.write_bytes(bytes(data))
    return path
