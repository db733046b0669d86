"""``embed_library``: one vector per snippet of every title of a library (``binge embed``).

For every snippet m of every title n (paper §3: x_{n,m}, L = frames / fps seconds) it writes
the globally pooled backbone features f(v), g(a) (``feat_video``, ``feat_audio``; what
downstream linear probes use) and the embeddings z_v, z_a of the space the run's objective
trained, through its own heads (``z_video``, ``z_audio``: for Eq. 1, h_f(f(v)) and h_g(g(a)),
unnormalised; for AVID / CMA / CrissCross their heads' outputs), one Parquet shard per title
(:mod:`binge.library.store`). The export is read with :func:`binge.train.export.load_embedder`.

Snippets are read exactly as evaluation reads them: :class:`~binge.data.SnippetDataset` with
``augment=False`` (centre crop of the export's ``augment.crop_size``, no masking, no jitter),
``video_to_float`` on the device. Raw media files are first prepared with
:func:`binge.data.prepare.prepare_corpus` and the export's own data parameters into
``OUT/corpus`` (resumable like any prepare), so they go through exactly the decode, resampling
and log-mel of training; a prepared corpus must have been prepared with those parameters.

Resumable per title: a title's shard is written atomically (:mod:`binge.io`) after its last
batch; a rerun skips titles whose shard exists and batches never span titles, so a killed and
resumed run writes the same bytes as an uninterrupted one. Decoding runs in DataLoader workers;
on CUDA the forward passes run under bf16 autocast.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np
import torch

from binge.config import Config, from_dict
from binge.data.corpus import PARAM_KEYS, CorpusError, prepare_params, read_corpus_params
from binge.io import remove_stale_temporaries, write_json
from binge.library.store import LibraryError, shard_path, write_shard, write_summary

__all__ = ["EmbedReport", "embed_library", "export_config", "export_fingerprint", "embed_batch",
           "random_init_export"]

if TYPE_CHECKING:
    from binge.data.prepare import PrepareReport

log = logging.getLogger(__name__)

HEADER_FORMAT = "binge-library-1"


@dataclass
class EmbedReport:
    """What an :func:`embed_library` run did."""

    out_dir: Path
    titles: list[str] = field(default_factory=list)  # every title of the library, in order
    embedded: list[str] = field(default_factory=list)  # embedded by this run
    reused: list[str] = field(default_factory=list)  # shards found from an earlier run
    snippets: int = 0  # snippets embedded by this run
    seconds: float = 0.0  # wall time of the embedding loop
    #: the prepare run of raw media files (None for a prepared corpus): its skipped files
    prepared: Optional[PrepareReport] = None

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """(path, reason) of the media files prepare skipped (OUT/corpus/skipped.csv)."""
        return self.prepared.skipped if self.prepared is not None else []

    @property
    def exit_code(self) -> int:
        """``binge prepare``'s convention (docs/cli.md): 3 when files were skipped, else 0."""
        return self.prepared.exit_code if self.prepared is not None else 0


def export_config(checkpoint: str | Path) -> Config:
    """The training :class:`~binge.config.Config` stored with an export folder or checkpoint."""
    path = Path(checkpoint)
    if path.is_dir():
        from binge.train.export import read_export_meta

        meta_file = path / "config.json"
        if not meta_file.is_file():
            raise LibraryError(f"{path} is not a binge export (no config.json); pass the export/ "
                               "folder written by `binge pretrain` or a checkpoint .pt file")
        return from_dict(Config, read_export_meta(path)["config"], f"{meta_file}:config")
    from binge.train.checkpoint import load_checkpoint

    state = load_checkpoint(path)
    if "config" not in state:
        raise LibraryError(f"{path} has no config entry; pass a `binge pretrain` checkpoint")
    return from_dict(Config, state["config"], f"{path}:config")


