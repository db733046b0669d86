"""The HTML report of a search: the query and each hit with a frame and a log-mel spectrogram.

One self-contained file (images inlined as PNG data URIs), written atomically. Frames and
log-mels are read from the prepared corpus the library (or the query) was embedded from,
through :meth:`SnippetDataset.get_snippet` (whole frames; the middle frame of the snippet).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Optional, Sequence

from binge.io import atomic_write_text
from binge.library.index import Hit

__all__ = ["snippet_images", "write_report"]


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def snippet_images(corpus: Path, title_id: str, snippet: int,
                   cache: Optional[dict] = None) -> tuple[str, str]:
    """(frame, spectrogram) PNG data URIs of one snippet of a prepared corpus."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from binge.data import SnippetDataset

    cache = {} if cache is None else cache
    key = str(corpus)
    if key not in cache:
        cache[key] = SnippetDataset(corpus, augment=False, crop_size=None)
    ds = cache[key]
    n = ds.title_ids.index(title_id)
    item = ds.get_snippet(n, snippet)
    video, audio = item["video"].numpy(), item["audio"].numpy()[0]
    fig, ax = plt.subplots(figsize=(2.4, 2.4 * video.shape[1] / video.shape[2]))
    ax.imshow(video[len(video) // 2])
    ax.axis("off")
    frame = _png(fig)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(3.2, 1.6))
    ax.imshow(audio, origin="lower", aspect="auto", cmap="magma")
    ax.set_xlabel("log-mel frame")
    ax.set_ylabel("mel bin")
    spec = _png(fig)
    plt.close(fig)
    return frame, spec


def _row(cells: Sequence[str]) -> str:
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _img(uri: str) -> str:
    return f'<img src="{uri}">'


def write_report(path: Path, title: str, query: dict[str, Any], hits: list[Hit],
                 corpus: Path) -> Path:
    """Write the report: ``query`` has ``label``, ``corpus``, ``title_id``, ``snippet``."""
    cache: dict = {}
    qf, qs = snippet_images(Path(query["corpus"]), query["title_id"], query["snippet"], cache)
    rows = [_row(["query", html.escape(query["label"]), "", _img(qf), _img(qs)])]
    for h in hits:
        f, s = snippet_images(corpus, h.title_id, h.snippet, cache)
        rows.append(_row([str(h.rank), html.escape(f"{h.title_id}@{h.snippet}") +
                          f"<br>{h.start_s:.1f}–{h.end_s:.1f} s", f"{h.score:.4g}",
                          _img(f), _img(s)]))
    doc = ("<!doctype html><html><head><meta charset='utf-8'><title>binge search</title>"
           "<style>body{font-family:sans-serif}td{padding:4px;vertical-align:middle}"
           "table{border-collapse:collapse}tr:nth-child(even){background:#f3f3f3}</style>"
           f"</head><body><h2>{html.escape(title)}</h2><table>"
           "<tr><th>rank</th><th>snippet</th><th>score</th><th>frame</th><th>log-mel</th></tr>"
           + "".join(rows) + "</table></body></html>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, doc)
    return path
