"""``binge prepare``: turn long media files into a corpus of fast random-access snippets.

Per title (paper §3: title X_n, snippets x_{n,m}, m < M_n; §4.1 inputs):

1. probe the file and pick the main video and audio streams (:mod:`binge.data.media`);
2. transcode the video once to ``fps`` frames/s, shorter side ``short_side``, H.264 without
   B-frames, ``tune=fastdecode``, a keyframe every ``frames`` frames, so every snippet
   starts on a keyframe;
3. stream the audio (mono = mean of channels, resampled to ``sample_rate``) through the
   pinned log-mel (:mod:`binge.data.logmel`) into an fp16 ``.npy`` of shape
   (num_audio_frames, n_mels), read back as a memory map;
4. M_n = the number of whole snippets of L = frames / fps seconds that both streams cover.

Resumable: a title is built in ``titles/.<id>.partial/``, its ``meta.json`` is written last
and the folder is renamed to ``titles/<id>/`` atomically; a title whose folder exists is
done and never redone, a partial folder is discarded and rebuilt. Bad files are listed in
``skipped.csv`` with the reason and never stop the others.

Sharding (``shard=(i, N)``): titles sorted by id, title k goes to shard ``k % N``. A shard
writes only its titles and ``shards/skipped-<i>-of-<N>.csv``; the manifest is assembled by
one more run over the same sources without a shard, which finds every title done.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import logging
import math
import multiprocessing
import os
import re
import shutil
import unicodedata
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import av
import numpy as np

from binge.config import DataConfig
from binge.data.corpus import (
    FORMAT_VERSION, PrepareError, assign_splits, atomic_write_text, check_params,
    prepare_params, read_corpus_params, write_csv, write_manifest,
)
from binge.data.logmel import LogMelSettings, StreamingLogMel, num_frames, snippet_frames
from binge.data.scenes import finish_prepare_scenes, prepare_scene_hook
from binge.data.media import (
    DecodeStats, MediaError, MediaInfo, iter_audio, probe, transcode_video,
)
from binge.data.packet_index import write_packet_index
from binge.data.media_progress import MediaHoursBar, frame_reporter, set_sink
from binge.workers import die_with_parent

__all__ = [
    "VIDEO_EXTENSIONS",
    "PrepareError",
    "TitleJob",
    "PrepareReport",
    "discover",
    "plan_titles",
    "title_id_for",
    "count_snippets",
    "Decoded",
    "assess",
    "probe_usable",
    "prepare_title",
    "prepare_corpus",
]

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mkv", ".webm", ".avi", ".mov", ".mpg", ".mpeg", ".ts", ".m2ts",
    ".mts", ".flv", ".wmv", ".ogv", ".3gp", ".vob",
})
SKIPPED_COLUMNS = ("source_path", "reason")
#: characters a title id may not hold (ids keep every unicode letter and digit)
_SAFE_ID = re.compile(r"[^\w.-]+")
#: errors of the machine, not of a source file: prepare stops (exit 1) instead of skipping
_MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EROFS, errno.ENOMEM})
#: streams whose decoded lengths differ by more than this (s) are reported as a mismatch
MISMATCH_S = 0.5


@dataclass(frozen=True)
class TitleJob:
    """One title to prepare: its id, source file and metadata."""

    title_id: str
    source_path: str
    group: str
    genre: str = ""
    kind: str = ""
    split: str = ""  # a user's split ("train" / "heldout"), "" to decide


@dataclass
class PrepareReport:
    """What a prepare run did. ``exit_code``: 0 nothing skipped, 3 some skipped."""

    out_dir: Path
    title_ids: list[str] = field(default_factory=list)  # prepared titles (this shard)
    new: int = 0  # titles prepared by this run
    reused: int = 0  # titles found done from an earlier run
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source_path, reason)
    manifest: Optional[Path] = None  # None for a shard of a sharded run
    #: (title_id, lost_s, lost_where) of prepared titles that lost something (issue 13)
    lossy: list[tuple[str, float, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 3 if self.skipped else 0


# ----------------------------------------------------------------------------- planning
def _search(folder: Path, exclude: Optional[Path],
            missing: list[tuple[str, str]]) -> list[Path]:
    """Media files under ``folder`` (symlinked folders not followed), never inside ``exclude``
    (the corpus being written); a sub-folder that cannot be read is added to ``missing``."""
    def unreadable(err: OSError) -> None:
        missing.append((str(err.filename), f"folder not readable ({err.strerror}); its files "
                                            "were not searched: fix its permissions and rerun"))

    found = []
    for root, dirs, names in os.walk(folder, onerror=unreadable):
        here = Path(root)
        if exclude is not None:
            dirs[:] = [d for d in dirs if (here / d).resolve() != exclude]
        found += [(here / n).resolve() for n in names if Path(n).suffix.lower() in VIDEO_EXTENSIONS
                  and (here / n).is_file()]
    return sorted(found)


def discover(sources: Iterable[str | os.PathLike],
             exclude: Optional[str | os.PathLike] = None) -> tuple[list[Path], list[tuple[str, str]]]:
    """Media files under ``sources`` (files are taken as given; folders are searched
    recursively for :data:`VIDEO_EXTENSIONS`, never inside ``exclude``: the output corpus).
    Returns (files, missing) with missing as (path, reason) rows, unreadable sub-folders
    included (skipped.csv lists everything not taken)."""
    files: list[Path] = []
    missing: list[tuple[str, str]] = []
    out = Path(exclude).expanduser().resolve() if exclude is not None else None
    for src in sources:
        p = Path(src).expanduser()
        if p.is_file():
            files.append(p.resolve())
        elif p.is_dir():
            files.extend(_search(p, out, missing))
        else:
            missing.append((str(p), "file or folder not found"))
    unique = sorted(set(files))
    return unique, missing


def _read_metadata(path: Path) -> dict[Path, dict[str, str]]:
    """Rows of a metadata CSV keyed by resolved media path (relative to the CSV's folder)."""
    path = Path(path)
    if not path.is_file():
        raise PrepareError(f"metadata file {path} does not exist")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or "path" not in reader.fieldnames:
            raise PrepareError(f"{path}: a metadata CSV needs a 'path' column (and optional "
                               "title_id, group, genre, kind, split); found "
                               f"{reader.fieldnames}")
        rows = {}
        for i, row in enumerate(reader, start=2):
            if not row.get("path"):
                raise PrepareError(f"{path}, line {i}: empty 'path'")
            split = (row.get("split") or "").strip()
            if split not in ("", "train", "heldout"):
                raise PrepareError(f"{path}, line {i}: split {split!r} must be 'train', "
                                   "'heldout' or empty")
            rows[(path.parent / row["path"]).resolve()] = {k: (v or "").strip()
                                                            for k, v in row.items() if k}
    return rows


def title_id_for(path: Path) -> str:
    """A title's id from its file name: the stem in Unicode NFC with every run of
    characters other than letters, digits, ``.``, ``_`` and ``-`` replaced by ``_``
    (``Épisode 1 – été`` → ``Épisode_1_été``; ``第一集`` stays ``第一集``)."""
    stem = unicodedata.normalize("NFC", Path(path).stem)
    return _SAFE_ID.sub("_", stem).strip("._") or "title"


def _unique_id(path: Path, taken: set[str]) -> str:
    base = title_id_for(path)
    if base in taken:
        base = f"{base}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    return base


def finished_titles(out_dir: Optional[str | os.PathLike]) -> dict[str, str]:
    """source_path → title_id of every finished title in a corpus folder (its
    ``titles/*/meta.json``); empty when there is none."""
    titles = Path(out_dir) / "titles" if out_dir is not None else None
    if titles is None or not titles.is_dir():
        return {}
    done = {}
    for meta in sorted(titles.glob("*/meta.json")):
        row = json.loads(meta.read_text())
        done[row["source_path"]] = row["title_id"]
    return done


#: bytes hashed at each end of a source file for its content fingerprint
_FINGERPRINT_BYTES = 1 << 20


def source_fingerprint(path: str | os.PathLike) -> str:
    """A content fingerprint of a source file, kept in ``meta.json``: its size and the SHA-256 of
    its first and last MiB. A moved or renamed file keeps it, so a rerun recognises a finished
    title whose source moved (2 MiB read per file; no transcode). Raises ``OSError``."""
    p = Path(path)
    size = p.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(p, "rb") as fh:
        digest.update(fh.read(_FINGERPRINT_BYTES))
        if size > _FINGERPRINT_BYTES:
            fh.seek(max(size - _FINGERPRINT_BYTES, _FINGERPRINT_BYTES))
            digest.update(fh.read(_FINGERPRINT_BYTES))
    return f"{size}:{digest.hexdigest()[:32]}"


def _finished_rows(out_dir: Optional[str | os.PathLike]) -> list[dict[str, Any]]:
    titles = Path(out_dir) / "titles" if out_dir is not None else None
    if titles is None or not titles.is_dir():
        return []
    return [json.loads(m.read_text()) for m in sorted(titles.glob("*/meta.json"))]


def _row_fingerprint(row: dict[str, Any]) -> Optional[str]:
    """The recorded fingerprint of a finished title (computed from its source when an older
    corpus did not record it and the source is still there); None when unknown."""
    if row.get("source_fingerprint"):
        return row["source_fingerprint"]
    try:
        return source_fingerprint(row["source_path"])
    except OSError:
        return None


def _moved_titles(files: Sequence[Path], out_dir: Optional[str | os.PathLike]) -> dict[Path, str]:
    """file → title_id of finished titles whose source is no longer among ``files`` but whose
    content fingerprint one of the new files has (the source folder moved or was renamed)."""
    present = {str(p) for p in files}
    gone: dict[str, list[dict[str, Any]]] = {}  # several titles may share one content
    for row in _finished_rows(out_dir):
        if row["source_path"] not in present and row.get("source_fingerprint"):
            gone.setdefault(row["source_fingerprint"], []).append(row)
    known = set(finished_titles(out_dir))
    moved: dict[Path, str] = {}
    for p in files:
        if not gone:
            break
        if str(p) in known:
            continue
        try:
            rows = gone.get(source_fingerprint(p))
        except OSError:
            rows = None
        if rows:  # identical copies: the title whose old file had this name, else the first
            row = next((r for r in rows if Path(r["source_path"]).name == p.name), rows[0])
            rows.remove(row)
            moved[p] = row["title_id"]
    return moved


def _refuse_nothing_found(sources: Sequence[str | os.PathLike],
                         metadata: Optional[str | os.PathLike]) -> None:
    """An empty or mistyped source folder (or a metadata CSV without rows) is a user error, not
    a corpus of 0 titles: raise :class:`PrepareError` before anything is written."""
    where = ", ".join(str(s) for s in sources) if sources else f"{metadata} (no rows)"
    raise PrepareError(f"no media files in {where} (looked for: "
                       f"{' '.join(sorted(VIDEO_EXTENSIONS))}); check the path (nothing was "
                       "written)")


def plan_titles(
    sources: Sequence[str | os.PathLike],
    metadata: Optional[str | os.PathLike] = None,
    out_dir: Optional[str | os.PathLike] = None,
) -> tuple[list[TitleJob], list[tuple[str, str]]]:
    """The titles to prepare, sorted by id, and the (path, reason) rows of sources not found.

    Files come from ``sources``; with no sources, from the metadata CSV's rows. A metadata
    row gives title_id, group (show), genre, kind and split; a title without a group is
    its own group. Ids are stable across reruns on a grown folder: a file already
    prepared in ``out_dir`` keeps its id, the other files get :func:`title_id_for`, with
    a hash of the path appended when that id is taken (files in path order).

    Raises:
        PrepareError: bad metadata, or no media file at all in ``sources`` (nor in the
            metadata's rows) and none missing.
    """
    meta = _read_metadata(Path(metadata)) if metadata is not None else {}
    files, skipped = discover(sources, exclude=out_dir)
    if not sources:
        files = [p for p in meta if p.is_file()]
        skipped += [(str(p), f"listed in {metadata} but not found")
                    for p in meta if not p.is_file()]
    if not files and not skipped:
        _refuse_nothing_found(sources, metadata)
    jobs: list[TitleJob] = []
    done = finished_titles(out_dir)
    moved = _moved_titles(files, out_dir)
    ids: dict[Path, str] = {}
    fixed: set[str] = set()
    for p in files:  # user ids first, then ids of finished titles (moved ones too): all fixed
        tid = meta.get(p, {}).get("title_id") or done.get(str(p)) or moved.get(p)
        if tid:
            if _SAFE_ID.search(tid) or tid.startswith("."):
                raise PrepareError(f"{metadata}: title_id {tid!r} may only use letters, "
                                   "digits, '.', '_' and '-' and must not start with '.'")
            if tid in fixed:
                raise PrepareError(f"{metadata}: title_id {tid!r} is used twice")
            ids[p] = tid
            fixed.add(tid)
    taken = fixed | set(done.values())
    for p in files:
        if p not in ids:
            ids[p] = _unique_id(p, taken)
            taken.add(ids[p])
    for p in files:
        row, tid = meta.get(p, {}), ids[p]
        jobs.append(TitleJob(tid, str(p), row.get("group") or tid, row.get("genre", ""),
                             row.get("kind", ""), row.get("split", "")))
    return sorted(jobs, key=lambda j: j.title_id), skipped


# ----------------------------------------------------------------------------- one title
def count_snippets(num_video_frames: int, num_audio_frames: int, data: DataConfig) -> int:
    """M_n: whole snippets covered by both the video frames and the audio frames."""
    settings = LogMelSettings.from_config(data)
    m = num_video_frames // data.frames
    while m > 0:
        t0, q = snippet_frames(m - 1, data.snippet_seconds, settings)
        if t0 + q <= num_audio_frames:
            break
        m -= 1
    return m


@dataclass
class Decoded:
    """What decoding (prepare) or a packet scan (``binge check``) found in one title, in
    seconds from the time origin: the header's duration, each stream's extent and gaps."""

    announced_s: Optional[float]
    video_s: float
    audio_s: float
    video_gaps: list[tuple[float, float]] = field(default_factory=list)
    audio_gaps: list[tuple[float, float]] = field(default_factory=list)
    errors: int = 0  # packets that failed to demux or decode
    #: frames written at ``data.fps`` / audio samples at ``data.sample_rate`` (prepare knows
    #: them; None: derived from ``video_s`` / ``audio_s`` as the transcode would count them)
    video_frames: Optional[int] = None
    audio_samples: Optional[int] = None

    @property
    def shared_s(self) -> float:
        return min(self.video_s, self.audio_s)


def frames_until(end_s: float, fps: float) -> int:
    """Frames the transcode writes at ``fps`` for video ending at ``end_s`` (s): output frame k
    is taken while its centre ``(k + 0.5) / fps`` lies before the end, and a title with any
    video gives at least one (:func:`binge.data.media.iter_video_frames`)."""
    if end_s <= 0:
        return 0
    k = max(0, math.floor(end_s * fps - 0.5))
    while k > 0 and (k - 0.5) / fps >= end_s:
        k -= 1
    while (k + 0.5) / fps < end_s:
        k += 1
    return max(k, 1)


def _too_short(d: Decoded, data: DataConfig) -> Optional[str]:
    """Why ``d`` holds no whole snippet, in the units the snippet is cut in (§3: a snippet is
    ``data.frames`` video frames and Q log-mel frames of ``1 + N // hop`` from N samples, as
    :func:`count_snippets` counts them), or None when it holds one. Seconds are never compared:
    a 24 fps WebM ending at 0.999 s still gives 8 frames at 8 fps."""
    settings = LogMelSettings.from_config(data)
    frames = d.video_frames if d.video_frames is not None else frames_until(d.video_s, data.fps)
    samples = (d.audio_samples if d.audio_samples is not None
               else int(round(d.audio_s * data.sample_rate)))
    q = snippet_frames(0, data.snippet_seconds, settings)[1]
    rows = num_frames(samples, data.hop_length)
    if frames >= data.frames and rows >= q:
        return None
    need = (q - 1) * data.hop_length  # samples giving Q centred log-mel frames
    short = [f"video {frames} of {data.frames} frames at {data.fps:g} fps"] \
        if frames < data.frames else []
    if rows < q:
        short.append(f"audio {samples} of {need} samples at {data.sample_rate} Hz ({rows} of "
                     f"{q} log-mel frames)")
    return f"shorter than one snippet of {data.snippet_seconds:g} s: {', '.join(short)}"


def _union_s(gaps: Iterable[tuple[float, float]], end: float) -> float:
    """Seconds of [0, end) covered by the union of the (start, end) spans ``gaps``."""
    total, reach = 0.0, 0.0
    for a, b in sorted((max(0.0, a), min(b, end)) for a, b in gaps if a < end):
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def assess(d: Decoded, data: DataConfig) -> tuple[Optional[str], dict[str, Any]]:
    """The verdict on a title: (skip reason or None, manifest fields).

    Rules (docs/data.md, "what prepare does with real-world files"): everything that
    decodes is kept, in sync; the kept span is the one both streams cover (from the
    origin to the shorter stream's end), cut to whole snippets later; a title is skipped
    only when no video frame or no audio sample decodes, or the shared span is shorter
    than one snippet. The fields say what was lost: ``lost_s`` = seconds of the header's
    duration (or of the longer stream) not in the kept span, plus the seconds inside it
    where either stream has a gap (held frame / zeros), and ``lost_where`` says where.
    """
    if d.video_s <= 0:
        return "no decodable video frames", {}
    if d.audio_s <= 0:
        return "audio stream decodes to 0 samples", {}
    kept = d.shared_s
    notes = []
    longest = max(d.video_s, d.audio_s, d.announced_s or 0.0)
    if abs(d.video_s - d.audio_s) > MISMATCH_S:
        notes.append(f"video {d.video_s:.2f} s, audio {d.audio_s:.2f} s: kept the "
                     f"{kept:.2f} s both cover")
    if d.announced_s is not None and d.announced_s - max(d.video_s, d.audio_s) > MISMATCH_S:
        notes.append(f"header announces {d.announced_s:.2f} s, "
                     f"{max(d.video_s, d.audio_s):.2f} s decode")
    for name, gaps in (("video", d.video_gaps), ("audio", d.audio_gaps)):
        inside = [(a, b) for a, b in gaps if a < kept]
        if inside:
            held = "held frame" if name == "video" else "silence"
            spans = ", ".join(f"{a:.2f}-{b:.2f}" for a, b in inside[:5])
            more = f" (+{len(inside) - 5} more)" if len(inside) > 5 else ""
            notes.append(f"{name} gaps at {spans} s{more} ({held})")
    if d.errors:
        notes.append(f"{d.errors} damaged packets skipped")
    lost = (longest - kept) + _union_s(d.video_gaps + d.audio_gaps, kept)
    fields = {"announced_s": round(d.announced_s, 4) if d.announced_s is not None else "",
              "video_s": round(d.video_s, 4), "audio_s": round(d.audio_s, 4),
              "lost_s": round(max(0.0, lost), 4), "video_gaps": len(d.video_gaps),
              "audio_gaps": len(d.audio_gaps), "damaged_packets": d.errors,
              "lost_where": "; ".join(notes)}
    short = _too_short(d, data)
    if short is not None:
        return short + (f"; {'; '.join(notes)}" if notes else ""), fields
    return None, fields


def probe_usable(path: str | os.PathLike, data: DataConfig) -> MediaInfo:
    """Probe ``path`` and refuse, before any decoding, a file without a video or an
    audio stream or whose header announces less than one snippet (minus 1 s).

    Raises:
        MediaError: with the skip reason (``prepare`` and ``binge check`` share it).
    """
    info = probe(path)
    if info.video is None:
        raise MediaError(path, "no video stream")
    if info.audio is None:
        raise MediaError(path, "no audio stream")
    seconds = data.snippet_seconds
    if info.duration_s is not None and info.duration_s < seconds - 1.0:
        raise MediaError(path, f"shorter than one snippet ({info.duration_s:.2f} s "
                               f"< {seconds:.2f} s)")
    return info


def _audio_logmel(job: TitleJob, data: DataConfig, stats: DecodeStats,
                  path: Path) -> tuple[int, int]:
    """Stream the log-mel of the title's main audio into the ``.npy`` file ``path``:
    (num_audio_frames, n_mels) fp16, C order. Returns (num_audio_frames, audio samples).

    Memory is flat in the title's length: each chunk's rows are written as they come, under
    a header written first for 0 rows and rewritten for the final count at the end. NumPy
    pads the header's shape field to 21 digits (``format.GROWTH_AXIS_MAX_DIGITS``) so that
    the two have the same length, and the file is byte-identical to ``np.save`` of the
    concatenated rows (tests/data/test_prepare_audio_stream.py).
    """
    streamer = StreamingLogMel(LogMelSettings.from_config(data))
    n_mels, rows = data.n_mels, 0

    def header(count: int) -> bytes:
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            buf, {"descr": np.dtype(np.float16).str, "fortran_order": False,
                  "shape": (count, n_mels)})
        return buf.getvalue()

    with open(path, "wb") as f:
        f.write(header(0))
        start = f.tell()
        for chunk in iter_audio(job.source_path, data.sample_rate, stats=stats):
            part = np.ascontiguousarray(streamer.push(chunk).T, dtype=np.float16)
            f.write(part.data)
            rows += len(part)
        part = np.ascontiguousarray(streamer.finish().T, dtype=np.float16)
        f.write(part.data)
        rows += len(part)
        final = header(rows)
        if len(final) != start:  # cannot happen below 10²¹ rows; refuse rather than corrupt
            raise RuntimeError(f"{path}: .npy header grew from {start} to {len(final)} bytes")
        f.seek(0)
        f.write(final)
    return rows, streamer.num_samples


