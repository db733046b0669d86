"""A moved source folder (issue 15, "Data lost"): identical copies keep their own titles, and a
rerun that is refused touches nothing, not even the ``meta.json`` of titles it recognised."""

from __future__ import annotations

import shutil

from .conftest import TINY, one_line_error, run_binge, tree_bytes


def _prepare(src, corpus):
    return run_binge("prepare", src, "--out", corpus, "--config", TINY, "--quiet")


def _sources(sources, folder):
    """a.mp4 and b.mp4 of identical content (one fingerprint), c.mp4 another."""
    folder.mkdir()
    shutil.copy(sources / "t0.mp4", folder / "a.mp4")
    shutil.copy(sources / "t0.mp4", folder / "b.mp4")
    shutil.copy(sources / "t1.mp4", folder / "c.mp4")
    return folder


def _meta(corpus):
    import json

    return {p.parent.name: json.loads(p.read_text()) for p in (corpus / "titles").glob("*/meta.json")}


def test_identical_copies_in_a_moved_folder_keep_their_titles(sources, tmp_path):
    old, corpus = _sources(sources, tmp_path / "old"), tmp_path / "corpus"
    assert _prepare(old, corpus).returncode == 0
    before = _meta(corpus)
    assert len(before) == 3
    media = {t: tree_bytes(corpus / "titles" / t, ignore=("meta.json",)) for t in before}
    new = tmp_path / "new"
    old.rename(new)
    proc = _prepare(new, corpus)
    assert proc.returncode == 0, proc.stderr
    assert "(0 new, 3 already done)" in proc.stdout
    after = _meta(corpus)
    assert sorted(after) == sorted(before)  # no title dropped, none redone under a new id
    for tid, row in before.items():  # each title follows its own file (same name, new folder)
        assert after[tid]["source_path"] == str(new / row["source_path"].rsplit("/", 1)[-1])
        assert tree_bytes(corpus / "titles" / tid, ignore=("meta.json",)) == media[tid]


def test_a_refused_rerun_of_a_moved_folder_touches_nothing(sources, tmp_path):
    """The folder moved and one file is gone: the rerun is refused (a finished title would be
    lost) before the recognised titles' new paths are written."""
    old, corpus = _sources(sources, tmp_path / "old"), tmp_path / "corpus"
    assert _prepare(old, corpus).returncode == 0
    before = tree_bytes(corpus, ignore=(".binge.lock",))
    new = tmp_path / "new"
    old.rename(new)
    (new / "c.mp4").unlink()
    proc = _prepare(new, corpus)
    assert proc.returncode == 2, proc.stderr
    assert "no longer exist" in one_line_error(proc, "prepare")
    assert tree_bytes(corpus, ignore=(".binge.lock",)) == before  # meta.json included
