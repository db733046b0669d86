"""Fine-tuning (paper §4.1, supplement §4): the schedule, augmentation, exact resume."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from binge.config import EvalFinetuneConfig
from binge.evaluation.clips import AudioGeometry, TrainClips, time_freq_mask
from binge.evaluation.encoders import Classifier
from binge.evaluation.finetune import finetune, schedule_of
from binge.models import create_model
from binge.train.schedule import lr_at


def test_schedule_is_the_papers():
    """1e-3 → 0.2 linearly over 25 epochs, then cosine to 0 at 150 epochs (supplement §4)."""
    cfg = EvalFinetuneConfig()
    steps = 7
    for s in [0, 1, 50, 174, 175, 176, 500, 1049]:
        if s < 175:
            want = 1e-3 + (0.2 - 1e-3) * s / 175
        else:
            want = 0.5 * 0.2 * (1 + math.cos(math.pi * (s - 175) / (1050 - 175)))
        assert lr_at(s, steps, schedule_of(cfg)) == pytest.approx(want)


def test_masks_stay_within_half_of_each_axis():
    rng = np.random.default_rng(0)
    spec = np.arange(40 * 30, dtype=np.float32).reshape(40, 30)
    for _ in range(200):
        out = time_freq_mask(spec, 0.5, rng)
        masked = out != spec
        rows = np.flatnonzero(masked.all(axis=1))
        cols = np.flatnonzero(masked.all(axis=0))
        assert len(rows) <= 20 and len(cols) <= 15
        # masks are contiguous bands
        assert len(rows) == 0 or rows[-1] - rows[0] + 1 == len(rows)
        assert len(cols) == 0 or cols[-1] - cols[0] + 1 == len(cols)


def _toy(n=24, p=16, t=40):
    """Class c: energy in mel band c; a random (P, T) log-mel source per sample."""
    rng = np.random.default_rng(0)
    specs, labels = [], []
    for i in range(n):
        c = i % 3
        s = rng.normal(size=(p, t)).astype(np.float32) - 5
        s[4 * c : 4 * c + 4] += 6
        specs.append(s)
        labels.append(c)
    return specs, labels


def _run(tmp, cfg, seed=0):
    torch.manual_seed(0)
    specs, labels = _toy()
    model = Classifier(create_model("resnet18_audio_tiny"), 3)
    ds = TrainClips(specs, labels, AudioGeometry(frames=20), seed=seed)
    log: list = []
    finetune(model, ds, cfg, tmp, torch.device("cpu"), seed=seed, log=log)
    return model, log


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    cfg = EvalFinetuneConfig(epochs=3, warmup_epochs=1, batch_size=8, lr=0.05, warmup_start_lr=0.01)
    full, log_full = _run(tmp_path / "a", cfg)
    # interrupted after 1 epoch (3 steps of 8 of the 24 samples), then restarted
    _run(tmp_path / "b", replace(cfg, max_steps=3))
    ckpt = tmp_path / "b" / "checkpoints" / "last.pt"
    assert torch.load(ckpt, weights_only=True)["epoch"] == 1
    resumed, log_resumed = _run(tmp_path / "b", cfg)
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    assert [r["loss"] for r in log_full[1:]] == [r["loss"] for r in log_resumed]
    assert log_full[-1]["loss"] < log_full[0]["loss"] * 1.5  # it trains without blowing up


def test_resume_refuses_another_runs_checkpoint(tmp_path):
    cfg = EvalFinetuneConfig(epochs=1, warmup_epochs=0, batch_size=8, lr=0.01)
    _run(tmp_path, cfg)
    with pytest.raises(ValueError, match="another run"):
        _run(tmp_path, replace(cfg, batch_size=4))
