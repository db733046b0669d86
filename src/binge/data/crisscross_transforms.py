"""CrissCross augmentation (crisscross_supplement.md §D, Tables S1–S4) and its two views.

Selected with ``augment.pipeline: crisscross``. Applied to one raw snippet sample of
:class:`binge.data.SnippetDataset` — ``video`` (T, H, W, 3) uint8 short-side frames,
``audio`` (1, P, Q) log-mel (natural log of mel power, :mod:`binge.data.logmel`):

Relaxed synchronicity. With ``two_views`` (the CrissCross objective) the snippet yields two
windows, each ``view_fraction`` f of its length, starting at fractions u1, u2 ~ U[0, 1 − f]:
view k takes video frames [round(u_k·T), +round(f·T)) and the log-mel frames of the same span
[round(u_k·Q), +round(f·Q)). (v1, a1) and (v2, a2) are each in sync; v1–a2 are not; with
f > ½ the two windows always overlap. Keys out: ``video``, ``audio`` (view 1), ``video2``,
``audio2`` (view 2). Without ``two_views`` the whole snippet is one view.

Video, per view (Table S1; all frames of a view share one draw):
multi-scale crop (area ∈ [0.08, 1], aspect ∈ [3/4, 4/3], resized to ``crop_size``²),
horizontal flip p = ½, colour jitter (brightness, contrast, saturation 0.4, hue 0.2, random
order; applied with probability ``jitter_p`` — Table S1 gives no probability, so 1),
grayscale p = 0.2, Gaussian blur p = ½ (kernel ≈ 10 % of the crop, σ ∈ [0.1, 2], as SimCLR),
cutout: one square hole of side ≤ 20 px filled with the mean colour of the first frame.

Audio, per view (Table S2; pretraining uses VJ, masks and RC, not time warp — Table S4):
random resized crop (BYOL-A: a virtual canvas 1.0× the mel axis and 1.5× the time axis,
filled with the spectrogram's mean, the spectrogram centred; a crop of 0.6–1.5× each axis
resized back bilinearly), volume jitter (gain g ∈ [0.8, 1.2] on the waveform = + 2·log g on the
log-mel), two time masks of ≤ 20 frames and two frequency masks of ≤ 10 bins (SpecAugment,
filled with the mean), time warp (window 20, off by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

__all__ = [
    "VideoAugment",
    "AudioAugment",
    "CrissCrossTransform",
    "build_transform",
    "view_windows",
    "multiscale_crop",
    "color_jitter",
    "cutout",
    "volume_jitter",
    "spec_masks",
    "random_resize_crop_spec",
    "time_warp",
]


@dataclass(frozen=True)
class VideoAugment:
    """Table S1."""

    crop_size: int = 112
    min_area: float = 0.08
    flip_p: float = 0.5
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.2
    jitter_p: float = 1.0
    gray_p: float = 0.2
    blur_p: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    cutout_max: int = 20
    cutout_num: int = 1


@dataclass(frozen=True)
class AudioAugment:
    """Table S2 (time warp off in pretraining, Table S4)."""

    volume: float = 0.2
    time_mask_max: int = 20
    time_mask_num: int = 2
    freq_mask_max: int = 10
    freq_mask_num: int = 2
    crop_scale: tuple[float, float] = (0.6, 1.5)
    canvas_scale: tuple[float, float] = (1.0, 1.5)  # (mel axis, time axis)
    random_crop: bool = True
    time_warp: int = 0  # window W; 0 = off


# ----------------------------------------------------------------------------- windows
def view_windows(length: int, fraction: float, u: float) -> tuple[int, int]:
    """[start, stop) of a window of round(f·length) items starting at fraction u."""
    n = max(1, min(length, int(round(fraction * length))))
    start = min(length - n, max(0, int(round(u * length))))
    return start, start + n


# ----------------------------------------------------------------------------- video
def multiscale_crop(x: Tensor, size: int, min_area: float, rng: np.random.Generator) -> Tensor:
    """(T, 3, H, W) → (T, 3, size, size): a random crop of area ∈ [min_area, 1] of the frame
    and aspect ∈ [3/4, 4/3] (10 tries, then the largest centred square), resized."""
    h, w = x.shape[-2:]
    for _ in range(10):
        area = h * w * rng.uniform(min_area, 1.0)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = int(round(math.sqrt(area * ratio))), int(round(math.sqrt(area / ratio)))
        if 0 < cw <= w and 0 < ch <= h:
            top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            break
    else:
        ch = cw = min(h, w)
        top, left = (h - ch) // 2, (w - cw) // 2
    return TF.resized_crop(x, top, left, ch, cw, [size, size], antialias=True)


def color_jitter(x: Tensor, aug: VideoAugment, rng: np.random.Generator) -> Tensor:
    """Brightness/contrast/saturation ∈ [1−s, 1+s], hue ∈ [−h, h], in a random order."""
    ops = [
        lambda y: TF.adjust_brightness(y, rng.uniform(1 - aug.brightness, 1 + aug.brightness)),
        lambda y: TF.adjust_contrast(y, rng.uniform(1 - aug.contrast, 1 + aug.contrast)),
        lambda y: TF.adjust_saturation(y, rng.uniform(1 - aug.saturation, 1 + aug.saturation)),
        lambda y: TF.adjust_hue(y, rng.uniform(-aug.hue, aug.hue)),
    ]
    for i in rng.permutation(len(ops)):
        x = ops[int(i)](x)
    return x


def cutout(x: Tensor, max_size: int, num: int, rng: np.random.Generator) -> Tensor:
    """``num`` square holes of side ∈ [1, max_size] (centre anywhere in the frame, clipped at
    the border), the same in every frame, filled with the first frame's mean colour."""
    x = x.clone()
    h, w = x.shape[-2:]
    fill = x[0].float().mean(dim=(1, 2)).round().to(x.dtype)  # (3,)
    for _ in range(num):
        side = int(rng.integers(1, max_size + 1))
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
        y0, y1 = max(0, cy - side // 2), min(h, cy - side // 2 + side)
        x0, x1 = max(0, cx - side // 2), min(w, cx - side // 2 + side)
        x[:, :, y0:y1, x0:x1] = fill[None, :, None, None]
    return x


def augment_video(video: Tensor, aug: VideoAugment, rng: np.random.Generator) -> Tensor:
    """(T, H, W, 3) uint8 → (T, crop, crop, 3) uint8 with Table S1's chain."""
    x = video.permute(0, 3, 1, 2)  # (T, 3, H, W)
    x = multiscale_crop(x, aug.crop_size, aug.min_area, rng)
    if rng.random() < aug.flip_p:
        x = TF.horizontal_flip(x)
    if rng.random() < aug.jitter_p:
        x = color_jitter(x, aug, rng)
    if rng.random() < aug.gray_p:
        x = TF.rgb_to_grayscale(x, num_output_channels=3)
    if rng.random() < aug.blur_p:
        k = max(3, int(0.1 * aug.crop_size) // 2 * 2 + 1)
        sigma = float(rng.uniform(*aug.blur_sigma))
        x = TF.gaussian_blur(x, [k, k], [sigma, sigma])
    if aug.cutout_num > 0 and aug.cutout_max > 0:
        x = cutout(x, aug.cutout_max, aug.cutout_num, rng)
    return x.permute(0, 2, 3, 1).contiguous()


# ----------------------------------------------------------------------------- audio
def volume_jitter(spec: Tensor, amount: float, rng: np.random.Generator) -> Tensor:
    """Gain g ∈ [1−a, 1+a] on the waveform: log-mel + 2·log g (power scales with g²)."""
    gain = float(rng.uniform(1 - amount, 1 + amount))
    return spec + 2.0 * math.log(gain)


def spec_masks(
    spec: Tensor, axis: int, max_width: int, num: int, rng: np.random.Generator
) -> Tensor:
    """``num`` bands of width ∈ [0, max_width] along ``axis`` (−1 time, −2 mel), set to the
    spectrogram's mean (SpecAugment)."""
    spec = spec.clone()
    fill = float(spec.mean())
    size = spec.shape[axis]
    for _ in range(num):
        width = int(rng.integers(0, min(max_width, size) + 1))
        start = int(rng.integers(0, size - width + 1))
        spec.narrow(axis, start, width).fill_(fill)
    return spec


def random_resize_crop_spec(
    spec: Tensor,
    crop_scale: tuple[float, float],
    canvas_scale: tuple[float, float],
    rng: np.random.Generator,
) -> Tensor:
    """BYOL-A random resized crop of a (1, P, Q) log-mel (module docstring); same shape out."""
    _, p, q = spec.shape
    cp, cq = int(round(p * canvas_scale[0])), int(round(q * canvas_scale[1]))
    canvas = torch.full((1, cp, cq), float(spec.mean()), dtype=spec.dtype)
    o_p, o_q = (cp - p) // 2, (cq - q) // 2
    canvas[:, o_p:o_p + p, o_q:o_q + q] = spec
    hp = min(cp, max(1, int(round(p * rng.uniform(*crop_scale)))))
    hq = min(cq, max(1, int(round(q * rng.uniform(*crop_scale)))))
    top, left = int(rng.integers(0, cp - hp + 1)), int(rng.integers(0, cq - hq + 1))
    crop = canvas[:, top:top + hp, left:left + hq]
    return F.interpolate(crop[None], size=(p, q), mode="bilinear", align_corners=True)[0]


def time_warp(spec: Tensor, window: int, rng: np.random.Generator) -> Tensor:
    """SpecAugment time warp: the frame at centre c ∈ [W, Q−W) moves to c + w, w ∈ [−W, W];
    each side is resampled linearly. (1, P, Q) → (1, P, Q)."""
    q = spec.shape[-1]
    if window <= 0 or q <= 2 * window + 1:
        return spec
    c = int(rng.integers(window, q - window))
    w = int(rng.integers(-window, window + 1))
    left = F.interpolate(spec[None, :, :, :c], size=(spec.shape[1], c + w), mode="bilinear",
                         align_corners=False)[0]
    right = F.interpolate(spec[None, :, :, c:], size=(spec.shape[1], q - c - w), mode="bilinear",
                          align_corners=False)[0]
    return torch.cat([left, right], dim=-1)


def augment_audio(spec: Tensor, aug: AudioAugment, rng: np.random.Generator) -> Tensor:
    """(1, P, Q) float log-mel → (1, P, Q) with Table S2's chain."""
    if aug.random_crop:
        spec = random_resize_crop_spec(spec, aug.crop_scale, aug.canvas_scale, rng)
    if aug.volume > 0:
        spec = volume_jitter(spec, aug.volume, rng)
    spec = spec_masks(spec, -1, aug.time_mask_max, aug.time_mask_num, rng)
    spec = spec_masks(spec, -2, aug.freq_mask_max, aug.freq_mask_num, rng)
    if aug.time_warp > 0:
        spec = time_warp(spec, aug.time_warp, rng)
    return spec


# ----------------------------------------------------------------------------- the transform
class CrissCrossTransform:
    """Callable on a raw SnippetDataset sample dict (module docstring); other keys pass through.

    ``rng``: a ``numpy.random.Generator``; without one a generator is seeded from torch's
    global RNG (which DataLoader seeds per worker), so runs are reproducible under a seed.
    """

    def __init__(
        self,
        video: VideoAugment = VideoAugment(),
        audio: AudioAugment = AudioAugment(),
        two_views: bool = True,
        view_fraction: float = 0.75,
    ) -> None:
        if not 0.0 < view_fraction <= 1.0:
            raise ValueError(f"view_fraction must be in (0, 1], got {view_fraction}")
        self.video, self.audio = video, audio
        self.two_views = two_views
        self.view_fraction = view_fraction if two_views else 1.0

    def __call__(self, sample: dict[str, Any], rng: Optional[np.random.Generator] = None) -> dict[str, Any]:
        if rng is None:
            rng = np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))
        video = torch.as_tensor(np.asarray(sample["video"]))
        audio = torch.as_tensor(np.asarray(sample["audio"]), dtype=torch.float32)
        if video.dtype != torch.uint8 or video.ndim != 4 or video.shape[-1] != 3:
            raise ValueError(f"expected video (T, H, W, 3) uint8, got {tuple(video.shape)} {video.dtype}")
        if audio.ndim == 2:
            audio = audio[None]
        out = dict(sample)
        names = [("video", "audio"), ("video2", "audio2")] if self.two_views else [("video", "audio")]
        for vkey, akey in names:
            u = float(rng.uniform(0.0, 1.0 - self.view_fraction))
            t0, t1 = view_windows(video.shape[0], self.view_fraction, u)
            q0, q1 = view_windows(audio.shape[-1], self.view_fraction, u)
            out[vkey] = augment_video(video[t0:t1], self.video, rng)
            out[akey] = augment_audio(audio[..., q0:q1], self.audio, rng)
        return out


def build_transform(cfg: Any, two_views: bool = True) -> CrissCrossTransform:
    """The transform of a :class:`binge.config.Config`: crop from ``augment.crop_size``, view
    fraction from ``objective.crisscross.view_fraction``; ``two_views`` (the CrissCross
    objective's views) or one."""
    return CrissCrossTransform(
        VideoAugment(crop_size=cfg.augment.crop_size),
        AudioAugment(),
        two_views=two_views,
        view_fraction=cfg.objective.crisscross.view_fraction,
    )
