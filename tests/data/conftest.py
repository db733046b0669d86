"""Fixtures of the data tests: synthetic titles with known events, good and bad files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from corpus_compare import file_digests

from .synth import make_title

#: event times (s) of every synthetic good title: one flash + click each
EVENTS = (1.0, 3.2, 5.8)  # 3.2 s: exactly the start of snippet 1
DURATION = 8.0  # 2 snippets of 3.2 s

#: good inputs: name → make_title keyword arguments (all have EVENTS at DURATION)
GOOD = {
    "plain.mp4": {},
    "surround.mp4": {"channels": 6, "sample_rate": 48_000},  # 5.1 AAC
    "lowrate.mkv": {"sample_rate": 8_000, "channels": 1},  # 8 kHz audio
    "vfr.mkv": {"vfr": True},  # variable frame rate
    "multi.mp4": {"extra_video": True, "extra_audio": True},  # several streams of each
}


def _bad_inputs(folder: Path, good_src: Path) -> dict[str, str]:
    """Write the bad inputs; return name → a word the skip reason must contain."""
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "garbage.mkv").write_bytes(hashlib.sha256(b"x").digest() * 4000)
    mkv = make_title(folder / "full_for_cut.mkv", duration_s=DURATION, events=EVENTS)
    data = mkv.read_bytes()
    mkv.unlink()
    (folder / "truncated.mkv").write_bytes(data[: len(data) // 2])  # streamable, header says 8 s
    (folder / "truncated.mp4").write_bytes(good_src.read_bytes()[:-2000])  # index at the end
    make_title(folder / "noaudio.mp4", duration_s=DURATION, audio=False)
    make_title(folder / "novideo.mp4", duration_s=DURATION, video=False)
    make_title(folder / "short.mp4", duration_s=1.5, events=(0.5,))
    # truncated.mkv is not bad: what decodes (~4 s, one snippet) is kept (issue 13)
    return {"empty.mp4": "empty", "garbage.mkv": "FFmpeg",
            "truncated.mp4": "", "noaudio.mp4": "no audio stream",
            "novideo.mp4": "no video stream", "short.mp4": "shorter than one snippet"}


@pytest.fixture(scope="session")
def tiny_data(tiny_config):
    return tiny_config.data


@pytest.fixture(scope="session")
def good_titles(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    for i, (name, kwargs) in enumerate(GOOD.items()):
        make_title(folder / name, duration_s=DURATION, events=EVENTS, seed=i, **kwargs)
    return folder


@pytest.fixture(scope="session")
def messy_titles(good_titles, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Good titles plus every kind of bad input, and the expected skip reason words."""
    folder = tmp_path_factory.mktemp("messy")
    for p in good_titles.iterdir():
        shutil.copy(p, folder / p.name)
    return folder, _bad_inputs(folder, good_titles / "plain.mp4")


@pytest.fixture(scope="session")
def messy_corpus(messy_titles, tiny_data, tmp_path_factory):
    """(corpus folder, PrepareReport) of the messy folder with the tiny data settings."""
    from binge.data.prepare import prepare_corpus

    out = tmp_path_factory.mktemp("messy_corpus") / "corpus"
    report = prepare_corpus([messy_titles[0]], out, data=tiny_data, progress=False)
    return out, report


#: sha256 of every file in a corpus folder, by relative path; the run records (``run_info*``:
#: times, argv, host) are not corpus content and are left out (tests/corpus_compare.py)
corpus_digest = file_digests
