"""Render one pretraining title to ``titles/<id>.mp4`` + ``ground_truth/<id>.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from binge.world import title as T
from binge.world.encode import write_bytes, write_mp4
from binge.world.events import EVENT_NAMES
from binge.world.plan import TitleSpec, group_style, rng_for
from binge.world.presets import WorldPreset
from binge.world.style import Grader


def title_index(spec: TitleSpec) -> int:
    return (spec.style_index + 1) * 1000 + spec.episode + (500 if spec.kind == "movie" else 0)


def render_title(out_dir: Path, spec: TitleSpec, preset: WorldPreset, seed: int) -> str:
    """Write the title's MP4 and ground-truth JSON (each atomically); return its id."""
    style = group_style(preset, seed, spec.style_kind, spec.style_index)
    rng = rng_for(seed, "title", title_index(spec))
    # each episode shoots on a subset of the show's sets, and is graded and mastered
    # slightly differently (per-channel gain × N(1, 0.06), EQ tilt + N(0, 0.6) dB/octave)
    locations = sorted(rng.choice(preset.locations, size=max(1, preset.locations - 1), replace=False).tolist())
    jitter = rng.normal(1.0, 0.06, 3).astype(np.float32)
    tilt = round(float(rng.normal(0.0, 0.6)), 5)
    mastered = replace(style, master={**style.master, "tilt_db_per_octave": style.master["tilt_db_per_octave"] + tilt})
    w, h, fps, sr = preset.width, preset.height, preset.fps, preset.sample_rate
    scenes = T.plan_scenes(rng, spec.duration, preset.scene_seconds, locations, style.character["presence"], w, h)
    audio, env = T.soundtrack(mastered, scenes, spec.duration, sr, rng)
    n_frames = int(round(spec.duration * fps))
    frames = T.frames(style, scenes, n_frames, fps, w, h, env, sr, Grader(style, w, h, jitter))
    write_mp4(out_dir / spec.path, frames, audio, fps, sr, w, h)
    gt = {
        "title_id": spec.title_id,
        "group": spec.group,
        "genre": spec.genre,
        "kind": spec.kind,
        "duration_s": spec.duration,
        "fps": fps,
        "sample_rate": sr,
        "width": w,
        "height": h,
        "event_classes": list(EVENT_NAMES),
        **T.ground_truth(scenes, spec.duration),
        "style": style.to_json(),
        "episode_variation": {"locations": locations, "grade_gain_jitter": [round(float(j), 5) for j in jitter],
                              "tilt_offset_db_per_octave": tilt},
        "spec": asdict(spec),
    }
    write_bytes(out_dir / "ground_truth" / f"{spec.title_id}.json", (json.dumps(gt, indent=1) + "\n").encode())
    return spec.title_id
