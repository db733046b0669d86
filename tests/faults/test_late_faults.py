"""Faults that surface mid-run: a corpus prepared otherwise under `binge discrepancy`, and a
full disk while a checkpoint is written (issue 15: one line, the right exit code, nothing lost)."""

from __future__ import annotations

import errno

import pytest

from binge.config import load_config

from .conftest import TINY, one_line_error, run_binge, temporaries


@pytest.fixture(scope="module")
def run_1step(small_corpus, tmp_path_factory):
    from binge.train.loop import pretrain

    out = tmp_path_factory.mktemp("late_run")
    pretrain(load_config(TINY, [f"data.corpus={small_corpus}", f"train.out_dir={out}",
                                "train.max_steps=1", "sampling.batch_size=4"]))
    return out


def test_discrepancy_on_a_corpus_prepared_otherwise_is_one_line_exit_2(run_1step, sources, tmp_path):
    from binge.data.prepare import prepare_corpus

    other = tmp_path / "other"
    prepare_corpus([sources], other, data=load_config(TINY, ["data.n_mels=32"]).data, progress=False)
    proc = run_binge("discrepancy", "--checkpoint", run_1step / "export", "--corpus", other,
                     "--out", tmp_path / "d")
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc, "discrepancy")
    assert str(other) in line and "n_mels" in line


def test_disk_full_while_checkpointing_is_exit_1_naming_the_path_and_keeps_the_last_good(
        small_corpus, tmp_path, monkeypatch, capsys):
    import torch

    from binge import cli
    from binge.train import checkpoint as ck

    out = tmp_path / "run"
    args = ["pretrain", "--config", TINY, f"data.corpus={small_corpus}", f"train.out_dir={out}",
            "train.max_steps=4", "train.checkpoint_every_steps=2", "sampling.batch_size=4",
            "data.num_workers=0"]
    real_save = torch.save
    calls = {"n": 0}

    def save(obj, fh, *a, **kw):
        calls["n"] += 1
        if calls["n"] >= 2:  # step 2 (step file, then last.pt as a hard link) went fine; step 4 fails
            fh.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device", getattr(fh, "name", "?"))
        return real_save(obj, fh, *a, **kw)

    monkeypatch.setattr(ck.torch, "save", save)
    with pytest.raises(SystemExit) as ended:
        cli.main(args)
    assert ended.value.code == 1
    err = [l for l in capsys.readouterr().err.splitlines() if l.startswith("binge")]
    assert len(err) == 1 and err[0].startswith("binge pretrain:") and "No space left" in err[0]
    assert str(out / "checkpoints") in err[0]
    monkeypatch.undo()
    assert ck.load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 2
    assert temporaries(out) == []


@pytest.mark.parametrize("what", ["source", "metadata"])
def test_prepare_of_a_path_that_is_not_there_is_exit_2_and_writes_nothing(sources, tmp_path, what):
    out = tmp_path / "corpus"
    argv = ([tmp_path / "nonexistent", "--out", out] if what == "source"
            else [sources, "--metadata", tmp_path / "nometa.csv", "--out", out])
    proc = run_binge("prepare", *argv, "--config", TINY)
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc, "prepare")
    assert "does not exist" in line and str(tmp_path) in line
    assert not out.exists()


def test_a_folder_that_is_not_an_export_is_exit_2(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    proc = run_binge("evaluate", "--config", "configs/eval/fsdd_linear_tiny.yaml", "--root", tmp_path,
                     "--checkpoint", tmp_path / "checkpoints")
    assert proc.returncode == 2, proc.stderr
    one_line_error(proc, "evaluate")


def test_discrepancy_at_a_missing_checkpoint_is_exit_2(tmp_path):
    proc = run_binge("discrepancy", "--checkpoint", tmp_path / "nope.pt", "--corpus", tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "nope.pt does not exist" in one_line_error(proc, "discrepancy")


def test_a_file_that_is_not_a_checkpoint_is_one_short_line(tmp_path):
    from binge.train.checkpoint import CheckpointError, load_checkpoint

    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\n")
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(bad)
    assert "\n" not in str(raised.value) and str(bad) in str(raised.value)


def test_world_errors_go_to_stderr(tmp_path):
    proc = run_binge("world", "--preset", "nope", "--out", tmp_path / "w")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "nope" in one_line_error(proc, "world")
