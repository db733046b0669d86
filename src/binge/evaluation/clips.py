"""Training clips and test views for the downstream protocols (paper §4.1 "Downstream
Evaluation"), as torch datasets over the decode-once sources of
:mod:`binge.data.datasets.sources`.

Video (shapes per sample): a (T, H, W, 3) uint8 source → clips of ``frames`` frames →
(3, frames, crop, crop) float, scaled to [0, 1] and normalised with the encoder's
``input_spec`` mean/std. Training: a random start, scale jitter of the shorter side in
``scale_jitter``, a random crop, horizontal flip, colour jitter. Test: ``test_clips``
uniform starts × ``test_crops`` crops (left, centre, right) after resizing the shorter side
to ``test_short_side``.

Audio: a (P, T) log-mel source → (1, P, Q) clips of ``audio_seconds``; clips of a shorter
file are padded with digital silence (``log(LOG_EPS)``). Training: a random start, then one
time mask and one frequency mask each up to ``audio_mask_max_fraction`` of its axis
(filled with the clip mean); test: ``test_clips`` uniform starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from binge.data.logmel import LOG_EPS
from binge.data.transforms import color_jitter
from binge.evaluation.views import View, random_start, view_grid

__all__ = [
    "VideoGeometry",
    "AudioGeometry",
    "take_frames",
    "take_columns",
    "resize_short_side",
    "time_freq_mask",
    "TrainClips",
    "ViewClips",
    "collate_views",
]

SILENCE = float(math.log(LOG_EPS))


@dataclass(frozen=True)
class VideoGeometry:
    frames: int
    crop: int
    test_short_side: int
    scale_jitter: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    hflip: bool = True
    color_jitter: float = 0.0


@dataclass(frozen=True)
class AudioGeometry:
    frames: int  # Q, log-mel columns per clip
    mask_max_fraction: float = 0.5


def take_frames(video: np.ndarray, start: int, n: int) -> np.ndarray:
    """Frames ``start … start + n − 1`` of (T, H, W, 3); a short video repeats its last frame."""
    idx = np.minimum(np.arange(start, start + n), len(video) - 1)
    return np.asarray(video[idx])


def take_columns(spec: np.ndarray, start: int, n: int) -> np.ndarray:
    """Columns ``start … start + n − 1`` of a (P, T) log-mel; past the end: silence."""
    out = np.full((spec.shape[0], n), SILENCE, dtype=np.float32)
    part = spec[:, start : start + n]
    out[:, : part.shape[1]] = part
    return out


def resize_short_side(clip: torch.Tensor, short: int) -> torch.Tensor:
    """(T, 3, H, W) float → shorter side ``short``, aspect kept (bilinear, antialiased)."""
    h, w = clip.shape[-2:]
    if min(h, w) == short:
        return clip
    scale = short / min(h, w)
    size = (max(short, round(h * scale)), max(short, round(w * scale)))
    return F.interpolate(clip, size=size, mode="bilinear", align_corners=False, antialias=True)


def time_freq_mask(spec: np.ndarray, max_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """One frequency AND one time mask on (P, Q), each of width U{0 … ⌊max_fraction·axis⌋},
    filled with the clip mean (paper §4.1 for ESC-50; pretraining's
    ``binge.data.transforms.mask_audio`` masks one axis only)."""
    spec = spec.copy()
    fill = float(spec.mean())
    for axis in (0, 1):
        size = spec.shape[axis]
        width = int(rng.integers(0, int(max_fraction * size) + 1))
        start = int(rng.integers(0, size - width + 1))
        if axis == 0:
            spec[start : start + width, :] = fill
        else:
            spec[:, start : start + width] = fill
    return spec


def _normalise(clip: torch.Tensor, geo: VideoGeometry) -> torch.Tensor:
    """(T, 3, H, W) in [0, 1] → (3, T, H, W) normalised with the encoder's mean/std."""
    mean = torch.tensor(geo.mean).view(1, 3, 1, 1)
    std = torch.tensor(geo.std).view(1, 3, 1, 1)
    return ((clip - mean) / std).permute(1, 0, 2, 3).contiguous()


