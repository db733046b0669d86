"""``evaluate(cfg, checkpoint=…, random_init=…)``: one protocol on one dataset, every split
asked for, every repeat; writes ``results.json`` (every number with its config), a printed
table and one confusion-matrix PNG per split (paper §4.1; CrissCross §E)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from binge.config import Config, DataConfig, to_dict
from binge.distributed import resolve_device
from binge.data.datasets import DownstreamSplit, dataset_entry, load_split, splits_of
from binge.data.datasets.sources import AudioSource, VideoSource
from binge.data.logmel import LogMelSettings, frames_per_snippet
from binge.evaluation.clips import AudioGeometry, ViewClips, TrainClips, VideoGeometry
from binge.evaluation.encoders import (Classifier, check_random_init, load_eval_encoder,
                                       pretraining_data_config)
from binge.evaluation.extract import map_views
from binge.evaluation.finetune import finetune
from binge.evaluation.linear import probe_and_score
from binge.evaluation.pooling import pool_features
from binge.evaluation.report import (
    confusion_matrix,
    format_table,
    mean_std,
    plot_confusion,
    top1,
    write_json,
)
from binge.evaluation.retrieval import cosine_topk, recall_at_k

__all__ = ["EvaluateError", "check_results_folder", "encoder_name", "evaluate", "resolve_device", "results_dir"]


class EvaluateError(ValueError):
    """An evaluation that must not run as asked (e.g. it would overwrite another encoder's results)."""


def encoder_name(checkpoint: Optional[str] = None, random_init: Optional[str] = None) -> str:
    """The folder name of an encoder's results: ``random-<model>`` or the checkpoint path.

    A checkpoint path is made relative to the working directory when it lies below it, and its
    parts are joined by ``-`` (``runs/k8/export`` → ``runs-k8-export``), so that two encoders
    never share a name unless they are the same path."""
    if random_init is not None:
        return f"random-{random_init}"
    path = Path(str(checkpoint)).expanduser().resolve()
    try:
        path = path.relative_to(Path.cwd().resolve())
    except ValueError:
        pass
    parts = [p for p in path.parts if p not in ("/", "", ".", "..")]
    return "-".join(parts).replace(" ", "_") or "checkpoint"


def results_dir(cfg: Config, checkpoint: Optional[str] = None, random_init: Optional[str] = None) -> Path:
    """``<evaluate.out_dir>/<encoder_name>/<dataset>-<protocol>``: where ``binge evaluate`` writes
    when ``--out`` is not given."""
    ev = cfg.evaluate
    return Path(ev.out_dir) / encoder_name(checkpoint, random_init) / f"{ev.dataset}-{ev.protocol}"


def check_results_folder(out_dir: Path, encoder: dict[str, Optional[str]]) -> None:
    """Refuse to write over ``results.json`` of another encoder (its folder is reused only by itself)."""
    path = out_dir / "results.json"
    if not path.is_file():
        return
    import json

    try:
        old = json.loads(path.read_text()).get("encoder", {})
    except (OSError, ValueError) as err:
        raise EvaluateError(f"{path} exists and cannot be read ({err}): pass another --out") from err
    same_random = old.get("random_init") is not None and old.get("random_init") == encoder["random_init"]
    same_ckpt = (old.get("checkpoint") is not None and encoder["checkpoint"] is not None
                 and Path(old["checkpoint"]).resolve() == Path(encoder["checkpoint"]).resolve())
    if not (same_random or same_ckpt):
        who = old.get("checkpoint") or f"random-{old.get('random_init')}"
        raise EvaluateError(f"{path} holds the results of another encoder ({who}); pass another "
                            "--out (or leave --out out: results go under a folder named for the encoder)")


class _Task:
    """Sources and clip geometry of one split for one encoder."""

    def __init__(self, cfg: Config, split: DownstreamSplit, encoder, data: DataConfig, cache_dir: Optional[Path]):
        ev, clips = cfg.evaluate, cfg.evaluate.clips
        self.split = split
        paths = lambda samples: [s.path for s in samples]  # noqa: E731
        if split.modality == "audio":
            settings = LogMelSettings.from_config(data)
            self.train_src = AudioSource(paths(split.train), settings, cache_dir)
            self.test_src = AudioSource(paths(split.test), settings, cache_dir)
            self.geometry = AudioGeometry(frames_per_snippet(clips.audio_seconds, settings),
                                          ev.finetune.audio_mask_max_fraction)
            self.test_crops = 1
        else:
            spec = encoder.input_spec
            jitter = tuple(ev.finetune.scale_jitter)
            if ev.protocol != "finetune":  # no jitter outside fine-tuning
                jitter = (clips.crop_size, clips.crop_size)
            if len(jitter) != 2 or jitter[0] > jitter[1] or jitter[0] < clips.crop_size:
                raise ValueError(f"evaluate.finetune.scale_jitter {list(jitter)} must be [lo, hi] with "
                                 f"crop_size {clips.crop_size} <= lo <= hi")
            if clips.test_short_side < clips.crop_size:
                raise ValueError(f"evaluate.clips.test_short_side {clips.test_short_side} is smaller "
                                 f"than crop_size {clips.crop_size}")
            # decode once at the largest short side any view needs; resize from there
            short = max(jitter[1], clips.test_short_side) if ev.protocol == "finetune" else clips.test_short_side
            self.train_src = VideoSource(paths(split.train), clips.fps, short, cache_dir)
            self.test_src = VideoSource(paths(split.test), clips.fps, short, cache_dir)
            self.geometry = VideoGeometry(
                clips.frames, clips.crop_size, clips.test_short_side, jitter,  # type: ignore[arg-type]
                tuple(spec.mean), tuple(spec.std), ev.finetune.hflip, ev.finetune.color_jitter,
            )
            self.test_crops = clips.test_crops
        self.y_train = np.array([s.label for s in split.train])
        self.y_test = np.array([s.label for s in split.test])
        self.groups = np.array([s.group for s in split.train])


class _Subset:
    """Items ``index`` of a source (so that only samples without features are decoded)."""

    def __init__(self, source, index: list[int]) -> None:
        self.source, self.index = source, index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        return self.source[self.index[i]]


def _features(encoder, views: ViewClips, pooling: str, max_kernel, cfg: Config, device, desc: str,
              memo: dict) -> np.ndarray:
    """(N, D) frozen features of every sample of ``views.source``, averaged over its views.

    ``memo`` keeps the features of each (file, view grid) for the encoder of this run, so
    that splits sharing files (UCF101's three splits hold the same videos) extract once."""
    keys = [(str(p), views.n_clips, views.n_crops) for p in views.source.paths]
    todo = [i for i, k in enumerate(keys) if k not in memo]
    if todo:
        fn = lambda x: pool_features(encoder.forward_features(x), pooling, max_kernel)  # noqa: E731
        sub = ViewClips(_Subset(views.source, todo), views.geo, views.n_clips, views.n_crops)
        feats = map_views(sub, fn, cfg.evaluate.batch_size, device, cfg.evaluate.num_workers, desc).numpy()
        memo.update({keys[i]: f for i, f in zip(todo, feats)})
    return np.stack([memo[k] for k in keys])


def _run_linear(task: _Task, encoder, cfg: Config, device, seed: int, memo: dict) -> dict[str, Any]:
    lin, clips = cfg.evaluate.linear, cfg.evaluate.clips
    encoder.to(device).eval()
    x_train = _features(encoder, ViewClips(task.train_src, task.geometry, lin.train_clips, 1),
                        lin.pooling, lin.max_kernel, cfg, device, "train features", memo)
    x_test = _features(encoder, ViewClips(task.test_src, task.geometry, clips.test_clips, task.test_crops),
                       lin.pooling, lin.max_kernel, cfg, device, "test features", memo)
    probe, acc, scores = probe_and_score(
        x_train, task.y_train, task.groups, x_test, task.y_test, costs=lin.costs, classifier=lin.classifier,
        cv_folds=lin.cv_folds, standardize=lin.standardize, max_iter=lin.max_iter, seed=seed,
        n_jobs=lin.n_jobs)
    return {"top1": acc, "cost": probe.cost, "cv_folds": probe.cv_folds,
            "cv_accuracy": {str(k): v for k, v in probe.cv_accuracy.items()},
            "feature_dim": int(x_train.shape[1]), "predictions": scores.argmax(1).tolist()}


def _run_retrieval(task: _Task, encoder, cfg: Config, device, seed: int, memo: dict) -> dict[str, Any]:
    ret, clips = cfg.evaluate.retrieval, cfg.evaluate.clips
    encoder.to(device).eval()
    train = _features(encoder, ViewClips(task.train_src, task.geometry, clips.test_clips, 1),
                      ret.pooling, ret.max_kernel, cfg, device, "train features", memo)
    test = _features(encoder, ViewClips(task.test_src, task.geometry, clips.test_clips, 1),
                     ret.pooling, ret.max_kernel, cfg, device, "test features", memo)
    out: dict[str, Any] = recall_at_k(test, task.y_test, train, task.y_train, ret.ks)
    out["predictions"] = task.y_train[cosine_topk(test, train, 1)[:, 0]].tolist()
    out["top1"] = float(np.mean(np.array(out["predictions"]) == task.y_test))  # = R@1
    return out


def _run_finetune(task: _Task, encoder, cfg: Config, device, seed: int, out_dir: Path) -> dict[str, Any]:
    ft, clips = cfg.evaluate.finetune, cfg.evaluate.clips
    torch.manual_seed(seed)
    model = Classifier(encoder, task.split.num_classes, ft.pooling, ft.dropout)
    log: list = []
    finetune(model, TrainClips(task.train_src, task.y_train.tolist(), task.geometry, seed), ft, out_dir,
             device, seed, cfg.evaluate.num_workers, log)
    model.eval()
    probs = map_views(ViewClips(task.test_src, task.geometry, clips.test_clips, task.test_crops),
                      lambda x: torch.softmax(model(x), dim=1), cfg.evaluate.batch_size, device,
                      cfg.evaluate.num_workers, "test views").numpy()
    return {"top1": top1(probs, task.y_test), "train_log": log, "predictions": probs.argmax(1).tolist()}


def evaluate(cfg: Config, checkpoint: Optional[str] = None, random_init: Optional[str] = None,
             out_dir: Optional[str | Path] = None) -> dict[str, Any]:
    """Run ``cfg.evaluate.protocol`` on ``cfg.evaluate.dataset``; returns (and writes) the results.

    Results go to ``out_dir``, by default :func:`results_dir` (a folder per encoder and protocol
    under ``evaluate.out_dir``). Raises :class:`EvaluateError` when that folder holds another
    encoder's ``results.json``. The decode-once cache defaults to ``evaluate.out_dir/cache``,
    shared by every encoder (its entries are keyed by file and decode settings only)."""
    ev = cfg.evaluate
    if ev.root is None:
        raise ValueError("evaluate.root is not set: pass --root PATH (the dataset folder)")
    _, modality = dataset_entry(ev.dataset)  # an unknown name: ValueError, before any data
    if random_init is not None:  # before any data is read
        check_random_init(random_init, modality, ev.dataset)
    device = resolve_device(ev.device)
    encoder_id = {"checkpoint": checkpoint, "random_init": random_init}
    cache_dir = (Path(ev.cache_dir) if ev.cache_dir else Path(ev.out_dir) / "cache") if ev.cache else None
    out_dir = Path(out_dir) if out_dir is not None else results_dir(cfg, checkpoint, random_init)
    check_results_folder(out_dir, encoder_id)
    splits = ev.splits or splits_of(ev.dataset, ev.root)
    data = pretraining_data_config(checkpoint) or cfg.data
    rows, per_split = [], []
    memos: dict[int, dict] = {}  # seed → frozen features per (file, views): splits share files
    for split_id in splits:
        split = load_split(ev.dataset, ev.root, split_id)
        print(split.summary())
        for r in range(ev.repeats):
            seed = ev.seed + r
            torch.manual_seed(seed)
            encoder = load_eval_encoder(split.modality, checkpoint, random_init)
            task = _Task(cfg, split, encoder, data, cache_dir)
            t0 = time.perf_counter()
            run_dir = out_dir / f"split{split_id}_seed{seed}"
            if ev.protocol == "linear":
                res = _run_linear(task, encoder, cfg, device, seed, memos.setdefault(seed, {}))
            elif ev.protocol == "retrieval":
                res = _run_retrieval(task, encoder, cfg, device, seed, memos.setdefault(seed, {}))
            else:
                res = _run_finetune(task, encoder, cfg, device, seed, run_dir)
            preds = np.array(res.pop("predictions"))
            cm = confusion_matrix(task.y_test, preds, split.num_classes)
            png = plot_confusion(cm, split.classes, out_dir / f"confusion_split{split_id}_seed{seed}.png",
                                 f"{ev.dataset} {ev.protocol} split {split_id} seed {seed}: "
                                 f"top-1 {100 * res['top1']:.1f}%")
            res.update(split=split_id, seed=seed, num_train=len(split.train), num_test=len(split.test),
                       seconds=round(time.perf_counter() - t0, 2), confusion_matrix=cm.tolist(),
                       confusion_png=str(png))
            per_split.append(res)
            rows.append({k: v for k, v in res.items() if k in ("split", "seed", "top1", "cost") or k.startswith("R@")})
    metrics = ["top1"] + [k for k in per_split[0] if k.startswith("R@")]
    summary = {}
    for m in metrics:
        mean, std = mean_std([r[m] for r in per_split])
        summary[m] = {"mean": mean, "std": std, "n": len(per_split)}
        summary[f"{m}_split{splits[0]}"] = mean_std([r[m] for r in per_split if r["split"] == splits[0]])[0]
    results = {
        "dataset": ev.dataset, "protocol": ev.protocol, "root": str(ev.root),
        "encoder": encoder_id,
        "splits": per_split, "summary": summary, "config": to_dict(cfg), "data_used": to_dict(data),
    }
    write_json(results, out_dir / "results.json")
    columns = ["split", "seed", *metrics] + (["cost"] if ev.protocol == "linear" else [])
    print(format_table(rows, columns, percent=metrics))
    for m in metrics:
        s = summary[m]
        print(f"{m}: {100 * s['mean']:.2f} ± {100 * s['std']:.2f} (mean ± std over {s['n']} runs)")
    print(f"results: {out_dir / 'results.json'}")
    return results
