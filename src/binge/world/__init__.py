"""The procedural TV world: shows, episodes and movies as real media files, with
content-exclusive artifacts and semantic audio-visual events (docs/world.md)."""

from binge.world.events import EVENT_CLASSES, EVENT_NAMES, event_class
from binge.world.generate import METADATA_COLUMNS, WorldError, generate_world
from binge.world.presets import PRESETS, WorldPreset, get_preset

__all__ = [
    "generate_world",
    "WorldError",
    "METADATA_COLUMNS",
    "EVENT_CLASSES",
    "EVENT_NAMES",
    "event_class",
    "PRESETS",
    "WorldPreset",
    "get_preset",
]