def _to_float(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0


class TrainClips(Dataset):
    """One augmented random clip per sample and epoch: ``(x, label)``.

    The randomness of sample ``i`` in epoch ``e`` comes from the seed ``(seed, e, i)`` alone,
    so a run resumed at an epoch boundary draws the same clips (and any worker order does).
    """

    def __init__(self, source, labels: Sequence[int], geometry, seed: int = 0) -> None:
        self.source, self.labels, self.geo, self.seed = source, list(labels), geometry, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        rng = np.random.default_rng([self.seed, self.epoch, i])
        data = self.source[i]
        if isinstance(self.geo, AudioGeometry):
            spec = take_columns(data, random_start(rng, data.shape[1], self.geo.frames), self.geo.frames)
            spec = time_freq_mask(spec, self.geo.mask_max_fraction, rng)
            return torch.from_numpy(spec).unsqueeze(0), self.labels[i]
        geo: VideoGeometry = self.geo
        clip = _to_float(take_frames(data, random_start(rng, len(data), geo.frames), geo.frames))
        lo, hi = geo.scale_jitter
        clip = resize_short_side(clip, int(rng.integers(lo, hi + 1)))
        h, w = clip.shape[-2:]
        y0, x0 = int(rng.integers(0, h - geo.crop + 1)), int(rng.integers(0, w - geo.crop + 1))
        clip = clip[..., y0 : y0 + geo.crop, x0 : x0 + geo.crop]
        if geo.hflip and rng.random() < 0.5:
            clip = clip.flip(-1)
        # binge.data.transforms.color_jitter (pretraining's, Table 2 σ) on (T, H, W, 3)
        clip = color_jitter(clip.permute(0, 2, 3, 1), geo.color_jitter, rng).permute(0, 3, 1, 2)
        return _normalise(clip, geo), self.labels[i]


class ViewClips(Dataset):
    """All test views of sample ``i``: ``(views, i)`` with views (V, C, …), no augmentation.

    Video: ``n_clips`` uniform clips × ``n_crops`` crops (clip-major); audio: ``n_clips``.
    """

    def __init__(self, source, geometry, n_clips: int, n_crops: int = 1) -> None:
        self.source, self.geo, self.n_clips, self.n_crops = source, geometry, n_clips, n_crops

    def __len__(self) -> int:
        return len(self.source)

    def views_of(self, data: np.ndarray) -> list[View]:
        if isinstance(self.geo, AudioGeometry):
            return view_grid(data.shape[1], self.geo.frames, self.n_clips)
        h, w = data.shape[1:3]
        scale = self.geo.test_short_side / min(h, w)
        hs, ws = max(self.geo.test_short_side, round(h * scale)), max(self.geo.test_short_side, round(w * scale))
        return view_grid(len(data), self.geo.frames, self.n_clips, hs, ws, self.geo.crop, self.n_crops)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        data = self.source[i]
        views = self.views_of(data)
        if isinstance(self.geo, AudioGeometry):
            out = [torch.from_numpy(take_columns(data, v.start, self.geo.frames)) for v in views]
            return torch.stack(out).unsqueeze(1), i
        clips: dict[int, torch.Tensor] = {}
        out = []
        for v in views:
            if v.clip not in clips:
                clip = _to_float(take_frames(data, v.start, self.geo.frames))
                clips[v.clip] = resize_short_side(clip, self.geo.test_short_side)
            crop = clips[v.clip][..., v.y0 : v.y0 + self.geo.crop, v.x0 : v.x0 + self.geo.crop]
            out.append(_normalise(crop, self.geo))
        return torch.stack(out), i


def collate_views(batch: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate the views of several samples: (ΣV, C, …) and the sample index of each view."""
    views = torch.cat([v for v, _ in batch])
    index = torch.cat([torch.full((len(v),), i, dtype=torch.long) for v, i in batch])
    return views, index
