"""Query vectors for ``binge search``: a snippet already in the library, or a media file range.

``TITLE_ID@SNIPPET`` takes the stored vector of that row. ``FILE[@START-END]`` (seconds) is
prepared with the library's own data parameters into ``DIR/queries/<key>`` (the decode and
log-mel of ``binge prepare``, cached there: one prepared corpus per file content,
:func:`query_corpus`), embedded with the library's export, and the query vector is the mean
of the snippets that lie inside [START, END) (whole snippets; the one holding the range's
midpoint when none does; the whole file when no range is given).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from binge.library.store import LibraryError

__all__ = ["Query", "parse_query", "file_query_vectors", "query_corpus", "select_snippets"]


@dataclass
class Query:
    """A parsed ``--query``: either ``title_id@snippet`` or a file with an optional range."""

    text: str
    title_id: Optional[str] = None
    snippet: Optional[int] = None
    path: Optional[Path] = None
    start_s: Optional[float] = None
    end_s: Optional[float] = None


def _range(text: str, spec: str) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in spec.split("-", 1))
    except ValueError:
        raise LibraryError(f"--query {text!r}: the range after '@' must be START-END in seconds "
                           "(e.g. clip.mp4@12-18.4)") from None
    if not (0 <= a < b):
        raise LibraryError(f"--query {text!r}: expected 0 <= START < END")
    return a, b


def parse_query(text: str, title_ids: set[str]) -> Query:
    """``FILE``, ``FILE@START-END`` or ``TITLE_ID@SNIPPET`` (a title id of the library)."""
    if Path(text).is_file():
        return Query(text, path=Path(text))
    head, sep, tail = text.rpartition("@")
    if sep and head in title_ids:
        if not tail.isdigit():
            raise LibraryError(f"--query {text!r}: after TITLE_ID@ give the 0-based snippet "
                               "number (e.g. show01_e01@3)")
        return Query(text, title_id=head, snippet=int(tail))
    if sep and Path(head).is_file():
        start, end = _range(text, tail)
        return Query(text, path=Path(head), start_s=start, end_s=end)
    raise LibraryError(f"--query {text!r} is neither a media file, FILE@START-END, nor "
                       "TITLE_ID@SNIPPET of a title in the library; check the path or title id")


def select_snippets(num_snippets: int, seconds: float, start: Optional[float],
                    end: Optional[float]) -> list[int]:
    """Snippets m (covering [m·L, (m+1)·L)) that lie inside [start, end); see module doc."""
    if start is None or end is None:
        return list(range(num_snippets))
    eps = 1e-6
    inside = [m for m in range(num_snippets)
              if m * seconds >= start - eps and (m + 1) * seconds <= end + eps]
    if inside:
        return inside
    mid = math.floor((start + end) / 2 / seconds)
    if mid >= num_snippets:
        raise LibraryError(f"the range {start:g}-{end:g} s lies past the file's last whole "
                           f"snippet (ends at {num_snippets * seconds:g} s); pick an earlier range")
    return [mid]


def query_corpus(folder: Path, path: Path) -> Path:
    """``folder/queries/<key>``: the prepared copy of one query file, one corpus per content
    (``key`` hashes :func:`binge.data.prepare.source_fingerprint`). Files with the same bytes
    share it (prepared once, under the first one's title id); other query files, moved or
    deleted ones included, never touch it."""
    import hashlib

    from binge.data.prepare import source_fingerprint

    key = hashlib.sha256(source_fingerprint(path).encode()).hexdigest()[:16]
    return Path(folder) / "queries" / key


def file_query_vectors(query: Query, folder: Path, header: dict[str, Any],
                       columns: list[str], device: str = "auto") -> tuple[dict[str, np.ndarray],
                                                                           Path, str, list[int]]:
    """Embed ``query.path`` with the library's export: (column → (d,) mean vector, query
    corpus, its title id, the snippets used)."""
    import torch

    from binge.config import DataConfig
    from binge.data import SnippetDataset
    from binge.data.prepare import prepare_corpus
    from binge.diagnostics.embed import resolve_device
    from binge.library.embed import embed_batch, export_fingerprint
    from binge.train.export import load_embedder

    export = Path(header["export"])
    if not export.exists() or export_fingerprint(export) != header["export_sha256"]:
        raise LibraryError(f"the export {export} the library was embedded with is missing or "
                           "changed; query by TITLE_ID@SNIPPET, or embed the library again")
    data = DataConfig(**header["data"])
    corpus = query_corpus(folder, query.path)
    report = prepare_corpus([query.path], corpus, data=data, progress=False)
    if report.skipped:
        raise LibraryError(f"{query.path}: {report.skipped[0][1]}; a query file needs one video "
                           "and one audio stream (remux it with both)")
    (title_id,) = report.title_ids  # the id prepare gave it (kept from an earlier same-bytes file)
    ds = SnippetDataset(corpus, augment=False, crop_size=header["crop_size"], data=data)
    n = ds.title_ids.index(title_id)
    if ds.num_snippets[n] == 0:
        raise LibraryError(f"{query.path} is shorter than one snippet "
                           f"({header['snippet_seconds']:g} s); pass a longer clip")
    snippets = select_snippets(ds.num_snippets[n], ds.seconds, query.start_s, query.end_s)
    items = [ds[(n, m)] for m in snippets]
    dev = resolve_device(device)
    model = load_embedder(export, map_location=dev)
    out = embed_batch(model, torch.stack([it["video"] for it in items]),
                      torch.stack([it["audio"] for it in items]), dev)
    return {c: out[c].astype(np.float64).mean(axis=0).astype(np.float32) for c in columns}, \
        corpus, title_id, snippets
