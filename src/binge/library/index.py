"""faiss indexes over a library's vectors, queries, and per-title summaries.

Eq. 1 scores a pair by the inner product ⟨z_v, z_a⟩ of *unnormalised* embeddings, so the
default index is faiss's exact inner-product search (``IndexFlatIP``); ``metric="cosine"``
normalises every vector first (then a snippet is always its own nearest neighbour; under the
inner product a longer vector in the same direction may outrank it). ``kind="ivf"`` is faiss's
approximate ``IndexIVFFlat`` (k-means cells, ``nprobe`` of them scanned per query) for large
libraries; ``benchmarks/search_speed.py`` measures its recall against the exact index.
On a machine with CUDA and faiss's GPU build the index is moved to the GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np

from binge.library.store import (VECTOR_COLUMNS, LibraryError, read_library, read_summary,
                                 vectors)

__all__ = ["build_index", "search", "LibraryIndex", "nearest_titles", "Hit"]

Metric = Literal["ip", "cosine"]


def _faiss() -> Any:
    import faiss

    return faiss


def _prepare(x: np.ndarray, metric: Metric) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if metric == "cosine":
        x = x.copy()
        _faiss().normalize_L2(x)
    elif metric != "ip":
        raise LibraryError(f"metric {metric!r}: expected 'ip' (Eq. 1's unnormalised inner "
                           "product) or 'cosine'")
    return x


def _to_gpu(index: Any) -> Any:
    faiss = _faiss()
    if not hasattr(faiss, "StandardGpuResources"):
        return index
    import torch

    if not torch.cuda.is_available():
        return index
    return faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)


def build_index(x: np.ndarray, metric: Metric = "ip", kind: Literal["flat", "ivf"] = "flat",
                nlist: Optional[int] = None, nprobe: int = 16, seed: int = 0,
                gpu: bool = True) -> Any:
    """A faiss index over the rows of ``x`` (N, d).

    ``kind="flat"``: exact search. ``kind="ivf"``: ``IndexIVFFlat`` with ``nlist`` k-means
    cells (default ≈ 4·√N) trained on ``x`` under ``seed``, ``nprobe`` cells scanned per
    query. ``metric`` as in the module docstring.
    """
    faiss = _faiss()
    x = _prepare(x, metric)
    d = x.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif kind == "ivf":
        nlist = nlist or max(1, int(4 * np.sqrt(len(x))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(x)
        index.nprobe = nprobe
    else:
        raise LibraryError(f"index kind {kind!r}: expected 'flat' (exact) or 'ivf'")
    index.add(x)
    return _to_gpu(index) if gpu else index


def search(index: Any, queries: np.ndarray, k: int,
           metric: Metric = "ip") -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids), each (Q, k): the ``k`` best rows per query, best first (-1: none)."""
    return index.search(_prepare(np.atleast_2d(queries), metric), int(k))


@dataclass
class Hit:
    """One search result: the snippet ``title_id@snippet`` over [start_s, end_s), its score."""

    rank: int
    title_id: str
    snippet: int
    start_s: float
    end_s: float
    score: float


class LibraryIndex:
    """An embedded library (``binge embed --out DIR``) loaded for search.

    ``vectors(column)`` gives the (N, d) rows of one vector column, in (title_id, snippet)
    order; ``row(title_id, snippet)`` their row number; ``search(query, target, k)`` the hits
    among ``target``'s rows.
    """

    def __init__(self, folder: str | Path, metric: Metric = "ip"):
        import json

        self.folder = Path(folder)
        header = self.folder / "library.json"
        if not header.is_file():
            raise LibraryError(f"{self.folder} is not an embedded library (no library.json); "
                               "pass the --out folder of `binge embed`")
        self.header = json.loads(header.read_text())
        self.metric = metric
        self.table = read_library(self.folder, ["title_id", "snippet", "start_s", "end_s"])
        self._vectors: dict[str, np.ndarray] = {}  # columns read on first use
        self.title_ids = np.asarray(self.table.column("title_id").to_pylist())
        self.snippets = self.table.column("snippet").to_numpy()
        self.starts = self.table.column("start_s").to_numpy()
        self.ends = self.table.column("end_s").to_numpy()
        self._rows = {(t, int(m)): i for i, (t, m) in enumerate(zip(self.title_ids, self.snippets))}
        self._indexes: dict[str, Any] = {}

    def vectors(self, column: str) -> np.ndarray:
        """(N, d) float32 rows of one of VECTOR_COLUMNS, read from the shards on first use."""
        if column not in VECTOR_COLUMNS:
            raise LibraryError(f"{column!r} is not a vector column of {self.folder}; expected "
                               f"one of {', '.join(VECTOR_COLUMNS)}")
        if column not in self._vectors:
            self._vectors[column] = vectors(read_library(self.folder, [column]), column)
        return self._vectors[column]

    def row(self, title_id: str, snippet: int) -> int:
        """The row of ``title_id@snippet``. Raises LibraryError naming the title's valid
        snippet range when only the snippet is out of it, or the fix for an unknown title."""
        try:
            return self._rows[(title_id, int(snippet))]
        except KeyError:
            pass
        count = int(np.sum(self.title_ids == title_id))
        if count:
            raise LibraryError(f"{title_id}@{snippet}: snippet {snippet} is out of range; title "
                               f"{title_id} of {self.folder} has {count} snippets (0-based: "
                               f"{title_id}@0 to {title_id}@{count - 1})")
        raise LibraryError(f"{title_id}@{snippet} is not in {self.folder}; pass "
                           "TITLE_ID@SNIPPET of an embedded title (0-based snippet)")

    def index(self, column: str) -> Any:
        if column not in self._indexes:
            self._indexes[column] = build_index(self.vectors(column), self.metric)
        return self._indexes[column]

    def search(self, query: np.ndarray, column: str, k: int = 10) -> list[Hit]:
        """The ``k`` rows of ``column`` that score highest against the (d,) ``query``."""
        scores, ids = search(self.index(column), query[None], k, self.metric)
        return [Hit(r + 1, str(self.title_ids[i]), int(self.snippets[i]), float(self.starts[i]),
                    float(self.ends[i]), float(s))
                for r, (s, i) in enumerate(zip(scores[0], ids[0])) if i >= 0]


def nearest_titles(folder: str | Path, title_id: str, column: str = "z_video",
                   target: Optional[str] = None, k: int = 10,
                   metric: Metric = "ip") -> list[tuple[str, float]]:
    """The titles whose mean ``target`` embedding scores highest against ``title_id``'s mean
    ``column`` embedding (``titles.parquet``), best first, the title itself excluded."""
    summary = read_summary(Path(folder))
    ids = summary.column("title_id").to_pylist()
    if title_id not in ids:
        raise LibraryError(f"title {title_id!r} is not in {folder}/titles.parquet; pass an "
                           "embedded title id")
    q = vectors(summary, f"mean_{column}")[ids.index(title_id)]
    g = vectors(summary, f"mean_{target or column}")
    scores, idx = search(build_index(g, metric, gpu=False), q[None], min(k + 1, len(ids)), metric)
    return [(ids[i], float(s)) for s, i in zip(scores[0], idx[0])
            if i >= 0 and ids[i] != title_id][:k]
