"""prepare streams the log-mel into ``audio.npy``: the file is byte-identical to the former
implementation (every fp16 part held, concatenated, ``np.save``), which this test keeps as
its reference."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest

from binge.data.logmel import LogMelSettings, StreamingLogMel
from binge.data.media import DecodeStats, iter_audio
from binge.data.prepare import TitleJob, _audio_logmel


def _former_npy(src: str, data) -> tuple[bytes, int]:
    """The implementation before streaming (binge ≤ a4fae84): parts in memory, then np.save."""
    streamer = StreamingLogMel(LogMelSettings.from_config(data))
    parts = [streamer.push(chunk).T.astype(np.float16)
             for chunk in iter_audio(src, data.sample_rate, stats=DecodeStats())]
    parts.append(streamer.finish().T.astype(np.float16))
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(np.concatenate(parts, axis=0)))
    return buf.getvalue(), streamer.num_samples


@pytest.mark.parametrize("title,n_mels,chunks", [("movie01", 64, 2), ("show01_e01", 32, 1)])
def test_streamed_audio_npy_is_byte_identical_to_np_save(tiny_world, tiny_config, tmp_path,
                                                         title, n_mels, chunks):
    data = replace(tiny_config.data, n_mels=n_mels)
    src = str(tiny_world / "titles" / f"{title}.mp4")
    # 30-s chunks, then the streamer's tail: 3 and 2 parts written one after the other
    assert sum(1 for _ in iter_audio(src, data.sample_rate, stats=DecodeStats())) == chunks
    expected, samples = _former_npy(src, data)
    out = tmp_path / "audio.npy"
    rows, num_samples = _audio_logmel(TitleJob(title, src, title), data, DecodeStats(), out)
    assert out.read_bytes() == expected
    assert num_samples == samples
    arr = np.load(out)
    assert arr.shape == (rows, n_mels) and arr.dtype == np.float16 and arr.flags.c_contiguous
