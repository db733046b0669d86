"""Measures across a training run's checkpoints, and several runs on one figure (paper Fig. 1–2).

A run folder is what ``binge pretrain`` writes: ``RUN/checkpoints/step_XXXXXXX.pt`` (plus
``last.pt``, a link to the newest, which is skipped), ``RUN/config.yaml`` and, when the trainer
ran a :class:`~binge.diagnostics.monitor.DiscrepancyMonitor`, ``RUN/discrepancy.jsonl`` (drawn
as ``curves_training.png``). Every step file is
evaluated with :func:`~binge.diagnostics.discrepancy.evaluate_checkpoint` into
``OUT/<run name>/step_XXXXXXX/``; the curves go to ``OUT/<run name>/curves.{json,png}``.
Embeddings are cached, so re-drawing or comparing runs re-embeds nothing.

Only the checkpoints still on disk can be measured: ``train.keep_checkpoints`` (3 by default)
rotates old ones away, so set ``train.keep_checkpoints=0`` (keep all) for a run whose curve you
want, or let the trainer call :func:`binge.diagnostics.measure` every ``discrepancy.every_steps``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from binge.config import Config
from binge.diagnostics.discrepancy import (
    checkpoint_step,
    corpus_of,
    evaluate_checkpoint,
    open_heldout,
    run_config_of,
    similarity_spec,
    write_json,
)
from binge.diagnostics.monitor import LOG_NAME, read_log
from binge.diagnostics.plots import plot_curves

__all__ = ["run_checkpoints", "run_label", "evaluate_run", "compare_runs"]

_CURVE_KEYS = ("step", "kl_neg_pos", "kl_diff_pos", "kl_neg_diff", "gap", "ci", "checkpoint",
               "warnings")


def run_checkpoints(run_dir: str | Path) -> list[Path]:
    """``RUN/checkpoints/step_*.pt`` sorted by step; a clear error when there are none."""
    folder = Path(run_dir) / "checkpoints"
    files = sorted(folder.glob("step_*.pt"), key=lambda p: checkpoint_step(p) or 0)
    if not files:
        raise FileNotFoundError(
            f"{folder} holds no step_*.pt checkpoints; pass the out_dir of a `binge pretrain` run"
        )
    return files


def run_label(run_dir: str | Path, run_cfg: Optional[Config] = None) -> str:
    """``<folder name> (k=…, w=…, σ=…)`` from the run's sampling and augmentation settings."""
    name = Path(run_dir).resolve().name
    if run_cfg is None:
        return name
    s = run_cfg.sampling
    w = "M_n" if s.window is None else s.window
    extra = f", σ={run_cfg.augment.color_jitter:g}" if run_cfg.augment.color_jitter else ""
    return f"{name} (k={s.k}, w={w}{extra})"


def evaluate_run(run_dir: str | Path, corpus: Optional[str | Path], cfg: Config,
                 out_dir: str | Path,
                 dataset: Any = None) -> dict[str, Any]:
    """Every checkpoint of one run → ``curves.json`` and ``curves.png`` under ``out_dir``.

    The held-out snippets are read as the run was trained (its data settings and crop);
    sampling and estimator come from ``cfg.discrepancy``. ``corpus`` None: the run's own
    ``data.corpus``.
    """
    files = run_checkpoints(run_dir)
    run_cfg = run_config_of(files[-1])
    spec = similarity_spec(run_cfg, f"run config of {files[-1]}")
    label = run_label(run_dir, run_cfg)
    corpus = corpus_of(corpus, run_cfg)
    dataset = dataset if dataset is not None else open_heldout(corpus, run_cfg, cfg.discrepancy.split)
    out = Path(out_dir)
    points = []
    for ckpt in files:
        result = evaluate_checkpoint(ckpt, corpus, cfg, out / ckpt.stem, spec=spec,
                                     dataset=dataset, title=f"{label}, {ckpt.stem}")
        points.append({k: result[k] for k in _CURVE_KEYS if k in result})
    curves: dict[str, Any] = {"run": str(run_dir), "label": label,
                              "similarity": spec.describe(), "points": points}
    log = Path(run_dir) / LOG_NAME
    if log.is_file():  # measured during training by DiscrepancyMonitor
        curves["logged_points"] = read_log(log)
        plot_curves([(f"{label}, during training", curves["logged_points"])],
                    out / "curves_training.png", title=f"discrepancy measures logged by the "
                    f"trainer every {run_cfg.discrepancy.every_steps} steps: {label}")
    write_json(curves, out / "curves.json")
    plot_curves([(label, points)], out / "curves.png", title=f"discrepancy measures: {label}")
    return curves


def compare_runs(run_dirs: Sequence[str | Path], corpus: Optional[str | Path], cfg: Config,
                 out_dir: str | Path) -> dict[str, Any]:
    """Several runs (e.g. k = 1 and k = 16) measured on one held-out set, on one figure.

    ``corpus`` None: the runs' ``data.corpus``, which must then be the same for all of them.
    """
    out = Path(out_dir)
    if corpus is None:
        corpora = {corpus_of(None, run_config_of(run_checkpoints(r)[-1])).resolve() for r in run_dirs}
        if len(corpora) != 1:
            raise ValueError(f"the runs trained on different corpora {sorted(map(str, corpora))}; "
                             "pass --corpus to measure them all on one held-out split")
        corpus = corpora.pop()
    names = [Path(r).resolve().name for r in run_dirs]
    if len(set(names)) != len(names):
        raise ValueError(f"runs to compare need distinct folder names, got {names}")
    curves = [evaluate_run(r, corpus, cfg, out / n) for r, n in zip(run_dirs, names)]
    summary = {"runs": curves}
    write_json(summary, out / "compare.json")
    plot_curves([(c["label"], c["points"]) for c in curves], out / "compare.png",
                title="discrepancy measures across runs (held-out split; bands: bootstrap CI)")
    return summary
