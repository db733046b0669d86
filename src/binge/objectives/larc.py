"""LARC: layer-wise adaptive rate clipping as an optimiser wrapper (You et al. 2017).

CrissCross pretrains with "Adam with LARC" at batch 2048 (crisscross_supplement.md §G.1,
Table S10 "Adam*"). Before the wrapped optimiser steps, each parameter's gradient g (of a
parameter w in a group with learning rate η and weight decay λ) is rescaled by the local rate::

    η_local = c · ‖w‖ / (‖g‖ + λ‖w‖ + ε)
    clip:   g ← g · min(η_local / η, 1)        scale:  g ← g · η_local

(c = ``trust_coefficient``). Parameters with ‖w‖ = 0 or ‖g‖ = 0 are left alone. With
``clip=True`` LARC only ever shrinks a step, never enlarges it. Weight decay stays with the
wrapped optimiser.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch
from torch.optim import Optimizer

from binge.objectives.base import at_least_float32

__all__ = ["LARC", "larc_factor"]


def larc_factor(
    param_norm: torch.Tensor,
    grad_norm: torch.Tensor,
    lr: float,
    weight_decay: float = 0.0,
    trust_coefficient: float = 0.001,
    clip: bool = True,
    eps: float = 1e-8,
) -> torch.Tensor:
    """The factor g is multiplied by (formula in the module docstring); 1 when a norm is 0."""
    local = trust_coefficient * param_norm / (grad_norm + weight_decay * param_norm + eps)
    if clip:
        local = torch.clamp(local / lr, max=1.0) if lr > 0 else torch.ones_like(local)
    ok = (param_norm > 0) & (grad_norm > 0)
    return torch.where(ok, local, torch.ones_like(local))


class LARC(Optimizer):
    """Wraps ``optimizer`` (shares its ``param_groups`` and ``state``); ``step`` applies LARC.

    LR schedulers and checkpoints see the wrapped optimiser's groups and state directly, so
    ``LARC(Adam(...))`` is a drop-in replacement for the Adam it wraps.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        trust_coefficient: float = 0.001,
        clip: bool = True,
        eps: float = 1e-8,
    ) -> None:
        # not Optimizer.__init__: the groups and state are the wrapped optimiser's own
        self.optim = optimizer
        self.trust_coefficient = float(trust_coefficient)
        self.clip = bool(clip)
        self.eps = float(eps)
        self.defaults = optimizer.defaults
        self._optimizer_step_pre_hooks = {}  # type: ignore[assignment]
        self._optimizer_step_post_hooks = {}  # type: ignore[assignment]

    @property  # type: ignore[override]
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optim.param_groups

    @property  # type: ignore[override]
    def state(self) -> Any:
        return self.optim.state

    def __repr__(self) -> str:
        return f"LARC(trust_coefficient={self.trust_coefficient}, clip={self.clip}, {self.optim!r})"

    def state_dict(self) -> dict[str, Any]:
        return self.optim.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.optim.load_state_dict(state_dict)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optim.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:  # type: ignore[override]
        for group in self.optim.param_groups:
            wd = float(group.get("weight_decay", 0.0))
            for p in group["params"]:
                if p.grad is None:
                    continue
                factor = larc_factor(
                    torch.linalg.vector_norm(at_least_float32(p.detach())),
                    torch.linalg.vector_norm(at_least_float32(p.grad.detach())),
                    float(group["lr"]), wd, self.trust_coefficient, self.clip, self.eps,
                )
                p.grad.mul_(factor.to(p.grad.dtype))
        return self.optim.step(closure)
