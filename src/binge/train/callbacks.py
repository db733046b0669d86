"""Trainer callbacks: code that runs beside the pretraining loop without the loop knowing it.

The :class:`~binge.train.loop.Trainer` calls every callback **on every rank**, in list order, at
three points:

* ``after_step(trainer, outputs)``: after the optimiser step; ``trainer.step`` is the number of
  steps done (1 after the first). ``outputs`` is the objective's dict of this rank. A callback
  that returns a dict of floats has it written to ``metrics.jsonl`` (and TensorBoard) as its own
  record ``{"step": …, **values}``, by rank 0.
* ``after_epoch(trainer, epoch)``: after the last step of ``epoch`` (0-based).
* ``on_checkpoint(trainer, path)``: after a checkpoint was written (``path`` on rank 0, ``None``
  on the other ranks).

Anything a callback measures must be a pure function of the trainer's state at that step (model
weights, the seed, the step), so that a resumed run measures the same values at the same steps:
callbacks hold no state of their own that would need a checkpoint. A callback that runs
collectives (``all_reduce``…) must do so on every rank at the same steps. Callbacks must leave
the model in the mode they found it (``trainer.step_module.training``) and must not consume the
global RNG streams (use a ``torch.Generator`` of their own), or exact resumption breaks.

Example (a callback that logs the norm of the video encoder's weights every 10 steps)::

    class WeightNorm(Callback):
        def after_step(self, trainer, outputs):
            if trainer.step % 10:
                return None
            w = torch.cat([p.detach().flatten() for p in trainer.model.video_encoder.parameters()])
            return {"video_weight_norm": float(w.norm())}

    pretrain(cfg, callbacks=[WeightNorm()])
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from binge.train.loop import Trainer

__all__ = ["Callback", "CallbackList"]


class Callback:
    """Base class: override any of the three hooks; the defaults do nothing."""

    def after_step(self, trainer: "Trainer", outputs: dict[str, Any]) -> Optional[dict[str, float]]:
        return None

    def after_epoch(self, trainer: "Trainer", epoch: int) -> None:
        return None

    def on_checkpoint(self, trainer: "Trainer", path: Optional[Path]) -> None:
        return None


class CallbackList:
    """Calls each callback in order; gathers the values ``after_step`` returns."""

    def __init__(self, callbacks: Sequence[Callback] = ()) -> None:
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"{cb!r} is not a binge.train.callbacks.Callback")
        self.callbacks = list(callbacks)

    def after_step(self, trainer: "Trainer", outputs: dict[str, Any]) -> dict[str, float]:
        values: dict[str, float] = {}
        for cb in self.callbacks:
            got = cb.after_step(trainer, outputs)
            if got:
                values.update(got)
        return values

    def after_epoch(self, trainer: "Trainer", epoch: int) -> None:
        for cb in self.callbacks:
            cb.after_epoch(trainer, epoch)

    def on_checkpoint(self, trainer: "Trainer", path: Optional[Path]) -> None:
        for cb in self.callbacks:
            cb.on_checkpoint(trainer, path)
