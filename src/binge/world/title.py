"""One title (an episode or a movie): scenes → frames + soundtrack + ground truth.

A title is a sequence of scenes of random length (paper §3: "each scene ... normally takes
place in one location and deals with one action"); a scene fixes a location (background
of the style) and a dominant event class whose motion and sound run through it. The
style's artifacts (:mod:`binge.world.style`) are laid over every scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from binge.world import audio as A
from binge.world import style as S
from binge.world.events import EVENT_NAMES, event_class


@dataclass
class Scene:
    id: int
    start: float
    end: float
    location: int
    event: str
    params: dict
    character: bool
    talk: list[tuple[float, float]] = field(default_factory=list)  # title-relative seconds

    @property
    def duration(self) -> float:
        return self.end - self.start


def _clean(p: dict) -> dict:
    """Round floats (so the ground truth holds exactly what was rendered) and drop NumPy types."""
    out = {}
    for k, v in p.items():
        if isinstance(v, (list, tuple, np.ndarray)):
            out[k] = [round(float(x), 5) for x in v]
        elif isinstance(v, (float, np.floating)):
            out[k] = round(float(v), 5)
        elif isinstance(v, (np.integer, int)) and not isinstance(v, bool):
            out[k] = int(v)
        else:
            out[k] = v
    return out


def plan_scenes(
    rng: np.random.Generator,
    duration: float,
    scene_seconds: tuple[float, float],
    locations: list[int],
    presence: float,
    w: int,
    h: int,
    events: tuple[str, ...] = EVENT_NAMES,
) -> list[Scene]:
    """Cut [0, duration) into scenes; each draws a location, an event class (never the
    previous scene's) with its parameters, and whether the main character is on screen."""
    scenes: list[Scene] = []
    t, prev = 0.0, None
    while t < duration - 1e-9:
        length = round(float(rng.uniform(*scene_seconds)), 1)
        end = min(duration, t + length)
        if duration - end < scene_seconds[0] / 2:
            end = duration
        choices = [e for e in events if e != prev] or list(events)
        name = str(rng.choice(choices))
        params = _clean(event_class(name).sample(rng, w, h))
        character = bool(rng.uniform() < presence)
        talk = []
        if character:
            s = t + float(rng.uniform(0.2, 1.5))
            while s < end - 0.5:
                e = min(end, s + float(rng.uniform(0.8, 2.2)))
                talk.append((round(s, 3), round(e, 3)))
                s = e + float(rng.uniform(0.8, 2.5))
        scenes.append(Scene(len(scenes), round(t, 3), round(end, 3), int(rng.choice(locations)), name, params, character, talk))
        t, prev = end, name
    return scenes


def voice_envelope(scenes: list[Scene], n: int, sr: int, syllable_rate: float) -> np.ndarray:
    """Per-sample syllable envelope (0…1) of the character's speech."""
    env = np.zeros(n, np.float32)
    for sc in scenes:
        for s, e in sc.talk:
            i0, i1 = int(s * sr), min(int(e * sr), n)
            tt = np.arange(i1 - i0) / sr
            seg = 0.5 - 0.5 * np.cos(2 * np.pi * syllable_rate * tt)
            ramp = np.minimum(1, np.minimum(tt, tt[-1] - tt) / 0.02) if tt.size else tt
            env[i0:i1] = seg * ramp
    return env


def soundtrack(
    style: S.ContentStyle, scenes: list[Scene], duration: float, sr: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The title's mono soundtrack (mastered, in [−1, 1]) and the voice envelope."""
    n = int(round(duration * sr))
    mix = S.pad(style, n, sr)
    for sc in scenes:
        seg = event_class(sc.event).sound(sc.params, sc.duration, sr, rng)
        A.add_at(mix, seg, int(round(sc.start * sr)))
        A.add_at(mix, S.theme_motif(style, sr, None if sc.id == 0 else 2), int(round(sc.start * sr)))
    env = voice_envelope(scenes, n, sr, style.character["syllable_rate"])
    mix += S.voice(style, env, sr)
    return S.master(style, mix, sr, rng), env


def frames(
    style: S.ContentStyle,
    scenes: list[Scene],
    num_frames: int,
    fps: float,
    w: int,
    h: int,
    voice_env: np.ndarray,
    sr: int,
    grader: S.Grader,
) -> Iterator[np.ndarray]:
    """Yield the title's frames, (H, W, 3) uint8 RGB; frame i shows time i / fps."""
    backgrounds: dict[int, np.ndarray] = {}
    character = S.Character(style, grader, w, h)
    k, base, params = -1, None, {}
    for i in range(num_frames):
        t = i / fps
        while k + 1 < len(scenes) and t >= scenes[k + 1].start - 1e-9:
            k += 1
            sc = scenes[k]
            if sc.location not in backgrounds:
                backgrounds[sc.location] = S.background(style, sc.location, w, h)
            base = backgrounds[sc.location].copy()
            event_class(sc.event).draw_static(base, sc.params)
            base = grader.image(base)
            params = grader.params(sc.params)
        sc = scenes[k]
        canvas = base.copy()
        event_class(sc.event).draw(canvas, params, t - sc.start)
        if sc.character:
            mouth = float(voice_env[min(int(t * sr), voice_env.shape[0] - 1)])
            character.draw(canvas, t, mouth, slot=float(sc.id))
        yield grader.finish(canvas)


def ground_truth(scenes: list[Scene], duration: float) -> dict:
    """Per-second scene id and event class (label of second i = the scene at i + 0.5 s),
    the scenes themselves, and every event onset (absolute seconds) with its class."""
    seconds = int(np.ceil(duration - 1e-9))
    per_scene, per_event = [], []
    for i in range(seconds):
        mid = min(i + 0.5, duration - 1e-6)
        sc = next(s for s in scenes if s.start <= mid < s.end)
        per_scene.append(sc.id)
        per_event.append(sc.event)
    onsets = []
    for sc in scenes:
        for t in event_class(sc.event).onsets(sc.params, sc.duration):
            onsets.append({"t": round(sc.start + float(t), 5), "event": sc.event, "scene": sc.id})
    return {
        "per_second": {"scene": per_scene, "event": per_event},
        "scenes": [
            {"id": s.id, "start_s": s.start, "end_s": s.end, "location": s.location, "event": s.event,
             "character": s.character, "talk": [list(x) for x in s.talk], "params": s.params}
            for s in scenes
        ],
        "onsets": onsets,
    }
