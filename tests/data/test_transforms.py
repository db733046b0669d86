"""binge.data.transforms: crop, colour jitter, audio masking, video_to_float."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from binge.data.transforms import (
    KINETICS_MEAN, KINETICS_STD, color_jitter, crop_video, mask_audio, video_to_float,
)


def test_video_to_float_matches_torchvision_normalize():
    rng = np.random.default_rng(0)
    v = torch.from_numpy(rng.integers(0, 256, size=(2, 4, 6, 5, 3), dtype=np.uint8))
    out = video_to_float(v)
    assert out.shape == (2, 3, 4, 6, 5) and out.dtype == torch.float32
    ref = TF.normalize(v.permute(0, 1, 4, 2, 3).float() / 255, KINETICS_MEAN, KINETICS_STD)
    assert torch.allclose(out, ref.permute(0, 2, 1, 3, 4), atol=1e-6)
    assert video_to_float(v[0]).shape == (3, 4, 6, 5)
    with pytest.raises(TypeError):
        video_to_float(v.float())


def test_centre_and_random_crop():
    v = np.arange(2 * 10 * 12 * 3, dtype=np.uint8).reshape(2, 10, 12, 3)
    c = crop_video(v, 6, None)
    assert np.array_equal(c, v[:, 2:8, 3:9])
    seen = {crop_video(v, 6, np.random.default_rng(s))[0, 0, 0, 0] for s in range(50)}
    assert len(seen) > 5  # random crops move
    with pytest.raises(ValueError, match="crop_size"):
        crop_video(v, 11, None)


def test_color_jitter_one_draw_per_snippet():
    rng = np.random.default_rng(0)
    frame = torch.from_numpy(rng.integers(0, 256, size=(1, 8, 8, 3), dtype=np.uint8))
    v = frame.repeat(4, 1, 1, 1)
    out = color_jitter(v, 0.8, np.random.default_rng(1))
    assert out.dtype == torch.uint8 and out.shape == v.shape
    assert not torch.equal(out, v)
    assert all(torch.equal(out[0], out[i]) for i in range(4))  # same factors for all frames
    assert torch.equal(color_jitter(v, 0.0, np.random.default_rng(1)), v)


def test_mask_audio_band_within_quarter():
    lm = np.random.default_rng(0).standard_normal((64, 200)).astype(np.float32)
    axes = set()
    for s in range(200):
        out = mask_audio(lm, 0.25, np.random.default_rng(s))
        changed = out != lm
        rows, cols = changed.any(axis=1), changed.any(axis=0)
        if not changed.any():
            continue
        if rows.all():  # a time band: every mel bin changes in some columns
            axes.add("time")
            assert cols.sum() <= 0.25 * 200
        else:
            axes.add("freq")
            assert cols.all() and rows.sum() <= 0.25 * 64
    assert axes == {"time", "freq"}
    assert np.array_equal(lm, np.random.default_rng(0).standard_normal((64, 200)).astype(np.float32))
