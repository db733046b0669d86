"""The pretraining loop (paper §3–4.1, supplement §4): ``pretrain(cfg) -> out_dir``.

One code path for one CPU process, one GPU, or many GPUs on many nodes (``torchrun``, DDP).
Per step: a rank's B/world_size ``(title, snippet)`` pairs from the hierarchical sampler →
``SnippetDataset`` → uint8 host→device copy → ``video_to_float`` on the device → the objective
(Eq. 1 NCE by default) under bf16 autocast on CUDA → backward → Adam with the warm-up + cosine
schedule. Checkpoints are atomic and exact-resumable; see docs/training.md.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader

from binge.config import Config, ConfigError, to_dict
from binge.io import atomic_write_text
from binge.train.callbacks import Callback, CallbackList
from binge.train.checkpoint import (CheckpointError, CheckpointManager, capture_rng_state,
                                   load_checkpoint, restore_rng_state)
from binge.distributed import (
    DistInfo,
    all_gather_object,
    all_reduce_mean,
    cleanup_distributed,
    convert_sync_batchnorm,
    init_distributed,
    seed_everything,
)
from binge.train.export import export_model
from binge.train.metrics import MetricsLogger
from binge.train.schedule import WarmupCosineSchedule
from binge.train.seeding import KeyedBatchSampler, KeyedDataset, warm_start_batches

__all__ = ["pretrain", "TrainStep", "TrainingStopped", "build_optimizer", "resolve_num_workers"]

logger = logging.getLogger(__name__)

#: config sections whose change makes a checkpoint unusable for exact resumption …
_RESUME_SECTIONS = ("data", "augment", "sampling", "model", "objective", "optim")
#: … except these runtime knobs (a moved corpus is still checked by its manifest's parameters).
_RESUME_FREE = {"data.corpus", "data.num_workers", "data.pin_memory"}
#: what :meth:`Trainer.save_checkpoint` writes and a resume needs
_CHECKPOINT_KEYS = ("model", "objective", "optimizer", "schedule", "step", "rng", "config")


class TrainStep(nn.Module):
    """Model + objective as one module, so that DDP sees (and synchronises) both.

    ``forward(batch)`` returns the objective's dict (a scalar ``"loss"`` and float logs). The
    objective may call any method of the model (``embed_video`` …) inside this forward.
    """

    def __init__(self, model: nn.Module, objective: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.objective = objective

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        return self.objective(self.model, batch)


def resolve_num_workers(requested: int) -> int:
    """``-1`` → the CPU cores available to this process divided by the processes on this node."""
    if requested >= 0:
        return requested
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(1, cores // max(1, local))


def build_optimizer(step_module: TrainStep, cfg: Config) -> torch.optim.Optimizer:
    """Adam (supplement §4; SGD/AdamW optional) over the model and the objective's parameters,
    wrapped by the objective's ``wrap_optimizer`` (e.g. CrissCross's LARC, Table S10 "Adam*").

    The objective's ``param_groups(base_lr)`` gives extra groups (e.g. a CrissCross predictor
    with its own lr multiplier); every other trainable parameter goes in the first group.
    """
    o = cfg.optim
    extra = list(step_module.objective.param_groups(o.lr) or [])
    taken = {id(p) for g in extra for p in g["params"]}
    main = [p for p in step_module.parameters() if p.requires_grad and id(p) not in taken]
    groups = [{"params": main, "lr": o.lr}] + extra
    optimizer: torch.optim.Optimizer
    if o.name == "adam":
        optimizer = torch.optim.Adam(groups, lr=o.lr, weight_decay=o.weight_decay)
    elif o.name == "adamw":
        optimizer = torch.optim.AdamW(groups, lr=o.lr, weight_decay=o.weight_decay)
    else:
        optimizer = torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    return step_module.objective.wrap_optimizer(optimizer)


def _config_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    diffs = []
    for section in _RESUME_SECTIONS:
        a, b = saved.get(section, {}), current.get(section, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key) and f"{section}.{key}" not in _RESUME_FREE:
                diffs.append(f"{section}.{key}: {a.get(key)!r} → {b.get(key)!r}")
    return diffs


class TrainingStopped(KeyboardInterrupt):
    """Raised by :func:`pretrain` after SIGTERM/SIGINT stopped it at a step boundary: the
    checkpoint of that step is written, and the same call (or command) resumes from it. A
    ``KeyboardInterrupt``, so that a stopped run never looks finished to its caller: ``binge``
    exits 130, and a script does not go on to evaluate a half-trained run (docs/cli.md)."""


class _StopFlag:
    """SIGTERM/SIGINT set a flag; the loop checkpoints at the next step boundary and exits."""

    def __init__(self) -> None:
        self.stop = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: signals stay with the caller
                return

    def _handle(self, signum: int, frame: Any) -> None:
        self.stop = True

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


class Trainer:
    """Builds everything from a :class:`~binge.config.Config` and runs the steps."""

    def __init__(self, cfg: Config, env: DistInfo, resume: "bool | str | Path" = True,
                 callbacks: "Sequence[Callback]" = ()) -> None:
        self.cfg = cfg
        self.callbacks = CallbackList(callbacks)
        self.env = env
        self.is_main = env.rank == 0
        self.out_dir = Path(cfg.train.out_dir)
        self.ckpts = CheckpointManager(self.out_dir / "checkpoints", cfg.train.keep_checkpoints)
        if cfg.train.deterministic:
            torch.use_deterministic_algorithms(True)
        seed_everything(cfg.train.seed)  # same model init on every rank
        resume_from = self._read_resume(resume)  # format and config checked before building
        if resume_from is not None:  # scenes changed under the run: said before any sampler check
            from binge.data.scenes import check_run_scenes

            check_run_scenes(cfg, self.out_dir, checkpoint=resume_from)
        self._build_data()
        if resume_from is not None:
            self._check_resume_corpus(*resume_from)  # before the model is built
        self._build_model()
        seed_everything(cfg.train.seed, rank=env.rank)  # per-rank streams from here on
        self.step = 0
        self._resumed_window: Optional[dict[str, Any]] = None
        if resume_from is not None:
            self._resume(*resume_from)
        if resume is False and self.is_main:  # every check passed: a refused restart moves nothing
            from binge.train.runfolder import set_aside_previous

            set_aside_previous(self.out_dir)
        from binge.data.scenes import record_run_scenes  # RUN/scenes.json: the scenes sampled
        scenes = record_run_scenes(cfg, self.out_dir, resumed=self.step > 0, write=self.is_main)
        self.scenes_sha256 = scenes["csv_sha256"] if scenes else None  # checked on --resume
        self.logger = MetricsLogger(self.out_dir, enabled=self.is_main)
        if self.is_main:
            self.logger.truncate_after(self.step)

    # ------------------------------------------------------------------ construction
    def _build_data(self) -> None:
        from binge.data.memory_cache import snippet_dataset_class
        from binge.data.scenes import sampling_scenes
        from binge.objectives import ObjectiveContext, get_objective
        from binge.sampling import build_sampler

        cfg, env = self.cfg, self.env
        if not cfg.data.corpus:
            raise ConfigError(
                "data.corpus is not set: pass data.corpus=PATH (a folder written by `binge prepare`)"
            )
        # the objective's views and transforms (CrissCross: two views per modality)
        self.dataset = get_objective(cfg.objective.name).cls.make_dataset(cfg, snippet_dataset_class(cfg))
        counts = list(self.dataset.num_snippets)
        groups = getattr(self.dataset, "groups", None)
        self.context = ObjectiveContext(tuple(counts), tuple(groups) if groups is not None else None,
                                        env.rank, env.world_size)
        try:
            self.sampler = build_sampler(
                cfg.sampling, counts, groups=groups,
                seed=cfg.train.seed, rank=env.rank, world_size=env.world_size,
                scenes=sampling_scenes(cfg, self.dataset.title_ids, counts),
            )
        except ConfigError:
            raise
        except ValueError as err:  # settings that cannot fit this corpus: a user error
            raise ConfigError(f"the sampling settings do not fit data.corpus={cfg.data.corpus}: "
                              f"{err}; change sampling.* (or use a larger corpus)") from None
        self.steps_per_epoch = len(self.sampler)
        self.batches = KeyedBatchSampler(self.sampler, cfg.train.seed)
        workers = resolve_num_workers(cfg.data.num_workers)
        cuda = env.device.type == "cuda"
        self.loader = DataLoader(
            KeyedDataset(self.dataset),
            batch_sampler=self.batches,
            num_workers=workers,
            pin_memory=cuda and cfg.data.pin_memory,
            persistent_workers=workers > 0,
            prefetch_factor=4 if workers > 0 else None,
            generator=torch.Generator().manual_seed(cfg.train.seed),  # leaves the global RNG alone
        )
        self.num_workers = workers
        from binge.train.runfolder import corpus_identity  # recorded in checkpoints, checked on resume
        self.corpus_identity = corpus_identity(cfg.data.corpus, self.dataset.title_ids, counts)

    def _build_model(self) -> None:
        from binge.models import build_av_model
        from binge.models.init import apply_model_init
        from binge.objectives import build_objective

        cfg, env = self.cfg, self.env
        self.dtype = torch.float64 if cfg.train.precision == "fp64" else torch.float32
        model = build_av_model(cfg.model)
        apply_model_init(model, cfg.model)  # model.video_init / audio_init (a resume overrides them)
        if env.world_size > 1 and cfg.model.sync_batchnorm:
            model = convert_sync_batchnorm(model, env.device)
        model.to(env.device, self.dtype)
        objective = build_objective(cfg, model, self.context)
        init = objective.init_checkpoint()
        if init:  # e.g. CMA from a Cross-AVID run (before a resume, which overrides it)
            objective.init_from(model, load_checkpoint(init), str(init))
        objective.to(env.device, self.dtype)
        self.model = model
        self.objective = objective
        self.step_module = TrainStep(model, objective)
        if env.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            self.wrapped: nn.Module = DDP(
                self.step_module,
                device_ids=[env.device] if env.device.type == "cuda" else None,
                # memory banks are updated identically on every rank: no buffer broadcast in
                # forward (they are synced from rank 0 once, at construction, like parameters)
                forward_sync_buffers=False,
            )
        else:
            self.wrapped = self.step_module
        self.optimizer = build_optimizer(self.step_module, cfg)
        self.schedule = WarmupCosineSchedule(self.optimizer, self.steps_per_epoch, cfg.optim)
        self.total_steps = cfg.optim.epochs * self.steps_per_epoch
        if cfg.train.max_steps is not None:
            if cfg.train.max_steps > self.total_steps and env.rank == 0:
                logger.warning("train.max_steps=%d is more than optim.epochs=%d × %d steps per epoch: "
                               "the run stops at step %d (raise optim.epochs for more)",
                               cfg.train.max_steps, cfg.optim.epochs, self.steps_per_epoch,
                               self.total_steps)
            self.total_steps = min(self.total_steps, cfg.train.max_steps)
        precision = cfg.train.precision
        self.bf16 = precision == "bf16" or (precision == "auto" and env.device.type == "cuda")

    # ------------------------------------------------------------------ checkpoints
    def _read_resume(self, resume: "bool | str | Path") -> "Optional[tuple[Path, dict[str, Any]]]":
        """The checkpoint to resume from, read and checked before the dataset and the model are
        built (issue 15 "fail fast"): a file that is not a binge pretraining checkpoint, or one
        of a run with other settings, is refused at once. None: nothing to resume."""
        if resume is False:
            return None
        path = self.ckpts.last if resume is True else Path(resume)
        if resume is True and not path.exists():
            return None
        state = load_checkpoint(path)
        if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
            raise CheckpointError(f"cannot resume from {path}: not a checkpoint of binge pretrain "
                                  "(no config in it); pass a step_*.pt or last.pt of a run")
        diffs = _config_differences(state["config"], to_dict(self.cfg))
        if diffs:
            raise ConfigError(
                f"cannot resume from {path}: the configuration changed ({'; '.join(diffs)}); "
                "use the original settings, or a new train.out_dir to start over"
            )
        missing = sorted(set(_CHECKPOINT_KEYS) - set(state))
        if missing:
            raise CheckpointError(f"cannot resume from {path}: not a complete checkpoint of binge "
                                  f"pretrain (missing {missing}); pass a step_*.pt or last.pt of "
                                  "a run, or --restart")
        return path, state

    def _check_resume_corpus(self, path: Path, state: dict[str, Any]) -> None:
        saved = state.get("corpus_identity")
        if saved is not None and saved != self.corpus_identity:
            raise ConfigError(
                f"cannot resume from {path}: data.corpus={self.cfg.data.corpus} holds other titles "
                "than the corpus this run trained on (a moved corpus is fine, another one is not); "
                "point data.corpus at that corpus, or use a new train.out_dir (or --restart)"
            )

    def _resume(self, path: Path, state: dict[str, Any]) -> None:
        # a checkpoint from before Eq. 1's heads moved to the objective: mapped onto it
        model_state, objective_state = self.objective.adopt_legacy_state(state["model"], state["objective"])
        self.step_module.model.load_state_dict(model_state)
        self.step_module.objective.load_state_dict(objective_state)
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.step = int(state["step"])
        rngs = state["rng"]
        if len(rngs) == self.env.world_size:
            restore_rng_state(rngs[self.env.rank])
        else:
            logger.warning(
                "resuming %d ranks from a %d-rank checkpoint: the data and augmentations are the "
                "same (they follow from seed, epoch and step) but per-rank RNG streams restart",
                self.env.world_size, len(rngs),
            )
        windows = state.get("log_windows")  # this rank's own sums since the last log record
        self._resumed_window = (windows[self.env.rank] if isinstance(windows, list)
                                and len(windows) == self.env.world_size
                                else state.get("log_window"))
        if self.is_main:
            logger.info("resumed from %s at step %d", path, self.step)

    def save_checkpoint(self) -> Optional[Path]:
        """Every rank's RNG state goes to rank 0, which writes the checkpoint atomically."""
        rngs = all_gather_object(capture_rng_state())
        # every rank's log window: a record averages all ranks' sums (``_Window.summary``)
        window = self._window.state() if getattr(self, "_window", None) else None
        windows = all_gather_object(window)
        if not self.is_main:
            return None
        state = {
            "model": self.step_module.model.state_dict(),
            "objective": self.step_module.objective.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
            "steps_per_epoch": self.steps_per_epoch,
            "sampler": {"seed": self.cfg.train.seed, "epoch": self.step // self.steps_per_epoch,
                        "start_step": self.step % self.steps_per_epoch},
            "rng": rngs,
            "world_size": self.env.world_size,
            "config": to_dict(self.cfg),
            "corpus_identity": self.corpus_identity,
            "scenes_sha256": self.scenes_sha256,
            # the running sums of the log record in progress: a resumed run's first record
            # averages the same steps as an uninterrupted run's (issue 15)
            "log_window": window,
            "log_windows": windows,  # per rank; "log_window" (rank 0's) kept for older readers
        }
        return self.ckpts.save(state, self.step)

    def _checkpoint(self) -> None:
        path = self.save_checkpoint()
        self.callbacks.on_checkpoint(self, path)

    # ------------------------------------------------------------------ the steps
    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        from binge.data.transforms import video_to_float

        dev = self.env.device
        nb = dev.type == "cuda"
        out = {k: (v.to(dev, non_blocking=nb) if torch.is_tensor(v) else v) for k, v in batch.items()}
        for key, value in out.items():  # every view the objective's dataset made
            if torch.is_tensor(value) and value.dtype == torch.uint8 and value.ndim == 5:
                out[key] = video_to_float(value).to(self.dtype)  # (B, T, H, W, 3) uint8 video
            elif torch.is_tensor(value) and value.is_floating_point():
                out[key] = value.to(self.dtype)
        return out

    def _autocast(self) -> Any:
        if self.bf16:
            return torch.autocast(device_type=self.env.device.type, dtype=torch.bfloat16)
        return nullcontext()

    @torch.no_grad()
    def _warm_start(self) -> None:
        """The objective's pass over every training snippet before step 1 (e.g. AVID's
        ``bank_init: encode``), in train mode like the steps after it; the model's BatchNorm
        running statistics are restored afterwards, so the pass changes nothing but the
        objective's state."""
        batches = warm_start_batches(self.dataset.num_snippets, self.cfg.sampling.batch_size,
                                     self.cfg.train.seed, self.env.rank, self.env.world_size)
        loader = DataLoader(KeyedDataset(self.dataset), batch_sampler=batches,
                            num_workers=self.num_workers,
                            pin_memory=self.env.device.type == "cuda" and self.cfg.data.pin_memory)
        saved = {k: v.clone() for k, v in self.model.named_buffers()}
        bar = None
        if self.is_main:
            from tqdm import tqdm

            bar = tqdm(total=len(batches), desc="warm start (encode every snippet)", unit="batch",
                       dynamic_ncols=True)
        self.step_module.train()
        try:
            for raw in loader:
                with self._autocast():
                    self.objective.warm_start(self.model, self._to_device(raw))
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        for name, buf in self.model.named_buffers():
            buf.copy_(saved[name])

    def _train_step(self, batch: dict[str, Any]) -> dict[str, Any]:
        cfg = self.cfg
        with self._autocast():
            outputs = self.wrapped(batch)
        loss = outputs["loss"]
        if not torch.isfinite(loss.detach()).all():
            raise FloatingPointError(
                f"non-finite loss {loss.item()} at step {self.step}; "
                + (f"the last good checkpoint is {self.ckpts.last}" if self.ckpts.last.exists()
                   else "no checkpoint was written yet")
                + " (lower optim.lr or use objective.normalize=true)"
            )
        self.last_lr = self.schedule.lr  # the rate this step uses (logged)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.optim.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.step_module.parameters(), cfg.optim.grad_clip)
        self.optimizer.step()
        self.schedule.step()
        self.objective.after_step(batch, outputs)
        return outputs

    def _stop_agreed(self, flag: _StopFlag) -> bool:
        """Every rank stops at the same step if any rank got SIGTERM."""
        if self.env.world_size == 1:
            return flag.stop
        t = torch.tensor([1.0 if flag.stop else 0.0], device=self.env.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)

    def fit(self) -> Path:
        cfg, env = self.cfg, self.env
        if self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out_dir / "config.yaml", yaml.safe_dump(to_dict(cfg), sort_keys=False))
        if self.step == 0 and self.objective.wants_warm_start():
            self._warm_start()  # before step 1; nothing to save if it is interrupted
        flag = _StopFlag()
        flag.install()
        bar = None
        if self.is_main:
            from tqdm import tqdm

            bar = tqdm(total=self.total_steps, initial=self.step, desc="pretrain", unit="step",
                       dynamic_ncols=True)
        stopped = False
        self.step_module.train()
        window = self._window = _Window(env.device, self._resumed_window)
        try:
            while self.step < self.total_steps and not stopped:
                epoch, in_epoch = divmod(self.step, self.steps_per_epoch)
                if in_epoch == 0:
                    self.objective.on_epoch_start(epoch)
                self.batches.set_epoch(epoch, start_step=in_epoch)
                tick = time.perf_counter()
                for raw in self.loader:
                    got = time.perf_counter()
                    batch = self._to_device(raw)
                    outputs = self._train_step(batch)
                    self.step += 1
                    window.add(outputs, got - tick, cfg.sampling.batch_size)
                    measured = self.callbacks.after_step(self, outputs)
                    if measured and self.is_main:
                        self.logger.log({"step": self.step, "epoch": epoch, **measured})
                    if self.step % self.steps_per_epoch == 0:
                        self.callbacks.after_epoch(self, epoch)
                    if self.step % cfg.train.log_every_steps == 0 or self.step == self.total_steps:
                        self._log(window, epoch, bar)
                        window = self._window = _Window(env.device)
                    stopped = self._stop_agreed(flag)
                    if stopped or self.step % cfg.train.checkpoint_every_steps == 0 \
                            or self.step == self.total_steps:
                        self._checkpoint()
                    if bar is not None:
                        bar.update(1)
                    if stopped or self.step >= self.total_steps:
                        break
                    tick = time.perf_counter()
        finally:
            flag.uninstall()
            if bar is not None:
                bar.close()
            self.logger.close()
        if stopped:
            raise TrainingStopped(f"stopped by signal at step {self.step}; checkpoint "
                                  f"{self.ckpts.last}; run the same command again to resume")
        if self.is_main:
            export_model(self.step_module.model, cfg, self.out_dir / "export", self.objective)
        return self.out_dir

    def _log(self, window: "_Window", epoch: int, bar: Any) -> None:
        record = window.summary(self.env)
        record = {"step": self.step, "epoch": epoch, **record,
                  "lr": self.last_lr}
        self.logger.log(record)
        if bar is not None:
            bar.set_postfix(loss=f"{record['loss']:.4f}", snip_s=f"{record['snippets_per_s']:.1f}",
                            wait=f"{record['data_wait_fraction']:.0%}")


