"""Pretraining: the loop (``pretrain``), checkpoints, schedule, DDP helpers and the export API.

Names are imported lazily so that ``binge --help`` (which imports ``binge.train.cli``) does not
load torch.

>>> from binge.train import pretrain, load_pretrained, load_encoder  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["pretrain", "export_model", "load_pretrained", "load_encoder"]

_WHERE = {
    "pretrain": "binge.train.loop",
    "export_model": "binge.train.export",
    "load_pretrained": "binge.train.export",
    "load_encoder": "binge.train.export",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'binge.train' has no attribute {name!r}")
