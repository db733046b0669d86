"""From a model (or a checkpoint) and a held-out corpus to the measures, JSON and histogram PNG.

:func:`measure` is the in-process hook (the trainer can call it every N steps);
:func:`evaluate_checkpoint` is what ``binge discrepancy --checkpoint`` runs for each checkpoint:
select snippets, embed once (cached), form S+/S−/S≠, estimate the KLs, write
``discrepancy.json`` and ``histograms.png``.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import numpy as np
from torch import nn

from binge.config import Config, DiscrepancyConfig, from_dict, to_dict
from binge.io import write_json
from binge.diagnostics.embed import (
    cache_key,
    cached_embeddings,
    embed_snippets,
    file_fingerprint,
    resolve_device,
)
from binge.diagnostics.measures import (
    PairSimilarities,
    SimilaritySpec,
    discrepancy_measures,
    pair_similarities,
)
from binge.diagnostics.pairs import sample_pairs, select_snippets

__all__ = [
    "measure",
    "similarity_spec",
    "run_config_of",
    "checkpoint_step",
    "open_heldout",
    "corpus_of",
    "evaluate_checkpoint",
    "write_json",
    "with_discrepancy",
]

_STEP = re.compile(r"step_(\d+)")


def similarity_spec(cfg: Config, source: str = "config") -> SimilaritySpec:
    """The similarity the run's objective trains with, asked of the objective itself
    (``Objective.similarity(cfg)``: Eq. 1's dot product or ℓ2 + τ, AVID's cos / τ, …).

    Raises:
        ValueError: the objective defines no similarity (named in the message); there is no
            default, so a new objective never gets a silently wrong measure.
    """
    from binge.objectives import get_objective

    try:
        spec = get_objective(cfg.objective.name).cls.similarity(cfg)
    except NotImplementedError as err:
        raise ValueError(str(err)) from None
    return replace(spec, source=source)


def run_config_of(path: str | Path) -> Config:
    """The full config a checkpoint or export folder was trained with."""
    return _run_info(path)[0]


def _run_info(path: str | Path) -> tuple[Config, Optional[int]]:
    """(run config, training step) of a checkpoint or export folder (step None if unknown)."""
    path = Path(path)
    if path.is_dir():
        meta_path = path / "config.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{path} has no config.json; pass an export folder or a .pt checkpoint")
        meta = json.loads(meta_path.read_text())
        return from_dict(Config, meta["config"], f"{meta_path}:config"), meta.get("step")
    from binge.train.checkpoint import load_checkpoint

    state = load_checkpoint(path)
    if "config" not in state:
        raise ValueError(f"{path} holds no config; pass a checkpoint written by binge pretrain")
    step = state.get("step")
    return from_dict(Config, state["config"], f"{path}:config"), (
        int(step) if step is not None else checkpoint_step(path))


def checkpoint_step(path: str | Path) -> Optional[int]:
    """The step in a ``step_XXXXXXX.pt`` file name (None for other names)."""
    match = _STEP.search(Path(path).name)
    return int(match.group(1)) if match else None


def corpus_of(corpus: Optional[str | Path], run_cfg: Config) -> Path:
    """``corpus``, or else the corpus the run trained on (its held-out split is show-disjoint)."""
    if corpus is not None:
        return Path(corpus)
    if run_cfg.data.corpus is None:
        raise ValueError("no --corpus given and the run's config has no data.corpus; pass --corpus")
    return Path(run_cfg.data.corpus)


def open_heldout(corpus: str | Path, cfg: Config, split: str = "heldout") -> Any:
    """``split`` of a prepared corpus, without augmentation (centre crop, no masking).

    ``cfg`` is the config the model was trained with: its ``augment.crop_size`` is the crop,
    and the corpus must have been prepared with its ``data`` settings (else a clear error).
    """
    from binge.data import SnippetDataset

    corpus = Path(corpus)
    if not (corpus / "manifest.csv").is_file():
        raise FileNotFoundError(
            f"{corpus} is not a prepared corpus (no manifest.csv); run `binge prepare` first"
        )
    return SnippetDataset(corpus, split=split, augment=False, crop_size=cfg.augment.crop_size,
                          data=cfg.data)


def _num_snippets(dataset: Any) -> list[int]:
    counts = list(dataset.num_snippets)
    if not counts:
        raise ValueError("the held-out split holds no titles; prepare a corpus with a held-out split")
    return counts


def _similarities(
    model: nn.Module, dataset: Any, cfg: DiscrepancyConfig, spec: SimilaritySpec,
    cache: Optional[tuple[Path, dict[str, Any]]] = None, progress: bool = False,
) -> tuple[PairSimilarities, dict[str, Any]]:
    groups = list(dataset.groups) if cfg.unit == "show" else None
    selection = select_snippets(_num_snippets(dataset), cfg.max_titles, cfg.snippets_per_title,
                                cfg.seed, groups)
    device = next(model.parameters()).device  # embed where the model lives

    def compute() -> tuple[np.ndarray, np.ndarray]:
        return embed_snippets(model, dataset, selection, cfg.batch_size, device,
                              cfg.num_workers, progress)

    info: dict[str, Any] = {}
    if cache is None:
        zv, za = compute()
    else:
        folder, parts = cache
        key = cache_key({**parts, "sampling": [cfg.split, cfg.unit, cfg.max_titles,
                                               cfg.snippets_per_title, cfg.seed]})
        zv, za, hit = cached_embeddings(folder, key, selection, compute)
        info["cache"] = {"file": str(Path(folder) / f"emb-{key}.npz"), "hit": hit}
    pairs = sample_pairs(selection, cfg.max_pairs_per_set, cfg.seed)
    sims = pair_similarities(zv, za, selection, pairs, spec)
    ids = list(getattr(dataset, "title_ids", []))
    info["sampling"] = {
        "split": cfg.split,
        "unit": cfg.unit,
        "units": int(selection.unit_set.size),
        "max_titles": cfg.max_titles,
        "snippets_per_title": cfg.snippets_per_title,
        "max_pairs_per_set": cfg.max_pairs_per_set,
        "seed": cfg.seed,
        "titles": int(selection.title_set.size),
        "snippets": len(selection),
        "titles_in_split": len(_num_snippets(dataset)),
        "skipped_titles_under_2_snippets": len(selection.skipped_titles),
        "snippets_per_unit": _spread(selection.units),
        "title_ids": [str(ids[n]) for n in selection.title_set] if ids else [],
        "embedding_dim": int(zv.shape[1]),
    }
    info["warnings"] = _warnings(info)
    return sims, info


def _spread(units: np.ndarray) -> dict[str, int]:
    counts = np.unique(units, return_counts=True)[1]
    return {"min": int(counts.min()), "max": int(counts.max())}


def _warnings(info: dict[str, Any]) -> list[str]:
    """Settings under which the numbers should not be read as the paper's."""
    out = []
    units = info["sampling"]["units"]
    if units < 10:
        out.append(f"only {units} {info['sampling']['unit']}s: the bootstrap over them (and the "
                   "KLs) are rough; use a held-out split with more titles")
    return out


