"""World sizes. ``tiny`` is generated once per test session; ``demo`` feeds ``binge demo``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorldPreset:
    """Everything that sizes a world (all durations in seconds)."""

    name: str
    shows: int  # pretraining shows (groups of episodes)
    episodes: tuple[int, int]  # episodes per show, inclusive range
    episode_seconds: tuple[float, float]
    movies: int
    movie_seconds: tuple[float, float]
    scene_seconds: tuple[float, float]
    locations: int = 4  # "sets" per show; each episode uses ``locations - 1`` of them
    width: int = 160
    height: int = 120
    fps: float = 15.0
    sample_rate: int = 22_050
    # downstream sets, from ``downstream_shows`` further shows never used for pretraining
    downstream_shows: int = 5
    action_clips: int = 1  # clips per (show, class), as UCF101's c01…c07 per group
    action_seconds: float = 4.0
    sound_sources: int = 1  # source recordings per (show, class)
    sound_takes: int = 1  # 5-s takes cut from each source recording (A, B, …)
    sound_seconds: float = 5.0  # ESC-50 clips are 5 s
    sound_rate: int = 22_050  # ESC-50 clips are 44.1 kHz; the world keeps its own rate


PRESETS: dict[str, WorldPreset] = {
    "tiny": WorldPreset(
        name="tiny", fps=10.0, shows=5, episodes=(2, 2), episode_seconds=(10.0, 18.0), movies=1,
        movie_seconds=(30.0, 36.0), scene_seconds=(3.0, 8.0), locations=3,
        downstream_shows=5, action_clips=1, action_seconds=3.2, sound_sources=1, sound_takes=1,
    ),
    "demo": WorldPreset(
        name="demo", shows=8, episodes=(3, 4), episode_seconds=(60.0, 110.0), movies=6,
        movie_seconds=(120.0, 170.0), scene_seconds=(4.0, 16.0), locations=4,
        downstream_shows=10, action_clips=4, action_seconds=4.0, sound_sources=2, sound_takes=2,
    ),
}


def get_preset(name: str) -> WorldPreset:
    if name not in PRESETS:
        raise ValueError(f"unknown world preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]
