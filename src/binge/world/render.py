"""Drawing primitives for the procedural TV world (NumPy, float32 RGB in [0, 1]).

Every primitive paints in place on an ``(H, W, 3)`` float32 canvas with a one-pixel soft
edge (anti-aliasing), so that sub-pixel motion is visible at low resolution, and only
touches the bounding box of the shape (cheap per frame).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

Color = Sequence[float]
SHAPES = ("circle", "square", "diamond")


def _box(canvas: np.ndarray, cx: float, cy: float, rx: float, ry: float):
    """Integer bounding box (clipped to the canvas) and pixel-centre grids inside it."""
    h, w = canvas.shape[:2]
    x0, x1 = max(int(np.floor(cx - rx - 1)), 0), min(int(np.ceil(cx + rx + 2)), w)
    y0, y1 = max(int(np.floor(cy - ry - 1)), 0), min(int(np.ceil(cy + ry + 2)), h)
    if x0 >= x1 or y0 >= y1:
        return None
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    return (slice(y0, y1), slice(x0, x1)), xs, ys


def _paint(canvas: np.ndarray, sl, coverage: np.ndarray, color: Color, alpha: float) -> None:
    a = (np.clip(coverage, 0.0, 1.0) * alpha)[..., None]
    canvas[sl] = canvas[sl] * (1.0 - a) + np.asarray(color, np.float32) * a


def blob(
    canvas: np.ndarray,
    cx: float,
    cy: float,
    r: float,
    color: Color,
    shape: str = "circle",
    alpha: float = 1.0,
) -> None:
    """A filled circle / square / diamond of 'radius' ``r`` centred on (cx, cy) in pixels."""
    box = _box(canvas, cx, cy, r, r)
    if box is None or r <= 0:
        return
    sl, xs, ys = box
    dx, dy = np.abs(xs - cx), np.abs(ys - cy)
    if shape == "circle":
        dist = np.sqrt(dx * dx + dy * dy)
    elif shape == "square":
        dist = np.maximum(dx, dy)
    elif shape == "diamond":
        dist = (dx + dy) / np.sqrt(2.0)
    else:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    _paint(canvas, sl, r - dist + 0.5, color, alpha)


def rect(
    canvas: np.ndarray, x0: float, y0: float, x1: float, y1: float, color: Color, alpha: float = 1.0
) -> None:
    """An axis-aligned filled rectangle [x0, x1] × [y0, y1] (pixels, soft edges)."""
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2, abs(y1 - y0) / 2
    box = _box(canvas, cx, cy, rx, ry)
    if box is None:
        return
    sl, xs, ys = box
    cov = np.minimum(rx - np.abs(xs - cx) + 0.5, ry - np.abs(ys - cy) + 0.5)
    _paint(canvas, sl, cov, color, alpha)


def line(
    canvas: np.ndarray,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    width: float,
    color: Color,
    alpha: float = 1.0,
) -> None:
    """A segment of the given width from (x0, y0) to (x1, y1) with round caps."""
    half = width / 2
    box = _box(canvas, (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2 + half, abs(y1 - y0) / 2 + half)
    if box is None:
        return
    sl, xs, ys = box
    vx, vy = x1 - x0, y1 - y0
    denom = max(vx * vx + vy * vy, 1e-6)
    u = np.clip(((xs - x0) * vx + (ys - y0) * vy) / denom, 0.0, 1.0)
    dist = np.hypot(xs - (x0 + u * vx), ys - (y0 + u * vy))
    _paint(canvas, sl, half - dist + 0.5, color, alpha)


def ring(
    canvas: np.ndarray, cx: float, cy: float, r: float, width: float, color: Color
) -> None:
    """A circle outline of radius ``r`` and stroke ``width``."""
    box = _box(canvas, cx, cy, r + width, r + width)
    if box is None:
        return
    sl, xs, ys = box
    dist = np.abs(np.hypot(xs - cx, ys - cy) - r)
    _paint(canvas, sl, width / 2 - dist + 0.5, color, 1.0)


def hsv_to_rgb(h: np.ndarray | float, s: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
    """Vectorised HSV → RGB (all in [0, 1]); returns an array with a trailing axis of 3."""
    h, s, v = np.broadcast_arrays(np.asarray(h, np.float32), np.asarray(s, np.float32), np.asarray(v, np.float32))
    i = np.floor(h * 6.0) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    choices = [
        np.stack(c, -1)
        for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))
    ]
    out = np.zeros(h.shape + (3,), np.float32)
    for k, c in enumerate(choices):
        out = np.where((i == k)[..., None], c, out)
    return out
