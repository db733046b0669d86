"""Pretraining: the loop (``pretrain``), checkpoints, schedule, DDP helpers and the export API.

Names are imported lazily so that ``binge --help`` (which imports ``binge.train.cli``) does not
load torch.

>>> from binge.train import pretrain, load_pretrained, load_encoder  # doctest: +SKIP
"""

from __future__ import annotations

from binge.lazy import lazy_attributes

__all__ = ["pretrain", "export_model", "load_pretrained", "load_encoder"]

__getattr__ = lazy_attributes(__name__, {
    "pretrain": "loop",
    "export_model": "export",
    "load_pretrained": "export",
    "load_encoder": "export",
})
