"""Learning curves: held-out linear probes and the discrepancy measures every N steps.

:class:`LearningCurves` is a :class:`~binge.train.callbacks.Callback`. Every
``discrepancy.every_steps`` optimiser steps (0: never, the default) it measures, on rank 0,

* a **linear probe** per entry of ``discrepancy.probes`` (``"world-action=ROOT"``,
  ``"world-sound=ROOT"``, ``"fsdd=ROOT"``…): the frozen encoder of the set's modality, features
  of the last conv map average-pooled and averaged over uniform views (``evaluate.clips``:
  ``linear.train_clips`` views per training sample, ``clips.test_clips`` × ``clips.test_crops``
  per test sample), a linear classifier of ``evaluate.linear`` whose cost is chosen by
  cross-validation on the **training** split only, top-1 on the test split (split 1; paper §4.1,
  the same protocol as ``binge evaluate`` with fewer views). Values ``probe/<set>``.
* the **discrepancy measures** (paper Eq. 2) on the corpus's held-out shows, through
  :class:`binge.diagnostics.monitor.DiscrepancyMonitor` (which also appends them to
  ``RUN/discrepancy.jsonl``, drawn by ``binge discrepancy --run``). Values ``disc/kl_neg_pos``,
  ``disc/kl_diff_pos``, ``disc/kl_neg_diff``, ``disc/gap``.

The trainer writes the returned values to ``metrics.jsonl`` and TensorBoard (``train/probe/…``).
The views of every probe set are decoded once, at the first measurement, and kept in memory.

Exactness: the values are a pure function of the weights at that step (fixed views, a fixed
probe seed, the encoders in eval mode, the global RNG streams forked and restored), so a
resumed run measures the same values at the same steps as an uninterrupted one; the model is
left in the mode it was found in. Under DDP only rank 0 measures (no collectives); the other
ranks wait for it at the next step's all-reduce.

>>> cfg = load_config("configs/micro.yaml", ["discrepancy.every_steps=250",  # doctest: +SKIP
...     "discrepancy.probes=[world-sound=data/world/downstream/world-sound]"])
>>> pretrain(cfg)  # doctest: +SKIP   (binge pretrain does the same from the config alone)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np
import torch
from torch import nn

from binge.config import Config, ConfigError
from binge.train.callbacks import Callback

if TYPE_CHECKING:  # pragma: no cover
    from binge.train.loop import Trainer

__all__ = ["ProbeSet", "LearningCurves", "parse_probes", "monitors_for"]

_DISC_KEYS = ("kl_neg_pos", "kl_diff_pos", "kl_neg_diff", "gap")


def parse_probes(entries: Sequence[str]) -> list[tuple[str, str]]:
    """``["world-sound=PATH", …]`` → ``[("world-sound", "PATH"), …]``; ConfigError otherwise."""
    from binge.data.datasets import DATASETS

    out = []
    for entry in entries:
        name, sep, root = str(entry).partition("=")
        if not sep or not root or name not in DATASETS:
            raise ConfigError(f"discrepancy.probes: {entry!r} is not DATASET=ROOT with DATASET one "
                              f"of {sorted(DATASETS)}")
        if not Path(root).is_dir():
            raise ConfigError(f"discrepancy.probes: {entry!r}: no folder {root}")
        out.append((name, root))
    return out


@dataclass
class ProbeSet:
    """Every view of one split of a downstream set, decoded once, with its labels.

    ``train_views`` (ΣV_train, C, …) with ``train_index`` (the sample of each view), likewise
    for test; ``y_*`` the labels per sample; ``groups`` the training samples' groups (the
    cross-validation never splits one).
    """

    name: str
    modality: str
    train_views: torch.Tensor
    train_index: torch.Tensor
    y_train: np.ndarray
    groups: np.ndarray
    test_views: torch.Tensor
    test_index: torch.Tensor
    y_test: np.ndarray

    @classmethod
    def load(cls, dataset: str, root: str | Path, cfg: Config, split: int = 1) -> "ProbeSet":
        """Decode split ``split`` of ``dataset`` at ``root`` with the clip geometry of
        ``cfg.evaluate.clips`` and the log-mel settings of ``cfg.data``."""
        from binge.data.datasets import load_split
        from binge.data.datasets.sources import AudioSource, VideoSource
        from binge.data.logmel import LogMelSettings, frames_per_snippet
        from binge.data.transforms import KINETICS_MEAN, KINETICS_STD
        from binge.evaluation.clips import AudioGeometry, VideoGeometry, ViewClips, collate_views

        clips, lin = cfg.evaluate.clips, cfg.evaluate.linear
        sp = load_split(dataset, root, split, verbose=False)
        paths = lambda samples: [s.path for s in samples]  # noqa: E731
        if sp.modality == "audio":
            settings = LogMelSettings.from_config(cfg.data)
            train_src, test_src = AudioSource(paths(sp.train), settings), AudioSource(paths(sp.test), settings)
            geo: Any = AudioGeometry(frames_per_snippet(clips.audio_seconds, settings))
            crops = 1
        else:
            size = clips.crop_size
            train_src = VideoSource(paths(sp.train), clips.fps, clips.test_short_side)
            test_src = VideoSource(paths(sp.test), clips.fps, clips.test_short_side)
            geo = VideoGeometry(clips.frames, size, clips.test_short_side, (size, size),
                                tuple(KINETICS_MEAN), tuple(KINETICS_STD))
            crops = clips.test_crops

        def views(src: Any, n_clips: int, n_crops: int) -> tuple[torch.Tensor, torch.Tensor]:
            vc = ViewClips(src, geo, n_clips, n_crops)
            return collate_views([vc[i] for i in range(len(vc))])

        xtr, itr = views(train_src, lin.train_clips, 1)
        xte, ite = views(test_src, clips.test_clips, crops)
        return cls(dataset, sp.modality, xtr, itr, np.array([s.label for s in sp.train]),
                   np.array([s.group for s in sp.train]), xte, ite,
                   np.array([s.label for s in sp.test]))

    @torch.no_grad()
    def features(self, encoder: nn.Module, views: torch.Tensor, index: torch.Tensor,
                 batch_size: int = 256) -> np.ndarray:
        """(N, C): the encoder's pooled last map, averaged over the views of each sample."""
        from binge.evaluation.pooling import pool_features
        from binge.evaluation.views import average_by_sample

        device = next(encoder.parameters()).device
        dtype = next(encoder.parameters()).dtype
        out = [pool_features(encoder.forward_features(views[i:i + batch_size].to(device, dtype)),
                             "avg", None).float().cpu()
               for i in range(0, len(views), batch_size)]
        n = int(index.max()) + 1
        return average_by_sample(torch.cat(out), index, n).numpy()

    def score(self, encoder: nn.Module, cfg: Config, seed: int = 0) -> float:
        """Top-1 of a linear probe on ``encoder``'s frozen features (train → test)."""
        from binge.evaluation.linear import probe_and_score

        lin = cfg.evaluate.linear
        x_train = self.features(encoder, self.train_views, self.train_index)
        x_test = self.features(encoder, self.test_views, self.test_index)
        _, acc, _ = probe_and_score(x_train, self.y_train, self.groups, x_test, self.y_test,
                                    costs=lin.costs, classifier=lin.classifier,
                                    cv_folds=lin.cv_folds, standardize=lin.standardize,
                                    max_iter=lin.max_iter, seed=seed)
        return float(acc)


