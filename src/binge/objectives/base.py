"""The ``Objective`` contract between the model and the training loop (docs/architecture.md).

An objective is an ``nn.Module``: parameters it owns (CrissCross projector/predictor) and
buffers (a memory bank, AVID's Z̄) are part of its ``state_dict`` and so of every checkpoint;
anything else it must carry across a resume goes through ``get_extra_state`` /
``set_extra_state`` (plain containers and tensors only, so checkpoints load with
``weights_only=True``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["Objective"]


class Objective(nn.Module):
    """Base class of the pretraining objectives (Eq. 1 NCE, AVID, CMA, CrissCross).

    Subclasses implement :meth:`forward`; the hooks default to doing nothing. The loop calls,
    in order: on a fresh run whose objective ``wants_warm_start()``, ``warm_start(model,
    batch)`` over every training snippet once; then ``on_epoch_start(epoch)`` at each epoch, then per step
    ``outputs = objective(model, batch)``, ``outputs["loss"].backward()``, the optimiser step,
    and ``after_step(batch, outputs)``.
    """

    def forward(  # type: ignore[override]
        self, model: nn.Module, batch: Mapping[str, Any]
    ) -> dict[str, torch.Tensor]:
        """Loss of one batch.

        Args:
            model: the (possibly DDP-wrapped) ``AVModel``; ``model(video, audio)`` returns
                ``{"z_video": (b, d), "z_audio": (b, d)}``.
            batch: this rank's batch: ``video`` (b, 3, T, H, W) float and ``audio``
                (b, 1, P, Q) float, already on the device; ``title`` and ``snippet`` (b,)
                indices when the loader provides them.

        Returns:
            ``{"loss": scalar tensor with grad, **logs}``; logs are detached scalar tensors.
        """
        raise NotImplementedError

    def wants_warm_start(self) -> bool:
        """Whether the loop should call :meth:`warm_start` on every training snippet once,
        before the first step (e.g. AVID's ``bank_init: encode``)."""
        return False

    @torch.no_grad()
    def warm_start(self, model: nn.Module, batch: Mapping[str, Any]) -> None:
        """One batch of the pass before the first step (model in train mode, no gradient)."""

    def on_epoch_start(self, epoch: int) -> None:
        """Called before the first step of ``epoch`` (e.g. CMA recomputes its positives)."""

    def param_groups(self, base_lr: float) -> list[dict[str, Any]]:
        """Extra optimiser groups, e.g. parameters with their own learning rate.

        Parameters of the model or the objective not listed here go into the loop's main
        group at ``base_lr``; the default lists none.
        """
        return []

    @torch.no_grad()
    def after_step(self, batch: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        """Called after the optimiser step (e.g. a memory bank update)."""
