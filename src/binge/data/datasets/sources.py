"""Decode-once sources for the downstream datasets: whole videos at the clip frame rate
and whole log-mel spectrograms, cached as ``.npy`` files and memory-mapped on reuse.

Fine-tuning reads every training video once per epoch for 150–200 epochs (paper §4.1,
supplement §4), and each of the 10 × 3 test views needs the same frames; decoding the
source every time is the slow path (``benchmarks/eval_cache.py`` measures it). Decoding
goes through :mod:`binge.data.media` (``read_video``: constant ``fps`` by presentation time,
shorter side resized; ``read_audio``: mono, resampled) and log-mel through
:mod:`binge.data.logmel`, the one implementation shared with pretraining.

A cache entry's name is a hash of the source's resolved path, size and modification time
and of the decode parameters, so a changed file or setting never reads a stale entry.
Writes are atomic (temporary file in the cache folder, then renamed: :func:`binge.io.atomic_path`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from binge.data import media
from binge.io import atomic_path
from binge.data.logmel import LogMelSettings, log_mel

__all__ = ["NpyCache", "VideoSource", "AudioSource"]


class NpyCache:
    """``folder/<hash>.npy`` per (source file, parameters); ``None`` folder: no caching."""

    def __init__(self, folder: Optional[str | Path], params: dict) -> None:
        self.folder = None if folder is None else Path(folder)
        self.params = json.dumps(params, sort_keys=True)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    def key(self, path: Path) -> str:
        st = path.stat()
        raw = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{self.params}"
        return hashlib.sha1(raw.encode()).hexdigest()

    def get(self, path: Path, build: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached array of ``path`` (memory-mapped), built and stored on first use."""
        if self.folder is None:
            return build()
        target = self.folder / f"{self.key(path)}.npy"
        if not target.is_file():
            array = build()
            with atomic_path(target) as tmp:
                np.save(tmp, array)
        return np.load(target, mmap_mode="r")


class VideoSource:
    """Whole videos as (T, H, W, 3) uint8 at ``fps`` with the shorter side ``short_side``."""

    def __init__(
        self, paths: Sequence[Path], fps: float, short_side: int, cache_dir: Optional[str | Path] = None
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.fps = float(fps)
        self.short_side = int(short_side)
        self.cache = NpyCache(cache_dir, {"kind": "video", "fps": self.fps, "short_side": self.short_side})

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> np.ndarray:
        path = self.paths[i]
        return self.cache.get(path, lambda: media.read_video(path, self.fps, self.short_side))


class AudioSource:
    """Whole log-mel spectrograms (P, T) float32 of the files, with the pinned settings.

    The cache stores float16 log-mel (never power, which overflows fp16); reads return
    float32. Audio is mono at ``settings.sample_rate`` (``media.read_audio``).
    """

    def __init__(
        self, paths: Sequence[Path], settings: LogMelSettings, cache_dir: Optional[str | Path] = None
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.settings = settings
        self.cache = NpyCache(cache_dir, {"kind": "logmel", **settings.__dict__})

    def __len__(self) -> int:
        return len(self.paths)

    def _build(self, path: Path) -> np.ndarray:
        wave = media.read_audio(path, self.settings.sample_rate)
        if wave.size == 0:
            raise media.MediaError(path, "no decodable audio samples")
        return log_mel(wave, self.settings).astype(np.float16)

    def __getitem__(self, i: int) -> np.ndarray:
        path = self.paths[i]
        return np.asarray(self.cache.get(path, lambda: self._build(path)), dtype=np.float32)
