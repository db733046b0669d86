"""A contact sheet of a world: frames from a few titles and a spectrogram strip each."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import av
import numpy as np

from binge.io import atomic_path


def _decode(path: Path, times: list[float]) -> tuple[list[np.ndarray], np.ndarray, int]:
    """Frames nearest to ``times`` (RGB uint8) and the whole mono audio track."""
    frames, audio, sr = [], [], 0
    with av.open(str(path)) as c:
        want = list(times)
        for f in c.decode(video=0):
            if want and f.time >= want[0] - 1e-6:
                frames.append(f.to_ndarray(format="rgb24"))
                want.pop(0)
        c.seek(0)
        for f in c.decode(audio=0):
            sr = f.sample_rate
            audio.append(f.to_ndarray().mean(axis=0))
    return frames, np.concatenate(audio), sr


def contact_sheet(
    world_dir: str | Path, out_png: str | Path, titles: int = 4, frames_per_title: int = 6, seconds: float = 12.0
) -> Path:
    """Save a PNG: for each of ``titles`` titles (one per group), ``frames_per_title`` frames
    over its first ``seconds`` s, and below them a log-power spectrogram of the same span
    with the ground-truth event onsets marked."""
    from matplotlib.figure import Figure

    world_dir, out_png = Path(world_dir), Path(out_png)
    meta = world_dir / "metadata.csv"
    if not meta.is_file():
        raise FileNotFoundError(f"{meta} does not exist: generate a world there first (binge world --out {world_dir})")
    with open(meta, newline="") as f:
        rows = list(csv.DictReader(f))
    picked, seen = [], set()
    for r in rows:
        if r["group"] not in seen:
            picked.append(r)
            seen.add(r["group"])
    picked = picked[:titles]
    fig = Figure(figsize=(2 * frames_per_title, 3.2 * len(picked)))
    grid = fig.add_gridspec(2 * len(picked), frames_per_title, height_ratios=[1.5, 1] * len(picked))
    for i, r in enumerate(picked):
        gt = json.loads((world_dir / "ground_truth" / f"{r['title_id']}.json").read_text())
        span = min(seconds, gt["duration_s"])
        times = list(np.linspace(0, span - 1.0 / gt["fps"], frames_per_title))
        frames, audio, sr = _decode(world_dir / r["path"], times)
        for j, fr in enumerate(frames):
            ax = fig.add_subplot(grid[2 * i, j])
            ax.imshow(fr)
            sec = min(int(times[j]), len(gt["per_second"]["event"]) - 1)
            ax.set_title(f"{r['title_id']} {times[j]:.1f}s\n{gt['per_second']['event'][sec]}", fontsize=7)
            ax.axis("off")
        strip = fig.add_subplot(grid[2 * i + 1, :])
        strip.specgram(audio[: int(span * sr)], NFFT=512, Fs=sr, noverlap=384, cmap="magma")
        for o in gt["onsets"]:
            if o["t"] < span:
                strip.axvline(o["t"], color="cyan", lw=0.6, alpha=0.7)
        for sc in gt["scenes"]:
            if sc["start_s"] < span:
                strip.axvline(sc["start_s"], color="white", lw=1.5, ls="--")
        strip.set_xlim(0, span)
        strip.set_ylabel(f"{r['group']} Hz", fontsize=7)
        strip.tick_params(labelsize=6)
    fig.suptitle(f"TV world {world_dir.name}: frames, spectrogram (cyan: GT onsets, white dashed: scene cuts)", fontsize=9)
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=90)
    return out_png
