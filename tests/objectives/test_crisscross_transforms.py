"""CrissCross augmentations (crisscross_supplement.md Tables S1, S2) and relaxed-sync views."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from binge.data.crisscross_transforms import (
    AudioAugment,
    CrissCrossTransform,
    VideoAugment,
    build_transform,
    cutout,
    random_resize_crop_spec,
    spec_masks,
    time_warp,
    view_windows,
    volume_jitter,
)

T, Q = 16, 64


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
NO_VIDEO_AUG = VideoAugment(crop_size=24, min_area=1.0, flip_p=0, jitter_p=0, gray_p=0, blur_p=0,
                            cutout_num=0)
NO_AUDIO_AUG = AudioAugment(volume=0, time_mask_num=0, freq_mask_num=0, random_crop=False)


def _timed_sample() -> dict:
    """Video frame t is filled with 8·t; audio frame q holds q: positions are readable."""
    video = (torch.arange(T, dtype=torch.uint8) * 8)[:, None, None, None].expand(T, 30, 40, 3)
    audio = torch.arange(Q, dtype=torch.float32)[None, None, :].expand(1, 10, Q).clone()
    return {"video": video.contiguous(), "audio": audio, "title": 3, "snippet": 5}


def test_views_are_synchronous_pairs_from_overlapping_windows():
    tf = CrissCrossTransform(NO_VIDEO_AUG, NO_AUDIO_AUG, two_views=True, view_fraction=0.75)
    for seed in range(20):
        out = tf(_timed_sample(), np.random.default_rng(seed))
        starts = []
        for vk, ak in (("video", "audio"), ("video2", "audio2")):
            v, a = out[vk], out[ak]
            assert v.shape == (12, 24, 24, 3) and v.dtype == torch.uint8 and a.shape == (1, 10, 48)
            t0 = int(v[0, 0, 0, 0]) // 8
            assert [int(x) // 8 for x in v[:, 5, 5, 0]] == list(range(t0, t0 + 12))
            q0 = int(a[0, 0, 0])
            assert abs(q0 / Q - t0 / T) <= 1 / T  # audio window = video window (± a frame)
            starts.append(t0)
        assert abs(starts[0] - starts[1]) < 12  # the two windows overlap
        assert out["title"] == 3 and out["snippet"] == 5


def test_single_view_keeps_the_whole_snippet():
    out = CrissCrossTransform(NO_VIDEO_AUG, NO_AUDIO_AUG, two_views=False)(
        _timed_sample(), np.random.default_rng(0))
    assert "video2" not in out and out["video"].shape[0] == T and out["audio"].shape[-1] == Q


def test_view_windows():
    assert view_windows(16, 0.75, 0.0) == (0, 12)
    assert view_windows(16, 0.75, 0.25) == (4, 16)
    assert view_windows(10, 1.0, 0.0) == (0, 10)


def test_volume_jitter_is_a_log_gain():
    spec = torch.randn(1, 8, 20)
    for seed in range(10):
        d = volume_jitter(spec, 0.2, np.random.default_rng(seed)) - spec
        torch.testing.assert_close(d, d.flatten()[0].expand_as(d), atol=1e-5, rtol=0)
        assert 2 * math.log(0.8) - 1e-6 <= float(d.flatten()[0]) <= 2 * math.log(1.2) + 1e-6


def test_time_and_frequency_masks():
    spec = torch.randn(1, 30, 100)
    fill = float(spec.mean())
    out = spec_masks(spec, -1, 20, 2, np.random.default_rng(1))
    masked_cols = (out != spec).any(dim=1)[0]
    assert int(masked_cols.sum()) <= 40
    assert torch.allclose(out[0][:, masked_cols], torch.tensor(fill))
    out = spec_masks(spec, -2, 10, 2, np.random.default_rng(2))
    assert int((out != spec).any(dim=2)[0].sum()) <= 20


def test_cutout_fills_with_first_frame_mean():
    x = torch.randint(0, 255, (4, 3, 40, 40), dtype=torch.uint8)
    out = cutout(x, 20, 1, np.random.default_rng(3))
    mask = (out != x).any(dim=0).any(dim=0)
    ys, xs = mask.nonzero(as_tuple=True)
    assert len(ys) > 0 and ys.max() - ys.min() < 20 and xs.max() - xs.min() < 20
    fill = x[0].float().mean(dim=(1, 2)).round().to(torch.uint8)
    region = out[:, :, ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    assert (region == fill[None, :, None, None]).all()


def test_spectrogram_crop_identity_and_shape():
    spec = torch.randn(1, 12, 50)
    same = random_resize_crop_spec(spec, (1.0, 1.0), (1.0, 1.0), np.random.default_rng(0))
    torch.testing.assert_close(same, spec)
    out = random_resize_crop_spec(spec, (0.6, 1.5), (1.0, 1.5), np.random.default_rng(1))
    assert out.shape == spec.shape
    assert time_warp(spec, 5, np.random.default_rng(2)).shape == spec.shape


def test_full_pipeline_is_seeded_and_views_differ():
    sample = {"video": torch.randint(0, 255, (16, 40, 50, 3), dtype=torch.uint8),
              "audio": torch.randn(1, 16, 60)}
    tf = CrissCrossTransform(VideoAugment(crop_size=32))
    a, b = tf(sample, np.random.default_rng(7)), tf(sample, np.random.default_rng(7))
    assert all(torch.equal(a[k], b[k]) for k in ("video", "video2", "audio", "audio2"))
    assert not torch.equal(a["video"], a["video2"])
    assert a["video"].shape == (12, 32, 32, 3) and a["audio"].shape == (1, 16, 45)


def test_build_transform_from_config(tiny_config):
    cfg = replace(tiny_config, objective=tiny_config.objective.replace(name="crisscross"))
    tf = build_transform(cfg)
    assert tf.two_views and tf.video.crop_size == tiny_config.augment.crop_size
    assert not build_transform(tiny_config, two_views=False).two_views
    with pytest.raises(ValueError, match="uint8"):
        tf({"video": torch.zeros(4, 8, 8, 3), "audio": torch.zeros(1, 4, 8)})