def _float32(model: nn.Module) -> nn.Module:
    """The model itself when float32, else a float32 copy (``binge.diagnostics`` embeds float32
    inputs; ``train.precision=fp64`` runs keep float64 weights)."""
    param = next(model.parameters(), None)
    if param is None or param.dtype == torch.float32:
        return model
    return copy.deepcopy(model).float()


def encoder_of(model: nn.Module, modality: str) -> nn.Module:
    """The video or audio encoder of an AVModel (or of anything with those attributes)."""
    return model.video_encoder if modality == "video" else model.audio_encoder


class LearningCurves(Callback):
    """Probes and discrepancy every ``cfg.discrepancy.every_steps`` steps (see the module doc).

    Args:
        cfg: the run's config (``discrepancy`` section: ``every_steps``, ``probes``; ``evaluate``
            section: clip geometry and the linear probe).
        out_dir: the run folder (``discrepancy.jsonl`` goes there); default ``cfg.train.out_dir``.
        probes: ready :class:`ProbeSet` objects instead of ``discrepancy.probes`` (tests).
        heldout: a ready held-out dataset for the discrepancy (tests); default: the held-out
            split of ``cfg.data.corpus``. ``discrepancy=False`` measures the probes only.
    """

    def __init__(self, cfg: Config, out_dir: Optional[str | Path] = None,
                 probes: Optional[Sequence[ProbeSet]] = None, heldout: Any = None,
                 discrepancy: bool = True) -> None:
        from binge.diagnostics.monitor import DiscrepancyMonitor

        self.cfg = cfg
        self.every = int(cfg.discrepancy.every_steps)
        if self.every < 0:
            raise ConfigError(f"discrepancy.every_steps must be ≥ 0, got {self.every}")
        self._specs = parse_probes(cfg.discrepancy.probes) if probes is None and self.every else []
        self._probes = list(probes) if probes is not None else None
        out = Path(out_dir if out_dir is not None else cfg.train.out_dir)
        self.discrepancy = (DiscrepancyMonitor(cfg, out, dataset=heldout)
                            if discrepancy and self.every else None)

    @property
    def enabled(self) -> bool:
        return self.every > 0

    def probes(self) -> list[ProbeSet]:
        if self._probes is None:
            self._probes = [ProbeSet.load(name, root, self.cfg) for name, root in self._specs]
        return self._probes

    def measure(self, model: nn.Module, step: int, objective: Optional[nn.Module] = None) -> dict[str, float]:
        """The values at ``step`` (no check of ``every_steps``); model mode and RNG untouched.
        ``objective``: the run's, whose heads give the discrepancy's space (AVID-type runs are
        measured in their own space); required when the discrepancy is measured."""
        was_training = model.training
        values: dict[str, float] = {}
        with torch.random.fork_rng(devices=[]):
            model.eval()
            try:
                for probe in self.probes():
                    values[f"probe/{probe.name}"] = probe.score(encoder_of(model, probe.modality),
                                                                self.cfg, seed=self.cfg.train.seed)
                if self.discrepancy is not None:
                    result = self.discrepancy(_float32(model), step,
                                             objective=None if objective is None else _float32(objective))
                    values.update({f"disc/{k}": float(result[k]) for k in _DISC_KEYS if k in result})
            finally:
                model.train(was_training)
        return values

    def after_step(self, trainer: "Trainer", outputs: dict[str, Any]) -> Optional[dict[str, float]]:
        if not self.enabled or trainer.step % self.every or not trainer.is_main:
            return None
        return self.measure(trainer.step_module.model, trainer.step, objective=trainer.objective)


def monitors_for(cfg: Config) -> list[Callback]:
    """The callbacks the config asks for: :class:`LearningCurves` when
    ``discrepancy.every_steps > 0``, else none (what ``pretrain()`` adds to the caller's)."""
    return [LearningCurves(cfg)] if cfg.discrepancy.every_steps > 0 else []
