"""Pretraining objectives: Eq. 1 cross-modal NCE (the paper's), AVID, CMA and CrissCross.

``build_objective(cfg, model, num_instances)`` looks ``cfg.objective.name`` up in a
name → module registry and calls that module's ``build(cfg, model, num_instances)``; the
modules are imported lazily, so an objective's dependencies load only when it is used.

>>> from binge.objectives import cross_modal_nce, build_objective, list_objectives
>>> list_objectives()
['avid', 'cma', 'crisscross', 'nce']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .base import Objective
from .nce import NCEObjective, cross_modal_nce

if TYPE_CHECKING:
    from torch import nn

    from binge.config import Config

__all__ = [
    "Objective",
    "NCEObjective",
    "cross_modal_nce",
    "build_objective",
    "list_objectives",
    "OBJECTIVES",
]

#: objective name (``cfg.objective.name``) → module exposing ``build(cfg, model, num_instances)``
OBJECTIVES: dict[str, str] = {
    "nce": "binge.objectives.nce",
    "avid": "binge.objectives.avid",
    "cma": "binge.objectives.cma",
    "crisscross": "binge.objectives.crisscross",
}


def list_objectives() -> list[str]:
    """Names accepted by ``cfg.objective.name``."""
    return sorted(OBJECTIVES)


def build_objective(cfg: "Config", model: "nn.Module", num_instances: int) -> Objective:
    """The objective named by ``cfg.objective.name``, built for ``model``.

    Args:
        cfg: the run's config (the objective reads ``cfg.objective`` and what else it needs).
        model: the ``AVModel`` being trained (e.g. for embedding sizes).
        num_instances: number of training snippets (memory-bank objectives size their bank).
    """
    name = cfg.objective.name
    if name not in OBJECTIVES:
        raise ValueError(f"objective.name {name!r} is unknown; choose one of {list_objectives()}")
    module = importlib.import_module(OBJECTIVES[name])
    objective = module.build(cfg, model, num_instances)
    if not isinstance(objective, Objective):
        raise TypeError(f"{OBJECTIVES[name]}.build returned {type(objective).__name__}, "
                        "not an Objective")
    return objective
