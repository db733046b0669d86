"""Scene boundaries of a corpus: detection, ``scenes.csv`` and the snippet view the sampler uses.

The paper (§4.2, "Sampling window") leaves open that "ideally, we should identify scene
boundaries and dynamically modify w during sampling". This module finds the boundaries with
PySceneDetect's content or adaptive detector, driven one decoded frame at a time
(:class:`SceneCutDetector`: ``push(frame, t)`` / ``finish()``), so the detector can sit in any
decode loop (``binge prepare``'s transcode, or ``binge scenes`` on a prepared corpus).

``scenes.csv`` (corpus folder, or any file a user brings) has one row per scene:
``title_id, scene, start_s, end_s``; per title the scenes are numbered ``0, 1, …``, start at
0 s, are contiguous (``end_s`` of scene ``j`` = ``start_s`` of scene ``j + 1``) and cover the
title (the last ``end_s`` equals the manifest's ``duration_s`` within
:data:`END_TOLERANCE_S`). ``scenes.json`` beside it records where the boundaries came from
(:func:`write_corpus_scenes`: ``source`` is ``"detected at prepare"`` (every cut found on the
frames prepare transcoded) or ``"detected"`` with the detector, its settings and
``cuts_from``, ``"user CSV"`` with the file's path and SHA-256, or ``"world ground truth"``) and the SHA-256 of the CSV it describes; a pretraining run records which scenes it
sampled from (:func:`record_run_scenes`: ``RUN/scenes.json``).

Snippet view: snippet ``m`` of a title covers ``[m·L, (m+1)·L)`` and belongs to the scene that
holds its centre ``(m + ½)·L``; a scene that holds no snippet centre is dropped. Each title
then has ascending snippet indices where its scenes start (:func:`snippet_scene_starts`),
which is what :class:`binge.sampling.HierarchicalBatchSampler` takes as ``scenes``.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional

import numpy as np

from binge.config import ConfigError
from binge.io import atomic_write_text, file_sha256, write_json

if TYPE_CHECKING:
    from binge.config import Config

__all__ = [
    "SCENE_COLUMNS",
    "END_TOLERANCE_S",
    "SceneError",
    "SceneDetectorUnavailable",
    "DetectorSettings",
    "SceneCutDetector",
    "detection_frame",
    "iter_detection_frames",
    "detect_cuts",
    "scenes_from_cuts",
    "write_scenes_csv",
    "read_scenes_csv",
    "validate_scenes",
    "snippet_scene_starts",
    "scenes_from_world",
    "sampling_scenes",
    "sampling_needs_scenes",
    "title_cuts_path",
    "write_title_cuts",
    "read_title_cuts",
    "detect_title",
    "write_corpus_scenes",
    "import_scenes_csv",
    "scenes_record",
    "record_run_scenes",
    "detect_corpus",
    "PrepareSceneHook",
    "prepare_scene_hook",
    "finish_prepare_scenes",
    "check_run_scenes",
]

SCENE_COLUMNS = ("title_id", "scene", "start_s", "end_s")
#: |last end_s − duration_s| allowed (seconds); contiguity is checked to 1 ms.
END_TOLERANCE_S = 0.5
_CONTIGUITY_TOLERANCE_S = 1e-3

Scenes = dict[str, list[tuple[float, float]]]  # title_id -> [(start_s, end_s), ...]
log = logging.getLogger(__name__)


class SceneError(ConfigError):
    """A scenes CSV or scene setting that cannot be used; the message names the file and fix."""


class SceneDetectorUnavailable(RuntimeError):
    """PySceneDetect / OpenCV cannot be imported on this machine; the message says what to do."""


def _import_detectors():
    """PySceneDetect's detectors, or :class:`SceneDetectorUnavailable` with the fix."""
    try:
        from scenedetect.detectors import AdaptiveDetector, ContentDetector
    except ImportError as err:  # e.g. opencv-python without libGL.so.1 on a minimal image
        raise SceneDetectorUnavailable(
            f"scene detection needs PySceneDetect and OpenCV, which failed to import ({err}); "
            "install them (pip install scenedetect; OpenCV loads libGL.so.1: apt-get install "
            "libgl1), or turn detection off with data.scene_detector=null") from err
    return AdaptiveDetector, ContentDetector


