"""The supervised ceiling (issue 14): the pretraining encoders trained **with labels** on the
same data and geometry, then probed exactly like a pretrained run.

Data: the training split of the prepared corpus (never its held-out shows, never a downstream
set), the same ``SnippetDataset`` with the same augmentations, batch size, optimiser and
schedule as ``binge pretrain`` with ``cfg``. Labels: the event class of each snippet from the
TV world's ground truth (``ground_truth/<title_id>.json``; a snippet [m·L, (m+1)·L) takes the
event of the scene that holds its midpoint). Model: the AVModel of
``cfg.model`` (so the export loads with :func:`binge.train.export.load_pretrained`); each
encoder gets a linear classifier on its pooled features, loss = CE(video) + CE(audio).
Batches are i.i.d. snippets (uniform over ∪X_n, each step's batch a pure function of
``(seed, step)``).

The run writes ``out_dir/{metrics.jsonl, tb/, checkpoints/, export/, run_info.json}`` like a pretraining
run; ``binge evaluate --checkpoint out_dir/export`` then probes it the same way as the
pretrained encoders. Its export and checkpoints record ``trained_by: "binge supervised"``: they
hold no projection heads, so ``binge embed`` / ``discrepancy`` refuse them (exit 2;
:class:`binge.train.export.NoProjectionHeadsError`). Resumable: the same command continues from ``checkpoints/last.pt``.

    binge supervised --config configs/micro.yaml data.corpus=corpus/world \\
        --ground-truth data/world/ground_truth train.out_dir=runs/supervised
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from binge.config import Config, ConfigError
from binge.sampling import snippet_offsets

__all__ = ["snippet_labels", "SupervisedStep", "supervised_batches", "train_supervised"]

# the command `binge supervised` is binge.train.supervised_cli (torch-free up to validation)
logger = logging.getLogger(__name__)


class GroundTruthError(ValueError):
    """Ground truth missing or not matching the corpus."""


def snippet_labels(title_ids: list[str], num_snippets: list[int], seconds: float,
                   ground_truth: str | Path) -> tuple[list[np.ndarray], list[str]]:
    """Per title n, the (M_n,) int64 event class of each snippet, and the class names.

    Snippet m covers [m·L, (m+1)·L); its label is the event of the ground truth's scene that
    holds its midpoint (m + ½)·L. Raises :class:`GroundTruthError` naming the file when a
    title has no ground truth or a snippet lies past its last scene.
    """
    gt_dir = Path(ground_truth)
    classes: Optional[list[str]] = None
    labels = []
    for tid, count in zip(title_ids, num_snippets):
        path = gt_dir / f"{tid}.json"
        if not path.is_file():
            raise GroundTruthError(f"{path}: no ground truth for title {tid} (pass the world's "
                                   "ground_truth/ folder with --ground-truth)")
        gt = json.loads(path.read_text())
        classes = classes or list(gt["event_classes"])
        ends = np.array([sc["end_s"] for sc in gt["scenes"]])
        mids = (np.arange(count) + 0.5) * seconds
        idx = np.searchsorted(ends, mids, side="right")
        if count and idx[-1] >= len(ends):
            raise GroundTruthError(f"{path}: scenes end at {ends[-1]} s, the corpus has "
                                   f"{count} snippets of {seconds} s")
        labels.append(np.array([classes.index(gt["scenes"][i]["event"]) for i in idx],
                               dtype=np.int64))
    return labels, classes or []


class _Labelled(Dataset):
    """``ds[(n, m)]`` plus ``"label"``."""

    def __init__(self, dataset: Any, labels: list[np.ndarray]) -> None:
        self.dataset, self.labels = dataset, labels

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: tuple[int, int]) -> dict[str, Any]:
        n, m = index
        sample = self.dataset[(n, m)]
        sample["label"] = int(self.labels[n][m])
        return sample


class supervised_batches(Sampler):
    """I.i.d. batches of (n, m) pairs, uniform over every training snippet; batch ``s`` is a
    pure function of ``(seed, s)``, so a resumed run (``start``) draws the same batches."""

    def __init__(self, num_snippets: list[int], batch_size: int, steps: int, seed: int,
                 start: int = 0) -> None:
        self.offsets = snippet_offsets(num_snippets)
        self.batch_size, self.steps, self.seed, self.start = batch_size, steps, seed, start

    def __len__(self) -> int:
        return self.steps - self.start

    def __iter__(self):
        total = int(self.offsets[-1])
        for s in range(self.start, self.steps):
            rng = np.random.default_rng([self.seed, s])
            flat = rng.integers(0, total, self.batch_size)
            n = np.searchsorted(self.offsets, flat, side="right") - 1
            yield [(int(a), int(b)) for a, b in zip(n, flat - self.offsets[n])]


class SupervisedStep(nn.Module):
    """The AVModel's encoders + one linear classifier each; ``forward(video, audio, label)``
    → {"loss": CE_v + CE_a, "acc_video", "acc_audio"} (training-batch accuracies)."""

    def __init__(self, model: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.model = model
        self.video_fc = nn.Linear(model.video_encoder.num_features, num_classes)
        self.audio_fc = nn.Linear(model.audio_encoder.num_features, num_classes)

    def forward(self, video: torch.Tensor, audio: torch.Tensor, label: torch.Tensor) -> dict[str, Any]:
        lv = self.video_fc(self.model.video_encoder(video))
        la = self.audio_fc(self.model.audio_encoder(audio))
        loss = nn.functional.cross_entropy(lv, label) + nn.functional.cross_entropy(la, label)
        return {"loss": loss,
                "acc_video": (lv.argmax(1) == label).float().mean().detach(),
                "acc_audio": (la.argmax(1) == label).float().mean().detach()}


def _total_steps(cfg: Config, steps_per_epoch: int) -> int:
    total = cfg.optim.epochs * steps_per_epoch
    return min(total, cfg.train.max_steps) if cfg.train.max_steps is not None else total


def train_supervised(cfg: Config, ground_truth: str | Path, resume: bool = True) -> Path:
    """Train the ceiling per ``cfg`` (see the module doc); returns ``cfg.train.out_dir``."""
    import yaml
    from tqdm import tqdm

    from binge.config import to_dict
    from binge.data.memory_cache import snippet_dataset_class
    from binge.data.transforms import video_to_float
    from binge.distributed import seed_everything
    from binge.io import atomic_write_text
    from binge.models import build_av_model
    from binge.train.checkpoint import (CheckpointManager, capture_rng_state, load_checkpoint,
                                        restore_rng_state)
    from binge.train.export import SUPERVISED, export_model
    from binge.train.metrics import MetricsLogger
    from binge.train.schedule import WarmupCosineSchedule

    if not cfg.data.corpus:
        raise ConfigError("data.corpus is not set: pass data.corpus=PATH (a prepared corpus)")
    out = Path(cfg.train.out_dir)
    dataset = snippet_dataset_class(cfg).from_config(cfg, split="train", augment=True)
    labels, classes = snippet_labels(dataset.title_ids, dataset.num_snippets,
                                     cfg.data.snippet_seconds, ground_truth)
    steps_per_epoch = cfg.sampling.steps_per_epoch or max(1, len(dataset) // cfg.sampling.batch_size)
    total = _total_steps(cfg, steps_per_epoch)
    seed_everything(cfg.train.seed)
    step_module = SupervisedStep(build_av_model(cfg.model), len(classes))
    optimizer = torch.optim.Adam(step_module.parameters(), lr=cfg.optim.lr,
                                 weight_decay=cfg.optim.weight_decay)
    schedule = WarmupCosineSchedule(optimizer, steps_per_epoch, cfg.optim)
    ckpts = CheckpointManager(out / "checkpoints", cfg.train.keep_checkpoints)
    step = 0
    if resume and ckpts.last.exists():
        state = load_checkpoint(ckpts.last)
        if any(k.startswith(("model.video_head.", "model.audio_head.")) for k in state["model"]):
            raise ConfigError(f"cannot resume from {ckpts.last}: it was written while the model held "
                              "Eq. 1's heads (its optimiser state counts them); use a new "
                              "train.out_dir to start over")
        step_module.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        restore_rng_state(state["rng"])
        step = int(state["step"])
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.yaml", yaml.safe_dump(to_dict(cfg), sort_keys=False))
    metrics = MetricsLogger(out)
    metrics.truncate_after(step)
    workers = max(0, cfg.data.num_workers)
    loader = DataLoader(_Labelled(dataset, labels),
                        batch_sampler=supervised_batches(dataset.num_snippets, cfg.sampling.batch_size,
                                                         total, cfg.train.seed, start=step),
                        num_workers=workers,
                        generator=torch.Generator().manual_seed(cfg.train.seed + step))
    step_module.train()
    sums: dict[str, float] = {}
    with tqdm(total=total, initial=step, desc="supervised", unit="step", dynamic_ncols=True) as bar:
        for batch in loader:
            outputs = step_module(video_to_float(batch["video"]), batch["audio"],
                                  torch.as_tensor(batch["label"]))
            optimizer.zero_grad(set_to_none=True)
            outputs["loss"].backward()
            optimizer.step()
            schedule.step()
            step += 1
            for k, v in outputs.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            if step % cfg.train.log_every_steps == 0 or step == total:
                n = cfg.train.log_every_steps if step % cfg.train.log_every_steps == 0 else step % cfg.train.log_every_steps
                record = {k: v / n for k, v in sums.items()}
                metrics.log({"step": step, **record, "lr": schedule.lr})
                bar.set_postfix(loss=f"{record['loss']:.3f}")
                sums = {}
            if step % cfg.train.checkpoint_every_steps == 0 or step == total:
                ckpts.save({"model": step_module.state_dict(), "optimizer": optimizer.state_dict(),
                            "schedule": schedule.state_dict(), "step": step,
                            "rng": capture_rng_state(), "classes": classes,
                            "trained_by": SUPERVISED,
                            "config": to_dict(cfg)}, step)
            bar.update(1)
    metrics.close()
    export_model(step_module.model, cfg, out / "export", trained_by=SUPERVISED)
    return out
