"""Data: media I/O, log-mel, the prepared corpus and ``SnippetDataset`` (docs/data.md).

``SnippetDataset`` and ``prepare_corpus`` are imported lazily so that ``import binge.data``
stays light for the CLI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SnippetDataset", "prepare_corpus", "PrepareReport", "read_manifest"]


def __getattr__(name: str) -> Any:
    if name == "SnippetDataset":
        from binge.data.dataset import SnippetDataset

        return SnippetDataset
    if name in ("prepare_corpus", "PrepareReport"):
        from binge.data import prepare

        return getattr(prepare, name)
    if name == "read_manifest":
        from binge.data.corpus import read_manifest

        return read_manifest
    raise AttributeError(f"module 'binge.data' has no attribute {name!r}")