# ----------------------------------------------------------------------------- detection
@dataclass(frozen=True)
class DetectorSettings:
    """PySceneDetect detector and its settings.

    ``method="adaptive"`` (default): ``AdaptiveDetector`` (a cut where that change exceeds
    ``threshold`` × its rolling average over ``window_width`` frames each side; default 3);
    on the TV world it finds 3.7× more true cuts than the content detector at 27
    (benchmarks/scene_detection.py, docs/sampling.md). ``method="content"``: ``ContentDetector`` (a cut where the weighted HSV + edge change
    between consecutive frames reaches ``threshold``, PySceneDetect's default 27).
    ``min_scene_s``: no two cuts closer than this (seconds). Frames are downscaled to
    ``width`` pixels wide (aspect kept) before detection; 0 keeps them as decoded.
    """

    method: Literal["content", "adaptive"] = "adaptive"
    threshold: Optional[float] = None  # None: the library's default for the method
    min_scene_s: float = 1.0
    width: int = 128
    window_width: int = 2  # adaptive only

    def __post_init__(self) -> None:
        if self.method not in ("content", "adaptive"):
            raise SceneError(f"scene detector {self.method!r} is not 'content' or 'adaptive'")
        if self.min_scene_s < 0 or self.width < 0 or self.window_width < 1:
            raise SceneError("scene detector: min_scene_s and width must be ≥ 0, "
                             "window_width ≥ 1")

    def resolved_threshold(self) -> float:
        if self.threshold is not None:
            return float(self.threshold)
        return 27.0 if self.method == "content" else 3.0

    def as_dict(self) -> dict[str, Any]:
        import scenedetect

        out = asdict(self)
        out["threshold"] = self.resolved_threshold()
        out["library"] = f"scenedetect {scenedetect.__version__}"
        return out


class SceneCutDetector:
    """Scene cuts of one title from its frames, pushed one at a time.

    Args:
        fps: frame rate of the pushed frames (frames are numbered ``round(t · fps)``).
        settings: the detector (:class:`DetectorSettings`).

    ``push(frame, t)`` takes an RGB ``(H, W, 3)`` uint8 frame at time ``t`` seconds (strictly
    increasing); ``finish()`` returns the cut times in seconds (the start of every scene but
    the first), ascending. Frames wider than ``settings.width`` are downscaled (area
    interpolation) before detection.
    """

    def __init__(self, fps: float, settings: DetectorSettings = DetectorSettings()) -> None:
        AdaptiveDetector, ContentDetector = _import_detectors()
        if not fps > 0:
            raise SceneError(f"scene detector: fps must be > 0, got {fps}")
        self.fps = float(fps)
        self.settings = settings
        min_len = max(1, int(round(settings.min_scene_s * self.fps)))
        if settings.method == "content":
            self._detector = ContentDetector(threshold=settings.resolved_threshold(),
                                             min_scene_len=min_len)
        else:
            self._detector = AdaptiveDetector(adaptive_threshold=settings.resolved_threshold(),
                                              min_scene_len=min_len,
                                              window_width=settings.window_width)
        self._cuts: list[float] = []
        self._last_frame = -1
        self._last_tc = None
        self._finished = False

    def push(self, frame: np.ndarray, t: float) -> None:
        """Feed the frame shown at ``t`` seconds (RGB, (H, W, 3) uint8)."""
        import cv2
        from scenedetect import FrameTimecode

        if self._finished:
            raise RuntimeError("SceneCutDetector.push after finish()")
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise SceneError(f"scene detector: expected an (H, W, 3) uint8 frame, got "
                             f"{frame.shape} {frame.dtype}")
        index = int(round(t * self.fps))
        if index <= self._last_frame:
            raise SceneError(f"scene detector: frame times must increase (t={t} after frame "
                             f"{self._last_frame})")
        self._last_frame = index
        h, w = frame.shape[:2]
        if self.settings.width and w > self.settings.width:
            size = (self.settings.width, max(1, round(h * self.settings.width / w)))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        tc = FrameTimecode(index, fps=self.fps)
        self._last_tc = tc
        self._cuts.extend(c.seconds for c in self._detector.process_frame(tc, bgr))

    def finish(self) -> list[float]:
        """Cut times in seconds, ascending and distinct (no cut at 0 s)."""
        if not self._finished:
            self._finished = True
            if self._last_tc is not None:
                self._cuts.extend(c.seconds for c in self._detector.post_process(self._last_tc))
        return sorted({round(c, 6) for c in self._cuts if c > 0})


