"""Per-snippet embeddings of a title library and cross-modal search over them.

``embed_library`` (``binge embed``) writes, for every snippet of every title, the pooled
backbone features and Eq. 1's projection embeddings as Parquet shards (one per title,
resumable); ``LibraryIndex`` / ``build_index`` (``binge search``) search them with faiss
(exact inner product by default); ``nearest_titles`` ranks titles by their mean embedding.
See docs/library.md.
"""

from binge.library.embed import EmbedReport, embed_library
from binge.library.index import Hit, LibraryIndex, build_index, nearest_titles, search
from binge.library.store import LibraryError, read_library, read_summary, vectors

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
