"""The prepared corpus on disk: its parameters, manifest and show-disjoint split.

Layout of a corpus folder (written by :func:`binge.data.prepare.prepare_corpus`)::

    corpus.json                 prepare parameters + format version (written first)
    manifest.csv                one row per prepared title (columns: MANIFEST_COLUMNS)
    skipped.csv                 source_path, reason — every file not taken
    titles/<title_id>/video.mp4 H.264, ``fps`` frames/s, shorter side ``short_side``
    titles/<title_id>/audio.npy log-mel, fp16, shape (num_audio_frames, n_mels)
    titles/<title_id>/meta.json the title's row; written last = the title is done

Split (paper §4.2): 90/10 by *group* (a show; a title without a group is its own group),
all or none of a group's titles held out; deterministic (groups ranked by a hash of
``seed:group``, independent of order and sharding); at least one held-out group whenever
there are ≥ 2 groups. A user ``split`` column (``train`` / ``heldout``) wins for its titles.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from binge.io import atomic_write_text

__all__ = [
    "FORMAT_VERSION",
    "PARAM_KEYS",
    "MANIFEST_COLUMNS",
    "SPLITS",
    "CorpusError",
    "CorpusParamsError",
    "prepare_params",
    "check_params",
    "atomic_write_text",
    "write_csv",
    "read_corpus_params",
    "PrepareError",
    "write_manifest",
    "read_manifest",
    "assign_splits",
]

#: 2: video stored as BT.709 limited range and tagged so, whatever the source's colour (issue
#: 13), and a packet index (video.pkt) beside it. A format-1 corpus stored untagged video in
#: the source's matrix, which this binge would decode with the wrong colours: it is refused.
FORMAT_VERSION = 2
#: DataConfig fields a corpus is prepared with; reading with other values is refused.
PARAM_KEYS = ("frames", "fps", "short_side", "sample_rate", "n_mels", "n_fft", "hop_length")
SPLITS = ("train", "heldout")
MANIFEST_COLUMNS = (
    "title_id", "source_path", "group", "genre", "kind", "duration_s", "num_snippets", "split",
    "video_path", "audio_path", "width", "height", "num_video_frames", "num_audio_frames",
    "source_width", "source_height", "source_fps", "source_sample_rate", "source_channels",
    "source_colour", "source_sar", "source_rotation", "announced_s", "video_s", "audio_s",
    "lost_s", "video_gaps", "audio_gaps", "damaged_packets", "lost_where",
    "format_version", *PARAM_KEYS,
)
_INT_COLUMNS = {"num_snippets", "width", "height", "num_video_frames", "num_audio_frames",
                "source_width", "source_height", "source_sample_rate", "source_channels",
                "source_rotation", "video_gaps", "audio_gaps", "damaged_packets",
                "format_version", "frames", "short_side", "sample_rate", "n_mels", "n_fft",
                "hop_length"}
_FLOAT_COLUMNS = {"duration_s", "source_fps", "fps", "announced_s", "video_s", "audio_s",
                  "lost_s"}


class CorpusError(RuntimeError):
    """A corpus folder that cannot be read as asked; the message says why and what to do."""


class PrepareError(RuntimeError):
    """The prepare run itself cannot go on (bad arguments, unreadable metadata). Defined here
    (no torch) so that ``binge prepare`` refuses a bad command before importing the pipeline;
    :mod:`binge.data.prepare` re-exports it."""


class CorpusParamsError(CorpusError):
    """The corpus was prepared with other parameters than the ones asked for."""


def prepare_params(data: Any) -> dict[str, Any]:
    """The prepare parameters of a :class:`binge.config.DataConfig` as a plain dict."""
    out = {k: getattr(data, k) for k in PARAM_KEYS}
    out["fps"] = float(out["fps"])
    return out


def check_params(corpus_dir: Path, prepared: dict[str, Any], asked: dict[str, Any]) -> None:
    """Raise :class:`CorpusParamsError` naming every parameter that differs."""
    diff = [f"{k}: prepared {prepared.get(k)!r}, asked {asked[k]!r}" for k in PARAM_KEYS
            if k in asked and prepared.get(k) != asked[k]
            and not (isinstance(asked[k], float) and float(prepared.get(k, -1)) == asked[k])]
    if diff:
        raise CorpusParamsError(
            f"corpus {corpus_dir} was prepared with other parameters ({'; '.join(diff)}). "
            "Use the data settings it was prepared with, or prepare a new corpus "
            "(binge prepare ... --out NEW_FOLDER) with these settings.")


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    """Atomically write ``rows`` (dicts) as CSV with the given column order."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    atomic_write_text(path, buf.getvalue())


