"""Decode-once cache for downstream clips: training clips/s with and without it.

Fine-tuning reads every training sample once per epoch for 150–200 epochs (paper §4.1,
supplement §4), so each source file is decoded hundreds of times unless a decoded copy is
kept. This measures, in one process and on the same files, the rate of augmented training
clips (``binge.evaluation.clips.TrainClips``) from

* ``source``: decoding the original file for every clip (``cache_dir=None``);
* ``cached``: the decode-once ``.npy`` copy (``binge.data.datasets.sources``), memory-mapped,
  after one warm-up pass that writes it.

Video: the real clips in ``../shared/data/av_clips`` (H.264/VP8, 480p–720p) at 32 frames,
10 fps, short side 226 → 158 crops (the paper's geometry). Audio: FSDD recordings (real) as
3-s log-mel clips. Speed is reported as a ratio against the source path run in the same
command. Usage::

    .venv/bin/python benchmarks/eval_cache.py [--repeats 3] [--audio-files 40]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from binge.data.datasets.sources import AudioSource, VideoSource
from binge.data.logmel import LogMelSettings, frames_per_snippet
from binge.evaluation.clips import AudioGeometry, TrainClips, VideoGeometry
from binge.models.base import KINETICS_MEAN, KINETICS_STD

SHARED = Path(os.environ.get("BINGE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def rate(dataset: TrainClips, repeats: int) -> float:
    """Clips per second over ``repeats`` epochs of the dataset."""
    t0 = time.perf_counter()
    n = 0
    for epoch in range(repeats):
        dataset.set_epoch(epoch)
        for i in range(len(dataset)):
            dataset[i]
            n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="epochs per measurement")
    parser.add_argument("--audio-files", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(1)
    videos = sorted(p for p in (SHARED / "av_clips").glob("*") if p.suffix in (".mp4", ".webm"))
    audio = sorted((SHARED / "fsdd" / "recordings").glob("*.wav"))[: args.audio_files]
    if not videos or not audio:
        raise SystemExit(f"real media not found under {SHARED} (set BINGE_SHARED_DATA)")
    geo_v = VideoGeometry(32, 158, 190, (181, 226), KINETICS_MEAN, KINETICS_STD, True, 0.4)
    settings = LogMelSettings()  # the paper's 48 kHz / 96 mels / 2048 / 512
    geo_a = AudioGeometry(frames_per_snippet(3.0, settings), 0.5)
    labels_v, labels_a = [0] * len(videos), [0] * len(audio)
    print(f"video: {len(videos)} real clips; audio: {len(audio)} FSDD files; {args.repeats} epochs each")
    with tempfile.TemporaryDirectory() as cache:
        for kind, src_plain, src_cached, labels, geo in (
            ("video", VideoSource(videos, 10.0, 226), VideoSource(videos, 10.0, 226, cache), labels_v, geo_v),
            ("audio", AudioSource(audio, settings), AudioSource(audio, settings, cache), labels_a, geo_a),
        ):
            plain = rate(TrainClips(src_plain, labels, geo), args.repeats)
            t0 = time.perf_counter()
            rate(TrainClips(src_cached, labels, geo), 1)  # writes the cache
            first = time.perf_counter() - t0
            cached = rate(TrainClips(src_cached, labels, geo), args.repeats)
            print(f"{kind}: source {plain:8.2f} clips/s | cached {cached:8.2f} clips/s | "
                  f"ratio {cached / plain:6.1f}x | cache-writing pass {first:.1f} s")
        size = sum(p.stat().st_size for p in Path(cache).glob("*.npy"))
        print(f"cache size: {size / 2**20:.1f} MiB for {len(videos)} videos + {len(audio)} audio files")


if __name__ == "__main__":
    main()
