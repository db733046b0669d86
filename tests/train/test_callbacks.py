"""Trainer callbacks: called at the right steps on every hook, values reach metrics.jsonl."""

from __future__ import annotations

from pathlib import Path

import pytest

from binge.config import load_config
from binge.train.callbacks import Callback, CallbackList
from binge.train.loop import pretrain
from binge.train.metrics import read_metrics

TINY = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"


class Recorder(Callback):
    def __init__(self) -> None:
        self.steps, self.epochs, self.checkpoints = [], [], []

    def after_step(self, trainer, outputs):
        self.steps.append(trainer.step)
        assert "loss" in outputs
        return {"probe_value": float(trainer.step) * 10} if trainer.step % 3 == 0 else None

    def after_epoch(self, trainer, epoch):
        self.epochs.append((epoch, trainer.step))

    def on_checkpoint(self, trainer, path):
        assert path is not None and path.is_file()
        self.checkpoints.append(trainer.step)


def test_hooks_fire_at_the_right_steps_and_values_are_logged(tiny_corpus, tmp_path):
    cfg = load_config(TINY, [
        f"data.corpus={tiny_corpus}", f"train.out_dir={tmp_path / 'run'}", "sampling.batch_size=8",
        "sampling.steps_per_epoch=4", "optim.epochs=2", "augment.crop_size=32",
        "train.log_every_steps=1", "train.checkpoint_every_steps=3", "data.num_workers=0",
    ])
    rec = Recorder()
    pretrain(cfg, callbacks=[rec])
    assert rec.steps == list(range(1, 9))
    assert rec.epochs == [(0, 4), (1, 8)]
    assert rec.checkpoints == [3, 6, 8]
    logged = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if "probe_value" in r]
    assert [(r["step"], r["probe_value"]) for r in logged] == [(3, 30.0), (6, 60.0)]


def test_non_callbacks_are_refused():
    with pytest.raises(TypeError, match="not a binge.train.callbacks.Callback"):
        CallbackList([object()])


def test_max_steps_beyond_the_epochs_is_said(tiny_corpus, tmp_path, caplog):
    cfg = load_config(TINY, [
        f"data.corpus={tiny_corpus}", f"train.out_dir={tmp_path / 'run'}", "sampling.batch_size=8",
        "sampling.steps_per_epoch=2", "optim.epochs=1", "train.max_steps=50", "augment.crop_size=32",
        "data.num_workers=0",
    ])
    with caplog.at_level("WARNING", logger="binge.train.loop"):
        pretrain(cfg)
    assert "train.max_steps=50 is more than optim.epochs=1 × 2 steps per epoch" in caplog.text
    assert "stops at step 2" in caplog.text