def prepare_title(job: TitleJob, out_dir: Path, data: DataConfig) -> dict[str, Any]:
    """Prepare one title into ``out_dir/titles/<id>/`` and return its manifest row.

    Raises :class:`MediaError` (with the reason) for a file that cannot be used; the
    verdict is :func:`assess`'s.
    """
    titles = Path(out_dir) / "titles"
    final = titles / job.title_id
    if (final / "meta.json").is_file():
        return json.loads((final / "meta.json").read_text())
    partial = titles / f".{job.title_id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)

    info = probe_usable(job.source_path, data)
    vstats, astats = DecodeStats(), DecodeStats()
    scenes = prepare_scene_hook(data)  # scene cuts from the frames transcoded (data.scenes)
    try:
        num_v = transcode_video(job.source_path, partial / "video.mp4", data.fps,
                                data.short_side, keyframe_interval=data.frames, stats=vstats,
                                on_frame=scenes.on_frame if scenes else None,
                                progress=frame_reporter(job.title_id, data.fps, data.frames))
    except MediaError as err:
        if err.reason != "no decodable video frames":
            raise
        num_v = 0
    num_rows, num_samples = _audio_logmel(job, data, astats, partial / "audio.npy")
    decoded = Decoded(info.duration_s, min(vstats.end_s, num_v / data.fps),
                      num_samples / data.sample_rate, vstats.gaps, astats.gaps,
                      vstats.errors + astats.errors, video_frames=num_v, audio_samples=num_samples)
    reason, fields = assess(decoded, data)
    if reason is not None:
        raise MediaError(job.source_path, reason)
    m = count_snippets(num_v, num_rows, data)
    if m == 0:  # assess counts as count_snippets does: a disagreement is a bug, not a skip
        raise RuntimeError(f"{job.source_path}: assess kept {num_v} frames / {num_rows} log-mel "
                           "frames but count_snippets finds no snippet")
    if fields["lost_where"]:
        log.warning("%s: %s", job.source_path, fields["lost_where"])
    write_packet_index(partial / "video.mp4", data.frames)  # reads without the MP4 (packet_index.py)
    with av.open(str(partial / "video.mp4")) as c:
        width, height = c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height
    v = info.video
    row = {
        **asdict(job),
        "duration_s": round(min(num_v / data.fps, num_samples / data.sample_rate), 4),
        "num_snippets": m,
        "video_path": f"titles/{job.title_id}/video.mp4",
        "audio_path": f"titles/{job.title_id}/audio.npy",
        "width": width, "height": height,
        "num_video_frames": num_v, "num_audio_frames": num_rows,
        "source_width": v.width, "source_height": v.height,
        "source_fps": round(v.fps, 4),
        "source_sample_rate": info.audio.sample_rate, "source_channels": info.audio.channels,
        "source_colour": v.colour.text if v.colour else "",
        "source_sar": str(v.sar), "source_rotation": v.rotation,
        **fields,
        "format_version": FORMAT_VERSION,
        **prepare_params(data),
        "source_fingerprint": source_fingerprint(job.source_path),  # recognised if it moves
    }
    atomic_write_text(partial / "meta.json", json.dumps(row, indent=1, sort_keys=True))
    if final.exists():  # a folder without meta.json cannot be a finished title
        shutil.rmtree(final)
    os.replace(partial, final)
    if scenes is not None:
        scenes.save(out_dir, job.title_id)
    return row


