"""The on-disk layout of an embedded library: one Parquet shard per title, plus a header.

Layout of ``binge embed --out DIR``::

    library.json              what was embedded: export (name + SHA-256 of its files), model
                              names, dimensions, the data parameters, crop, corpus, split
    titles/<title_id>.parquet one row per snippet m of the title (columns: COLUMNS), written
                              atomically when the whole title is done (the resume unit)
    titles.parquet            per-title summary: snippet count, media seconds and the mean
                              of every vector column (rewritten at the end of each run)
    corpus/                   only for raw files: the prepared copy ``binge prepare`` made

Why Parquet with fixed-size lists rather than safetensors shards + a Parquet index: a shard
is one self-describing file per title that pandas, polars, DuckDB or Spark read without binge,
its rows and vectors cannot drift apart (one atomic rename covers both), and a
``fixed_size_list<float32>[d]`` column is one contiguous float32 buffer, so reading it back is
a zero-copy reshape to (M_n, d). A library's vectors are small (4 per snippet, d ≤ 512), so
safetensors' memory mapping buys nothing here that Parquet's column reads do not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from binge.io import atomic_path

__all__ = [
    "VECTOR_COLUMNS",
    "COLUMNS",
    "LibraryError",
    "shard_path",
    "write_shard",
    "read_shard",
    "read_library",
    "vectors",
    "write_summary",
    "read_summary",
]

#: vector columns: pooled backbone features f(v), g(a), and Eq. 1's embeddings z_v, z_a.
VECTOR_COLUMNS = ("feat_video", "feat_audio", "z_video", "z_audio")
COLUMNS = ("title_id", "snippet", "start_s", "end_s", *VECTOR_COLUMNS)


class LibraryError(RuntimeError):
    """An embedding or search request that cannot be done as asked; the message names the fix."""


def shard_path(out_dir: Path, title_id: str) -> Path:
    """``out_dir/titles/<title_id>.parquet``."""
    return Path(out_dir) / "titles" / f"{title_id}.parquet"


def _vector_array(x: np.ndarray) -> pa.FixedSizeListArray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])


def _table(columns: dict[str, Any]) -> pa.Table:
    arrays = {k: (_vector_array(v) if isinstance(v, np.ndarray) and v.ndim == 2 else pa.array(v))
              for k, v in columns.items()}
    return pa.table(arrays)


def _write_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` atomically (binge.io), zstd-compressed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        pq.write_table(table, str(tmp), compression="zstd", use_dictionary=["title_id"])


def write_shard(out_dir: Path, title_id: str, snippet: np.ndarray, start_s: np.ndarray,
                end_s: np.ndarray, vecs: dict[str, np.ndarray]) -> Path:
    """Write one title's shard: M rows, ``vecs`` maps each of VECTOR_COLUMNS to (M, d)."""
    m = len(snippet)
    cols: dict[str, Any] = {"title_id": pa.array([title_id] * m, pa.string()),
                            "snippet": pa.array(np.asarray(snippet, np.int32)),
                            "start_s": pa.array(np.asarray(start_s, np.float64)),
                            "end_s": pa.array(np.asarray(end_s, np.float64))}
    for name in VECTOR_COLUMNS:
        if vecs[name].shape[0] != m:
            raise ValueError(f"{name}: {vecs[name].shape[0]} rows for {m} snippets")
        cols[name] = vecs[name]
    path = shard_path(out_dir, title_id)
    _write_table(_table(cols), path)
    return path


def read_shard(path: Path, columns: Optional[Iterable[str]] = None) -> pa.Table:
    """One shard (or summary) as an Arrow table."""
    return pq.read_table(str(path), columns=list(columns) if columns is not None else None)


def vectors(table: pa.Table, column: str) -> np.ndarray:
    """A fixed-size-list column as a (rows, d) float32 array (zero-copy where Arrow allows)."""
    col = table.column(column).combine_chunks()
    d = col.type.list_size
    return col.flatten().to_numpy(zero_copy_only=False).reshape(-1, d)


def read_library(out_dir: Path, columns: Optional[Iterable[str]] = None) -> pa.Table:
    """Every title shard of an embedded library, concatenated in title_id order.

    Raises:
        LibraryError: ``out_dir`` holds no shards (not a ``binge embed`` output).
    """
    files = sorted(p for p in (Path(out_dir) / "titles").glob("*.parquet")
                   if not p.name.startswith("."))  # not a temporary file of a killed run
    if not files:
        raise LibraryError(f"{out_dir} holds no titles/*.parquet: pass the --out folder of "
                           "`binge embed`")
    return pa.concat_tables([read_shard(f, columns) for f in files])


def write_summary(out_dir: Path, title_ids: list[str]) -> Path:
    """``titles.parquet``: per title its snippet count, media seconds and mean vectors."""
    rows: dict[str, list] = {"title_id": [], "num_snippets": [], "duration_s": []}
    means: dict[str, list[np.ndarray]] = {k: [] for k in VECTOR_COLUMNS}
    for tid in title_ids:
        t = read_shard(shard_path(out_dir, tid))
        rows["title_id"].append(tid)
        rows["num_snippets"].append(t.num_rows)
        rows["duration_s"].append(float(np.sum(t.column("end_s").to_numpy()
                                                - t.column("start_s").to_numpy())))
        for k in VECTOR_COLUMNS:
            means[k].append(vectors(t, k).astype(np.float64).mean(axis=0).astype(np.float32))
    cols: dict[str, Any] = {"title_id": pa.array(rows["title_id"], pa.string()),
                            "num_snippets": pa.array(rows["num_snippets"], pa.int32()),
                            "duration_s": pa.array(rows["duration_s"], pa.float64())}
    for k in VECTOR_COLUMNS:
        cols[f"mean_{k}"] = np.stack(means[k]) if means[k] else np.zeros((0, 1), np.float32)
    path = Path(out_dir) / "titles.parquet"
    _write_table(_table(cols), path)
    return path


def read_summary(out_dir: Path) -> pa.Table:
    """``titles.parquet`` of an embedded library."""
    path = Path(out_dir) / "titles.parquet"
    if not path.is_file():
        raise LibraryError(f"{path} is missing: the embedding run did not finish; rerun the "
                           "same `binge embed` command (it resumes)")
    return read_shard(path)
