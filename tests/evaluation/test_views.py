"""Multi-view testing (paper §4.1): 10 clips uniformly in time × 3 crops (left, centre,
right) = 30 views for video, 10 clips for audio, averaged over the views of one sample."""

from __future__ import annotations

import numpy as np
import torch

from binge.evaluation.clips import (
    SILENCE,
    AudioGeometry,
    ViewClips,
    VideoGeometry,
    collate_views,
    take_columns,
)
from binge.evaluation.views import average_by_sample, crop_offsets, view_grid, uniform_starts


def test_uniform_starts_span_the_sample():
    # 100 frames, 32-frame clips, 10 clips: first at 0, last ends at frame 100, even steps
    starts = uniform_starts(100, 32, 10)
    assert starts == [round(68 * i / 9) for i in range(10)]
    assert starts[0] == 0 and starts[-1] + 32 == 100
    assert uniform_starts(20, 32, 10) == [0] * 10  # shorter than a clip


def test_three_crops_left_centre_right():
    assert crop_offsets(190, 253, 158, 3) == [(16, 0), (16, 48), (16, 95)]
    assert crop_offsets(253, 190, 158, 3) == [(0, 16), (48, 16), (95, 16)]  # portrait: top/mid/bottom
    assert crop_offsets(190, 253, 158, 1) == [(16, 47)]


def test_thirty_views_position_in_time_and_space():
    views = view_grid(120, 32, 10, 190, 253, 158, 3)
    assert len(views) == 30
    starts = uniform_starts(120, 32, 10)
    for i, v in enumerate(views):
        assert v.clip == i // 3 and v.crop == i % 3
        assert v.start == starts[i // 3]
        assert (v.y0, v.x0) == [(16, 0), (16, 48), (16, 95)][i % 3]


def _coded_video(t: int = 60, h: int = 40, w: int = 80) -> np.ndarray:
    """Frame k has red = k, green = column index / w * 255: views can be decoded back."""
    video = np.zeros((t, h, w, 3), dtype=np.uint8)
    video[..., 0] = np.arange(t)[:, None, None]
    video[..., 1] = (np.arange(w) * 255 // (w - 1))[None, None, :]
    return video


def test_video_view_pixels_come_from_the_right_frames_and_columns():
    video = _coded_video()
    geo = VideoGeometry(frames=8, crop=20, test_short_side=40, scale_jitter=(40, 40),
                        mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    ds = ViewClips([video], geo, n_clips=10, n_crops=3)
    views, idx = ds[0]
    assert views.shape == (30, 3, 8, 20, 20) and idx == 0
    starts = uniform_starts(60, 8, 10)
    lefts = [0, 30, 60]
    for i in range(30):
        red = views[i, 0, :, 0, 0] * 255
        assert torch.allclose(red, torch.arange(starts[i // 3], starts[i // 3] + 8).float(), atol=1e-3)
        green_first_col = views[i, 1, 0, 0, 0] * 255
        assert abs(float(green_first_col) - lefts[i % 3] * 255 // 79) < 1e-3


def test_audio_views_and_padding():
    spec = np.arange(4 * 50, dtype=np.float32).reshape(4, 50)
    ds = ViewClips([spec], AudioGeometry(frames=20), n_clips=10)
    views, _ = ds[0]
    assert views.shape == (10, 1, 4, 20)
    for i, s in enumerate(uniform_starts(50, 20, 10)):
        assert torch.equal(views[i, 0], torch.from_numpy(spec[:, s : s + 20]))
    short = take_columns(spec[:, :5], 0, 8)
    assert np.all(short[:, 5:] == SILENCE) and np.array_equal(short[:, :5], spec[:, :5])


def test_averaging_is_over_the_views_of_one_sample():
    # two samples with different view counts, collated together as the evaluation does
    a = (torch.tensor([[1.0, 0.0], [3.0, 2.0]]), 0)
    b = (torch.tensor([[10.0, 10.0], [20.0, 0.0], [30.0, 5.0]]), 1)
    views, index = collate_views([a, b])
    out = average_by_sample(views, index, 2)
    assert torch.allclose(out, torch.tensor([[2.0, 1.0], [20.0, 5.0]]))
    # the same against NumPy on random data
    rng = np.random.default_rng(0)
    vals = rng.normal(size=(30, 4))
    idx = rng.integers(0, 5, size=30)
    idx[:5] = np.arange(5)
    got = average_by_sample(torch.from_numpy(vals), torch.from_numpy(idx), 5).numpy()
    want = np.stack([vals[idx == s].mean(0) for s in range(5)])
    np.testing.assert_allclose(got, want)


def test_training_clips_are_random_in_time_and_reproducible():
    from binge.evaluation.clips import TrainClips

    video = _coded_video(t=60)
    geo = VideoGeometry(frames=8, crop=20, test_short_side=40, scale_jitter=(40, 48),
                        mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), hflip=True, color_jitter=0.0)
    ds = TrainClips([video], [3], geo, seed=5)
    starts = set()
    for epoch in range(12):
        ds.set_epoch(epoch)
        x, y = ds[0]
        assert x.shape == (3, 8, 20, 20) and y == 3
        red = (x[0, :, 10, 10] * 255).round()
        # 8 consecutive frames (bilinear resizing keeps a constant frame constant)
        assert torch.equal(red - red[0], torch.arange(8.0))
        assert 0 <= red[0] <= 60 - 8
        starts.add(int(red[0]))
        assert torch.equal(ds[0][0], x)  # same (seed, epoch, sample) → same clip
    assert len(starts) > 3
