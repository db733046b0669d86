"""Generated prepared corpora for the loader and GPU benchmarks (no downloads, seeded).

* :func:`synth_source` writes a textured, moving H.264 + AAC title of any length: a smooth
  random texture panned a few pixels per frame with fresh luma grain (σ = 4 code values)
  on every frame, and a chirp + noise soundtrack. Not real footage, but not trivially
  compressible: its prepared copy decodes at a rate close to real footage's (docs/data.md).
* :func:`base_corpus` runs the real ``binge prepare`` (:func:`prepare_corpus`) on a few
  such titles at a given geometry.
* :func:`replicate` turns a prepared corpus into one of N titles whose files are hard
  links to the base titles' files (title n ↦ base title n mod B). Every title is opened,
  parsed and seeked like a distinct file (its own path and container); the bytes are
  shared, so the page cache holds them all, as it would hold a warm corpus.

Geometries: :data:`PAPER` (16 frames at 5 fps, short side 190, 48 kHz, 96 mels) and
:data:`SMALL` (8 frames of 32 px short side at 8 fps: 1-s snippets, 16 kHz, 64 mels).
"""

from __future__ import annotations

import json
import os
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from binge.config import DataConfig
from binge.data.corpus import read_manifest, write_manifest
from binge.data.prepare import prepare_corpus
from binge.io import atomic_write_text

PAPER = DataConfig()
SMALL = DataConfig(frames=8, fps=8.0, short_side=32, sample_rate=16_000, n_mels=64,
                   n_fft=1024, hop_length=256)
#: configs/tiny.yaml's geometry (the CPU test of gpu_step.py)
TINY = DataConfig(short_side=64, sample_rate=16_000, n_mels=64, n_fft=1024, hop_length=256)
GEOMETRIES = {"paper": PAPER, "small": SMALL, "tiny": TINY}
#: crop side used with each geometry (the paper's 158; the small one keeps whole 32-px squares)
CROP = {"paper": 158, "small": 32, "tiny": 56}


def synth_source(path: Path, seconds: float, short_side: int, seed: int = 0,
                 fps: int = 10, sample_rate: int = 48_000, scale: int = 2,
                 grain: float = 4.0) -> Path:
    """Write (once) a generated title of ``seconds`` at 16:9, short side ``scale`` ×
    ``short_side``, ``fps`` frames/s, luma grain σ = ``grain``, mono AAC at ``sample_rate``."""
    path = Path(path)
    if path.is_file():
        return path
    h = scale * short_side + (scale * short_side) % 2
    w = (h * 16 // 9) // 2 * 2
    rng = np.random.default_rng(seed)
    tex = rng.normal(128, 40, (h // 8 + 2, w // 8 + 40, 3))
    tex = np.clip(np.kron(tex, np.ones((8, 8, 1))), 0, 255).astype(np.float32)  # smooth blocks
    n_frames = int(round(seconds * fps))
    spf = sample_rate // fps
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.thread_count = 1
        vs.options = {"preset": "ultrafast", "crf": "23", "x264-params": "threads=1"}
        aus = out.add_stream("aac", rate=sample_rate, layout="mono")
        pos = 0
        for k in range(n_frames):
            x0 = (3 * k) % (tex.shape[1] - w)
            img = tex[:h, x0:x0 + w]
            if grain > 0:
                img = img + rng.normal(0, grain, (h, w, 1)).astype(np.float32)
            frame = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), "rgb24")
            frame.pts, frame.time_base = k, Fraction(1, fps)
            for p in vs.encode(frame.reformat(format="yuv420p")):
                out.mux(p)
            while pos < (k + 1) * spf:  # AAC takes 1024-sample frames
                idx = pos + np.arange(1024)
                f0 = 200 + 50 * ((idx // sample_rate) % 20)
                y = 0.3 * np.sin(2 * np.pi * f0 * idx / sample_rate) + 0.05 * rng.normal(size=1024)
                a = av.AudioFrame.from_ndarray(y.astype(np.float32)[None], format="fltp",
                                               layout="mono")
                a.sample_rate, a.pts, a.time_base = sample_rate, pos, Fraction(1, sample_rate)
                pos += 1024
                for p in aus.encode(a):
                    out.mux(p)
        for s in (vs, aus):
            for p in s.encode(None):
                out.mux(p)
    os.replace(tmp, path)
    return path


def base_corpus(work: Path, geometry: str, seconds: float, titles: int = 4,
                workers: int = 1) -> Path:
    """``titles`` generated sources of ``seconds`` each, prepared at ``geometry`` (cached)."""
    data = GEOMETRIES[geometry]
    work = Path(work)
    out = work / f"base_{geometry}_{seconds:g}s_{titles}"
    if (out / "manifest.csv").is_file():
        return out
    src = work / f"src_{geometry}_{seconds:g}s"
    src.mkdir(parents=True, exist_ok=True)
    for i in range(titles):
        synth_source(src / f"title{i}.mp4", seconds, data.short_side, seed=i,
                     sample_rate=data.sample_rate)
    prepare_corpus([src], out, data=data, workers=workers, progress=False)
    return out


def replicate(base: Path, out: Path, n_titles: int) -> Path:
    """A corpus of ``n_titles`` titles, each a hard-linked copy of a base title (cached)."""
    base, out = Path(base), Path(out)
    if (out / "manifest.csv").is_file() and len(read_manifest(out)) == n_titles:
        return out
    shutil.rmtree(out, ignore_errors=True)
    rows = read_manifest(base)
    (out / "titles").mkdir(parents=True)
    shutil.copy(base / "corpus.json", out / "corpus.json")
    new_rows = []
    for n in range(n_titles):
        row = dict(rows[n % len(rows)])
        tid = f"t{n:05d}"
        folder = out / "titles" / tid
        folder.mkdir()
        src_folder = base / Path(row["video_path"]).parent
        for f in src_folder.iterdir():  # video.mp4, its packet index video.pkt, audio.npy
            if f.name != "meta.json":
                os.link(f, folder / f.name)
        for key in ("video_path", "audio_path"):
            row[key] = f"titles/{tid}/{Path(row[key]).name}"
        row.update(title_id=tid, group=tid, split="train")
        atomic_write_text(folder / "meta.json", json.dumps(row, sort_keys=True))
        new_rows.append(row)
    write_manifest(out, new_rows)
    return out
