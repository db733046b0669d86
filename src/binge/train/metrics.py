"""Training logs: one JSON object per line in ``metrics.jsonl`` and the same scalars in TensorBoard.

Only rank 0 writes (a logger built with ``enabled=False`` does nothing). Each record holds
``step`` (optimiser steps done), ``epoch``, ``loss``, ``lr``, ``snippets_per_s``,
``data_wait_fraction`` (the share of wall time spent waiting for the DataLoader since the last
record) and the objective's own float logs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from binge.io import atomic_write_text

__all__ = ["MetricsLogger", "read_metrics"]


class MetricsLogger:
    """Append records to ``out_dir/metrics.jsonl`` and ``out_dir/tb`` (TensorBoard)."""

    def __init__(self, out_dir: str | Path, enabled: bool = True, tensorboard: bool = True) -> None:
        self.enabled = enabled
        self.path = Path(out_dir) / "metrics.jsonl"
        self._tb = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(Path(out_dir) / "tb"))

    def truncate_after(self, step: int) -> None:
        """Drop records with ``step`` > ``step`` (a resumed run rewrites what the crash lost)."""
        if not self.enabled or not self.path.exists():
            return
        kept = [r for r in read_metrics(self.path) if int(r.get("step", 0)) <= step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))

    def log(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        clean = {k: (float(v) if isinstance(v, float) else v) for k, v in record.items()}
        with open(self.path, "a") as fh:
            fh.write(json.dumps(clean) + "\n")
            fh.flush()
        if self._tb is not None:
            step = int(record["step"])
            for key, value in record.items():
                if key in ("step", "epoch") or not isinstance(value, (int, float)):
                    continue
                if isinstance(value, float) and not math.isfinite(value):
                    continue
                self._tb.add_scalar(f"train/{key}", value, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.flush()
            self._tb.close()
            self._tb = None


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` file (a torn last line from a crash is skipped)."""
    records = []
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records

