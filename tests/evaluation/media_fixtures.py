"""Small media written in the official layouts for the evaluation tests.

Classes are made easy to tell apart (a tone per class for audio, a colour per class for
video) so that the protocols' results can be checked against the generating labels.
"""

from __future__ import annotations

import csv
from pathlib import Path

import av
import numpy as np
from scipy.io import wavfile


def write_wav(path: Path, wave: np.ndarray, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, rate, (np.clip(wave, -1, 1) * 32767).astype(np.int16))


def write_avi(path: Path, frames: np.ndarray, fps: int) -> None:
    """(T, H, W, 3) uint8 → MPEG-4 Part 2 in AVI (UCF101's container)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def make_tone_esc50(root: Path, classes: int = 3, per_fold: int = 2, folds: int = 2,
                    rate: int = 8000, seconds: float = 1.5, seed: int = 0) -> None:
    """ESC-50 layout; class c is a noisy tone at 300·(c+1) Hz."""
    rng = np.random.default_rng(seed)
    rows = []
    t = np.arange(int(seconds * rate)) / rate
    for fold in range(1, folds + 1):
        for c in range(classes):
            for k in range(per_fold):
                name = f"{fold}-{1000 * c + k}-A-{c}.wav"
                wave = 0.5 * np.sin(2 * np.pi * 300 * (c + 1) * t + rng.uniform(0, 6)) + 0.05 * rng.normal(size=t.size)
                write_wav(root / "audio" / name, wave, rate)
                rows.append(dict(filename=name, fold=fold, target=c, category=f"tone{c}", esc10=False,
                                 src_file=1000 * c + k, take="A"))
    (root / "meta").mkdir(parents=True, exist_ok=True)
    with (root / "meta" / "esc50.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def make_colour_ucf101(root: Path, classes=("Red", "Green"), groups: int = 3, clips: int = 2,
                       frames: int = 20, size=(48, 64), fps: int = 10, seed: int = 0) -> None:
    """UCF101 layout; class c's frames are dominated by one colour; split s tests on group s."""
    rng = np.random.default_rng(seed)
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(classes)))
    entries = []
    for label, cls in enumerate(classes):
        for g in range(1, groups + 1):
            for c in range(1, clips + 1):
                video = rng.integers(0, 60, size=(frames, *size, 3)).astype(np.uint8)
                video[..., label % 3] += 150
                rel = f"{cls}/v_{cls}_g{g:02d}_c{c:02d}.avi"
                write_avi(root / rel, video, fps)
                entries.append((rel, label, g))
    for split in (1, 2, 3):
        (lists / f"trainlist0{split}.txt").write_text(
            "".join(f"{r} {lab + 1}\r\n" for r, lab, g in entries if g != split))
        (lists / f"testlist0{split}.txt").write_text("".join(f"{r}\r\n" for r, _, g in entries if g == split))
