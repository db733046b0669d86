"""CPU cost of one pretraining step at the CPU geometry (configs/micro.yaml) against the tiny
geometry (configs/tiny.yaml at configs/study/pretrain.yaml's 40-px crops and B = 32, the
100-step study's budget), same process, one thread: forward + backward of both encoders and
heads, Eq. 1, Adam step, on a random batch in memory (no loader).

    OMP_NUM_THREADS=1 python benchmarks/reproduction/geometry_step.py [--steps 5]

Prints CPU seconds per step (process time, robust to other jobs on the machine) and the ratio.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]


def step_cost(config: str, crop: int | None, steps: int) -> tuple[float, int]:
    from binge.config import load_config
    from binge.data.logmel import LogMelSettings, frames_per_snippet
    from binge.distributed import seed_everything
    from binge.models import build_av_model
    from binge.objectives import build_objective

    cfg = load_config(REPO / config)
    seed_everything(0)
    model = build_av_model(cfg.model)
    objective = build_objective(cfg, model, [2])  # Eq. 1 with its heads h_f, h_g
    opt = torch.optim.Adam([*model.parameters(), *objective.parameters()], 1e-3)
    b, size = cfg.sampling.batch_size, crop or cfg.augment.crop_size
    q = frames_per_snippet(cfg.data.snippet_seconds, LogMelSettings.from_config(cfg.data))
    video = torch.randn(b, 3, cfg.data.frames, size, size)
    audio = torch.randn(b, 1, cfg.data.n_mels, q)

    def one() -> None:
        loss = objective(model, {"video": video, "audio": audio})["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()

    one()  # warm-up
    start = time.process_time()
    for _ in range(steps):
        one()
    return (time.process_time() - start) / steps, b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    micro, bm = step_cost("configs/micro.yaml", None, args.steps)
    tiny, bt = step_cost("configs/study/pretrain.yaml", None, args.steps)
    print(f"micro (configs/micro.yaml, B = {bm}): {micro:.3f} CPU s/step")
    print(f"tiny  (configs/study/pretrain.yaml, B = {bt}): {tiny:.3f} CPU s/step")
    print(f"ratio: {tiny / micro:.1f}x cheaper per step, {tiny / bt / (micro / bm):.1f}x per snippet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