def measure(model: nn.Module, dataset: Any, cfg: Config, progress: bool = False,
            objective: Optional[nn.Module] = None) -> dict[str, Any]:
    """The discrepancy measures of ``model`` on ``dataset`` (a held-out ``SnippetDataset``
    built with ``augment=False``), with ``cfg.discrepancy``'s sampling and estimator and the
    similarity of ``cfg.objective``. No cache, no files: the hook for the training loop.
    ``objective``: the run's objective, whose ``embed_video`` / ``embed_audio`` give the space
    (its own heads; the model is only the encoders); None only when ``model`` is already an
    ``Embedder`` (``binge.train.export.load_embedder``).

    Returns the dict written by ``binge discrepancy`` (``kl_neg_pos``, ``kl_diff_pos``,
    ``kl_neg_diff``, ``gap``, ``ci``, ``pairs``, ``estimator``, ``sampling``, ``similarity``).
    """
    model = getattr(model, "module", model)  # a DDP wrapper holds the AVModel in .module
    if objective is not None:
        from binge.train.export import Embedder

        model = Embedder(model, objective)
    elif not hasattr(model, "embed_video"):
        raise TypeError("measure() needs the run's objective (objective=trainer.objective): the "
                        "model is the two encoders, the heads that embed belong to the objective")
    spec = similarity_spec(cfg, "cfg.objective")
    sims, info = _similarities(model, dataset, cfg.discrepancy, spec, progress=progress)
    return {**discrepancy_measures(sims, cfg.discrepancy), **info, "similarity": spec.describe()}


