"""Resuming (issue 15): a checkpoint is checked before anything heavy is built, a refused
``pretrain`` leaves its folder as it found it, and the first metrics record after a resume
averages the same steps as an uninterrupted run's."""

from __future__ import annotations

import json

import pytest

from binge.train.callbacks import Callback
from binge.train.metrics import read_metrics

from .conftest import TINY, one_line_error, run_binge, tree_bytes


class _Killed(RuntimeError):
    pass


class _DieAtStep(Callback):
    """Stops the run after step ``n`` has trained, before its checkpoint (like a kill -9)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def after_step(self, trainer, outputs):
        if trainer.step == self.n:
            raise _Killed(f"killed at step {self.n}")


def _cfg(corpus, out, *extra):
    from binge.config import load_config

    return load_config(TINY, [f"data.corpus={corpus}", f"train.out_dir={out}",
                              "sampling.batch_size=4", "train.max_steps=8", *extra])


def test_first_record_after_a_resume_averages_every_step_since_the_last_record(small_corpus, tmp_path):
    """Reference: an uninterrupted run logging every step gives each step's loss L_s. A run
    logging every 4 steps, killed after step 7 (last checkpoint: step 6, two steps after the
    record of step 4) and resumed, must record at step 8 the mean of L_5..L_8, not of L_7, L_8."""
    from binge.train.loop import pretrain

    ref = tmp_path / "ref"
    pretrain(_cfg(small_corpus, ref, "train.log_every_steps=1", "train.checkpoint_every_steps=100"))
    per_step = {r["step"]: r["loss"] for r in read_metrics(ref / "metrics.jsonl")}
    assert sorted(per_step) == list(range(1, 9))

    run = tmp_path / "run"
    cfg = _cfg(small_corpus, run, "train.log_every_steps=4", "train.checkpoint_every_steps=3")
    with pytest.raises(_Killed):
        pretrain(cfg, callbacks=[_DieAtStep(7)])
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [4]
    pretrain(cfg)  # resumes from step 6
    records = {r["step"]: r for r in read_metrics(run / "metrics.jsonl")}
    assert sorted(records) == [4, 8]
    for step in (4, 8):
        expected = sum(per_step[s] for s in range(step - 3, step + 1)) / 4
        assert records[step]["loss"] == pytest.approx(expected, rel=1e-6, abs=1e-9), step
    assert records[8]["steps_per_s"] > 0  # measured over the resumed process's steps


def _must_not_build(monkeypatch):
    """Building the dataset or the model fails the test (the refusal must come first)."""
    import binge.models
    from binge.train import loop

    def built(*a, **k):
        raise AssertionError("built before the checkpoint was checked")

    monkeypatch.setattr(binge.models, "build_av_model", built)
    return loop, built


def test_an_incomplete_or_other_config_checkpoint_is_refused_before_building(small_corpus, tmp_path,
                                                                            monkeypatch):
    from dataclasses import replace

    from binge.config import ConfigError, to_dict
    from binge.train.checkpoint import CheckpointError, atomic_save
    from binge.train.loop import pretrain

    loop, built = _must_not_build(monkeypatch)
    monkeypatch.setattr(loop.Trainer, "_build_data", built)
    cfg = _cfg(small_corpus, tmp_path / "run")
    ckpt = tmp_path / "partial.pt"
    atomic_save({"config": to_dict(cfg), "step": 3}, ckpt)  # no weights, optimiser, RNG
    with pytest.raises(CheckpointError, match=r"not a complete checkpoint of binge pretrain "
                                              r"\(missing \['model', 'objective'"):
        pretrain(cfg, resume=ckpt)
    other = replace(cfg, sampling=replace(cfg.sampling, k=2))
    atomic_save({"config": to_dict(other)}, ckpt)
    with pytest.raises(ConfigError, match=r"configuration changed \(sampling.k: 2 → 1\)"):
        pretrain(cfg, resume=ckpt)
    atomic_save({"weights": [1, 2]}, ckpt)
    with pytest.raises(CheckpointError, match="no config in it"):
        pretrain(cfg, resume=ckpt)


def test_another_corpus_is_refused_before_the_model_is_built(small_corpus, tmp_path, monkeypatch):
    import shutil

    from binge.config import ConfigError
    from binge.train.loop import pretrain

    other = tmp_path / "other"
    shutil.copytree(small_corpus, other)
    for meta in (other / "titles").glob("*/meta.json"):
        row = json.loads(meta.read_text())
        meta.write_text(json.dumps({**row, "source_fingerprint": f"1:other-{row['title_id']}"}))
    run = tmp_path / "run"
    pretrain(_cfg(small_corpus, run, "train.max_steps=2", "train.checkpoint_every_steps=2"))
    _must_not_build(monkeypatch)
    with pytest.raises(ConfigError, match="holds other titles"):
        pretrain(_cfg(other, run, "train.max_steps=4", "train.checkpoint_every_steps=2"))


def test_refused_pretrain_leaves_the_folder_as_it_found_it(small_corpus, tmp_path):
    """docs/cli.md: a command refused with exit 2 adds nothing to its output folder: no
    run_info.json of the refused call (an earlier run's stays byte-identical), no lock file, no
    folder it created; a refused ``--restart`` moves nothing aside."""
    fresh = tmp_path / "fresh"
    proc = run_binge("pretrain", "--config", TINY, f"train.out_dir={fresh}", "optim.lr=fast")
    assert proc.returncode == 2 and not fresh.exists()
    proc = run_binge("pretrain", "--config", TINY, f"train.out_dir={fresh}",
                     f"data.corpus={tmp_path / 'no_corpus'}")
    assert proc.returncode == 2, proc.stderr
    one_line_error(proc, "pretrain")
    assert not fresh.exists()
    # refused while holding the run folder's lock (the sampler cannot fit the corpus)
    for out in (fresh, tmp_path / "made_by_the_user"):
        user_made = out.name == "made_by_the_user"
        if user_made:
            out.mkdir()
        proc = run_binge("pretrain", "--config", TINY, f"train.out_dir={out}",
                         f"data.corpus={small_corpus}", "sampling.batch_size=64")
        assert proc.returncode == 2, proc.stderr
        assert "sampling settings do not fit" in one_line_error(proc, "pretrain")
        assert (sorted(p.name for p in out.rglob("*")) == [] if user_made else not out.exists())

    # a finished run: refused reruns (changed settings, sampler that cannot fit, held folder)
    run = tmp_path / "run"
    common = ["--config", TINY, f"data.corpus={small_corpus}", f"train.out_dir={run}",
              "sampling.batch_size=4", "train.max_steps=2", "train.checkpoint_every_steps=2"]
    assert run_binge("pretrain", *common).returncode == 0
    before = tree_bytes(run, ignore=(".binge.lock",))
    assert "run_info.json" in before
    for extra in (["sampling.k=2"], ["sampling.batch_size=64"],
                  ["--restart", "sampling.batch_size=64"]):
        proc = run_binge("pretrain", *common, *extra)
        assert proc.returncode == 2, proc.stderr
        one_line_error(proc, "pretrain")
        assert tree_bytes(run, ignore=(".binge.lock",)) == before, extra
    from binge.locks import FolderLock

    with FolderLock(run, "a test holding the run"):
        proc = run_binge("pretrain", *common)
    assert proc.returncode == 2 and "is in use by" in one_line_error(proc, "pretrain")
    assert tree_bytes(run, ignore=(".binge.lock",)) == before


def _two_rank_worker(rank: int, port: int, corpus: str, out: str, die_at: int) -> None:
    """One gloo rank (torchrun's environment variables) of a pretrain run; ``die_at`` > 0 kills
    both ranks after that step (before its checkpoint)."""
    import os

    import torch

    from binge.train.loop import pretrain

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE="2")
    torch.set_num_threads(1)
    cfg = _cfg(corpus, out, "train.log_every_steps=4", "train.checkpoint_every_steps=3",
               "data.num_workers=0", "train.device=cpu")
    try:
        pretrain(cfg, callbacks=[_DieAtStep(die_at)] if die_at else [])
    except _Killed:
        from binge.distributed import cleanup_distributed

        cleanup_distributed()


@pytest.mark.slow
def test_two_rank_resume_records_the_same_metrics_as_the_uninterrupted_run(small_corpus,
                                                                          tmp_path):
    """2 gloo ranks: each rank's log window is kept in the checkpoint (``log_windows``), so the
    first record after a resume averages every rank's own steps since the last record, as the
    uninterrupted run's does (was: rank 0's sums restored on every rank: the record differed)."""
    import socket

    import torch.multiprocessing as mp

    def spawn(out, die_at):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        mp.spawn(_two_rank_worker, args=(port, str(small_corpus), str(out), die_at), nprocs=2,
                 join=True)

    ref, run = tmp_path / "ref", tmp_path / "run"
    spawn(ref, 0)
    spawn(run, 7)  # killed after step 7: last checkpoint at step 6, mid-window
    spawn(run, 0)
    keys = ("loss", "acc", "pos_logit", "lr")
    want = {r["step"]: [r.get(k) for k in keys] for r in read_metrics(ref / "metrics.jsonl")}
    got = {r["step"]: [r.get(k) for k in keys] for r in read_metrics(run / "metrics.jsonl")}
    assert sorted(want) == [4, 8] and got == want
