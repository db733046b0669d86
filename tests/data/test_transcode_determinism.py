"""The prepared H.264 is a function of the source's pixels only (binge.data.media.transcode_video).

A sharded ``binge prepare`` (tests/test_cluster.py) once produced a ``video.mp4`` that differed
from the one-process corpus. These tests pin down the in-process causes that were suspected and
ruled out, so that none of them can creep in unnoticed:

- bytes outside the picture (the linesize padding of the yuv420p frames handed to libx264, which
  are never initialised: with 86-px-wide frames the chroma planes are 43 px wide in 48-byte
  rows) must not reach the output;
- a held frame (the same ``VideoFrame`` object yielded again with another pts) encodes exactly
  as a fresh copy of its pixels would;
- a fresh process, with other heap contents (glibc's ``MALLOC_PERTURB_``) and the environment a
  submitit task gets, writes the same bytes as this one.

The geometry is the tiny world's (160x120 sources, 64-px short side: 86x64 output).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from binge.data import media
from binge.data.media import transcode_video

from .synth import make_title

ARGS = dict(fps=5.0, short_side=64, keyframe_interval=16)


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _same_encoding(a: Path, b: Path) -> bool:
    """The same bytes, or (the rare one-machine difference of libx264 seen twice, one byte of a
    keyframe: tests/corpus_compare.py) streams that decode to exactly the same frames. What these
    tests look for (garbage pixels reaching the encoder) changes the decoded frames."""
    from corpus_compare import worst_psnr

    if _sha(a) == _sha(b):
        return True
    n, m, db = worst_psnr(a, b)
    return n == m and db == 99.0


def _rows(plane) -> np.ndarray:
    """A plane's whole buffer, padding included: (rows, line_size) uint8, writable."""
    return np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(plane.height, plane.line_size)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A 160x120 10 fps H.264 clip (flashes on noise), 6 s: 30 frames at 5 fps."""
    return make_title(tmp_path_factory.mktemp("src") / "s.mp4", duration_s=6.0, fps=10.0,
                      size=(160, 120), audio=False)


@pytest.fixture(scope="module")
def reference(source, tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("ref") / "v.mp4"
    assert transcode_video(source, dst, **ARGS) == 30
    return dst


def _frames_through(monkeypatch, change) -> list:
    """Make transcode_video see ``change(frame)`` for every frame iter_video_frames yields;
    returns the list of yielded originals (filled while transcoding)."""
    seen = []
    plain = media.iter_video_frames

    def patched(*args, **kwargs):
        for frame in plain(*args, **kwargs):
            seen.append(frame)
            yield change(frame)

    monkeypatch.setattr(media, "iter_video_frames", patched)
    return seen


@pytest.mark.parametrize("seed", [1, 2])
def test_garbage_in_frame_padding_does_not_change_the_encoding(source, reference, tmp_path,
                                                               monkeypatch, seed):
    rng = np.random.default_rng(seed)
    padded = []

    def garbage(frame):
        for plane in frame.planes:
            rows = _rows(plane)
            rows[:, plane.width:] = rng.integers(0, 256, rows[:, plane.width:].shape, np.uint8)
            padded.append(plane.line_size > plane.width)
        return frame

    _frames_through(monkeypatch, garbage)
    dst = tmp_path / "v.mp4"
    transcode_video(source, dst, **ARGS)
    assert all(padded) and len(padded) == 3 * 30  # every plane had padding, all of it garbage
    assert _same_encoding(dst, reference)


def _copy(frame) -> av.VideoFrame:
    """A new frame with ``frame``'s pixels and colour tags (other buffers, other padding)."""
    out = av.VideoFrame(frame.width, frame.height, frame.format.name)
    for src, dst in zip(frame.planes, out.planes):
        _rows(dst)[:, :dst.width] = _rows(src)[:, :src.width]
    out.colorspace, out.color_range = frame.colorspace, frame.color_range
    return out


def test_a_held_frame_encodes_as_a_copy_of_its_pixels_would(tmp_path, monkeypatch):
    src = make_title(tmp_path / "slow.mp4", duration_s=6.0, fps=2.0, size=(160, 120), audio=False)
    same = tmp_path / "same.mp4"
    transcode_video(src, same, **ARGS)
    seen = _frames_through(monkeypatch, _copy)
    copies = tmp_path / "copies.mp4"
    transcode_video(src, copies, **ARGS)
    assert len(seen) == 30 and len({id(f) for f in seen}) < len(seen)  # 2 fps -> 5 fps: held
    assert _same_encoding(copies, same)


_CHILD = """
import sys
from binge.data.media import transcode_video
transcode_video(sys.argv[1], sys.argv[2], fps=5.0, short_side=64, keyframe_interval=16)
"""


@pytest.mark.parametrize("perturb", ["", "165"])
def test_a_fresh_process_writes_the_same_bytes(source, reference, tmp_path, perturb):
    env = dict(os.environ, OMP_NUM_THREADS="1", SUBMITIT_EXECUTOR="local",
               SUBMITIT_LOCAL_JOB_ID="1", MALLOC_PERTURB_=perturb)
    dst = tmp_path / "child.mp4"
    subprocess.run([sys.executable, "-c", _CHILD, str(source), str(dst)], env=env, check=True,
                   timeout=120)
    assert _same_encoding(dst, reference)
