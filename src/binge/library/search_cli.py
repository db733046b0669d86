"""``binge search``: faiss search over an embedded library (docs/library.md)."""

from __future__ import annotations

import argparse

HELP = "search an embedded library by a clip or a snippet (faiss; cross-modal)"
DESCRIPTION = """\
Search the library written by `binge embed` for the snippets whose TARGET-modality embedding
scores highest against the QUERY-modality embedding of a query, with faiss: exact inner
product by default (Eq. 1 scores the unnormalised ⟨z_v, z_a⟩), cosine with --metric cosine.
Prints rank, title, time range and score, and writes an HTML report with a frame and a
log-mel spectrogram per hit (--report; default DIR/reports/<query>.html).

A query is a media file (FILE, or FILE@START-END in seconds: the mean of the whole snippets
in the range), or a snippet of the library (TITLE_ID@SNIPPET, 0-based).
--title TITLE_ID instead lists the titles nearest to a title by their mean embeddings.

examples:
  binge search --index lib/heldout --query show07_e02@5 --query-modality audio --target video
  binge search --index lib/heldout --query clip.mp4@12-18.4 --query-modality video --target video
  binge search --index lib/heldout --title show07_e02 -k 5
  binge search --index lib/heldout --title=-dash   # a title id that starts with '-'
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", required=True, help="library folder written by `binge embed`")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", help="FILE, FILE@START-END or TITLE_ID@SNIPPET")
    what.add_argument("--title", help="list the titles nearest to this title id (an id that "
                                      "starts with '-', e.g. from -dash.mp4: --title=-dash)")
    p.add_argument("--query-modality", choices=("audio", "video"), default="audio")
    p.add_argument("--target", choices=("video", "audio"), default="video")
    p.add_argument("-k", type=_at_least_one, default=10, help="hits to return (k >= 1)")
    p.add_argument("--metric", choices=("ip", "cosine"), default="ip",
                   help="ip: exact inner product (Eq. 1, default); cosine: normalised")
    p.add_argument("--space", choices=("z", "feat"), default="z",
                   help="z: Eq. 1 embeddings (cross-modal); feat: pooled backbone features "
                        "(same modality only)")
    p.add_argument("--report", help="HTML report path (default DIR/reports/<query>.html)")
    p.add_argument("--no-report", action="store_true", help="print the hits only")
    p.add_argument("--device", default="auto", help="for embedding a query file")


def _at_least_one(text: str) -> int:
    """``-k``: an integer k >= 1 (argparse turns the error into a usage error, exit 2)."""
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; give k >= 1") from None
    if k < 1:
        raise argparse.ArgumentTypeError(f"{k}: give k >= 1 (the number of hits to return)")
    return k


def _columns(args: argparse.Namespace) -> tuple[str, str]:
    from binge.library.store import LibraryError

    if args.space == "feat" and args.query_modality != args.target:
        raise LibraryError("--space feat compares backbone features of one modality (their "
                           "sizes differ); use --space z for cross-modal search")
    return f"{args.space}_{args.query_modality}", f"{args.space}_{args.target}"


def _query_vector(args, lib, qcol):
    """(vector, report query dict)."""
    from pathlib import Path

    from binge.library.query import file_query_vectors, parse_query

    q = parse_query(args.query, set(lib.title_ids.tolist()))
    if q.title_id is not None:
        vec = lib.vectors(qcol)[lib.row(q.title_id, q.snippet)]
        return vec, {"label": q.text, "corpus": lib.header["corpus"], "title_id": q.title_id,
                     "snippet": q.snippet}
    vecs, corpus, tid, snippets = file_query_vectors(q, Path(args.index), lib.header, [qcol],
                                                     args.device)
    label = f"{q.text} (snippets {snippets[0]}–{snippets[-1]}, mean of {len(snippets)})"
    return vecs[qcol], {"label": label, "corpus": corpus, "title_id": tid,
                        "snippet": snippets[len(snippets) // 2]}


def _titles(args) -> int:
    from binge.library.index import nearest_titles

    qcol, tcol = _columns(args)
    for rank, (tid, score) in enumerate(nearest_titles(args.index, args.title, qcol, tcol,
                                                       args.k, args.metric), 1):
        print(f"{rank:3d}  {tid:30s}  {score:.4f}")
    return 0


def run(args: argparse.Namespace) -> int:
    import re
    from pathlib import Path

    from binge.library.index import LibraryIndex
    from binge.library.report import write_report

    # errors go to binge.cli: LibraryError & co. are one-line refusals (exit 2), anything else
    # is a failure with its traceback under --debug (exit 1; docs/cli.md)
    if args.title:
        return _titles(args)
    qcol, tcol = _columns(args)
    lib = LibraryIndex(args.index, args.metric)
    vec, query = _query_vector(args, lib, qcol)
    hits = lib.search(vec, tcol, args.k)
    print(f"{qcol} of {args.query} against {tcol} ({args.metric}):")
    for h in hits:
        print(f"{h.rank:3d}  {h.title_id:30s} #{h.snippet:<5d} "
              f"{h.start_s:8.1f}–{h.end_s:<8.1f} s  {h.score:.4f}")
    if not args.no_report:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(args.query).name)
        path = Path(args.report or Path(args.index) / "reports" /
                    f"{slug}-{qcol}-{tcol}-{args.metric}.html")
        write_report(path, f"{qcol} of {args.query} → {tcol} ({args.metric})", query, hits,
                     Path(lib.header["corpus"]))
        print(f"report: {path}")
    return 0
