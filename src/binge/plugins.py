"""User plug-ins: modules that register encoders and objectives before a command runs.

A plug-in is any importable module (or ``.py`` file) whose import calls
``binge.models.register_model`` and/or ``binge.objectives.register_objective``. It is loaded
by ``binge --import MODULE ...`` (repeatable, before the subcommand) or, for an installed
package, by declaring it in the entry-point group ``binge.plugins``::

    [project.entry-points."binge.plugins"]
    my_models = "my_package.binge_plugin"

Every process that reads a run's config (``pretrain``, ``evaluate``, ``discrepancy``,
``embed``, ``load_encoder``) must load the same plug-ins: the config names the encoder and the
objective, and the registries are per process.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Iterable

__all__ = ["PluginError", "ENTRY_POINT_GROUP", "load_plugins", "import_plugin"]

#: the entry-point group whose entries are imported by every ``binge`` command.
ENTRY_POINT_GROUP = "binge.plugins"


class PluginError(RuntimeError):
    """A plug-in that cannot be found or fails while importing."""


def import_plugin(name: str) -> ModuleType:
    """Import ``name``: a dotted module name on ``sys.path`` or a path to a ``.py`` file
    (imported under its file stem, with its folder put on ``sys.path``)."""
    path = Path(name)
    try:
        if name.endswith(".py"):
            if not path.is_file():
                raise PluginError(f"--import {name}: no such file")
            folder = str(path.resolve().parent)
            if folder not in sys.path:
                sys.path.insert(0, folder)
            return importlib.import_module(path.stem)
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name and name.startswith(err.name):
            raise PluginError(f"--import {name}: no module named {err.name!r} (put its folder on "
                              "PYTHONPATH, or pass the path of the .py file)") from err
        raise PluginError(f"--import {name}: importing it failed: {err}") from err
    except PluginError:
        raise
    except Exception as err:  # a plug-in's own error, reported with its name
        raise PluginError(f"--import {name}: importing it failed: {type(err).__name__}: {err}") from err


def load_plugins(names: Iterable[str] = (), entry_point_group: str = ENTRY_POINT_GROUP) -> list[ModuleType]:
    """Import the entry points of ``entry_point_group``, then each of ``names``, in order."""
    modules = []
    for ep in entry_points(group=entry_point_group):
        try:
            modules.append(ep.load())
        except Exception as err:
            raise PluginError(f"entry point {ep.name!r} ({ep.value}) of group {entry_point_group} "
                              f"failed to load: {type(err).__name__}: {err}") from err
    for name in names:
        modules.append(import_plugin(name))
    return modules
