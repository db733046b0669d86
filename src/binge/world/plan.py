"""The world plan: which shows, episodes, movies and downstream shows exist, with their
genres, durations and styles, all derived from one seed.

Every random draw goes through :func:`rng_for` with a key that names what it is for, so a
title can be rendered alone (in any worker, in any order) and still come out identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from binge.world.presets import WorldPreset
from binge.world.style import GENRES, ContentStyle, sample_style

_KIND_CODES = {"show": 1, "movie": 2, "downstream": 3, "title": 4, "action": 5, "sound": 6, "genre": 7}


def rng_for(seed: int, kind: str, *keys: int) -> np.random.Generator:
    """An independent generator for (seed, kind, keys)."""
    return np.random.default_rng([int(seed), _KIND_CODES[kind], *map(int, keys)])


@dataclass(frozen=True)
class TitleSpec:
    title_id: str
    group: str
    genre: str
    kind: str  # "episode" | "movie"
    duration: float
    style_kind: str  # "show" | "movie"
    style_index: int
    episode: int  # 0 for movies

    @property
    def path(self) -> str:
        return f"titles/{self.title_id}.mp4"


def group_style(preset: WorldPreset, seed: int, style_kind: str, index: int) -> ContentStyle:
    """The artifacts of show / movie / downstream show number ``index``."""
    genre = str(rng_for(seed, "genre", _KIND_CODES[style_kind], index).choice(GENRES))
    return sample_style(rng_for(seed, style_kind, index), genre, preset.locations, movie=style_kind == "movie")


def plan_titles(preset: WorldPreset, seed: int) -> list[TitleSpec]:
    """All pretraining titles: the shows' episodes, then the movies."""
    titles: list[TitleSpec] = []
    for s in range(preset.shows):
        rng = rng_for(seed, "show", 10_000 + s)
        n_ep = int(rng.integers(preset.episodes[0], preset.episodes[1] + 1))
        typical = rng.uniform(*preset.episode_seconds)
        genre = group_style(preset, seed, "show", s).genre
        for e in range(n_ep):
            lo, hi = preset.episode_seconds
            dur = round(float(np.clip(typical * rng.uniform(0.85, 1.15), lo, hi)), 1)
            titles.append(TitleSpec(f"show{s + 1:02d}_e{e + 1:02d}", f"show{s + 1:02d}", genre, "episode", dur, "show", s, e + 1))
    for m in range(preset.movies):
        rng = rng_for(seed, "movie", 10_000 + m)
        dur = round(float(rng.uniform(*preset.movie_seconds)), 1)
        tid = f"movie{m + 1:02d}"
        titles.append(TitleSpec(tid, tid, group_style(preset, seed, "movie", m).genre, "movie", dur, "movie", m, 0))
    return titles
