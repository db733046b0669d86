"""Independent measurements on decoded world media (PyAV + NumPy only): the audio
envelope around recorded onsets, and the moving object's state at recorded onsets."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

HOP_S = 0.005


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as c:
        parts, sr = [], 0
        for f in c.decode(audio=0):
            sr = f.sample_rate
            parts.append(f.to_ndarray().mean(axis=0))
    return np.concatenate(parts).astype(np.float64), sr


def decode_frames(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """All frames (N, H, W, 3) uint8 and their presentation times (s)."""
    frames, times = [], []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(float(f.time))
    return np.stack(frames), np.asarray(times)


class Envelope:
    """Mean power in hops of ``round(5 ms · sr)`` samples; ``hop_s`` is the exact hop in
    seconds (110 samples at 22.05 kHz is 4.989 ms, not 5 ms: using 5 ms would drift)."""

    def __init__(self, x: np.ndarray, sr: int):
        hop = int(round(HOP_S * sr))
        n = x.shape[0] // hop
        self.power = (x[: n * hop].reshape(n, hop) ** 2).mean(axis=1)
        self.hop_s = hop / sr

    def index(self, t: float) -> int:
        return max(int(np.floor(t / self.hop_s)), 0)


def energy_envelope(x: np.ndarray, sr: int) -> Envelope:
    return Envelope(x, sr)


def window_max(env: Envelope, t: float, before: float = 0.015, after: float = 0.06) -> float:
    return float(env.power[env.index(t - before) : env.index(t + after) + 1].max())


def onset_contrast(env: Envelope, onsets: list[float]) -> list[float]:
    """For each onset with a next onset in the same scene: peak power around the onset
    over peak power around the midpoint to the next onset (> 1: the sound marks it)."""
    out = []
    for a, b in zip(onsets[:-1], onsets[1:]):
        out.append(window_max(env, a) / (window_max(env, (a + b) / 2) + 1e-12))
    return out


# per class: which foreground statistic is extreme at the onset, and in which direction
# and which frame shows the onset: the nearest one for an instant (contact, extreme), the
# first at/after it for a state that starts there (lit, landed, swollen), the last at/before
# it for a state that ends there (waiting on the pad)
VISUAL_SIGNATURE = {
    "bouncing_ball": ("y", +1, "nearest"),  # lowest point (largest y) at floor contact
    "falling_object": ("y", +1, "after"),  # lands on the floor
    "launching_rocket": ("y", +1, "before"),  # on the pad at launch
    "spinning_wheel": ("y", -1, "nearest"),  # marker at the top
    "pendulum": ("dx", +1, "nearest"),  # bob at an extreme of its swing
    "sliding_block": ("dx", +1, "nearest"),  # block at an end of the rail
    "pulsing_shape": ("area", +1, "after"),  # largest at the pulse
    "flashing_lamp": ("area", +1, "after"),  # lit
}


def frame_for(times: np.ndarray, t: float, rule: str) -> int:
    """Index of the frame that shows time t under ``rule`` (see VISUAL_SIGNATURE)."""
    if rule == "after":
        return int(np.searchsorted(times, t - 1e-6))
    if rule == "before":
        return int(np.searchsorted(times, t + 1e-6)) - 1
    return int(np.argmin(np.abs(times - t)))


def attack_time(env: Envelope, t: float, frac: float = 0.25) -> float:
    """Start time of the first hop in [t − 50 ms, t + 60 ms] whose power reaches ``frac`` of
    the peak there."""
    i0, i1 = env.index(t - 0.05), env.index(t + 0.06) + 1
    seg = env.power[i0:i1]
    return (i0 + int(np.argmax(seg >= frac * seg.max()))) * env.hop_s


def foreground_stats(frames: np.ndarray, box: list[float], thresh: float = 40.0) -> dict[str, np.ndarray]:
    """Per-frame foreground (|frame − per-pixel median| summed over RGB > thresh) inside
    the event's box: its area, centroid y and |centroid x − median centroid x|."""
    h, w = frames.shape[1:3]
    x0, y0 = max(int(box[0]), 0), max(int(box[1]), 0)
    x1, y1 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
    crop = frames[:, y0:y1, x0:x1].astype(np.float32)
    fg = np.abs(crop - np.median(crop, axis=0)).sum(-1) > thresh
    area = fg.sum((1, 2)).astype(np.float64)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    safe = np.maximum(area, 1)
    cy = (fg * ys).sum((1, 2)) / safe
    cx = (fg * xs).sum((1, 2)) / safe
    cy[area == 0] = np.nan
    cx[area == 0] = np.nan
    return {"area": area, "y": cy, "dx": np.abs(cx - np.nanmedian(cx))}


def percentile_at(values: np.ndarray, idx: int, sign: int) -> float:
    """Fraction of the scene's frames whose statistic is ≤ the value at frame idx (sign +1)
    or ≥ it (sign −1): 1.0 means the onset frame is the extreme."""
    v = values[idx]
    ok = ~np.isnan(values)
    if np.isnan(v):
        return 0.0
    return float(np.mean(values[ok] <= v) if sign > 0 else np.mean(values[ok] >= v))


def peak_time(env: Envelope, t: float, half_window: float, smooth_s: float = 0.045) -> float:
    """Time of the (moving-average smoothed) power maximum within t ± half_window."""
    k = max(1, int(round(smooth_s / env.hop_s)))
    smooth = np.convolve(env.power, np.ones(k) / k, mode="same")
    i0, i1 = env.index(t - half_window), env.index(t + half_window) + 1
    return (i0 + int(np.argmax(smooth[i0:i1])) + 0.5) * env.hop_s
