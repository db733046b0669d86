"""`binge prepare` throughput (× real time per core) against the ffmpeg command line.

One process, one thread everywhere (decoder, libx264, torch). For each method it reports
wall time and CPU time; "× real time per core" = title duration / CPU seconds, which stays
meaningful on a shared machine. Methods, on the same long 720p title:

* ``binge video``  — :func:`binge.data.media.transcode_video` (PyAV: decode, pick frames
  at 5 fps by timestamp, area resize to the short side, libx264 fastdecode, keyint 16);
* ``binge title``  — :func:`binge.data.prepare.prepare_title` (the above + audio decode,
  mono down-mix, resample, streaming log-mel, fp16 .npy);
* ``ffmpeg video`` — Debian's ``ffmpeg`` CLI doing the same video transcode
  (``fps=5,scale=...:flags=area``, same x264 settings, ``-threads 1``), if installed.

* ``binge title, scenes off/on`` — ``prepare_title`` with ``data.scene_detector`` None and
  the default (PySceneDetect on the frames being transcoded, downscaled to 128 px wide;
  binge.data.scenes), run alternately twice each; the lower CPU time of each is kept and
  their ratio printed (the issue's target: detection within 10 % of off).

Usage: ``python benchmarks/prepare_speed.py [--minutes 2] [--source-preset P] [--work DIR]``.
The library never needs the ffmpeg CLI; it is only the baseline here.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_common import long_title  # noqa: E402

from binge.config import DataConfig  # noqa: E402
from binge.data.media import probe, scaled_size, transcode_video  # noqa: E402
from binge.data.prepare import TitleJob, prepare_title  # noqa: E402


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def _ffmpeg(src: Path, dst: Path, data: DataConfig, width: int, height: int) -> tuple[float, float]:
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-threads", "1", "-i", str(src),
           "-map", "0:v:0", "-an", "-vf",
           f"fps={data.fps:g},scale={width}:{height}:flags=area", "-c:v", "libx264",
           "-preset", "veryfast", "-tune", "fastdecode", "-crf", "23", "-pix_fmt", "yuv420p",
           "-x264-params", f"keyint={data.frames}:min-keyint={data.frames}:scenecut=0:"
                           "bframes=0:threads=1", "-threads", "1", str(dst)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=2.0, help="length of the test title")
    ap.add_argument("--work", type=Path, default=Path("bench_work"),
                    help="folder for the generated title (reused between runs)")
    ap.add_argument("--source-preset", default="medium",
                    help="x264 preset of the generated source title (medium: x264's default)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = DataConfig()  # the paper's settings: 5 fps, short side 190, 48 kHz, 96 mels
    src = long_title(args.work, args.minutes, args.source_preset)
    info = probe(src)
    duration = info.duration_s
    width, height = scaled_size(info.video.width, info.video.height, data.short_side)
    print(f"title: {src} ({duration:.0f} s, {info.video.width}x{info.video.height} "
          f"{info.video.codec} {info.video.fps:g} fps, {info.audio.codec} "
          f"{info.audio.sample_rate} Hz x{info.audio.channels}); output {width}x{height} "
          f"{data.fps:g} fps; cpu count visible {os.cpu_count()}")
    results = {}
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        tmp = Path(tmp)
        results["binge video (PyAV)"] = _timed(
            lambda: transcode_video(src, tmp / "v.mp4", data.fps, data.short_side, data.frames))
        job = TitleJob("long", str(src), "long")
        results["binge title (video+log-mel)"] = _timed(lambda: prepare_title(job, tmp / "c", data))
        scene_runs: dict[str, list] = {"off": [], "on": []}
        for rep in range(2):
            for mode, d in (("off", replace(data, scene_detector=None)), ("on", data)):
                scene_runs[mode].append(_timed(
                    lambda: prepare_title(job, tmp / f"scenes_{mode}{rep}", d)))
        for mode, runs in scene_runs.items():
            results[f"binge title, scenes {mode}"] = min(runs, key=lambda r: r[1])
        if shutil.which("ffmpeg"):
            results["ffmpeg CLI video"] = _ffmpeg(src, tmp / "f.mp4", data, width, height)
            sizes = ((tmp / "v.mp4").stat().st_size, (tmp / "f.mp4").stat().st_size)
            print(f"output sizes: binge {sizes[0] / 1e6:.2f} MB, ffmpeg {sizes[1] / 1e6:.2f} MB")
        else:
            print("ffmpeg CLI not installed: baseline skipped (apt-get install ffmpeg)")
    print(f"{'method':32s} {'wall s':>8s} {'cpu s':>8s} {'x real time/core':>17s}")
    for name, (wall, cpu) in results.items():
        print(f"{name:32s} {wall:8.1f} {cpu:8.1f} {duration / cpu:17.1f}")
    on, off = results["binge title, scenes on"][1], results["binge title, scenes off"][1]
    print(f"prepare_title CPU time, scene detection on / off: {on / off:.3f} "
          f"({data.scene_detector} detector; target ≤ 1.10)")
    if "ffmpeg CLI video" in results:
        ratio = results["ffmpeg CLI video"][1] / results["binge video (PyAV)"][1]
        print(f"binge video transcode speed / ffmpeg CLI (per core): {ratio:.2f}")


if __name__ == "__main__":
    main()
