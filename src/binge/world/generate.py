"""``generate_world``: the whole world, idempotent, atomic and parallel over titles.

A finished world folder holds ``world.json`` with ``"status": "complete"``, the preset, the
seed and the size and SHA-256 of every file. A re-run with the same preset and seed reuses
a complete folder (after checking that every listed file is there with its size); an
interrupted run leaves ``"status": "in_progress"`` and is resumed, reusing the files already
written (each was written atomically and is deterministic). A folder holding another world,
or anything that is not a world, is never overwritten.
"""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from binge.io import file_sha256
from binge.workers import die_with_parent
from binge.world import downstream as D
from binge.world.encode import write_bytes
from binge.world.generate_title import render_title
from binge.world.plan import plan_titles
from binge.world.presets import get_preset

MANIFEST = "world.json"
WORLD_VERSION = 1
METADATA_COLUMNS = ("title_id", "path", "group", "genre", "kind")


class WorldError(RuntimeError):
    """An output folder that cannot hold the requested world."""


def _write_manifest(out_dir: Path, preset: str, seed: int, status: str, files: dict | None = None) -> None:
    body = {"generator": "binge.world", "version": WORLD_VERSION, "preset": preset, "seed": seed, "status": status}
    if files is not None:
        body["files"] = files
    write_bytes(out_dir / MANIFEST, (json.dumps(body, indent=1, sort_keys=True) + "\n").encode())


def _check_folder(out_dir: Path, preset: str, seed: int) -> str:
    """'new', 'resume' or 'complete'; raises WorldError for a folder that is not ours."""
    manifest = out_dir / MANIFEST
    if not manifest.exists():
        if out_dir.exists() and any(out_dir.iterdir()):
            raise WorldError(f"{out_dir} is not empty and holds no {MANIFEST}: choose an empty or new folder for the world")
        return "new"
    try:
        m = json.loads(manifest.read_text())
    except json.JSONDecodeError as err:
        raise WorldError(f"{manifest} is not valid JSON ({err}); delete {out_dir} and generate again") from err
    if (m.get("preset"), m.get("seed"), m.get("version")) != (preset, seed, WORLD_VERSION):
        raise WorldError(
            f"{out_dir} holds world preset={m.get('preset')!r} seed={m.get('seed')!r} version={m.get('version')!r}, "
            f"not preset={preset!r} seed={seed!r} version={WORLD_VERSION}: use another folder or delete this one"
        )
    if m.get("status") != "complete":
        return "resume"
    for rel, entry in m.get("files", {}).items():
        p = out_dir / rel
        if not p.is_file() or p.stat().st_size != entry["size"]:
            return "resume"
    return "complete"


def _metadata_csv(titles) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(METADATA_COLUMNS)
    for t in titles:
        w.writerow([t.title_id, t.path, t.group, t.genre, t.kind])
    return buf.getvalue().encode()


def _jobs(out_dir: Path, preset_name: str, seed: int, resume: bool) -> list[tuple[float, Callable, tuple]]:
    """(cost estimate, function, args) of every piece still to do."""
    preset = get_preset(preset_name)
    jobs = []
    for spec in plan_titles(preset, seed):
        done = (out_dir / spec.path).is_file() and (out_dir / "ground_truth" / f"{spec.title_id}.json").is_file()
        if not (resume and done):
            jobs.append((spec.duration, render_title, (out_dir, spec, preset, seed)))
    for show in range(preset.downstream_shows):
        clips = [D.action_clip_path(e, show + 1, k + 1) for e in D.EVENT_NAMES for k in range(preset.action_clips)]
        if not (resume and all((out_dir / D.ACTION_DIR / c).is_file() for c in clips)):
            jobs.append((len(clips) * preset.action_seconds, D.render_action_show, (out_dir, preset, seed, show)))
        wavs = [r["filename"] for r in D.sound_rows(preset) if r["show"] == show]
        if not (resume and all((out_dir / D.SOUND_DIR / "audio" / f).is_file() for f in wavs)):
            jobs.append((0.1 * len(wavs) * preset.sound_seconds, D.render_sound_show, (out_dir, preset, seed, show)))
    return sorted(jobs, key=lambda j: -j[0])


def generate_world(
    out_dir: str | Path, preset: str = "tiny", seed: int = 0, workers: int = 1, progress: bool | None = None
) -> Path:
    """Generate (or reuse) the TV world ``preset`` under ``seed`` in ``out_dir``; return it.

    Writes ``titles/<id>.mp4`` (H.264 + AAC), ``metadata.csv`` (title_id, path, group,
    genre, kind), ``ground_truth/<id>.json``, ``downstream/world-action`` (UCF101 layout)
    and ``downstream/world-sound`` (ESC-50 layout); see docs/world.md. ``workers`` > 1
    renders titles in parallel processes; ``progress`` None shows a bar on a terminal.
    """
    out_dir = Path(out_dir)
    p = get_preset(preset)
    state = _check_folder(out_dir, preset, seed)
    if state == "complete":
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    if state == "new":
        _write_manifest(out_dir, preset, seed, "in_progress")
    jobs = _jobs(out_dir, preset, seed, resume=state == "resume")
    bar = tqdm(total=len(jobs), desc=f"world {preset}", unit="job", disable=None if progress is None else not progress)
    if workers <= 1:
        for _, fn, args in jobs:
            fn(*args)
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=die_with_parent) as pool:
            futures = [pool.submit(fn, *args) for _, fn, args in jobs]
            for fut in as_completed(futures):
                fut.result()
                bar.update()
    bar.close()
    write_bytes(out_dir / "metadata.csv", _metadata_csv(plan_titles(p, seed)))
    D.write_ucf_lists(out_dir, p)
    D.write_esc_meta(out_dir, p)
    files = {}
    for path in sorted(out_dir.rglob("*")):
        rel = path.relative_to(out_dir).as_posix()
        if path.is_file() and rel != MANIFEST and not path.name.startswith("."):
            files[rel] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
    _write_manifest(out_dir, preset, seed, "complete", files)
    return out_dir
