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


CAST = 0.07  # size of an episode's colour cast (lift offset in the chroma plane)
GOLDEN = (np.sqrt(5) - 1) / 2  # 0.618…: successive multiples mod 1 stay well spread
_CHROMA_U = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)  # the plane orthogonal to grey
_CHROMA_V = np.array([1.0, 1.0, -2.0]) / np.sqrt(6)


def title_index(spec: TitleSpec) -> int:
    return (spec.style_index + 1) * 1000 + spec.episode + (500 if spec.kind == "movie" else 0)


def render_title(out_dir: Path, spec: TitleSpec, preset: WorldPreset, seed: int) -> str:
    """Write the title's MP4 and ground-truth JSON (each atomically); return its id."""
    style = group_style(preset, seed, spec.style_kind, spec.style_index)
    rng = rng_for(seed, "title", title_index(spec))
    # each episode has its own grading pass and mix on top of its show's (as real episodes
    # have): it shoots on a subset of the show's sets; its grading gets a per-channel gain
    # × N(1, 0.06), a per-channel contrast × 2^N(0, 0.25) and a colour cast (lift offset of
    # CAST in the chroma plane) whose hue steps around the show's by the golden angle from one
    # episode to the next, so siblings are graded apart; its mix an EQ-tilt offset of
    # N(0, 0.6) plus ±1.5 dB/octave stepped by the golden ratio. The contrast draws come from
    # their own generator so the scenes stay put.
    locations = sorted(rng.choice(preset.locations, size=max(1, preset.locations - 1), replace=False).tolist())
    jitter = rng.normal(1.0, 0.06, 3)
    step = (style.hue + spec.episode * GOLDEN) % 1.0
    tilt = round(float(rng.normal(0.0, 0.6)) + 1.5 * (2 * step - 1), 5)
    contrast = np.round(2 ** rng_for(seed, "title", title_index(spec), 1).normal(0.0, 0.25, 3), 5)
    angle = 2 * np.pi * step
    cast = [round(float(c), 5) for c in CAST * (np.cos(angle) * _CHROMA_U + np.sin(angle) * _CHROMA_V)]
    m = style.master
    episode = replace(
        style,
        grade_gain=[round(float(g * j), 5) for g, j in zip(style.grade_gain, jitter)],
        grade_lift=[round(float(l + c), 5) for l, c in zip(style.grade_lift, cast)],
        master={**m, "tilt_db_per_octave": round(m["tilt_db_per_octave"] + tilt, 5)},
    )
    w, h, fps, sr = preset.width, preset.height, preset.fps, preset.sample_rate
    scenes = T.plan_scenes(rng, spec.duration, preset.scene_seconds, locations, style.character["presence"], w, h)
    audio, env = T.soundtrack(episode, scenes, spec.duration, sr, rng)
    n_frames = int(round(spec.duration * fps))
    frames = T.frames(episode, scenes, n_frames, fps, w, h, env, sr, Grader(episode, w, h, contrast=contrast))
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
                              "grade_lift_offset": cast, "grade_contrast": contrast.tolist(),
                              "tilt_offset_db_per_octave": tilt},
        "spec": asdict(spec),
    }
    write_bytes(out_dir / "ground_truth" / f"{spec.title_id}.json", (json.dumps(gt, indent=1) + "\n").encode())
    return spec.title_id
