"""A title holding exactly one snippet is kept; one frame or sample short is skipped with counts.

The verdict counts what a snippet is cut from (§3: ``data.frames`` video frames at ``data.fps``
and Q log-mel frames of a centred STFT), never seconds: a 24 fps Matroska source whose last
frame ends at 0.999 s (millisecond timestamps) still gives 8 frames at 8 fps.
"""

from __future__ import annotations

import numpy as np
import pytest

from binge.config import DataConfig
from binge.data.check import check_file
from binge.data.logmel import LogMelSettings, frames_per_snippet, log_mel
from binge.data.media import MediaError
from binge.data.prepare import Decoded, TitleJob, assess, frames_until, prepare_title

from .synth import make_title

#: the CPU geometry of configs/micro.yaml: 1-s snippets of 8 frames, 16 kHz, hop 256
MICRO = DataConfig(frames=8, fps=8.0, short_side=32, sample_rate=16000, n_mels=32, n_fft=512,
                   hop_length=256, scene_detector=None)


def _title(tmp_path, name, seconds, fps=24.0):
    return make_title(tmp_path / name, duration_s=seconds, events=(), fps=fps, size=(64, 48),
                      sample_rate=16000, channels=1)


def test_exactly_one_snippet_at_24_fps_is_kept(tmp_path):
    src = _title(tmp_path, "one.mkv", 1.0)
    row = prepare_title(TitleJob("one", str(src), "one"), tmp_path / "corpus", MICRO)
    assert row["num_snippets"] == 1 and row["num_video_frames"] == 8
    # binge check (packet scan, no decode) gives the same verdict
    assert check_file(TitleJob("one", str(src), "one"), MICRO)["verdict"] == "prepare"


def test_one_frame_short_is_skipped_with_frame_counts(tmp_path):
    src = _title(tmp_path, "short.mkv", 0.875, fps=8.0)  # 7 frames of 8
    with pytest.raises(MediaError) as err:
        prepare_title(TitleJob("short", str(src), "short"), tmp_path / "corpus", MICRO)
    assert "video 7 of 8 frames at 8 fps" in err.value.reason
    assert "1.00 s needed" not in err.value.reason


def _reference_frames(end_s: float, fps: float) -> int:
    """iter_video_frames' rule written out: frame k while (k + 0.5) / fps < end, at least one."""
    k = 0
    while (k + 0.5) / fps < end_s:
        k += 1
    return max(k, 1) if end_s > 0 else 0


@pytest.mark.parametrize("fps", [8.0, 5.0, 23.976, 25.0])
def test_frames_until_matches_the_transcode_rule(fps):
    for end in np.concatenate([np.linspace(0.0, 3.0, 601), [0.999, 1.0, 0.9375, 0.0625]]):
        assert frames_until(float(end), fps) == _reference_frames(float(end), fps), (end, fps)


def test_audio_boundary_in_samples():
    """The fewest samples whose centred log-mel has Q frames (reference: log_mel's own shape)."""
    settings = LogMelSettings.from_config(MICRO)
    q = frames_per_snippet(MICRO.snippet_seconds, settings)
    need = next(n for n in range(1, 20000) if log_mel(np.zeros(n), settings).shape[1] >= q)

    def verdict(samples):
        d = Decoded(1.0, 1.0, samples / MICRO.sample_rate, video_frames=8, audio_samples=samples)
        return assess(d, MICRO)[0]

    assert verdict(need) is None
    reason = verdict(need - 1)
    assert f"audio {need - 1} of {need} samples" in reason and f"of {q} log-mel frames" in reason


def test_packet_scan_end_just_under_the_snippet_is_kept():
    """binge check's seconds (no counts): 0.999 s of video at 8 fps is 8 frames."""
    assert assess(Decoded(1.0, 0.999, 1.0), MICRO)[0] is None
    assert "video 7 of 8" in assess(Decoded(1.0, 0.9375, 1.0), MICRO)[0]
