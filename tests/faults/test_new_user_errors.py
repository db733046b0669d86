"""Errors a new user hit (issue of the new-user tester): each ends in one line naming what was
given and the fix, exit 2, before any work; nothing is written where the command was refused.

* an output folder that is an existing file (``--out afile``, ``train.out_dir=afile``);
* an empty or mistyped source folder (no media files), and a folder of only unusable files;
* ``--config`` naming a directory;
* ``--resume`` naming a file that is not a checkpoint (no advice to delete a user's file);
* a relation between two keys broken by an override names the override, not the file.
"""

from __future__ import annotations

import pytest

from .conftest import TINY, one_line_error, run_binge


@pytest.fixture()
def afile(tmp_path):
    path = tmp_path / "afile"
    path.write_bytes(b"the user's own file\n")
    return path


def test_prepare_out_that_is_a_file(sources, afile):
    proc = run_binge("prepare", sources, "--out", afile, "--config", TINY, "--quiet")
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc, "prepare")
    assert line.startswith(f"binge prepare: --out {afile} is a file, not a folder"), line
    assert "resume" not in line
    assert afile.read_bytes() == b"the user's own file\n"


def test_prepare_shard_out_that_is_a_file(sources, afile):
    """A shard holds no lock (shards share the corpus): it is refused all the same."""
    proc = run_binge("prepare", sources, "--out", afile, "--config", TINY, "--shard", "0/2",
                     "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert f"--out {afile} is a file, not a folder" in one_line_error(proc, "prepare")


def test_prepare_out_under_a_file(sources, afile):
    proc = run_binge("prepare", sources, "--out", afile / "corpus", "--config", TINY, "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert f"{afile} is a file, not a folder" in one_line_error(proc, "prepare")


def test_pretrain_out_dir_that_is_a_file(small_corpus, afile):
    proc = run_binge("pretrain", "--config", TINY, f"data.corpus={small_corpus}",
                     f"train.out_dir={afile}")
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc, "pretrain")
    assert line.startswith(f"binge pretrain: train.out_dir={afile} is a file, not a folder"), line
    assert afile.read_bytes() == b"the user's own file\n"


def test_folder_lock_refuses_a_file_before_creating_anything(afile, tmp_path):
    from binge.locks import FolderLock, LockError

    with pytest.raises(LockError, match="--out x is a file, not a folder"):
        FolderLock(afile, "binge prepare", name="--out x").acquire()
    with pytest.raises(LockError, match=f"{afile} is a file"):
        FolderLock(afile / "a" / "b", "binge prepare").acquire()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("command", ["prepare", "check"])
def test_empty_source_folder_is_a_user_error(tmp_path, command):
    empty = tmp_path / "emptydir"
    empty.mkdir()
    (empty / "notes.txt").write_text("not media\n")  # a file, but not of a media extension
    out = tmp_path / "corpus" / "empty"
    extra = ["--out", out, "--quiet"] if command == "prepare" else ["--quiet"]
    proc = run_binge(command, empty, *extra)
    assert proc.returncode == 2, proc.stderr + proc.stdout
    line = one_line_error(proc, command)
    assert f"no media files in {empty} (looked for: " in line and ".mp4" in line and ".mkv" in line
    assert "prepared 0 titles" not in proc.stdout and "0 to prepare" not in proc.stdout
    assert not out.exists()


def test_empty_metadata_is_a_user_error(tmp_path):
    meta = tmp_path / "meta.csv"
    meta.write_text("path,title_id\n")
    proc = run_binge("prepare", "--metadata", meta, "--out", tmp_path / "c", "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert f"no media files in {meta} (no rows)" in one_line_error(proc, "prepare")
    assert not (tmp_path / "c").exists()


def test_a_folder_of_only_unusable_files_is_reported(tmp_path):
    bad = tmp_path / "badonly"
    bad.mkdir()
    (bad / "notmedia.mp4").write_bytes(b"hello not media\n")
    (bad / "zero.mp4").write_bytes(b"")
    out = tmp_path / "corpus"
    proc = run_binge("prepare", bad, "--out", out, "--quiet")
    assert proc.returncode == 3, proc.stderr
    assert "none of the 2 files could be prepared" in proc.stderr
    assert str(out / "skipped.csv") in proc.stderr
    assert len((out / "skipped.csv").read_text().splitlines()) == 3  # header + 2 files
    proc = run_binge("check", bad, "--quiet")
    assert proc.returncode == 3
    assert "none of the 2 files can be prepared" in proc.stderr


def test_config_that_is_a_directory(tmp_path):
    proc = run_binge("pretrain", "--config", tmp_path)
    assert proc.returncode == 2
    line = one_line_error(proc, "pretrain")
    assert f"{tmp_path} is a directory, not a config file" in line and "does not exist" not in line


def test_resume_from_a_file_that_is_not_a_checkpoint(small_corpus, tmp_path):
    media = tmp_path / "library" / "notmedia.mp4"
    media.parent.mkdir()
    media.write_bytes(b"hello not media\n")
    proc = run_binge("pretrain", "--config", TINY, f"data.corpus={small_corpus}",
                     f"train.out_dir={tmp_path / 'run'}", "--resume", media)
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc, "pretrain")
    assert f"{media} is not a binge checkpoint" in line and "checkpoints/last.pt" in line
    assert "delete" not in line and "KeyError" not in line
    assert media.read_bytes() == b"hello not media\n"
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_override_breaking_a_relation_is_named(tmp_path):
    proc = run_binge("pretrain", "--config", TINY, "sampling.k=3", "sampling.batch_size=16",
                     f"train.out_dir={tmp_path / 'run'}")
    assert proc.returncode == 2
    line = one_line_error(proc, "pretrain")
    assert "'sampling.k=3'" in line and "must be a multiple of sampling.k (3)" in line
    assert not line.startswith(f"binge pretrain: {TINY}")
