"""``write_packet_index`` streams its rows to disk: the file is byte-identical to the former
writer (every (offset, size) row held in a Python list, one ``np.asarray``, one write), which
this test keeps as its reference."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import av
import numpy as np
import pytest

import binge.data.packet_index as PI
from binge.data.corpus import read_corpus_params, read_manifest


def _former_index(video: Path) -> bytes:
    """The writer before streaming (binge ≤ 511a72e), without its checks: the rows in memory."""
    with av.open(str(video)) as c:
        s = c.streams.video[0]
        codec = s.codec_context.name.encode("ascii")
        extra = bytes(s.codec_context.extradata or b"")
        rows = [(p.pos, p.size) for p in c.demux(s) if p.size > 0]
    table = np.asarray(rows, dtype="<i8").reshape(-1, 2)
    head = struct.pack("<8sIIQ", b"BPKTIDX1", len(codec), len(extra), len(table)) + codec + extra
    return head + b"\0" * (-len(head) % 8) + table.tobytes()


@pytest.mark.parametrize("block", [PI._BLOCK, 7, 1])  # one block per title; many
def test_streamed_index_is_byte_identical_to_the_former_writer(tiny_corpus, tmp_path,
                                                               monkeypatch, block):
    monkeypatch.setattr(PI, "_BLOCK", block)
    rows = read_manifest(tiny_corpus)
    frames = int(read_corpus_params(tiny_corpus)["frames"])
    for row in rows:
        video = tmp_path / row["title_id"] / "video.mp4"
        video.parent.mkdir()
        shutil.copyfile(tiny_corpus / row["video_path"], video)
        PI.write_packet_index(video, frames)
        got = PI.index_path(video).read_bytes()
        assert got == _former_index(video)
        assert got == PI.index_path(tiny_corpus / row["video_path"]).read_bytes()
        assert PI.read_index_header(PI.index_path(video)).packets == row["num_video_frames"]
    if block == 7:  # titles of several blocks, ending inside one and on a boundary
        assert max(r["num_video_frames"] for r in rows) > 2 * block
    assert not list(tmp_path.rglob(".*"))  # no temporary file left


def test_a_refused_video_leaves_no_index(tiny_corpus, tmp_path):
    row = read_manifest(tiny_corpus)[0]
    video = tmp_path / "video.mp4"
    shutil.copyfile(tiny_corpus / row["video_path"], video)
    with pytest.raises(PI.PacketIndexError, match="not a keyframe"):
        PI.write_packet_index(video, 3)  # frame 3 is inside snippet 0: no keyframe there
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video.mp4"]
