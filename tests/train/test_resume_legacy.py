"""Exact resume from a checkpoint written while ``AVModel`` held Eq. 1's heads: the trainer maps
the model's ``video_head.*`` / ``audio_head.*`` onto the NCE objective (same names, same
optimiser parameter order), and the resumed run equals the uninterrupted one bit for bit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from binge.train.checkpoint import atomic_save, load_checkpoint
from binge.train.metrics import read_metrics

REPO = Path(__file__).resolve().parents[2]
EXTRA = ["sampling.batch_size=8", "sampling.steps_per_epoch=4", "optim.epochs=1",
         "augment.crop_size=32", "train.log_every_steps=1", "train.checkpoint_every_steps=2",
         "train.keep_checkpoints=0", "data.num_workers=0"]


def _run(corpus: Path, out: Path, log: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("WORLD_SIZE", None)
    argv = [sys.executable, "-m", "binge", "pretrain", "--config", str(REPO / "configs" / "tiny.yaml"),
            f"data.corpus={corpus}", f"train.out_dir={out}", *EXTRA]
    with open(log, "w") as fh:
        proc = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, log.read_text()[-3000:]


def _to_old_layout(state: dict) -> dict:
    """A current checkpoint rewritten as the trainer wrote it before the move."""
    heads = {k: v for k, v in state["objective"].items() if k.split(".")[0] in ("video_head", "audio_head")}
    assert heads, "the NCE objective holds Eq. 1's heads"
    return {**state, "model": {**state["model"], **heads},
            "objective": {k: v for k, v in state["objective"].items() if k not in heads}}


@pytest.mark.slow
def test_resume_from_a_checkpoint_with_heads_in_the_model(tiny_corpus, tmp_path):
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    _run(tiny_corpus, ref, tmp_path / "ref.txt")
    (cut / "checkpoints").mkdir(parents=True)
    old = _to_old_layout(load_checkpoint(ref / "checkpoints" / "step_0000002.pt"))
    atomic_save(old, cut / "checkpoints" / "last.pt")
    shutil.copy(ref / "metrics.jsonl", cut / "metrics.jsonl")  # the resumed run truncates after step 2
    _run(tiny_corpus, cut, tmp_path / "cut.txt")
    assert [r["loss"] for r in read_metrics(cut / "metrics.jsonl")] == \
        [r["loss"] for r in read_metrics(ref / "metrics.jsonl")]
    a, b = load_checkpoint(ref / "checkpoints" / "last.pt"), load_checkpoint(cut / "checkpoints" / "last.pt")
    assert a["step"] == b["step"] == 4
    for part in ("model", "objective"):
        assert a[part].keys() == b[part].keys()
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)
