"""binge.data.logmel against librosa (the independent reference)."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from binge.data.logmel import (
    LOG_EPS, LogMelSettings, StreamingLogMel, frames_per_snippet, log_mel, num_frames,
    snippet_frames,
)

#: stated tolerance (absolute, natural-log units) against librosa in float64
TOL = 1e-4


def _signal(sr: int, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t))
    y[: sr // 4] = 0.0  # digital silence hits the ε floor
    return y.astype(np.float32)


@pytest.mark.parametrize("settings", [LogMelSettings(16_000, 64, 1024, 256), LogMelSettings()])
def test_equals_librosa(settings):
    y = _signal(settings.sample_rate, 1.7)
    ref = np.log(librosa.feature.melspectrogram(
        y=y.astype(np.float64), sr=settings.sample_rate, n_fft=settings.n_fft,
        hop_length=settings.hop_length, n_mels=settings.n_mels) + LOG_EPS)
    ours = log_mel(y, settings)
    assert ours.shape == ref.shape == (settings.n_mels, num_frames(len(y), settings.hop_length))
    assert np.abs(ours - ref).max() < TOL
    assert ours.min() == pytest.approx(np.log(LOG_EPS), abs=1e-3)  # silence at the floor


def test_streaming_equals_one_shot():
    s = LogMelSettings(16_000, 64, 1024, 256)
    y = _signal(16_000, 2.3, seed=1)
    st = StreamingLogMel(s)
    parts = [st.push(c) for c in np.array_split(y, [5, 300, 301, 9000, 20000])]
    parts.append(st.finish())
    assert np.abs(np.concatenate(parts, axis=1) - log_mel(y, s)).max() < 1e-5


def test_fp16_storage_error_is_small():
    s = LogMelSettings(16_000, 64, 1024, 256)
    lm = log_mel(_signal(16_000, 1.0), s)
    stored = lm.astype(np.float16).astype(np.float32)
    assert np.isfinite(stored).all()
    assert np.abs(stored - lm).max() < 0.01  # fp16 spacing at |x| < 16 is 2**-7


def test_snippet_frame_mapping():
    paper = LogMelSettings()
    assert frames_per_snippet(3.2, paper) == 300
    tiny = LogMelSettings(16_000, 64, 1024, 256)
    for m in range(5):
        t0, q = snippet_frames(m, 3.2, tiny)
        centres = (t0 + np.arange(q)) * tiny.hop_length / tiny.sample_rate
        assert centres[0] >= m * 3.2 - 1e-9 and centres[-1] < (m + 1) * 3.2
        assert (t0 - 1) * tiny.hop_length / tiny.sample_rate < m * 3.2  # nothing skipped


def test_rejects_multichannel():
    with pytest.raises(ValueError, match="mono"):
        log_mel(torch.zeros(2, 100), LogMelSettings(16_000, 64, 1024, 256))