def evaluate_checkpoint(
    checkpoint: Optional[str | Path],
    corpus: Optional[str | Path],
    cfg: Config,
    out_dir: str | Path,
    spec: Optional[SimilaritySpec] = None,
    dataset: Any = None,
    title: str = "",
) -> dict[str, Any]:
    """Measures of one checkpoint (or of a random init of ``cfg.model`` when ``checkpoint`` is
    None), written to ``out_dir/discrepancy.json`` and ``out_dir/histograms.png``. ``corpus``
    None: the run's own ``data.corpus``.

    The snippets are read as the checkpoint's run was trained (its ``data`` settings and
    ``augment.crop_size``, centre crop); ``spec`` defaults to its objective's similarity.
    """
    import torch

    from binge.diagnostics.plots import plot_histograms

    dcfg = cfg.discrepancy
    if checkpoint is None:
        from binge.models import build_av_model
        from binge.train.export import Embedder, inference_objective

        torch.manual_seed(dcfg.seed)
        run_cfg, model, step = cfg, build_av_model(cfg.model), 0
        model = Embedder(model, inference_objective(cfg, model)).eval()
        spec = spec or similarity_spec(cfg, "--config (random init)")
        model_id: dict[str, Any] = {"random_init": to_dict(cfg.model), "seed": dcfg.seed}
    else:
        from binge.train.export import load_embedder

        run_cfg, step = _run_info(checkpoint)
        spec = spec or similarity_spec(run_cfg, f"run config of {checkpoint}")
        model = load_embedder(checkpoint)  # the objective's space (its own heads where it has them)
        model_id = file_fingerprint(checkpoint)
    model = model.to(resolve_device(dcfg.device))
    corpus = corpus_of(corpus, run_cfg)
    dataset = dataset if dataset is not None else open_heldout(corpus, run_cfg, dcfg.split)
    cache_dir = Path(dcfg.cache_dir) if dcfg.cache_dir else Path(out_dir) / "cache"
    parts = {"model": model_id, "corpus": file_fingerprint(Path(corpus) / "manifest.csv"),
             "data": to_dict(run_cfg.data), "crop": run_cfg.augment.crop_size,
             # embeddings through the objective's own heads: not the Eq. 1-head ones cached before
             "space": f"objective-embed:{run_cfg.objective.name}"}
    sims, info = _similarities(model, dataset, dcfg, spec, (cache_dir, parts), progress=True)
    result = {
        **discrepancy_measures(sims, dcfg),
        "checkpoint": str(checkpoint) if checkpoint is not None else "random init",
        "step": step,
        "corpus": str(corpus),
        "similarity": spec.describe(),
        **info,
    }
    out = Path(out_dir)
    write_json(result, out / "discrepancy.json")
    plot_histograms(sims, result, out / "histograms.png", title=title)
    return result


def with_discrepancy(cfg: Config, **changes: Any) -> Config:
    """A copy of ``cfg`` with fields of its ``discrepancy`` section replaced."""
    return replace(cfg, discrepancy=replace(cfg.discrepancy, **changes))
