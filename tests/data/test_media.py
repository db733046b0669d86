"""binge.data.media: stream choice, down-mix, resampling, transcoding, frame timing."""

from __future__ import annotations

import av
import numpy as np
import pytest

from binge.data.media import (
    MediaError, iter_audio, probe, read_audio, read_video, scaled_size, transcode_video,
)

from .synth import make_title


def test_picks_largest_video_and_highest_rate_audio(tmp_path):
    p = make_title(tmp_path / "multi.mp4", duration_s=2.0, events=(0.6,), channels=6,
                   extra_video=True, extra_audio=True)
    info = probe(p)
    assert (info.num_video_streams, info.num_audio_streams) == (2, 2)
    assert (info.video.width, info.video.height) == (160, 96)
    assert (info.audio.sample_rate, info.audio.channels) == (44_100, 6)


def test_downmix_is_channel_mean_and_resampled(tmp_path):
    sr_in, sr_out = 44_100, 16_000
    path = tmp_path / "lr.wav"
    t = np.arange(sr_in) / sr_in
    left, right = 0.5 * np.sin(2 * np.pi * 300 * t), 0.2 * np.sin(2 * np.pi * 300 * t + 1.0)
    with av.open(str(path), "w") as out:  # PCM: no codec loss, a plain reference
        s = out.add_stream("pcm_f32le", rate=sr_in, layout="stereo")
        frame = av.AudioFrame.from_ndarray(
            np.stack([left, right]).T.reshape(1, -1).astype(np.float32), format="flt",
            layout="stereo")
        frame.sample_rate = sr_in
        for pkt in s.encode(frame):
            out.mux(pkt)
        for pkt in s.encode(None):
            out.mux(pkt)
    y = read_audio(path, sr_out)
    assert abs(len(y) - sr_out) <= 32
    tt = np.arange(len(y)) / sr_out
    ref = 0.5 * (0.5 * np.sin(2 * np.pi * 300 * tt) + 0.2 * np.sin(2 * np.pi * 300 * tt + 1.0))
    mid = slice(500, len(y) - 500)  # away from the resampler's edge transients
    assert np.abs(y[mid] - ref[mid]).max() < 2e-3
    assert len(np.concatenate(list(iter_audio(path, sr_out, chunk_seconds=0.1)))) == len(y)


def test_transcode_keyframes_fps_size_and_flash_timing(tmp_path):
    src = make_title(tmp_path / "s.mkv", duration_s=8.0, events=(1.0, 4.4), vfr=True, gop=7)
    with av.open(str(src)) as c:  # the source has keyframes off the 16-frame grid
        assert sum(p.is_keyframe for p in c.demux(c.streams.video[0])) > 10
    dst = tmp_path / "out.mp4"
    n = transcode_video(src, dst, fps=5.0, short_side=64, keyframe_interval=16)
    assert n == 40
    with av.open(str(dst)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.width, s.codec_context.height) == scaled_size(160, 96, 64)
        keys = [round(float(p.pts * p.time_base) * 5) for p in c.demux(s)
                if p.is_keyframe and p.pts is not None]
        assert keys == [0, 16, 32]
    v = read_video(dst, fps=5.0)
    bright = np.flatnonzero(v.mean(axis=(1, 2, 3)) > 128)
    assert bright.tolist() == [5, 22]  # frame k shows time (k + 0.5)/5: events at 1.0 s, 4.4 s


def test_transcode_encoder_options_replace_the_x264_settings_but_not_the_gop(tmp_path):
    """A coarser crf gives a smaller file (the options reach x264); the keyframe grid stays."""
    src = make_title(tmp_path / "s.mkv", duration_s=8.0, events=(1.0, 4.4), vfr=True, gop=7)
    paths = {crf: tmp_path / f"crf{crf}.mp4" for crf in (18, 40)}
    for crf, dst in paths.items():
        transcode_video(src, dst, fps=5.0, short_side=64, keyframe_interval=16,
                        encoder_options={"preset": "veryfast", "crf": str(crf)})
        with av.open(str(dst)) as c:
            s = c.streams.video[0]
            keys = [round(float(p.pts * p.time_base) * 5) for p in c.demux(s)
                    if p.is_keyframe and p.pts is not None]
        assert keys == [0, 16, 32]
    assert paths[40].stat().st_size < paths[18].stat().st_size


@pytest.mark.parametrize("content,reason", [(b"", "empty"), (b"\x00garbage" * 500, "FFmpeg")])
def test_bad_files_raise_media_error_naming_the_file(tmp_path, content, reason):
    p = tmp_path / "bad.mp4"
    p.write_bytes(content)
    with pytest.raises(MediaError, match=reason) as err:
        probe(p)
    assert str(p) in str(err.value)


def test_real_clips_probe(av_clips):
    info = probe(av_clips / "nasa_13013.mp4")
    assert (info.video.width, info.video.height) == (480, 270)
    assert info.audio.sample_rate == 16_000
    info = probe(av_clips / "big_buck_bunny_6ch.mp4")
    assert info.audio.channels == 6