def _worker(job: TitleJob, out_dir: Path, data: DataConfig) -> tuple[TitleJob, Optional[dict], str]:
    """Run :func:`prepare_title`; media problems become a skip reason, other errors raise."""
    try:
        return job, prepare_title(job, out_dir, data), ""
    except MediaError as err:
        return job, None, err.reason
    except (av.FFmpegError, ValueError, EOFError, OSError) as err:
        if isinstance(err, OSError) and (not isinstance(err, av.FFmpegError)
                                         or err.errno in _MACHINE_ERRNOS):
            where = Path(out_dir) / "titles" / job.title_id  # a fault of the machine: stop
            raise OSError(err.errno, f"{err.strerror or err} while writing {where} (from "
                                     f"{job.source_path})") from err
        return job, None, f"{type(err).__name__}: {err}"
    finally:
        shutil.rmtree(Path(out_dir) / "titles" / f".{job.title_id}.partial", ignore_errors=True)


def _init_worker(progress_sink=None) -> None:
    set_sink(progress_sink)  # in-title progress: a queue to the parent's bar, or None
    die_with_parent()
    import torch

    torch.set_num_threads(1)


# ----------------------------------------------------------------------------- the corpus
def _check_params(out_dir: Path, data: DataConfig) -> Optional[dict[str, Any]]:
    """Refuse a corpus prepared with other parameters (CorpusParamsError); return the
    parameters to record in a new corpus's ``corpus.json``, None when it has one already."""
    params = prepare_params(data)
    existing = read_corpus_params(out_dir)
    if existing is None:
        return params
    check_params(out_dir, existing, params)
    return None


