"""Nothing finished is lost (issue 15, "Data lost"): a moved source folder, a restart.

* A source folder moved or renamed, then ``prepare`` rerun into the finished corpus: every title
  is recognised by its content fingerprint and kept (no media redone), ``manifest.csv`` keeps
  every title; rerun at the old, now missing, path or with a different file under a finished
  title's id, ``prepare`` refuses (exit 2) and touches nothing.
* ``pretrain --restart`` moves the previous run's records to ``previous/<time>/`` before the
  new run writes; killed after its first step, a plain rerun does not resume the old run's
  checkpoint (no two runs mixed) and the old run's metrics are whole.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from binge.train.callbacks import Callback
from binge.train.metrics import read_metrics

from .conftest import TINY, one_line_error, run_binge, temporaries, tree_bytes


def _titles(corpus):
    return {p.name: tree_bytes(p, ignore=("meta.json",)) for p in (corpus / "titles").iterdir()}


def _manifest_ids(corpus):
    import csv

    with open(corpus / "manifest.csv", newline="") as fh:
        return sorted(r["title_id"] for r in csv.DictReader(fh))


def test_moved_sources_keep_every_finished_title(sources, small_corpus, tmp_path):
    corpus, old = tmp_path / "corpus", tmp_path / "old"
    shutil.copytree(sources, old)
    proc = run_binge("prepare", old, "--out", corpus, "--config", TINY, "--quiet")
    assert proc.returncode == 0, proc.stderr
    media = _titles(corpus)
    manifest = (corpus / "manifest.csv").read_bytes()

    # the old path is gone: refused, nothing touched
    new = tmp_path / "renamed"
    old.rename(new)
    proc = run_binge("prepare", old, "--out", corpus, "--config", TINY, "--quiet")
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc, "prepare")
    assert "no longer exist" in line and "nothing was changed" in line
    assert (corpus / "manifest.csv").read_bytes() == manifest

    # the new path: every title recognised by content, nothing redone
    proc = run_binge("prepare", new, "--out", corpus, "--config", TINY, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "(0 new, 3 already done)" in proc.stdout
    assert _manifest_ids(corpus) == sorted(media)
    assert _titles(corpus) == media
    for tid in media:
        meta = json.loads((corpus / "titles" / tid / "meta.json").read_text())
        assert meta["source_path"].startswith(str(new))
    assert temporaries(corpus) == []


def test_other_content_under_a_finished_id_is_refused(sources, tmp_path):
    corpus = tmp_path / "corpus"
    first = tmp_path / "first"
    first.mkdir()
    shutil.copy(sources / "t0.mp4", first / "a.mp4")
    meta = tmp_path / "meta.csv"
    meta.write_text("path,title_id\nfirst/a.mp4,show_e1\n")
    assert run_binge("prepare", "--metadata", meta, "--out", corpus, "--config", TINY,
                     "--quiet").returncode == 0
    before = tree_bytes(corpus)
    (first / "a.mp4").unlink()
    shutil.copy(sources / "t1.mp4", first / "b.mp4")  # another file claims show_e1
    meta.write_text("path,title_id\nfirst/b.mp4,show_e1\n")
    proc = run_binge("prepare", "--metadata", meta, "--out", corpus, "--config", TINY, "--quiet")
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc, "prepare")
    assert "show_e1" in line and "nothing was changed" in line
    assert tree_bytes(corpus) == before


class _Killed(Exception):
    pass


class _DieAfterFirstStep(Callback):
    """Stands for a kill after the restarted run's first step (before any checkpoint)."""

    def after_step(self, trainer, outputs):
        raise _Killed


def test_restart_moves_the_previous_run_aside_and_never_mixes_runs(small_corpus, tmp_path):
    from binge.config import load_config
    from binge.train.loop import pretrain

    out = tmp_path / "run"
    cfg = load_config(TINY, [f"data.corpus={small_corpus}", f"train.out_dir={out}",
                             "train.max_steps=4", "train.checkpoint_every_steps=2",
                             "train.log_every_steps=1", "sampling.batch_size=4"])
    pretrain(cfg)
    old_metrics = (out / "metrics.jsonl").read_bytes()
    old_last = (out / "checkpoints" / "last.pt").read_bytes()
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2, 3, 4]

    with pytest.raises(_Killed):
        pretrain(cfg, resume=False, callbacks=[_DieAfterFirstStep()])
    [aside] = list((out / "previous").iterdir())
    assert (aside / "metrics.jsonl").read_bytes() == old_metrics  # whole, not truncated
    assert (aside / "checkpoints" / "last.pt").read_bytes() == old_last
    assert (aside / "export").is_dir()
    assert not (out / "checkpoints" / "last.pt").exists()  # the old run cannot be resumed

    # a checkpoint temporary left by a kill -9 (0 bytes, its writer dead) is cleaned up
    (out / "checkpoints").mkdir(exist_ok=True)
    stale = out / "checkpoints" / ".last.pt.tmp-999999999"
    stale.write_bytes(b"")
    pretrain(cfg)  # a plain rerun: starts at step 0 of the new run, not at the old step 4
    steps = [r["step"] for r in read_metrics(out / "metrics.jsonl")]
    assert steps == [1, 2, 3, 4]
    assert not stale.exists() and temporaries(out) == []
    assert (aside / "metrics.jsonl").read_bytes() == old_metrics


def test_restart_sets_aside_every_record_of_the_run_scenes_json_included(tmp_path):
    """RUN/scenes.json (the scenes the old run sampled) goes with its metrics and checkpoints:
    a restart with other scenes must not leave the old run's record beside the new run."""
    from binge.train.runfolder import set_aside_previous

    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    records = {"metrics.jsonl": b'{"step": 1}\n', "config.yaml": b"seed: 0\n",
               "scenes.json": b'{"csv_sha256": "old"}\n', "checkpoints/last.pt": b"ckpt"}
    for name, data in records.items():
        (out / name).write_bytes(data)
    (out / "run_info.json").write_bytes(b"{}")  # keeps its own history: stays
    aside = set_aside_previous(out)
    for name, data in records.items():
        assert (aside / name).read_bytes() == data, name
        assert not (out / name).exists(), name
    assert (out / "run_info.json").exists()


def test_resume_refuses_another_corpus_but_not_a_moved_one(small_corpus, tmp_path):
    from binge.config import ConfigError, load_config
    from binge.train.loop import pretrain

    corpus, other = tmp_path / "corpus", tmp_path / "other"
    shutil.copytree(small_corpus, corpus)
    shutil.copytree(small_corpus, other)  # the same parameters, ids and lengths, but each
    for meta in (other / "titles").glob("*/meta.json"):  # title from another source file
        row = json.loads(meta.read_text())
        meta.write_text(json.dumps({**row, "source_fingerprint": f"1:other-{row['title_id']}"}))
    out = tmp_path / "run"

    def cfg(data, steps):
        return load_config(TINY, [f"data.corpus={data}", f"train.out_dir={out}",
                                  f"train.max_steps={steps}", "train.checkpoint_every_steps=2",
                                  "train.log_every_steps=1", "sampling.batch_size=4"])

    pretrain(cfg(corpus, 2))
    with pytest.raises(ConfigError, match="holds other titles"):
        pretrain(cfg(other, 4))
    moved = tmp_path / "moved"
    corpus.rename(moved)
    pretrain(cfg(moved, 4))  # the same corpus elsewhere: resumes
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2, 3, 4]
