"""Faults and odd folders in ``binge prepare`` (issue 15).

* Disk full while writing a title: exit 1 (a failure, not "some files skipped"), one line naming
  the title folder and the cause, titles finished before kept, no partial title left; the rerun
  resumes them.
* ``--out`` inside the source folder: the corpus's own ``video.mp4`` files are never taken as
  sources on a rerun.
* An unreadable sub-folder is listed in ``skipped.csv`` (it used to vanish silently).
"""

from __future__ import annotations

import csv
import errno
import os
import shutil

import pytest

import binge.data.prepare as prepare_module
from binge.cli import main

from .conftest import TINY, temporaries


def _skipped(corpus):
    with open(corpus / "skipped.csv", newline="") as fh:
        return {r["source_path"]: r["reason"] for r in csv.DictReader(fh)}


def test_disk_full_stops_with_exit_1_naming_the_path(sources, tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "corpus"
    real_save = prepare_module._audio_logmel  # streams the log-mel into audio.npy
    calls = []

    def full_disk(job, data, stats, path):
        calls.append(path)
        if len(calls) == 2:  # the second title's audio: the disk fills while writing it
            path.write_bytes(b"\x93NUMPY")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(job, data, stats, path)

    monkeypatch.setattr(prepare_module, "_audio_logmel", full_disk)
    assert main(["prepare", str(sources), "--out", str(corpus), "--config", TINY,
                 "--quiet"]) == 1
    err = [l for l in capsys.readouterr().err.splitlines() if l.startswith("binge")]
    assert len(err) == 1 and "No space left on device" in err[0]
    assert str(corpus / "titles" / "t1") in err[0] and "t1.mp4" in err[0]
    assert (corpus / "titles" / "t0" / "meta.json").is_file()  # finished before: kept
    assert temporaries(corpus) == []
    monkeypatch.setattr(prepare_module, "_audio_logmel", real_save)
    assert main(["prepare", str(sources), "--out", str(corpus), "--config", TINY, "--quiet"]) == 0
    assert "(2 new, 1 already done)" in capsys.readouterr().out


def test_out_inside_the_source_is_never_scanned(sources, tmp_path, capsys):
    src = tmp_path / "videos"
    shutil.copytree(sources, src)
    corpus = src / "corpus"
    argv = ["prepare", str(src), "--out", str(corpus), "--config", TINY, "--quiet"]
    assert main(argv) == 0
    assert main(argv) == 0  # the rerun: its own video.mp4 files are not sources
    assert "prepared 3 titles (0 new, 3 already done)" in capsys.readouterr().out
    assert _skipped(corpus) == {}


def test_unreadable_subfolder_is_listed_in_skipped_csv(sources, tmp_path, monkeypatch):
    src = tmp_path / "videos"
    shutil.copytree(sources, src / "a")
    shutil.copytree(sources, src / "locked")
    real_scandir = os.scandir

    def scandir(path="."):  # chmod 000 does not stop root, so the refusal is simulated
        if os.fspath(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, missing = prepare_module.discover([src])
    assert sorted(p.name for p in files) == ["t0.mp4", "t1.mp4", "t2.mp4"]
    assert [(m[0], m[1].split(" (")[0]) for m in missing] == [
        (str(src / "locked"), "folder not readable")]