def _claim_params(out_dir: Path, params: dict[str, Any]) -> None:
    """Write ``corpus.json`` of a new corpus (after every refusal: a refused run writes nothing)."""
    atomic_write_text(out_dir / "corpus.json", json.dumps(
        {"format_version": FORMAT_VERSION, "params": params}, indent=1, sort_keys=True))


def _done_row(out_dir: Path, job: TitleJob) -> Optional[dict[str, Any]]:
    meta = out_dir / "titles" / job.title_id / "meta.json"
    return json.loads(meta.read_text()) if meta.is_file() else None


def prepare_corpus(
    sources: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    metadata: Optional[str | os.PathLike] = None,
    data: DataConfig = DataConfig(),
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    progress: bool = True,
) -> PrepareReport:
    """Prepare (or resume preparing) a corpus; see the module docstring.

    Args:
        sources: media files and/or folders.
        out_dir: the corpus folder (created).
        metadata: optional CSV with ``path`` (relative to the CSV) and optional
            ``title_id, group, genre, kind, split`` (``binge world`` writes one).
        data: snippet geometry and log-mel parameters.
        workers: processes preparing titles in parallel.
        shard: ``(i, N)``: prepare only every N-th title starting at i.
    Raises:
        CorpusParamsError: ``out_dir`` holds a corpus prepared with other parameters.
        PrepareError: bad arguments or metadata.
    """
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise PrepareError(f"shard {i}/{n}: expected 0 <= i < N")
    if workers < 1:
        raise PrepareError(f"workers={workers}: expected at least 1")
    out = Path(out_dir)
    new_params = _check_params(out, data)
    jobs, skipped = plan_titles(sources, metadata, out)
    mine = [j for k, j in enumerate(jobs) if k % n == i]
    rows: dict[str, dict[str, Any]] = {}
    report = PrepareReport(out)
    todo = []
    conflicts = []
    relocated = []  # written only once nothing is refused (a refusal touches nothing)
    for job in mine:
        row = _done_row(out, job)
        if row is None:
            todo.append(job)
            continue
        if row["source_path"] != job.source_path:  # moved (same content), or another file
            fingerprint = _same_content(row, job)
            if fingerprint is None:
                conflicts.append((job, row))
                continue
            row = {**row, "source_path": job.source_path, "source_fingerprint": fingerprint}
            relocated.append(row)
        rows[job.title_id] = {**row, **_job_metadata(job)}
        report.reused += 1
    _refuse_losses(out, conflicts, jobs if n == 1 else None)
    out.mkdir(parents=True, exist_ok=True)  # nothing is refused from here on
    if new_params is not None:
        _claim_params(out, new_params)
    for row in relocated:
        _relocate(out, row)
    for job, row, reason in _run(todo, out, data, workers, progress):
        if row is None:
            skipped.append((job.source_path, reason))
            log.warning("skipped %s: %s", job.source_path, reason)
        else:
            rows[job.title_id] = row
            report.new += 1
    report.skipped = sorted(skipped)
    report.title_ids = sorted(rows)
    report.lossy = [(t, float(rows[t].get("lost_s") or 0.0), rows[t]["lost_where"])
                    for t in report.title_ids if rows[t].get("lost_where")]
    if n > 1:
        write_csv(out / "shards" / f"skipped-{i}-of-{n}.csv", SKIPPED_COLUMNS,
                  [dict(zip(SKIPPED_COLUMNS, s)) for s in report.skipped])
        return report
    ordered = [rows[t] for t in report.title_ids]
    splits = assign_splits([r["group"] for r in ordered],
                           [r.get("split") or None for r in _jobs_by_id(jobs, ordered)],
                           heldout_fraction=data.heldout_fraction)
    for r, s in zip(ordered, splits):
        r["split"] = s
    report.manifest = write_manifest(out, ordered)
    finish_prepare_scenes(out, ordered, data, progress=progress)
    write_csv(out / "skipped.csv", SKIPPED_COLUMNS,
              [dict(zip(SKIPPED_COLUMNS, s)) for s in report.skipped])
    return report