class _Window:
    """Losses and timings accumulated between two log records.

    ``restored`` (:meth:`state` of the window a checkpoint was written in) carries the loss sums
    and step count of the steps before a kill into the resumed run, so that its first record
    averages every step since the last record, as an uninterrupted run's does; the rates
    (snippets/s, data wait) are measured over this process's steps only (``timed_steps``)."""

    def __init__(self, device: torch.device, restored: Optional[dict[str, Any]] = None) -> None:
        self.device = device
        self.start = time.perf_counter()
        self.wait = 0.0
        self.steps = 0
        self.timed_steps = 0
        self.snippets = 0
        self.sums: dict[str, torch.Tensor] = {}
        if restored:
            self.steps = int(restored["steps"])
            self.sums = {k: torch.tensor(float(v), dtype=torch.float64, device=device)
                         for k, v in restored["sums"].items()}

    def state(self) -> dict[str, Any]:
        """``{"steps", "sums"}`` as plain numbers (a ``weights_only`` checkpoint holds them)."""
        return {"steps": self.steps, "sums": {k: float(v) for k, v in self.sums.items()}}

    def add(self, outputs: dict[str, Any], wait: float, snippets: int) -> None:
        self.wait += wait
        self.steps += 1
        self.timed_steps += 1
        self.snippets += snippets
        for key, value in outputs.items():
            if torch.is_tensor(value) and value.numel() == 1:
                v = value.detach().double().reshape(())
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                v = torch.tensor(float(value))
            else:
                continue
            self.sums[key] = self.sums.get(key, 0.0) + v.to(self.device)  # no host sync

    def summary(self, env: DistInfo) -> dict[str, float]:
        keys = sorted(self.sums)
        means = torch.stack([self.sums[k] for k in keys]).to(torch.float64) / max(1, self.steps)
        means = all_reduce_mean(means.to(env.device)).cpu()  # mean over ranks
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        out = {k: float(v) for k, v in zip(keys, means.tolist())}
        out["snippets_per_s"] = self.snippets / elapsed
        out["steps_per_s"] = self.timed_steps / elapsed
        out["data_wait_fraction"] = min(1.0, self.wait / elapsed)
        return out


