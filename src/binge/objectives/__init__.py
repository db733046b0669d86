"""Pretraining objectives, one file each: Eq. 1 cross-modal NCE (the paper's), AVID, CMA,
CrissCross and the symmetric InfoNCE; user objectives plug in with ``register_objective``.

``build_objective(cfg, model, context)`` looks ``cfg.objective.name`` up in the registry and
calls that class's ``from_config``. A built-in objective is one line of :data:`BUILTIN` (name →
module); its module is imported, and so registers itself, the first time the name is looked
up. A plug-in module registers itself when imported (``binge --import MODULE`` or the
``binge.plugins`` entry-point group). See :mod:`binge.objectives.base` for the contract.

>>> from binge.objectives import cross_modal_nce, build_objective, list_objectives
>>> {'nce', 'avid', 'cma', 'crisscross'} <= set(list_objectives())
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Sequence, Union

from .base import (
    Objective,
    ObjectiveContext,
    ObjectiveEntry,
    SimilaritySpec,
    register_objective,
    registered_objectives,
)
from .nce import JointSpaceObjective, NCEObjective, cross_modal_nce

if TYPE_CHECKING:
    from torch import nn

    from binge.config import Config

__all__ = [
    "Objective",
    "ObjectiveContext",
    "SimilaritySpec",
    "register_objective",
    "get_objective",
    "JointSpaceObjective",
    "NCEObjective",
    "cross_modal_nce",
    "build_objective",
    "list_objectives",
    "BUILTIN",
]

#: built-in objective name → the module that registers it (imported on first use).
BUILTIN: dict[str, str] = {
    "nce": "binge.objectives.nce",
    "avid": "binge.objectives.avid",
    "cma": "binge.objectives.cma",
    "crisscross": "binge.objectives.crisscross",
    "infonce": "binge.objectives.infonce",
}


def load_builtin_objectives() -> None:
    """Import every built-in objective module (each registers itself)."""
    for module in BUILTIN.values():
        importlib.import_module(module)


def list_objectives() -> list[str]:
    """Names accepted by ``cfg.objective.name``: the built-ins and the plug-ins imported so far."""
    return sorted(set(BUILTIN) | set(registered_objectives()))


def all_objectives() -> dict[str, ObjectiveEntry]:
    """Every objective's registry entry (built-ins imported first)."""
    load_builtin_objectives()
    return registered_objectives()


def get_objective(name: str) -> ObjectiveEntry:
    """The registry entry of ``name``; an unknown name is an error listing the known ones."""
    if name in BUILTIN:
        importlib.import_module(BUILTIN[name])
    entry = registered_objectives().get(name)
    if entry is None:
        raise KeyError(
            f"objective.name {name!r} is unknown; choose one of {list_objectives()} "
            "(a plug-in objective must be imported first: binge --import MODULE ...)"
        )
    return entry


def build_objective(
    cfg: "Config",
    model: "nn.Module",
    context: Union[ObjectiveContext, int, Sequence[int]],
) -> Objective:
    """The objective named by ``cfg.objective.name``, built for ``model``.

    Args:
        cfg: the run's config (the objective reads ``cfg.objective.<name>``).
        model: the ``AVModel`` being trained (e.g. for feature sizes).
        context: an :class:`ObjectiveContext`, or the snippets per title, or only their total.
    """
    entry = get_objective(cfg.objective.name)
    objective = entry.cls.from_config(cfg, model, ObjectiveContext.of(context))
    if not isinstance(objective, Objective):
        raise TypeError(f"{entry.cls.__qualname__}.from_config returned "
                        f"{type(objective).__name__}, not an Objective")
    return objective
