"""Learning-rate schedule of the paper's pretraining (supplement §4).

"ADAM optimizer, with an initial learning rate of 10^-4 which linearly warms up to 0.002
during the first epoch. We use a cosine learning rate schedule" — per optimiser step::

    s < W:   lr(s) = lr_0 + (lr_max − lr_0) · s / W
    s ≥ W:   lr(s) = lr_min + ½ (lr_max − lr_min) · (1 + cos(π · (s − W) / (S − W)))

with W = round(warmup_epochs · steps_per_epoch) warm-up steps, S = epochs · steps_per_epoch
steps in all, lr_0 = ``warmup_start_lr``, lr_max = ``lr`` and lr_min = ``final_lr``
(all in :class:`binge.config.OptimConfig`). ``s`` is the 0-based index of the update the rate is
used for, so the first update uses lr_0 and the last one lies just above lr_min.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from binge.config import OptimConfig

__all__ = ["lr_at", "WarmupCosineSchedule"]


def lr_at(step: int, steps_per_epoch: int, optim: OptimConfig) -> float:
    """The learning rate for 0-based optimiser step ``step`` (formula in the module docstring)."""
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    total = max(1, optim.epochs * steps_per_epoch)
    warmup = min(total, max(0, round(optim.warmup_epochs * steps_per_epoch)))
    if step < warmup:
        return optim.warmup_start_lr + (optim.lr - optim.warmup_start_lr) * step / warmup
    decay_steps = total - warmup
    if decay_steps <= 0:
        return optim.lr
    t = min(1.0, (step - warmup) / decay_steps)
    return optim.final_lr + 0.5 * (optim.lr - optim.final_lr) * (1.0 + math.cos(math.pi * t))


class WarmupCosineSchedule:
    """Sets every parameter group's lr to ``lr_at(step) · group["lr_scale"]``.

    ``lr_scale`` is each group's initial lr divided by ``optim.lr`` (1 for the encoders, e.g.
    ``predictor_lr_multiplier`` for a CrissCross predictor group), recorded at construction.
    The state is only the step counter, so it checkpoints as a plain dict.
    """

    def __init__(
        self, optimizer: torch.optim.Optimizer, steps_per_epoch: int, optim: OptimConfig
    ) -> None:
        self.optimizer = optimizer
        self.steps_per_epoch = steps_per_epoch
        self.optim = optim
        self.step_count = 0
        for group in optimizer.param_groups:
            group.setdefault("lr_scale", group["lr"] / optim.lr if optim.lr else 1.0)
        self._apply()

    def _apply(self) -> None:
        lr = lr_at(self.step_count, self.steps_per_epoch, self.optim)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]

    @property
    def lr(self) -> float:
        """The base lr (scale 1) the next optimiser step will use."""
        return lr_at(self.step_count, self.steps_per_epoch, self.optim)

    def step(self) -> None:
        """Advance by one optimiser step (call after ``optimizer.step()``)."""
        self.step_count += 1
        self._apply()

    def state_dict(self) -> dict[str, Any]:
        return {"step_count": self.step_count, "steps_per_epoch": self.steps_per_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["steps_per_epoch"]) != self.steps_per_epoch:
            raise ValueError(
                f"checkpoint was written with {state['steps_per_epoch']} steps per epoch, "
                f"this run has {self.steps_per_epoch}: the corpus or sampling settings changed; "
                "resume with the original configuration or start a new out_dir"
            )
        self.step_count = int(state["step_count"])
        self._apply()
