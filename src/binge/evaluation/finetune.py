"""Full fine-tuning (paper §4.1 "Downstream Evaluation"; supplement §4).

SGD with momentum 0.9 and weight decay 1e-4; the learning rate warms up linearly from 1e-3
to 0.2 over 25 epochs and then follows a cosine (the pretraining schedule formula,
:func:`binge.train.schedule.lr_at`, with these values); batch 96; 150 (UCF101) or 200
(HMDB51, ESC-50) epochs. The model after the last epoch is the one tested: no epoch is
chosen on the test split.

Checkpoints (``<out>/checkpoints/last.pt``, atomic, loaded with ``weights_only=True``) are
written at epoch ends; a run restarted with the same out folder resumes from the last one
and, since the clips of epoch e depend only on (seed, e), reproduces the uninterrupted run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from binge.config import EvalFinetuneConfig, OptimConfig
from binge.evaluation.clips import TrainClips
from binge.train.checkpoint import CheckpointManager, load_checkpoint
from binge.train.schedule import lr_at

__all__ = ["schedule_of", "finetune"]


def schedule_of(cfg: EvalFinetuneConfig) -> OptimConfig:
    """The fine-tuning schedule as an :class:`OptimConfig` for ``lr_at``."""
    return OptimConfig(
        name="sgd", lr=cfg.lr, warmup_start_lr=cfg.warmup_start_lr, warmup_epochs=cfg.warmup_epochs,
        final_lr=cfg.final_lr, weight_decay=cfg.weight_decay, momentum=cfg.momentum, epochs=cfg.epochs,
    )


def _loader(dataset: TrainClips, cfg: EvalFinetuneConfig, epoch: int, seed: int, workers: int) -> DataLoader:
    dataset.set_epoch(epoch)
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return DataLoader(
        dataset, batch_size=cfg.batch_size, shuffle=True, generator=g, num_workers=workers,
        drop_last=len(dataset) > cfg.batch_size,  # BatchNorm cannot train on a batch of 1
    )


def finetune(
    model: nn.Module,
    dataset: TrainClips,
    cfg: EvalFinetuneConfig,
    out_dir: Path,
    device: torch.device,
    seed: int = 0,
    num_workers: int = 0,
    log: Optional[list] = None,
) -> nn.Module:
    """Train ``model`` (a :class:`~binge.evaluation.encoders.Classifier`) in place; resumable."""
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=cfg.warmup_start_lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )
    sched = schedule_of(cfg)
    steps_per_epoch = len(_loader(dataset, cfg, 0, seed, 0))
    ckpt = CheckpointManager(Path(out_dir) / "checkpoints", keep=1)
    start_epoch, step = 0, 0
    if ckpt.last.is_file():
        state = load_checkpoint(ckpt.last, map_location=device)
        if state.get("steps_per_epoch") != steps_per_epoch or state.get("seed") != seed:
            raise ValueError(
                f"{ckpt.last} belongs to another run (steps/epoch {state.get('steps_per_epoch')}, "
                f"seed {state.get('seed')}); use a new evaluate.out_dir or delete it"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, step = int(state["epoch"]), int(state["step"])
        print(f"resuming fine-tuning from {ckpt.last} (epoch {start_epoch}, step {step})")
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(start_epoch, cfg.epochs):
        if cfg.max_steps is not None and step >= cfg.max_steps:
            break
        torch.manual_seed(seed * 1_000_003 + epoch)  # dropout
        model.train()
        total, count = 0.0, 0
        bar = tqdm(_loader(dataset, cfg, epoch, seed, num_workers), desc=f"fine-tune epoch {epoch + 1}/{cfg.epochs}",
                   leave=False, dynamic_ncols=True)
        for x, y in bar:
            lr = lr_at(step, steps_per_epoch, sched)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = loss_fn(model(x.to(device)), y.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            total += float(loss.detach()) * len(y)
            count += len(y)
            if cfg.max_steps is not None and step >= cfg.max_steps:
                break
        if log is not None:
            log.append({"epoch": epoch + 1, "step": step, "lr": lr, "loss": total / max(count, 1)})
        last = epoch + 1 == cfg.epochs or (cfg.max_steps is not None and step >= cfg.max_steps)
        if (epoch + 1) % cfg.checkpoint_every_epochs == 0 or last:
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "epoch": epoch + 1, "step": step, "steps_per_epoch": steps_per_epoch, "seed": seed}
            ckpt.save(state, step)
    return model