def _same_content(row: dict[str, Any], job: TitleJob) -> Optional[str]:
    """The fingerprint of ``job``'s file when it has the content the finished title ``row``
    was prepared from, else None (other content, unknown, or unreadable)."""
    recorded = _row_fingerprint(row)
    if recorded is None:
        return None
    try:
        now = source_fingerprint(job.source_path)
    except OSError:
        return None
    return now if now == recorded else None


def _relocate(out: Path, row: dict[str, Any]) -> None:
    """Record a finished title's new source path and fingerprint (``row``: its ``meta.json``
    with them updated; its media stay as prepared). Called after every refusal check."""
    atomic_write_text(out / "titles" / row["title_id"] / "meta.json",
                      json.dumps(row, indent=1, sort_keys=True))
    log.info("%s: source moved to %s", row["title_id"], row["source_path"])


def _refuse_losses(out: Path, conflicts: list, jobs: Optional[list[TitleJob]]) -> None:
    """Raise :class:`PrepareError`, before anything is written, when the run would drop finished
    titles: a source whose id holds another file's title (``conflicts``), or (``jobs`` given: a
    whole-corpus run) finished titles whose source files are gone and were not found moved."""
    if conflicts:
        job, row = conflicts[0]
        raise PrepareError(
            f"{len(conflicts)} source(s) would take the title_id of a finished title of other "
            f"content: {job.source_path} has title_id {job.title_id!r}, which {out} holds for "
            f"{row['source_path']}; nothing was changed. Give these files other title_ids "
            "(metadata CSV) or prepare them into another --out")
    if jobs is None:
        return
    ids = {j.title_id for j in jobs}
    lost = [r for r in _finished_rows(out)
            if r["title_id"] not in ids and not Path(r["source_path"]).exists()]
    if lost:
        raise PrepareError(
            f"{len(lost)} finished title(s) of {out} have sources that no longer exist and are "
            f"not among the given sources (e.g. {lost[0]['title_id']!r} from "
            f"{lost[0]['source_path']}); nothing was changed. Pass the folder they moved to "
            "(titles are recognised by content), or delete titles/<id> to drop a title")


