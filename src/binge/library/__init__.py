"""Per-snippet embeddings of a title library and cross-modal search over them.

``embed_library`` (``binge embed``) writes, for every snippet of every title, the pooled
backbone features and Eq. 1's projection embeddings as Parquet shards (one per title,
resumable); ``LibraryIndex`` / ``build_index`` (``binge search``) search them with faiss
(exact inner product by default); ``nearest_titles`` ranks titles by their mean embedding.
See docs/library.md.
"""

from binge.lazy import lazy_attributes

#: public name → the submodule that defines it, imported on first use (PEP 562): importing
#: ``binge.library.embed_cli`` / ``search_cli`` must not import torch (through embed), so that
#: ``binge embed`` / ``binge search`` refuse a bad argument before the torch import (docs/cli.md)
_LAZY = {
    "EmbedReport": "embed", "embed_library": "embed",
    "Hit": "index", "LibraryIndex": "index", "build_index": "index", "nearest_titles": "index",
    "search": "index",
    "LibraryError": "store", "read_library": "store", "read_summary": "store", "vectors": "store",
}


__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "EmbedReport",
    "Hit",
    "LibraryError",
    "LibraryIndex",
    "build_index",
    "embed_library",
    "nearest_titles",
    "read_library",
    "read_summary",
    "search",
    "vectors",
]
