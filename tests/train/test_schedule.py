"""The lr schedule against the supplement §4 formula written out plainly."""

from __future__ import annotations

import math

import pytest
import torch

from binge.config import OptimConfig
from binge.train.schedule import WarmupCosineSchedule, lr_at


def reference_lr(s: int, spe: int, epochs: int, lr0: float, lr_max: float, lr_min: float, warm_epochs: float) -> float:
    total = epochs * spe
    w = round(warm_epochs * spe)
    if s < w:
        return lr0 + (lr_max - lr0) * s / w
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * (s - w) / (total - w)))


@pytest.mark.parametrize("spe,epochs,warm,final", [(100, 10, 1.0, 0.0), (7, 3, 0.5, 1e-5), (1, 4, 1.0, 0.0)])
def test_lr_matches_formula(spe, epochs, warm, final):
    o = OptimConfig(epochs=epochs, warmup_epochs=warm, final_lr=final)
    for s in range(epochs * spe):
        ref = reference_lr(s, spe, epochs, 1e-4, 2e-3, final, warm)
        assert lr_at(s, spe, o) == pytest.approx(ref, rel=1e-12, abs=1e-15)


def test_paper_schedule_landmarks():
    o = OptimConfig()  # Adam, 1e-4 → 2e-3 over epoch 1, cosine, 10 epochs
    spe = 1000
    assert lr_at(0, spe, o) == pytest.approx(1e-4)
    assert lr_at(500, spe, o) == pytest.approx(1e-4 + 0.5 * (2e-3 - 1e-4))
    assert lr_at(1000, spe, o) == pytest.approx(2e-3)
    assert lr_at(1000 + 4500, spe, o) == pytest.approx(1e-3)  # half-way through the cosine
    assert lr_at(10 * spe - 1, spe, o) < 1e-7
    lrs = [lr_at(s, spe, o) for s in range(10 * spe)]
    assert all(b >= a for a, b in zip(lrs[:1000], lrs[1:1001]))
    assert all(b <= a for a, b in zip(lrs[1000:], lrs[1001:]))


def test_schedule_sets_groups_with_scale_and_round_trips():
    o = OptimConfig(epochs=2)
    w1, w2 = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.Adam([{"params": [w1], "lr": o.lr}, {"params": [w2], "lr": 3 * o.lr}])
    sched = WarmupCosineSchedule(opt, steps_per_epoch=5, optim=o)
    for _ in range(3):
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(lr_at(3, 5, o))
    assert opt.param_groups[1]["lr"] == pytest.approx(3 * lr_at(3, 5, o))
    opt2 = torch.optim.Adam([{"params": [w1], "lr": o.lr}, {"params": [w2], "lr": 3 * o.lr}])
    sched2 = WarmupCosineSchedule(opt2, 5, o)
    sched2.load_state_dict(sched.state_dict())
    assert opt2.param_groups[1]["lr"] == pytest.approx(opt.param_groups[1]["lr"])
    with pytest.raises(ValueError, match="steps per epoch"):
        WarmupCosineSchedule(opt2, 6, o).load_state_dict(sched.state_dict())