def _job_metadata(job: TitleJob) -> dict[str, str]:
    """Metadata fields that may change between runs without redoing the media."""
    return {"group": job.group, "genre": job.genre, "kind": job.kind, "split": job.split}


def _jobs_by_id(jobs: list[TitleJob], rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    by_id = {j.title_id: j for j in jobs}
    return [_job_metadata(by_id[r["title_id"]]) for r in rows]


def _duration_s(job: TitleJob) -> float:
    """The title's duration as probed (0 for a file that cannot be probed: it will be skipped)."""
    try:
        return float(probe(job.source_path).duration_s or 0.0)
    except (MediaError, av.FFmpegError, ValueError, OSError):
        return 0.0


def _run(todo: list[TitleJob], out: Path, data: DataConfig, workers: int, progress: bool):
    """Yield (job, row | None, reason) as titles finish, with a media-hours bar: hours of media
    done / total and the rate in × real time, moving inside a title (binge.data.media_progress)."""
    durations = {job.title_id: _duration_s(job) for job in todo} if progress and todo else {}
    bar = MediaHoursBar(sum(durations.values()), len(todo), disable=not progress or not todo)
    try:
        if workers == 1 or len(todo) <= 1:
            _init_worker(bar.add if progress else None)
            try:
                for job in todo:
                    result = _worker(job, out, data)
                    bar.finish(job.title_id, durations.get(job.title_id, 0.0))
                    yield result
            finally:
                set_sink(None)
            return
        ctx = multiprocessing.get_context("spawn")
        reports = ctx.Queue() if progress else None
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(reports,)) as pool:
            pending = {pool.submit(_worker, job, out, data): job for job in todo}
            while pending:
                done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                if reports is not None:
                    bar.drain(reports)
                for fut in done:
                    job = pending.pop(fut)
                    bar.finish(job.title_id, durations.get(job.title_id, 0.0))
                    yield fut.result()
    finally:
        bar.close()

