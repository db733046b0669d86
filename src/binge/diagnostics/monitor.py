"""The measures every N training steps (paper Figure 1 at the resolution of the log, not of the
kept checkpoints): a callable for the training loop and the reader of its log.

>>> monitor = DiscrepancyMonitor(cfg, out_dir)  # doctest: +SKIP
>>> for step in ...:                             # doctest: +SKIP
...     monitor(model, step, objective)          # measures when step % every_steps == 0

Each measurement appends one JSON line (step, the four measures, their intervals, warnings)
to ``out_dir/discrepancy.jsonl``, flushed and fsync-ed; ``binge discrepancy --run`` draws it as
``curves_training.png`` next to the checkpoint curves.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Optional

from torch import nn

from binge.config import Config
from binge.diagnostics.discrepancy import measure, open_heldout

__all__ = ["DiscrepancyMonitor", "read_log", "LOG_NAME"]

LOG_NAME = "discrepancy.jsonl"
_POINT_KEYS = ("kl_neg_pos", "kl_diff_pos", "kl_neg_diff", "gap", "ci", "warnings")
logger = logging.getLogger(__name__)


class DiscrepancyMonitor:
    """Call with ``(model, step)`` after each optimiser step; measures every
    ``cfg.discrepancy.every_steps`` steps (0: never) on ``cfg.discrepancy.split`` of
    ``corpus`` (default ``cfg.data.corpus``: the training corpus's held-out split). Call it on
    one process only (rank 0) under DDP.
    """

    def __init__(self, cfg: Config, out_dir: str | Path, corpus: Optional[str | Path] = None,
                 dataset: Any = None) -> None:
        self.cfg = cfg
        self.every = cfg.discrepancy.every_steps
        self.path = Path(out_dir) / LOG_NAME
        self.corpus = corpus if corpus is not None else cfg.data.corpus
        self._dataset = dataset
        if self.every < 0:
            raise ValueError(f"discrepancy.every_steps must be ≥ 0, got {self.every}")
        if self.every and self.corpus is None and dataset is None:
            raise ValueError("discrepancy.every_steps > 0 needs data.corpus (its held-out split)")

    @property
    def enabled(self) -> bool:
        return self.every > 0

    def __call__(self, model: nn.Module, step: int,
                 objective: Optional[nn.Module] = None) -> Optional[dict[str, Any]]:
        """``objective``: the run's (``trainer.objective``), whose heads give the space measured
        (see :func:`binge.diagnostics.discrepancy.measure`)."""
        if not self.enabled or step <= 0 or step % self.every:
            return None
        if self._dataset is None:
            self._dataset = open_heldout(self.corpus, self.cfg, self.cfg.discrepancy.split)
        result = measure(model, self._dataset, self.cfg, objective=objective)
        point = {"step": int(step), **{k: result[k] for k in _POINT_KEYS if k in result}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as fh:
            fh.write(json.dumps(point) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return result


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The points of a ``discrepancy.jsonl``, one per step (a resumed run's repeat wins).

    A torn last line (the process died mid-write) is skipped with a warning; a malformed line
    elsewhere is an error naming the file and line.
    """
    path = Path(path)
    lines = path.read_text().splitlines()
    points: dict[int, dict[str, Any]] = {}
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            point = json.loads(line)
        except json.JSONDecodeError as err:
            if i == len(lines) - 1:
                logger.warning("%s: skipping a torn last line (%s)", path, err)
                continue
            raise ValueError(f"{path}, line {i + 1}: not JSON ({err}); delete the line") from err
        points[int(point["step"])] = point
    return [points[s] for s in sorted(points)]