def export_fingerprint(checkpoint: str | Path) -> str:
    """SHA-256 over the export's files (names and bytes), or over the checkpoint file."""
    path = Path(checkpoint)
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0")
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def random_init_export(config: str | Path, out_dir: str | Path, seed: int = 0) -> Path:
    """Export a randomly initialised AVModel of ``config``'s models and its objective's heads (the floor of a comparison)
    into ``out_dir`` (seeded with ``seed``; reused when it exists), for :func:`embed_library`."""
    from binge.config import load_config
    from binge.models import build_av_model
    from binge.train.export import export_model, inference_objective

    out = Path(out_dir)
    if (out / "config.json").is_file():
        return out
    cfg = load_config(config)
    torch.manual_seed(seed)
    model = build_av_model(cfg.model)
    # the objective's heads (Eq. 1's for NCE), randomly initialised too: z is their space
    return export_model(model, cfg, out, inference_objective(cfg, model))


def _check_geometry(corpus: Path, cfg: Config, checkpoint: Path) -> None:
    """Refuse a corpus prepared with other data parameters than the export was trained on."""
    prepared = read_corpus_params(corpus)
    if prepared is None:
        raise LibraryError(f"{corpus} is not a prepared corpus (no corpus.json); run "
                           f"`binge prepare SRC --out {corpus}` first, or pass media files")
    asked = prepare_params(cfg.data)
    diff = [k for k in PARAM_KEYS if float(prepared[k]) != float(asked[k])]
    if diff:
        sets = " ".join(f"data.{k}={asked[k]}" for k in diff)
        have = ", ".join(f"{k}={prepared[k]} (export: {asked[k]})" for k in diff)
        raise LibraryError(
            f"corpus {corpus} was prepared with {have}, other than export {checkpoint} was "
            f"trained on: prepare the media again with the export's settings (binge prepare "
            f"SRC --out NEW_CORPUS {sets}) or pass the media files to `binge embed` directly")


def _prepare_files(files: Sequence[str | Path], out_dir: Path, cfg: Config,
                   workers: int, progress: bool) -> PrepareReport:
    """Prepare raw media into ``out_dir/corpus`` with the export's data parameters. Unusable
    files are skipped as ``binge prepare`` skips them (listed in ``corpus/skipped.csv``).

    Raises:
        LibraryError: no file could be prepared (the first one's reason and the fix).
    """
    from binge.data.prepare import prepare_corpus

    corpus = out_dir / "corpus"
    report = prepare_corpus([Path(f) for f in files], corpus, data=cfg.data, workers=workers,
                            progress=progress)
    if report.skipped and not report.title_ids:
        path, reason = report.skipped[0]
        more = f" (and {len(report.skipped) - 1} more, see {corpus}/skipped.csv)" \
            if len(report.skipped) > 1 else ""
        raise LibraryError(
            f"no usable media file: {path}: {reason}{more}; binge embed needs one video and "
            "one audio stream per file (both modalities are embedded): pass files with both, "
            "or remux them")
    return report


def _header(checkpoint: Path, cfg: Config, model: Any, corpus: Path, split: Optional[str],
            source: str) -> dict[str, Any]:
    return {
        "format": HEADER_FORMAT,
        "export": str(checkpoint.resolve()),
        "export_sha256": export_fingerprint(checkpoint),
        "models": {"video": cfg.model.video, "audio": cfg.model.audio},
        "dims": {"feat_video": int(model.model.video_encoder.num_features),
                 "feat_audio": int(model.model.audio_encoder.num_features), **_z_dims(model)},
        "data": prepare_params(cfg.data),
        "crop_size": cfg.augment.crop_size,
        "snippet_seconds": cfg.data.frames / cfg.data.fps,
        "corpus": str(corpus.resolve()),
        "split": split,
        "source": source,
    }


def _claim_header(out_dir: Path, header: dict[str, Any]) -> None:
    """Write ``library.json``, or check that an earlier run's one describes the same job."""
    path = out_dir / "library.json"
    if path.is_file():
        old = json.loads(path.read_text())
        diff = [k for k in header if old.get(k) != header[k]]
        if diff:
            raise LibraryError(
                f"{out_dir} holds embeddings of another job ({', '.join(diff)} differ); pass a "
                "new --out folder, or delete this one to embed again")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(header, path)


