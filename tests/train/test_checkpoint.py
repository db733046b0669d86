"""Checkpoints: weights_only round trip, atomic writes, rotation, RNG capture/restore."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from binge.train import checkpoint as ck
from binge.train.checkpoint import (
    CheckpointManager,
    atomic_save,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
)


def _draws():
    return (random.random(), float(np.random.rand()), float(np.random.randn()), torch.rand(3).tolist())


def test_rng_state_round_trip_through_weights_only(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    np.random.randn()  # leaves a cached gaussian in NumPy's legacy state
    atomic_save({"rng": capture_rng_state()}, tmp_path / "r.pt")
    expected = _draws()
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    restore_rng_state(load_checkpoint(tmp_path / "r.pt")["rng"])
    assert _draws() == expected


def test_model_optimizer_round_trip(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model(torch.randn(5, 4)).sum().backward()
    opt.step()
    atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 7}, tmp_path / "c.pt")
    state = load_checkpoint(tmp_path / "c.pt")
    model2 = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    model2.load_state_dict(state["model"])
    opt2 = torch.optim.Adam(model2.parameters(), lr=1e-2)
    opt2.load_state_dict(state["optimizer"])
    for a, b in zip(model.state_dict().values(), model2.state_dict().values()):
        assert torch.equal(a, b)
    assert state["step"] == 7
    torch.testing.assert_close(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    atomic_save({"step": 1}, path)

    def crash(obj, fh):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(ck.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_save({"step": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temporary left behind


def test_untrusted_pickle_is_refused(tmp_path):
    from fractions import Fraction  # any class outside weights_only's allow-list

    torch.save({"x": Fraction(1, 3)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="not a readable binge checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


@pytest.mark.parametrize("content", [b"hello not media\n", b"", b"PK\x03\x04 cut"])
def test_a_user_file_that_is_not_a_checkpoint_is_not_advised_for_deletion(tmp_path, content):
    """Random bytes made torch's unpickler say 'KeyError: 101'; the line names the file, says
    what is expected and never suggests deleting a file outside a run's checkpoints folder."""
    path = tmp_path / "library" / "notmedia.mp4"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(ck.CheckpointError) as err:
        load_checkpoint(path)
    text = str(err.value)
    assert f"{path} is not a binge checkpoint" in text and "last.pt or step_" in text
    assert "delete" not in text and "KeyError" not in text and "\n" not in text


def test_a_damaged_run_checkpoint_may_be_deleted(tmp_path):
    run = CheckpointManager(tmp_path / "run" / "checkpoints", keep=2)
    path = run.save({"step": 1}, 1)
    path.write_bytes(path.read_bytes()[:100])  # cut short
    with pytest.raises(ck.CheckpointError, match="delete this one .the run's own checkpoint."):
        load_checkpoint(path)
    assert ck.is_run_checkpoint(run.last) and ck.is_run_checkpoint(path)
    assert not ck.is_run_checkpoint(tmp_path / "last.pt")


def test_rotation_keeps_newest_and_last(tmp_path):
    mgr = CheckpointManager(tmp_path / "ckpt", keep=2)
    for step in (10, 20, 30, 40):
        mgr.save({"step": step}, step)
    assert [p.name for p in mgr.step_files()] == ["step_0000030.pt", "step_0000040.pt"]
    assert load_checkpoint(mgr.last)["step"] == 40
    mgr.save({"step": 50}, 50)
    assert load_checkpoint(mgr.last)["step"] == 50  # last.pt replaced, not appended to
    assert load_checkpoint(mgr.step_path(40))["step"] == 40