def detection_frame(frame: Any, width: int) -> np.ndarray:
    """A PyAV ``VideoFrame`` as an RGB uint8 array, downscaled by swscale to ``width`` wide
    (aspect kept; 0 or a narrower frame: as decoded). Cheaper than converting at full size."""
    if width and frame.width > width:
        height = max(2, round(frame.height * width / frame.width))
        return frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
    return frame.to_ndarray(format="rgb24")


def iter_detection_frames(video_path: str | Path, width: int) -> Iterator[tuple[np.ndarray, float]]:
    """``(rgb_frame, t_seconds)`` for every frame of a (prepared) video, decoded with PyAV."""
    import av

    with av.open(str(video_path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) if frame.pts is not None else frame.time
            yield detection_frame(frame, width), t


def detect_cuts(frames: Iterable[tuple[np.ndarray, float]], fps: float,
                settings: DetectorSettings = DetectorSettings()) -> list[float]:
    """Cut times (seconds) of a sequence of ``(rgb_frame, t)`` (see :class:`SceneCutDetector`)."""
    det = SceneCutDetector(fps, settings)
    for frame, t in frames:
        det.push(frame, t)
    return det.finish()


def scenes_from_cuts(cuts: Sequence[float], duration_s: float) -> list[tuple[float, float]]:
    """Contiguous ``(start_s, end_s)`` scenes covering ``[0, duration_s]`` from cut times
    (cuts outside ``(0, duration_s)`` are ignored)."""
    inner = sorted({float(c) for c in cuts if 0.0 < c < duration_s})
    edges = [0.0, *inner, float(duration_s)]
    return list(zip(edges[:-1], edges[1:]))


# ----------------------------------------------------------------------------- scenes.csv
def write_scenes_csv(path: str | Path, scenes: Mapping[str, Sequence[tuple[float, float]]]) -> Path:
    """Atomically write ``scenes`` (title_id → [(start_s, end_s)]) as ``scenes.csv``."""
    lines = [",".join(SCENE_COLUMNS)]
    for title_id, rows in scenes.items():
        for j, (start, end) in enumerate(rows):
            lines.append(f"{title_id},{j},{start:.4f},{end:.4f}")
    return atomic_write_text(path, "\n".join(lines) + "\n")


def read_scenes_csv(path: str | Path,
                    durations: Optional[Mapping[str, float]] = None) -> Scenes:
    """Read and validate a scenes CSV (see the module docstring for the format).

    Args:
        path: the CSV (columns ``title_id, scene, start_s, end_s``; rows in any order).
        durations: ``title_id → duration_s`` of the corpus (the manifest); when given, the CSV
            must have exactly these titles and each title's last scene must end at its
            duration (± :data:`END_TOLERANCE_S`).
    Raises:
        SceneError: a missing file or column, a non-number, a gap/overlap, a scene numbering
            other than 0, 1, …, or titles that do not match the corpus.
    """
    path = Path(path)
    if not path.is_file():
        raise SceneError(f"{path} does not exist: run `binge scenes CORPUS` to detect scenes, "
                         "or pass a scenes CSV (columns title_id, scene, start_s, end_s)")
    raw: dict[str, list[tuple[int, float, float, int]]] = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in SCENE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SceneError(f"{path}: missing column(s) {missing}; a scenes CSV has the "
                             f"columns {', '.join(SCENE_COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            for column, kind in (("scene", int), ("start_s", float), ("end_s", float)):
                try:
                    kind(row[column])
                except (TypeError, ValueError):
                    raise SceneError(
                        f"{path}:{line}: {column}={row[column]!r} is not "
                        f"{'an integer' if kind is int else 'a number (seconds)'}; fix that "
                        "cell (columns: " + ", ".join(SCENE_COLUMNS) + ")") from None
            item = (int(row["scene"]), float(row["start_s"]), float(row["end_s"]))
            if not row["title_id"]:
                raise SceneError(f"{path}:{line}: empty title_id; give the manifest's title_id "
                                 "of the title")
            raw.setdefault(row["title_id"], []).append((*item, line))
    if not raw:
        raise SceneError(f"{path}: no rows; give one row per scene (title_id, scene, start_s, "
                         "end_s)")
    scenes = {t: _title_scenes(path, t, rows) for t, rows in raw.items()}
    if durations is not None:
        lines = {t: (min(rows)[3], max(rows)[3]) for t, rows in raw.items()}
        validate_scenes(scenes, durations, where=str(path), lines=lines)
    return scenes


def _title_scenes(path: Path, title_id: str,
                  rows: list[tuple[int, float, float, int]]) -> list[tuple[float, float]]:
    """One title's rows ``(scene, start_s, end_s, csv line)`` as contiguous scenes; errors
    name ``path:line``."""
    rows = sorted(rows)
    for want, (j, _, _, line) in enumerate(rows):
        if j != want:
            raise SceneError(f"{path}:{line}: title {title_id!r} scene {j} where scene {want} "
                             f"was expected (numbers {[r[0] for r in rows][:8]}); number each "
                             "title's scenes 0, 1, 2, … in time order")
    out = []
    for j, start, end, line in rows:
        if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
            raise SceneError(f"{path}:{line}: title {title_id!r} scene {j}: end_s {end} must be "
                             f"after start_s {start}")
        out.append((start, end))
    if abs(out[0][0]) > _CONTIGUITY_TOLERANCE_S:
        raise SceneError(f"{path}:{rows[0][3]}: title {title_id!r} scene 0 starts at "
                         f"{out[0][0]} s; the first scene must start at 0")
    for j in range(1, len(out)):
        if abs(out[j][0] - out[j - 1][1]) > _CONTIGUITY_TOLERANCE_S:
            raise SceneError(f"{path}:{rows[j][3]}: title {title_id!r}: scene {j - 1} ends at "
                             f"{out[j - 1][1]} s but scene {j} starts at {out[j][0]} s; scenes "
                             "must be contiguous (end_s of one = start_s of the next)")
    return out


def validate_scenes(scenes: Mapping[str, Sequence[tuple[float, float]]],
                    durations: Mapping[str, float], where: str = "scenes",
                    lines: Optional[Mapping[str, tuple[int, int]]] = None) -> None:
    """Check that ``scenes`` has exactly the corpus titles and covers each one.

    ``lines``: per title, the CSV lines of its first and last scene (named in the errors).

    Raises:
        SceneError: titles missing or unknown, or a last scene that does not end at the
            title's duration (± :data:`END_TOLERANCE_S`).
    """
    def at(title_id: str, which: int) -> str:
        return f"{where}:{lines[title_id][which]}" if lines and title_id in lines else where

    missing = sorted(set(durations) - set(scenes))
    unknown = sorted(set(scenes) - set(durations), key=lambda t: at(t, 0))
    if missing:
        raise SceneError(f"{where}: no scenes for {len(missing)} corpus title(s) "
                         f"({', '.join(missing[:5])}…); give every title of the manifest "
                         "(column title_id of manifest.csv)")
    if unknown:
        raise SceneError(f"{at(unknown[0], 0)}: title {unknown[0]!r} is not in the corpus "
                         f"manifest ({len(unknown)} title(s) not in the corpus manifest: "
                         f"{', '.join(unknown[:5])}); use the manifest's title_id, or remove "
                         "their rows")
    for title_id, rows in scenes.items():
        end, duration = rows[-1][1], float(durations[title_id])
        if abs(end - duration) > END_TOLERANCE_S:
            raise SceneError(f"{at(title_id, 1)}: title {title_id!r}: the last scene ends at "
                             f"{end} s but the title lasts {duration} s (manifest duration_s); "
                             f"scenes must cover the title (± {END_TOLERANCE_S} s)")


def snippet_scene_starts(scenes: Sequence[tuple[float, float]], num_snippets: int,
                         snippet_s: float) -> np.ndarray:
    """Snippet indices where a title's scenes start, for the sampler.

    Snippet ``m`` (covering ``[m·L, (m+1)·L)``, ``L = snippet_s``) belongs to the scene that
    holds ``(m + ½)·L``; scenes that hold no snippet centre are dropped. Returns an ascending
    int64 array whose first element is 0 (empty when ``num_snippets`` is 0); scene ``j`` of
    the result covers snippets ``[starts[j], starts[j+1])`` (the last one up to
    ``num_snippets``).
    """
    if num_snippets <= 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.array([s for s, _ in scenes], dtype=np.float64)
    first = np.ceil(starts / snippet_s - 0.5 - 1e-9).astype(np.int64)
    first = np.clip(first, 0, num_snippets)
    first[0] = 0
    return np.unique(first[first < num_snippets])


# ----------------------------------------------------------------------------- sources
def scenes_from_world(world_dir: str | Path, title_ids: Optional[Iterable[str]] = None,
                      durations: Optional[Mapping[str, float]] = None) -> Scenes:
    """Ground-truth scenes of a TV world (``ground_truth/<title_id>.json``, docs/world.md).

    ``title_ids``: which titles (default: every ground-truth file). ``durations``: clip the
    last scene to each title's corpus duration (the prepared title may be a frame shorter).
    """
    gt_dir = Path(world_dir) / "ground_truth"
    if not gt_dir.is_dir():
        raise SceneError(f"{gt_dir} does not exist: {world_dir} is not a TV world "
                         "(made by `binge world`)")
    ids = sorted(p.stem for p in gt_dir.glob("*.json")) if title_ids is None else list(title_ids)
    out: Scenes = {}
    for title_id in ids:
        path = gt_dir / f"{title_id}.json"
        if not path.is_file():
            raise SceneError(f"{path} does not exist: title {title_id!r} is not in the world")
        rows = [(float(s["start_s"]), float(s["end_s"]))
                for s in json.loads(path.read_text())["scenes"]]
        if durations is not None:
            cuts = [s for s, _ in rows[1:]]
            rows = scenes_from_cuts(cuts, float(durations[title_id]))
        out[title_id] = rows
    return out


def sampling_needs_scenes(cfg: "Config") -> bool:
    """Whether the ``sampling`` section asks for a scene policy."""
    return cfg.sampling.window == "scene" or cfg.sampling.scene_policy is not None


def sampling_scenes(cfg: "Config", title_ids: Sequence[str],
                    num_snippets: Sequence[int]) -> Optional[list[np.ndarray]]:
    """Per-title snippet scene starts for the sampler, or None if no scene policy is set.

    Reads ``cfg.sampling.scenes`` (default ``<data.corpus>/scenes.csv``), checks it against the
    corpus manifest (:func:`read_scenes_csv`) and maps each of ``title_ids`` to snippet
    indices (:func:`snippet_scene_starts`) with ``L = data.frames / data.fps``.

    Raises:
        SceneError: no scenes file, or one that does not fit the corpus.
    """
    if not sampling_needs_scenes(cfg):
        return None
    from binge.data.corpus import read_manifest

    corpus = Path(cfg.data.corpus)
    path = _sampling_csv(cfg)
    durations = {r["title_id"]: float(r["duration_s"]) for r in read_manifest(corpus)}
    scenes = read_scenes_csv(path, durations)
    L = cfg.data.snippet_seconds
    return [snippet_scene_starts(scenes[t], int(m), L) for t, m in zip(title_ids, num_snippets)]


def _sampling_csv(cfg: "Config") -> Path:
    """The scenes CSV the scene policies read: ``sampling.scenes``, else CORPUS/scenes.csv."""
    if cfg.sampling.scenes:
        return Path(cfg.sampling.scenes)
    return Path(cfg.data.corpus) / "scenes.csv"


def scenes_record(cfg: "Config") -> Optional[dict[str, Any]]:
    """Which scenes a run with ``cfg`` samples from, or None when no scene policy is set.

    ``{"csv": absolute path, "csv_sha256", "source": the description beside the CSV
    (scenes.json: detector and settings, user CSV and its SHA-256, or world ground truth) or
    None when there is none, "matches_description": whether the CSV is the one that
    description was written with (False: edited since, or no description)}``.

    Raises:
        SceneError: the CSV does not exist.
    """
    if not sampling_needs_scenes(cfg):
        return None
    path = _sampling_csv(cfg)
    if not path.is_file():
        raise SceneError(f"{path} does not exist: run `binge scenes CORPUS` to detect scenes, "
                         "or set sampling.scenes to a scenes CSV")
    digest = file_sha256(path)
    info = _read_description(path.with_suffix(".json"))
    return {"csv": str(path.resolve()), "csv_sha256": digest, "source": info,
            "matches_description": bool(info) and info.get("csv_sha256") == digest}


def check_run_scenes(cfg: "Config", run_dir: str | Path,
                     checkpoint: "Optional[tuple[Path, Mapping[str, Any]]]" = None,
                     ) -> Optional[dict[str, Any]]:
    """Before a run is resumed (and before its sampler is built: this message comes first):
    refuse a scenes CSV that is not the one ``run_dir/scenes.json`` recorded, nor the one the
    checkpoint ``(path, state)`` recorded (``state["scenes_sha256"]``: a ``--resume`` of
    another run's checkpoint into a new folder has no ``run_dir/scenes.json``). Returns the
    record of the scenes now (:func:`scenes_record`), None when no scene policy is set.

    Raises:
        SceneError: the scenes changed under the run, or the CSV does not exist.
    """
    record = scenes_record(cfg)
    if record is None:
        return None
    before = _read_description(Path(run_dir) / "scenes.json")
    if before and before.get("csv_sha256") != record["csv_sha256"]:
        was, now = _source_text(before.get("source") or {}), _source_text(record["source"] or {})
        raise SceneError(
            f"{record['csv']} is not the scenes file run {run_dir} started with (sha256 "
            f"{str(before.get('csv_sha256'))[:12]}…, from {was}; "
            f"now {record['csv_sha256'][:12]}…, from {now}): "
            "restore those scenes (binge scenes CORPUS with the recorded settings), or start a "
            "new run (train.out_dir=NEW)")
    saved = checkpoint[1].get("scenes_sha256") if checkpoint is not None else None
    if saved is not None and saved != record["csv_sha256"]:
        raise SceneError(
            f"{record['csv']} is not the scenes file checkpoint {checkpoint[0]} was trained on "
            f"(sha256 {str(saved)[:12]}…; now {record['csv_sha256'][:12]}…): restore those "
            "scenes, or start from step 0 (no --resume)")
    return record


def record_run_scenes(cfg: "Config", run_dir: str | Path, resumed: bool,
                      write: bool = True) -> Optional[dict[str, Any]]:
    """Write ``run_dir/scenes.json`` (:func:`scenes_record`): the scenes a pretraining run
    samples from, so that a result can be traced to its boundaries. Returns the record; None
    (and nothing written) when no scene policy is set. ``write=False`` (ranks other than 0):
    check only.

    A resumed run (``resumed``) whose recorded ``csv_sha256`` differs from the CSV's now is
    refused (its batches would no longer be the ones it started with); a CSV without a
    matching description is logged as a warning.

    Raises:
        SceneError: the scenes changed under a resumed run, or the CSV does not exist.
    """
    record = check_run_scenes(cfg, run_dir) if resumed else scenes_record(cfg)
    if record is None:
        return None
    target = Path(run_dir) / "scenes.json"
    if write:
        if not record["matches_description"]:
            log.warning("%s: no description matches this file (scenes.json missing, or the "
                        "CSV was edited after it was written); the run records only its sha256",
                        record["csv"])
        target.parent.mkdir(parents=True, exist_ok=True)
        write_json(record, target, indent=1, sort_keys=True)
    return record


# ----------------------------------------------------------------------------- corpus files
def title_cuts_path(corpus_dir: str | Path, title_id: str) -> Path:
    """Per-title detection result (``CORPUS/scenes/<title_id>.json``), what makes detection
    resumable title by title."""
    return Path(corpus_dir) / "scenes" / f"{title_id}.json"


#: how a title's recorded cuts were obtained (``origin`` in ``CORPUS/scenes/<title_id>.json``)
AT_TRANSCODE = "prepare transcode"  # on the frames binge prepare transcoded (no second decode)
DECODED = "decoded prepared video"  # by decoding the prepared video.mp4 afterwards
UNRECORDED = "unrecorded"  # a cuts file written before origins were recorded


def write_title_cuts(corpus_dir: str | Path, title_id: str, settings: DetectorSettings,
                     fps: float, cuts: Sequence[float], origin: str = DECODED) -> Path:
    """Record one title's detected cuts with the settings and frame rate they came from, and
    how they were obtained (``origin``: :data:`AT_TRANSCODE` or :data:`DECODED`)."""
    path = title_cuts_path(corpus_dir, title_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_json({"settings": settings.as_dict(), "fps": float(fps), "origin": origin,
                       "cuts_s": [float(c) for c in cuts]}, path, indent=1, sort_keys=True)


def read_title_cuts(corpus_dir: str | Path, title_id: str, settings: DetectorSettings,
                    fps: float, with_origin: bool = False) -> Any:
    """The recorded cuts of a title if they were detected with these settings, else None;
    ``with_origin``: ``(cuts, origin)`` (:data:`UNRECORDED` for an older file), or None."""
    path = title_cuts_path(corpus_dir, title_id)
    if not path.is_file():
        return None
    done = json.loads(path.read_text())
    if done.get("settings") != settings.as_dict() or done.get("fps") != float(fps):
        return None
    cuts = [float(c) for c in done["cuts_s"]]
    return (cuts, str(done.get("origin", UNRECORDED))) if with_origin else cuts


def detect_title(corpus_dir: str | Path, row: Mapping[str, Any], settings: DetectorSettings,
                 fps: float) -> list[float]:
    """Detect the cuts of one prepared title by decoding its ``video_path`` (no transcode)."""
    frames = iter_detection_frames(Path(corpus_dir) / row["video_path"], settings.width)
    return detect_cuts(frames, fps, settings)


def write_corpus_scenes(corpus_dir: str | Path, scenes: Mapping[str, Sequence[tuple[float, float]]],
                        durations: Mapping[str, float], info: dict[str, Any],
                        out: Optional[str | Path] = None) -> Path:
    """Validate ``scenes`` against the corpus and write ``scenes.csv`` (or ``out``) and, beside
    it, ``scenes.json`` (``info``: where the boundaries came from, plus counts)."""
    validate_scenes(scenes, durations, where=str(out or Path(corpus_dir) / "scenes.csv"))
    path = Path(out) if out is not None else Path(corpus_dir) / "scenes.csv"
    ordered = {t: scenes[t] for t in durations}
    described = path.with_suffix(".json")
    old = _read_description(described)
    if old and _source_text(old) != _source_text(info):
        log.warning("%s: replacing scenes from %s with scenes from %s", path,
                    _source_text(old), _source_text(info))
    write_scenes_csv(path, ordered)
    counts = [len(v) for v in ordered.values()]
    write_json({**info, "titles": len(counts), "scenes": int(sum(counts)),
                "csv": path.name, "csv_sha256": file_sha256(path)}, described,
               indent=1, sort_keys=True)
    return path


def _read_description(path: Path) -> Optional[dict[str, Any]]:
    """A scenes CSV's description (``scenes.json``), None when absent or unreadable."""
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _source_text(info: Mapping[str, Any]) -> str:
    """One line: where a scenes.json says its boundaries came from."""
    source = str(info.get("source", "unknown"))
    if "detector" in info:
        d = info["detector"]
        return (f"{source} ({d.get('method')}, threshold {d.get('threshold')}, "
                f"min_scene_s {d.get('min_scene_s')})")
    return f"{source} ({info['path']})" if "path" in info else source


def import_scenes_csv(corpus_dir: str | Path, csv_path: str | Path,
                      out: Optional[str | Path] = None) -> Path:
    """Bring a user's boundaries into a prepared corpus (``binge scenes --scenes`` and
    ``binge prepare --scenes``): validate ``csv_path`` against the manifest (known title ids,
    contiguous, covering each title; :func:`read_scenes_csv`), then write ``scenes.csv`` (or
    ``out``) and ``scenes.json`` with ``source: "user CSV"``, the file's absolute path and its
    SHA-256.

    Raises:
        SceneError: the CSV does not fit the corpus (the message names the file and line).
        CorpusError: ``corpus_dir`` is not a prepared corpus.
    """
    from binge.data.corpus import read_manifest

    durations = {r["title_id"]: float(r["duration_s"]) for r in read_manifest(Path(corpus_dir))}
    scenes = read_scenes_csv(csv_path, durations)
    info = {"source": "user CSV", "path": str(Path(csv_path).resolve()),
            "sha256": file_sha256(csv_path)}
    return write_corpus_scenes(corpus_dir, scenes, durations, info, out=out)


def detect_corpus(corpus_dir: str | Path, rows: Sequence[Mapping[str, Any]],
                  settings: DetectorSettings, fps: float, progress: bool = True,
                  origins: Optional[dict[str, int]] = None) -> Scenes:
    """Scenes of every manifest row: a title's recorded cuts (``binge prepare`` or an earlier
    run, same settings) are reused, the others detected by decoding the prepared video and
    recorded (resumable). tqdm progress over titles. ``origins`` (when given) counts the
    titles by how their cuts were obtained (:data:`AT_TRANSCODE`, :data:`DECODED`,
    :data:`UNRECORDED`)."""
    from tqdm import tqdm

    scenes: Scenes = {}
    bar = tqdm(rows, desc="scenes", unit="title", disable=not progress)
    for row in bar:
        title_id = row["title_id"]
        found = read_title_cuts(corpus_dir, title_id, settings, fps, with_origin=True)
        if found is None:
            bar.set_postfix_str(title_id)
            found = (detect_title(corpus_dir, row, settings, fps), DECODED)
            write_title_cuts(corpus_dir, title_id, settings, fps, found[0], origin=DECODED)
        cuts, origin = found
        if origins is not None:
            origins[origin] = origins.get(origin, 0) + 1
        scenes[title_id] = scenes_from_cuts(cuts, float(row["duration_s"]))
    return scenes


# ----------------------------------------------------------------------------- binge prepare
class PrepareSceneHook:
    """Scene detection on the frames ``binge prepare`` transcodes (no second decode).

    ``on_frame(frame, t)`` takes the PyAV frame the transcoder is about to encode (any pixel
    format; converted to RGB at ``settings.width`` by swscale); ``save(corpus_dir, title_id)``
    records the title's cuts (``CORPUS/scenes/<title_id>.json``), which ``binge scenes`` and
    :func:`finish_prepare_scenes` then reuse.
    """

    def __init__(self, settings: DetectorSettings, fps: float) -> None:
        self.settings, self.fps = settings, float(fps)
        self._detector = SceneCutDetector(fps, settings)

    def on_frame(self, frame: Any, t: float) -> None:
        self._detector.push(detection_frame(frame, self.settings.width), t)

    def save(self, corpus_dir: str | Path, title_id: str) -> Path:
        return write_title_cuts(corpus_dir, title_id, self.settings, self.fps,
                                self._detector.finish(), origin=AT_TRANSCODE)


def prepare_scene_hook(data: Any) -> Optional[PrepareSceneHook]:
    """The hook for one title, or None when ``data.scene_detector`` is None (detection off)."""
    method = getattr(data, "scene_detector", None)
    return None if method is None else PrepareSceneHook(DetectorSettings(method=method),
                                                        data.fps)


#: ``scenes.json`` sources of boundaries a user brought (never replaced by a prepare rerun)
BROUGHT_SOURCES = ("user CSV", "world ground truth")


def finish_prepare_scenes(corpus_dir: str | Path, rows: Sequence[Mapping[str, Any]], data: Any,
                          progress: bool = True) -> Optional[Path]:
    """After ``binge prepare``: write ``scenes.csv`` + ``scenes.json`` from the recorded cuts
    (titles prepared by an earlier run without them are decoded once). None when detection
    is off.

    Provenance: ``source`` is ``"detected at prepare"`` only when every title's cuts were
    found on the frames prepare transcoded, else ``"detected"``; ``cuts_from`` counts the
    titles by origin. Scenes a user brought earlier (``binge prepare/scenes --scenes CSV``,
    ``--from-world``) are kept when they still cover the corpus, never replaced by detected
    ones.

    Raises:
        SceneError: the corpus holds brought scenes that no longer cover its titles.
    """
    method = getattr(data, "scene_detector", None)
    if method is None:
        return None
    durations = {r["title_id"]: float(r["duration_s"]) for r in rows}
    kept = _keep_brought_scenes(Path(corpus_dir), durations)
    if kept is not None:
        return kept
    settings = DetectorSettings(method=method)
    origins: dict[str, int] = {}
    scenes = detect_corpus(corpus_dir, rows, settings, data.fps, progress=progress,
                           origins=origins)
    source = "detected at prepare" if set(origins) <= {AT_TRANSCODE} else "detected"
    info = {"source": source, "detector": settings.as_dict(), "fps": float(data.fps),
            "cuts_from": dict(sorted(origins.items()))}
    return write_corpus_scenes(corpus_dir, scenes, durations, info)


def _keep_brought_scenes(corpus: Path, durations: Mapping[str, float]) -> Optional[Path]:
    """``CORPUS/scenes.csv`` when it holds boundaries a user brought and still covers the
    corpus (kept as they are); None when the corpus has no brought scenes."""
    info = _read_description(corpus / "scenes.json")
    path = corpus / "scenes.csv"
    if not info or info.get("source") not in BROUGHT_SOURCES or not path.is_file():
        return None
    try:
        read_scenes_csv(path, durations)
    except SceneError as err:
        raise SceneError(
            f"{path} holds scenes from {_source_text(info)} that do not fit the titles prepared "
            f"now ({err}); the titles are kept: give boundaries for every title with `binge "
            f"scenes {corpus} --scenes CSV`, or detect them with `binge scenes {corpus}`") from None
    log.info("%s: kept the scenes from %s (a prepare rerun does not replace brought scenes)",
             path, _source_text(info))
    return path