def _z_dims(embedder: Any) -> dict[str, int]:
    """d of z_video / z_audio: the objective's heads on a 1 × 1 feature map of each encoder."""
    model, objective = embedder.model, embedder.objective
    param = next(model.parameters())
    with torch.inference_mode():
        zv = objective.project_video(torch.zeros(1, model.video_encoder.num_features, 1, 1, 1,
                                                 dtype=param.dtype, device=param.device))
        za = objective.project_audio(torch.zeros(1, model.audio_encoder.num_features, 1, 1,
                                                 dtype=param.dtype, device=param.device))
    return {"z_video": int(zv.shape[1]), "z_audio": int(za.shape[1])}


def embed_batch(model: Any, video: torch.Tensor, audio: torch.Tensor,
                device: torch.device) -> dict[str, np.ndarray]:
    """Pooled features and z of one batch: video (B, T, H, W, 3) uint8, audio (B, 1, P, Q).

    ``model``: an ``Embedder`` (:func:`binge.train.export.load_embedder`: the encoders and the
    objective that trained them). Returns float32 arrays ``feat_video`` (B, C_f),
    ``feat_audio`` (B, C_g), ``z_video`` and ``z_audio`` (B, d). Each encoder runs once: its
    last feature map is mean-pooled (what ``encoder(x)`` returns) and fed to the objective's
    heads (``Objective.project_video`` / ``project_audio``: what ``embed_*`` returns). bf16
    autocast on CUDA, fp32 elsewhere.
    """
    from binge.data.transforms import video_to_float

    encoders, objective = model.model, model.objective
    v = video_to_float(video.to(device, non_blocking=True))
    a = audio.to(device, non_blocking=True).float()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    with torch.inference_mode(), autocast:
        fv = encoders.video_encoder.forward_features(v)
        fa = encoders.audio_encoder.forward_features(a)
        out = {"feat_video": fv.flatten(2).mean(dim=2), "feat_audio": fa.flatten(2).mean(dim=2),
               "z_video": objective.project_video(fv), "z_audio": objective.project_audio(fa)}
    return {k: t.float().cpu().numpy() for k, t in out.items()}


def _collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"video": torch.stack([it["video"] for it in items]),
            "audio": torch.stack([it["audio"] for it in items]),
            "title": [it["title"] for it in items], "snippet": [it["snippet"] for it in items],
            "start_s": [it["start_s"] for it in items], "end_s": [it["end_s"] for it in items]}


def _title_batches(todo: Sequence[int], counts: Sequence[int],
                   batch_size: int) -> list[list[tuple[int, int]]]:
    """Batches of (n, m) that never span titles, each title from snippet 0 in fixed chunks."""
    return [[(n, m) for m in range(s, min(s + batch_size, counts[n]))]
            for n in todo for s in range(0, counts[n], batch_size)]


def _select(title_ids: list[str], titles: Optional[Sequence[str]], corpus: Path) -> list[int]:
    if not titles:
        return list(range(len(title_ids)))
    index = {t: i for i, t in enumerate(title_ids)}
    missing = [t for t in titles if t not in index]
    if missing:
        raise LibraryError(f"title(s) {', '.join(missing[:5])} are not in {corpus}/manifest.csv "
                           "(for the split asked); check --titles and --split")
    return sorted(index[t] for t in dict.fromkeys(titles))


