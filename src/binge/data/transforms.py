"""Snippet transforms: the paper's pretraining augmentation (§4.1) and device-side
normalisation.

* video: random ``crop_size``² crop of the short-side frames (158 of 190 in the paper),
  centre crop when not augmenting; optional colour jitter of strength σ (Table 2):
  brightness, contrast and saturation factors each uniform in ``[max(0, 1−σ), 1+σ]``,
  one draw per snippet, applied in that order to all of its frames;
* audio: random dropout of up to 25 % of either the time or the frequency axis of the
  log-mel (one contiguous band, axis chosen with probability ½), filled with the
  snippet's mean log-mel value (as SpecAugment does);
* :func:`video_to_float`: (B, T, H, W, 3) uint8 → (B, 3, T, H, W) float32 normalised with
  the Kinetics mean/std, run on the device after the uint8 host→device copy.
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

__all__ = [
    "KINETICS_MEAN",
    "KINETICS_STD",
    "crop_box",
    "crop_video",
    "color_jitter",
    "draw_color_jitter",
    "apply_color_jitter",
    "mask_audio",
    "draw_audio_mask",
    "apply_audio_mask",
    "video_to_float",
]

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


def crop_box(height: int, width: int, size: int, rng: np.random.Generator | None) -> tuple[int, int]:
    """Top-left corner of a ``size``² crop: uniform if ``rng`` is given, else centred."""
    if size > height or size > width:
        raise ValueError(f"crop {size}x{size} does not fit frames of {height}x{width}; "
                         "lower augment.crop_size or prepare with a larger data.short_side")
    if rng is None:
        return (height - size) // 2, (width - size) // 2
    return int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))


def crop_video(video: np.ndarray, size: int, rng: np.random.Generator | None) -> np.ndarray:
    """Crop (T, H, W, 3) frames to (T, size, size, 3): random with ``rng``, else centre."""
    top, left = crop_box(video.shape[1], video.shape[2], size, rng)
    return video[:, top:top + size, left:left + size]


def color_jitter(video: torch.Tensor, sigma: float, rng: np.random.Generator) -> torch.Tensor:
    """Colour jitter of strength σ on (T, H, W, 3) uint8 frames, one draw per snippet.

    Brightness, contrast, saturation ~ U[max(0, 1−σ), 1+σ] (paper Table 2), applied in that
    order with torchvision's functional ops; returns uint8 (T, H, W, 3).
    """
    if sigma <= 0:
        return video
    return apply_color_jitter(video, draw_color_jitter(sigma, rng))


def draw_color_jitter(sigma: float, rng: np.random.Generator) -> tuple[float, float, float]:
    """The brightness, contrast and saturation factors of :func:`color_jitter` (σ > 0), drawn
    from ``rng`` in that order: what ``color_jitter`` draws, without touching the frames."""
    lo, hi = max(0.0, 1.0 - sigma), 1.0 + sigma
    b, c, s = (float(rng.uniform(lo, hi)) for _ in range(3))
    return b, c, s


def apply_color_jitter(video: torch.Tensor, factors: tuple[float, float, float]) -> torch.Tensor:
    """(T, H, W, 3) uint8 frames with brightness, contrast, saturation ``factors`` applied in
    that order (torchvision's functional ops); returns uint8 (T, H, W, 3)."""
    b, c, s = factors
    x = video.permute(0, 3, 1, 2)  # (T, 3, H, W)
    x = TF.adjust_brightness(x, b)
    x = TF.adjust_contrast(x, c)
    x = TF.adjust_saturation(x, s)
    return x.permute(0, 2, 3, 1).contiguous()


def mask_audio(logmel: np.ndarray, max_fraction: float, rng: np.random.Generator,
               copy: bool = True) -> np.ndarray:
    """Drop a random band of up to ``max_fraction`` of the time or the frequency axis.

    Args:
        logmel: (P, Q) log-mel (P mel bins, Q frames); modified in a copy, or in place when
            ``copy=False`` and it is already a writeable float32 array.
    Returns:
        (P, Q) with the band set to the snippet's mean value.
    """
    out = np.array(logmel, dtype=np.float32, copy=copy or None)
    band = draw_audio_mask(out.shape, max_fraction, rng)
    return out if band is None else apply_audio_mask(out, band)


def draw_audio_mask(shape: tuple[int, int], max_fraction: float,
                    rng: np.random.Generator) -> tuple[int, int, int] | None:
    """The band :func:`mask_audio` drops from a (P, Q) log-mel: ``(axis, start, width)``
    (axis 0: frequency, 1: time), or None when the drawn width is 0. Draws axis, width and
    (width > 0) start from ``rng`` in that order; depends on the shape only, not the values."""
    axis = int(rng.integers(0, 2))  # 0: frequency, 1: time
    size = shape[axis]
    width = int(rng.integers(0, int(max_fraction * size) + 1))
    if width == 0:
        return None
    return axis, int(rng.integers(0, size - width + 1)), width


def apply_audio_mask(out: np.ndarray, band: tuple[int, int, int]) -> np.ndarray:
    """Set ``band = (axis, start, width)`` of the (P, Q) float32 ``out`` to its mean value,
    in place; returns ``out``."""
    axis, start, width = band
    total = np.add.reduce(out, axis=None)  # = out.mean()·size, without np.mean's ~6 µs overhead
    fill = float(total.dtype.type(total / out.size))
    if axis == 0:
        out[start:start + width, :] = fill
    else:
        out[:, start:start + width] = fill
    return out


def video_to_float(video: torch.Tensor) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 → (B, 3, T, H, W) float32 in Kinetics-normalised units.

    ``x / 255`` then ``(x − mean) / std`` per channel. A single (T, H, W, 3) snippet gives
    (3, T, H, W). Runs on whatever device ``video`` is on.
    """
    if video.dtype != torch.uint8:
        raise TypeError(f"video_to_float expects uint8 frames, got {video.dtype}")
    if video.ndim not in (4, 5) or video.shape[-1] != 3:
        raise ValueError(f"expected (B, T, H, W, 3) or (T, H, W, 3), got {tuple(video.shape)}")
    x = video.to(torch.float32).div_(255.0)
    mean = torch.tensor(KINETICS_MEAN, device=x.device, dtype=x.dtype)
    std = torch.tensor(KINETICS_STD, device=x.device, dtype=x.dtype)
    x = (x - mean) / std
    return x.movedim(-1, -4).contiguous()  # channels before T
