"""Data: media I/O, log-mel, the prepared corpus and ``SnippetDataset`` (docs/data.md).

``SnippetDataset`` and ``prepare_corpus`` are imported lazily so that ``import binge.data``
stays light for the CLI.
"""

from __future__ import annotations

from binge.lazy import lazy_attributes

__all__ = ["SnippetDataset", "prepare_corpus", "PrepareReport", "read_manifest"]


__getattr__ = lazy_attributes(__name__, {
    "SnippetDataset": "dataset",
    "prepare_corpus": "prepare",
    "PrepareReport": "prepare",
    "read_manifest": "corpus",
})