def embed_library(
    checkpoint: str | Path,
    out_dir: str | Path,
    corpus: Optional[str | Path] = None,
    files: Optional[Sequence[str | Path]] = None,
    split: Optional[str] = None,
    titles: Optional[Sequence[str]] = None,
    batch_size: int = 32,
    workers: int = 0,
    device: str = "auto",
    progress: bool = True,
) -> EmbedReport:
    """Embed every snippet of a prepared corpus (``corpus``) or of raw media (``files``).

    Args:
        checkpoint: an export folder (or checkpoint .pt) of ``binge pretrain``.
        out_dir: the library folder (layout: :mod:`binge.library.store`); rerun to resume.
        corpus / files: exactly one: a prepared corpus, or media files / folders.
        split: ``train`` / ``heldout`` / None (every title) of the corpus.
        titles: only these title ids (default: all of the split).
        batch_size: snippets per forward pass (a batch never spans two titles).
        workers: DataLoader processes decoding snippets (0: in this process); also the
            prepare processes for raw files.
        device: ``auto`` (CUDA when present, bf16 autocast), ``cpu`` or ``cuda[:i]``.
    Returns:
        an :class:`EmbedReport`.
    Raises:
        LibraryError: both or neither source, a corpus of another geometry than the export,
            no usable media file (unusable ones among usable ones are skipped:
            ``report.skipped``, exit 3 in the CLI), unknown titles, or ``out_dir`` holding
            another job's embeddings; each message names the fix.
    """
    import time

    from torch.utils.data import DataLoader

    from binge.data import SnippetDataset
    from binge.data.media_progress import MediaHoursBar
    from binge.diagnostics.embed import resolve_device
    from binge.train.export import load_embedder

    if (corpus is None) == (not files):
        raise LibraryError("pass either a prepared corpus (--corpus) or media files, not both "
                           "and not neither")
    if files and (split or titles):
        raise LibraryError("--split and --titles select titles of a prepared corpus; with media "
                           "files, list only the files to embed")
    checkpoint, out = Path(checkpoint), Path(out_dir)
    cfg = export_config(checkpoint)
    dev = resolve_device(device)
    prepared = None
    if files:
        prepared = _prepare_files(files, out, cfg, max(1, workers), progress)
        corpus_dir = prepared.out_dir
    else:
        corpus_dir = Path(corpus)
        _check_geometry(corpus_dir, cfg, checkpoint)
    try:
        ds = SnippetDataset(corpus_dir, split=split, augment=False,
                            crop_size=cfg.augment.crop_size, data=cfg.data)
    except CorpusError as err:
        raise LibraryError(str(err)) from err
    model = load_embedder(checkpoint, map_location=dev)  # encoders + the objective's heads
    _claim_header(out, _header(checkpoint, cfg, model, corpus_dir, split,
                               "files" if files else "corpus"))
    remove_stale_temporaries(out / "titles")
    ids, counts = ds.title_ids, ds.num_snippets
    chosen = [n for n in _select(ids, titles, corpus_dir) if counts[n] > 0]  # M_n = 0: nothing
    report = EmbedReport(out, titles=[ids[n] for n in chosen], prepared=prepared)
    todo = [n for n in chosen if not shard_path(out, ids[n]).is_file()]
    report.reused = [ids[n] for n in chosen if n not in set(todo)]
    batches = _title_batches(todo, counts, batch_size)
    loader = DataLoader(ds, batch_sampler=batches, num_workers=workers, collate_fn=_collate,
                        pin_memory=dev.type == "cuda")
    snippet_s = float(ds.seconds)
    total = sum(counts[n] for n in todo)
    parts: dict[str, list] = {}
    t0 = time.perf_counter()
    # media-hours done / total (M_n snippets of L s per title), × real time and snippets/s
    bar = MediaHoursBar(total * snippet_s, len(todo), desc="embed", disable=not progress or not todo,
                        item_unit="snippets")
    try:
        for batch in loader:
            n = batch["title"][0]
            out_b = embed_batch(model, batch["video"], batch["audio"], dev)
            for k in ("snippet", "start_s", "end_s"):
                parts.setdefault(k, []).extend(batch[k])
            for k, v in out_b.items():
                parts.setdefault(k, []).append(v)
            bar.add(ids[n], len(batch["snippet"]) * snippet_s, items=len(batch["snippet"]))
            if len(parts["snippet"]) == counts[n]:
                write_shard(out, ids[n], np.asarray(parts.pop("snippet")),
                            np.asarray(parts.pop("start_s")), np.asarray(parts.pop("end_s")),
                            {k: np.concatenate(parts.pop(k)) for k in list(parts)})
                report.embedded.append(ids[n])
                report.snippets += counts[n]
                bar.finish(ids[n], counts[n] * snippet_s)
    finally:
        bar.close()
    report.seconds = time.perf_counter() - t0
    write_summary(out, report.titles)
    return report