def read_corpus_params(corpus_dir: Path) -> Optional[dict[str, Any]]:
    """The parameters in ``corpus.json``, or None for a folder that has none yet."""
    path = Path(corpus_dir) / "corpus.json"
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text())
        if not isinstance(info, dict) or not isinstance(info.get("params"), dict):
            raise ValueError("no 'params' mapping")
    except ValueError as err:  # JSONDecodeError included: a damaged or foreign file
        raise CorpusError(f"{path} is damaged ({err}); it is not a corpus written by `binge "
                          "prepare`: restore it, or prepare into a new folder") from None
    if info.get("format_version") != FORMAT_VERSION:
        raise CorpusError(f"{path}: corpus format {info.get('format_version')} is not this "
                          f"binge's {FORMAT_VERSION} (see binge.data.corpus.FORMAT_VERSION); "
                          "prepare the sources again into a new folder")
    return info["params"]


def write_manifest(corpus_dir: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Atomically write ``manifest.csv`` (rows in the given order)."""
    path = Path(corpus_dir) / "manifest.csv"
    write_csv(path, MANIFEST_COLUMNS, rows)
    return path


def _convert(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    for k in _INT_COLUMNS & row.keys():
        out[k] = int(row[k]) if row[k] != "" else None  # "": a column older corpora lack
    for k in _FLOAT_COLUMNS & row.keys():
        out[k] = float(row[k]) if row[k] != "" else None
    return out


def read_manifest(corpus_dir: Path, data: Any = None) -> list[dict[str, Any]]:
    """Rows of ``manifest.csv`` with typed values.

    Args:
        corpus_dir: the corpus folder.
        data: a DataConfig (or dict of :data:`PARAM_KEYS`) to check the corpus against;
            None skips the check.
    Raises:
        CorpusError: no manifest (not a corpus, or a sharded prepare not assembled yet).
        CorpusParamsError: prepared with other parameters than ``data``.
    """
    corpus_dir = Path(corpus_dir)
    path = corpus_dir / "manifest.csv"
    if not path.is_file():
        raise CorpusError(
            f"{path} does not exist: {corpus_dir} is not a prepared corpus, or a sharded "
            "prepare has not been assembled yet (run `binge prepare SRC... --out "
            f"{corpus_dir}` once without --shard)")
    with open(path, newline="") as f:
        rows = [_convert(r) for r in csv.DictReader(f)]
    params = read_corpus_params(corpus_dir)
    if params is None:
        raise CorpusError(f"{corpus_dir}/corpus.json is missing; prepare the corpus again")
    if data is not None:
        asked = data if isinstance(data, dict) else prepare_params(data)
        check_params(corpus_dir, params, asked)
    return rows


def _rank(group: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()


def assign_splits(
    groups: Sequence[str],
    user_splits: Sequence[Optional[str]] | None = None,
    heldout_fraction: float = 0.1,
    seed: int = 0,
) -> list[str]:
    """Show-disjoint ``train``/``heldout`` labels, one per title (paper §4.2).

    Args:
        groups: the group (show) of each title.
        user_splits: a user's split per title (``train``/``heldout``) or None/"" to decide.
        heldout_fraction: share of the undecided groups held out (rounded, ≥ 1 when ≥ 2
            groups).
    Returns:
        one label per title, in the input order.
    """
    user = list(user_splits) if user_splits is not None else [None] * len(groups)
    for s in user:
        if s not in (None, "", *SPLITS):
            raise ValueError(f"split {s!r} is not one of {SPLITS}")
    free = sorted({g for g, s in zip(groups, user) if not s})
    n_held = 0
    if len(free) >= 2:
        n_held = min(len(free) - 1, max(1, int(round(heldout_fraction * len(free)))))
    held = set(sorted(free, key=lambda g: _rank(g, seed))[:n_held])
    return [s if s else ("heldout" if g in held else "train") for g, s in zip(groups, user)]

