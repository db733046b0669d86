"""``binge check``: what ``binge prepare`` will do with each file, without transcoding.

Like mmaction2's ``check_videos`` for clip datasets, for long titles: every file is
probed and its packets are read without decoding (seconds per title), and one row per
file says the streams prepare will pick, the colour and geometry tags and how they are
handled, each stream's duration and any mismatch, the gaps and corrupt packets a packet
scan finds, the title id it will get, and the verdict (``prepare`` or ``skip``) with the
reason. The verdict uses prepare's own rules (:func:`binge.data.prepare.probe_usable`,
:func:`binge.data.prepare.assess`) on the packet scan instead of the decoded streams;
damage inside a packet that still demuxes (a picture the decoder conceals) is only
found by ``prepare``, which then reports it in the manifest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Sequence

from binge.config import DataConfig
from binge.data.corpus import write_csv
from binge.data.media import MediaError, scan_packets
from binge.data.prepare import (
    Decoded, TitleJob, assess, finished_titles, plan_titles, probe_usable,
)

__all__ = ["CHECK_COLUMNS", "check_file", "check_sources"]

CHECK_COLUMNS = (
    "source_path", "title_id", "verdict", "reason", "video_stream", "audio_stream",
    "colour", "colour_handling", "geometry", "announced_s", "video_s", "audio_s", "lost_s",
    "video_gaps", "audio_gaps", "damaged_packets", "lost_where",
)


def _geometry(v) -> str:
    parts = [f"{v.width}x{v.height}"]
    if v.sar != 1:
        parts.append(f"SAR {v.sar}")
    if v.rotation:
        parts.append(f"rotation {v.rotation}")
    if len(parts) > 1:
        parts.append(f"shown {v.display_width}x{v.display_height}")
    return ", ".join(parts)


def check_file(job: TitleJob, data: DataConfig = DataConfig()) -> dict[str, Any]:
    """One row of :data:`CHECK_COLUMNS` for ``job`` (its file and planned title id)."""
    row: dict[str, Any] = {"source_path": job.source_path, "title_id": job.title_id}
    try:
        info = probe_usable(job.source_path, data)
        info, vstats, astats = scan_packets(job.source_path)
    except MediaError as err:
        return {**row, "verdict": "skip", "reason": err.reason}
    v, a = info.video, info.audio
    row["video_stream"] = (f"#{v.index} {v.codec} {v.width}x{v.height} {v.fps:.3g} fps "
                           f"({info.num_video_streams} video)")
    row["audio_stream"] = (f"#{a.index} {a.codec} {a.sample_rate} Hz {a.channels} ch "
                           f"({info.num_audio_streams} audio)")
    row["colour"] = v.colour.text if v.colour else ""
    row["colour_handling"] = "to RGB by this matrix/range; stored BT.709 limited, tagged"
    row["geometry"] = _geometry(v)
    decoded = Decoded(info.duration_s, vstats.end_s, astats.end_s, vstats.gaps, astats.gaps,
                      vstats.errors + astats.errors)
    reason, fields = assess(decoded, data)
    return {**row, **fields, "verdict": "skip" if reason else "prepare", "reason": reason or ""}


def check_sources(
    sources: Sequence[str | os.PathLike],
    metadata: Optional[str | os.PathLike] = None,
    data: DataConfig = DataConfig(),
    out_dir: Optional[str | os.PathLike] = None,
    out_csv: Optional[str | os.PathLike] = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Rows of :func:`check_file` for every file ``binge prepare SOURCES [--metadata]
    [--out OUT_DIR]`` would consider (ids as that run would give them; files already
    prepared in ``out_dir`` are checked too and keep their id), plus the sources not
    found; written to ``out_csv`` when given.

    Raises:
        PrepareError: bad metadata (as ``prepare``).
    """
    from tqdm.auto import tqdm

    jobs, missing = plan_titles(sources, metadata, out_dir)
    done = finished_titles(out_dir)
    rows = []
    for job in tqdm(jobs, desc="check", unit="file", disable=not progress or not jobs):
        row = check_file(job, data)
        if done.get(job.source_path) == job.title_id:
            row["lost_where"] = "; ".join(x for x in ("already prepared in the corpus",
                                                     row.get("lost_where", "")) if x)
        rows.append(row)
    rows += [{"source_path": p, "verdict": "skip", "reason": r} for p, r in missing]
    rows.sort(key=lambda r: r["source_path"])
    if out_csv is not None:
        write_csv(Path(out_csv), CHECK_COLUMNS, rows)
    return rows