def pretrain(cfg: Config, resume: "bool | str | Path" = True,
             callbacks: "Sequence[Callback]" = ()) -> Path:
    """Pretrain per ``cfg`` and return ``cfg.train.out_dir`` (with ``export/`` when finished).

    ``resume=True`` continues from ``out_dir/checkpoints/last.pt`` when it exists; a path resumes
    from that checkpoint; ``False`` starts over, the previous run's records moved aside to
    ``out_dir/previous/<time>/`` first (binge.train.runfolder).
    Run under ``torchrun`` for several processes; the global batch stays ``sampling.batch_size``.
    ``callbacks`` (:class:`binge.train.callbacks.Callback`) run on every rank after each step,
    epoch and checkpoint.
    """
    from binge.train.monitors import monitors_for  # discrepancy.every_steps: learning curves

    from binge.train.runfolder import clean_run_folder

    if not isinstance(resume, bool) and not Path(resume).is_file():  # before building anything
        raise ConfigError(f"--resume {resume}: the checkpoint does not exist; pass a step_*.pt or "
                          "last.pt of a run, or leave --resume out")
    env = init_distributed(device=cfg.train.device)
    try:
        if env.rank == 0:  # no stale temporaries (a restart sets the old run aside: Trainer)
            clean_run_folder(cfg.train.out_dir)
        return Trainer(cfg, env, resume, [*callbacks, *monitors_for(cfg)]).fit()
    finally:
        cleanup_distributed()
