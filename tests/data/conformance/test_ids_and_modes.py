"""Stable unicode title ids across reruns on a grown folder (issue 13, kind 6) and file
modes of a prepared corpus and of an export under umask 022 (kind 7)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from .conftest import prepared
from .gen import make_clip

FIRST = ["a b.MOV", "a_b.mov", "Épisode 1 – été.mp4", "第一集.mp4"]
ADDED = ["a b.M4V", "第二集.mp4", "0 first.mp4"]  # "0 first" sorts before every old file


def _clip(path: Path) -> None:
    make_clip(path, duration_s=3.6, fps=5.0, size=(64, 48), events=(1.0,))


def _titles(out: Path) -> dict[str, float]:
    """title folder name → mtime of its video, for every folder under titles/."""
    return {p.name: (p / "video.mp4").stat().st_mtime_ns for p in (out / "titles").iterdir()}


def test_grown_folder_keeps_ids_redoes_nothing_orphans_nothing(tmp_path):
    src, out = tmp_path / "src", tmp_path / "corpus"
    src.mkdir()
    for name in FIRST:
        _clip(src / name)
    rows1, skipped1, report1 = prepared(src, out)
    assert skipped1 == {} and report1.new == len(FIRST)
    ids1 = {name: r["title_id"] for name, r in rows1.items()}
    assert ids1["Épisode 1 – été.mp4"] == "Épisode_1_été"
    assert ids1["第一集.mp4"] == "第一集"
    assert ids1["a b.MOV"] != ids1["a_b.mov"] and {ids1["a b.MOV"], ids1["a_b.mov"]} & {"a_b"}
    before = _titles(out)

    for name in ADDED:
        _clip(src / name)
    rows2, skipped2, report2 = prepared(src, out)
    assert skipped2 == {}
    assert (report2.new, report2.reused) == (len(ADDED), len(FIRST))
    assert {n: rows2[n]["title_id"] for n in FIRST} == ids1  # never renamed
    assert {t: m for t, m in _titles(out).items() if t in before} == before  # never redone
    assert set(_titles(out)) == {r["title_id"] for r in rows2.values()}  # no orphan
    assert rows2["第二集.mp4"]["title_id"] == "第二集"
    assert len({r["title_id"] for r in rows2.values()}) == len(FIRST) + len(ADDED)

    rows3, _, report3 = prepared(src, out)  # a third run: the same ids, nothing new
    assert report3.new == 0 and {n: r["title_id"] for n, r in rows3.items()} == \
        {n: r["title_id"] for n, r in rows2.items()}


def _modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode)
            for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_prepared_corpus_files_follow_the_umask(tmp_path, umask_022):
    src, out = tmp_path / "src", tmp_path / "corpus"
    src.mkdir()
    _clip(src / "good.mp4")
    (src / "bad.mp4").write_bytes(b"")
    prepared(src, out)
    modes = _modes(out)
    for name in ("manifest.csv", "corpus.json", "skipped.csv", "titles/good/meta.json",
                 "titles/good/video.mp4", "titles/good/audio.npy"):
        assert modes.pop(name) == 0o644, name
    assert all(m == 0o644 for m in modes.values()), modes  # anything else written too


def test_export_files_follow_the_umask(tmp_path, umask_022, tiny_config):
    from binge.models import build_av_model
    from binge.train.export import export_model

    out = export_model(build_av_model(tiny_config.model), tiny_config, tmp_path / "export")
    modes = _modes(Path(out))
    assert "config.json" in modes and any(n.endswith(".safetensors") for n in modes)
    assert all(m == 0o644 for m in modes.values()), modes
