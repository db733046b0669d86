"""`binge pretrain` refuses bad input with messages that name the problem and the fix."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from binge.cli import main
from binge.config import to_dict
from binge.train.checkpoint import atomic_save
from binge.train.loop import resolve_num_workers

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")


@pytest.mark.parametrize("overrides,message", [
    ([], "data.corpus is not set"),
    (["data.corpus=/nonexistent/corpus"], "not a prepared corpus"),
    (["sampling.bogus=1"], "unknown key"),
    (["train.precision=fp16"], "train.precision"),
])
def test_bad_configs_are_named(tmp_path, overrides, message):
    with pytest.raises(SystemExit, match=message):
        main(["pretrain", "--config", TINY, f"train.out_dir={tmp_path}", *overrides])


def test_resume_with_changed_settings_is_refused(tiny_corpus, tiny_config, tmp_path):
    saved = replace(tiny_config, sampling=replace(tiny_config.sampling, k=4))
    atomic_save({"config": to_dict(saved)}, tmp_path / "checkpoints" / "last.pt")
    with pytest.raises(SystemExit, match=r"configuration changed \(sampling.k: 4 → 1\)"):
        main(["pretrain", "--config", TINY, f"data.corpus={tiny_corpus}", f"train.out_dir={tmp_path}"])
    with pytest.raises(SystemExit, match="does not exist"):
        main(["pretrain", "--config", TINY, f"data.corpus={tiny_corpus}",
              f"train.out_dir={tmp_path}", "--resume", str(tmp_path / "nope.pt")])


def test_workers_sized_to_the_machine(monkeypatch):
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    assert resolve_num_workers(-1) == max(1, cores)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(cores * 2))
    assert resolve_num_workers(-1) == 1
    assert resolve_num_workers(3) == 3
