"""Package attributes imported on first use (PEP 562), so that importing a package stays light.

A command module (``binge.diagnostics.cli``, ``binge.library.embed_cli``, ...) imports its
package's ``__init__``; when that ``__init__`` re-exports names from torch-heavy submodules, the
command would pay the torch import before it can refuse a bad argument (docs/cli.md). Each such
package instead declares which submodule defines each public name::

    __getattr__ = lazy_attributes(__name__, {"kl_divergence": "kl", "measure": "discrepancy"})

and the submodule is imported when the name is first read; the value is then cached in the
package's namespace.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package``: ``table`` maps a public name to the
    submodule (relative to ``package``) that defines it. Any other name raises AttributeError
    naming the package, as a missing module attribute does."""

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{table[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
