"""The packet index (``video.pkt``) and the loader's index reads against independent references."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from binge.data import SnippetDataset
from binge.data.corpus import read_manifest
from binge.data.logmel import LogMelSettings, snippet_frames
from binge.data.packet_index import (PacketIndexError, index_corpus, index_path,
                                     read_index_header, write_packet_index)


def _sequential_rgb(video: Path) -> np.ndarray:
    """Every frame of the MP4 decoded in order with PyAV's own RGB conversion."""
    with av.open(str(video)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def _copy(corpus: Path, out: Path, keep_index: bool) -> Path:
    shutil.copytree(corpus, out, copy_function=lambda s, d: Path(d).hardlink_to(s))
    if not keep_index:
        for row in read_manifest(out):
            index_path(out / row["video_path"]).unlink()
    return out


def test_prepare_writes_an_index_per_title(tiny_corpus):
    for row in read_manifest(tiny_corpus):
        head = read_index_header(index_path(tiny_corpus / row["video_path"]))
        assert head.codec == "h264" and head.extradata[:1] == b"\x01"  # avcC
        assert head.packets == row["num_video_frames"]


@pytest.mark.parametrize("keep_index", [True, False])
def test_reads_match_a_sequential_decode(tiny_corpus, tmp_path, keep_index):
    """Indexed reads (and the seek fallback), in a shuffled order across titles that share
    one decoder, give exactly the frames of decoding each MP4 from its start."""
    corpus = _copy(tiny_corpus, tmp_path / "c", keep_index)
    ds = SnippetDataset(corpus, crop_size=None, augment=False)
    frames = {n: _sequential_rgb(corpus / ds._video[n]) for n in range(len(ds.num_snippets))}
    keys = [(n, m) for n, c in enumerate(ds.num_snippets) for m in range(c)]
    order = np.random.default_rng(0).permutation(len(keys))
    t = ds.frames
    for i in order:
        n, m = keys[i]
        np.testing.assert_array_equal(ds.read_video(n, m), frames[n][m * t:(m + 1) * t])
    assert (ds._index_header(0) is not None) == keep_index


def test_index_corpus_fills_in_missing_indexes(tiny_corpus, tmp_path):
    corpus = _copy(tiny_corpus, tmp_path / "c", keep_index=False)
    rows = read_manifest(corpus)
    assert index_corpus(corpus) == len(rows)
    assert index_corpus(corpus) == 0
    for row in rows:
        assert (index_path(corpus / row["video_path"]).read_bytes()
                == index_path(tiny_corpus / row["video_path"]).read_bytes())


def test_audio_reads_match_the_npy(tiny_corpus, tiny_config):
    ds = SnippetDataset(tiny_corpus, crop_size=None, augment=False)
    d = tiny_config.data
    settings = LogMelSettings(d.sample_rate, d.n_mels, d.n_fft, d.hop_length)
    for n, count in enumerate(ds.num_snippets):
        full = np.load(tiny_corpus / ds._audio[n])
        for m in range(count):
            t0, q = snippet_frames(m, d.frames / d.fps, settings)
            np.testing.assert_array_equal(ds.read_audio(n, m), full[t0:t0 + q].astype(np.float32).T)


def _encode(path: Path, frames: int, keyint: int) -> Path:
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=5)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        s.options = {"x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes=0"}
        rng = np.random.default_rng(0)
        for k in range(frames):
            f = av.VideoFrame.from_ndarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
                                           "rgb24")
            f.pts, f.time_base = k, Fraction(1, 5)
            for p in s.encode(f.reformat(format="yuv420p")):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return path


def test_index_refuses_snippets_without_their_own_keyframe(tmp_path):
    good = _encode(tmp_path / "good.mp4", 32, keyint=8)
    assert read_index_header(write_packet_index(good, 8)).packets == 32
    bad = _encode(tmp_path / "bad.mp4", 32, keyint=250)
    with pytest.raises(PacketIndexError, match="bad.mp4: frame 8 starts a snippet"):
        write_packet_index(bad, 8)
    assert not index_path(bad).exists()


def test_a_damaged_index_is_named(tmp_path):
    path = tmp_path / "video.pkt"
    path.write_bytes(b"not an index at all")
    with pytest.raises(PacketIndexError, match="video.pkt: not a packet index"):
        read_index_header(path)
