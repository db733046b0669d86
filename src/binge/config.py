"""The typed configuration schema of binge: every default lives here, once.

A run is configured by one YAML file (``configs/*.yaml``) plus command-line overrides
(``section.key=value``) applied on top of the defaults below. Unknown keys are errors
that name the key and the file, values are checked against the annotated types, and
no string is ever evaluated as code.

Sections map onto the pipeline (docs/architecture.md):

====================  ==========================================================
section               used by
====================  ==========================================================
``data``              ``binge prepare`` and ``SnippetDataset`` (snippet geometry,
                      log-mel parameters: paper §4.1 "Pretraining")
``augment``           pretraining augmentations (paper §4.1, Table 2 σ)
``sampling``          ``HierarchicalBatchSampler`` (paper §3 "Sampling Policy")
``model``             encoders and projection heads (paper §3, supplement §4)
``objective``         Eq. 1 NCE (and its ℓ2+τ variant, Table 2), AVID, CMA, CrissCross
``optim``             optimiser and schedule (supplement §4)
``train``             the loop: devices, precision, checkpoints, logging
``discrepancy``       ``binge discrepancy`` (paper Eq. 2, Fig. 1–2)
``evaluate``          ``binge evaluate`` (paper §4.1 "Downstream Evaluation")
====================  ==========================================================
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml

__all__ = [
    "ConfigError",
    "DataConfig",
    "AugmentConfig",
    "SamplingConfig",
    "ModelConfig",
    "ObjectiveConfig",
    "validate",
    "OptimConfig",
    "TrainConfig",
    "DiscrepancyConfig",
    "EvaluateConfig",
    "Config",
    "load_config",
    "from_dict",
    "to_dict",
    "apply_overrides",
    "parse_override",
    "check_override",
    "describe_type",
]


class ConfigError(ValueError):
    """A configuration file or override that does not fit the schema."""


# ----------------------------------------------------------------------------- sections
@dataclass
class DataConfig:
    """Snippet geometry and audio features (paper §4.1 "Pretraining").

    Snippet m of a title covers [m·L, (m+1)·L) with L = ``frames / fps`` seconds
    (16 / 5 = 3.2 s in the paper). Video is stored at ``fps`` with its shorter side
    resized to ``short_side``; audio as log-mel with ``n_mels`` filters, window ``n_fft``
    and hop ``hop_length`` at ``sample_rate``.
    """

    corpus: Optional[str] = None  # prepared corpus folder (output of ``binge prepare``)
    frames: int = 16
    fps: float = 5.0
    short_side: int = 190
    sample_rate: int = 48_000
    n_mels: int = 96
    n_fft: int = 2048
    hop_length: int = 512
    heldout_fraction: float = 0.1  # share of shows held out (paper §4.2: 90/10, show-disjoint)
    num_workers: int = -1  # -1: sized to the machine (cores per process)
    pin_memory: bool = True  # only takes effect on CUDA
    # scene cuts detected by `binge prepare` on the frames it transcodes; None: off
    scene_detector: Optional[Literal["content", "adaptive"]] = "adaptive"
    memory_cache: bool = False  # keep decoded training snippets in RAM (binge.data.memory_cache)

    @property
    def snippet_seconds(self) -> float:
        return self.frames / self.fps


@dataclass
class AugmentConfig:
    """Pretraining augmentation (paper §4.1; Table 2 colour jitter σ)."""

    crop_size: int = 158
    audio_mask_max_fraction: float = 0.25  # drop up to 25 % of time OR frequency axis
    color_jitter: float = 0.0  # σ: brightness/contrast/saturation ~ U[max(0,1-σ), 1+σ]
    # the views and transforms of the training set: "auto" (the objective's own), or that
    # pipeline's name, which must then be the objective's ("paper"; "crisscross": Tables S1, S2)
    pipeline: str = "auto"


@dataclass
class SamplingConfig:
    """Hierarchical sampling (paper §3): B/k titles × k snippets inside a window of w.

    ``k = 1`` with ``title_weighting="length"`` is the paper's i.i.d. baseline (every snippet
    of ∪X_n equally likely); see ``binge.sampling.HierarchicalBatchSampler`` and
    docs/sampling.md.
    """

    batch_size: int = 512  # the GLOBAL batch B over all ranks
    k: int = 1
    # w; None means w = M_n (no temporal constraint); "scene": one scene (docs/sampling.md)
    window: Union[int, Literal["scene"], None] = None
    title_weighting: Literal["uniform", "length"] = "length"
    unit: Literal["title", "show"] = "title"  # "show": a show's episodes stitched (fn. 5)
    short_titles: Literal["skip", "shrink_window"] = "skip"  # titles with M_n < k (or < w)
    steps_per_epoch: Optional[int] = None  # None: (sum of M_n) // B
    distinct_titles: Optional[bool] = None  # B/k distinct units per batch; None: k > 1
    scene_policy: Optional[Literal["distinct"]] = None  # "distinct": k scenes, w = M_n
    scenes: Optional[str] = None  # scenes CSV for the scene policies; None: CORPUS/scenes.csv


@dataclass
class ModelConfig:
    """Encoders f, g and projection heads h_f, h_g (paper §3, supplement §4)."""

    video: str = "r2plus1d_18"
    audio: str = "resnet18_audio"
    video_kwargs: dict[str, Any] = field(default_factory=dict)  # constructor arguments of model.video
    audio_kwargs: dict[str, Any] = field(default_factory=dict)  # constructor arguments of model.audio
    embed_dim: int = 512  # d
    head_hidden_dim: Optional[int] = None  # None: same as the encoder's num_features
    sync_batchnorm: bool = True  # convert BatchNorm to SyncBatchNorm under DDP
    video_init: Optional[str] = None  # starting weights: a state_dict file (binge.models.init)
    audio_init: Optional[str] = None  # torchvision key names or a binge export; None: random


class ObjectiveConfig:
    """Which pretraining objective (``name``, default ``nce``: the paper's Eq. 1) and the
    options of every registered objective.

    Each objective registers an options dataclass (``binge.objectives.register_objective``) and
    owns it: ``objective.<name>`` in YAML or overrides is checked against it, and
    ``cfg.objective.<name>`` is the typed instance (``cfg.objective.avid.variant``). Eq. 1's
    options are flat (``objective.normalize``, ``objective.temperature``), as the paper configs
    write them. ``name`` must be a registered objective; an unknown name or option is an
    error naming the key. Instances are built by :func:`from_dict` (or with no arguments, for
    the defaults).
    """

    def __init__(self, name: str = "nce", options: Optional[dict[str, Any]] = None) -> None:
        entries = _objective_entries()
        if name not in entries:
            raise ConfigError(_unknown_objective(name, "objective.name", entries))
        options = dict(options or {})
        for key, entry in entries.items():
            if entry.options is not None and key not in options:
                options[key] = entry.default_options()
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "options", options)

    def __getattr__(self, key: str) -> Any:
        options = self.__dict__.get("options", {})
        if key in options:
            return options[key]
        for entry_name, opts in options.items():  # the flat options (Eq. 1's)
            entry = _objective_entries().get(entry_name)
            if entry is not None and entry.flat and key in {f.name for f in dataclasses.fields(opts)}:
                return getattr(opts, key)
        raise AttributeError(f"objective has no option {key!r}; registered: {sorted(options)}")

    def __setattr__(self, key: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign objective.{key}; use dataclasses.replace "
                                              "on its options or build a new config")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectiveConfig) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"ObjectiveConfig({self.to_dict()!r})"

    def replace(self, name: Optional[str] = None, **changes: Any) -> "ObjectiveConfig":
        """A copy with ``name`` and/or options replaced: ``avid=AvidOptions(...)`` replaces a
        section, ``normalize=True`` a flat (Eq. 1) option. Checked like a loaded config."""
        data = self.to_dict()
        for key, value in changes.items():
            data[key] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        if name is not None:
            data["name"] = name
        return _objective_from_dict(data, "objective")

    def entry(self) -> Any:
        """The registry entry of ``name`` (class, options dataclass)."""
        return _objective_entries()[self.name]

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., <Eq. 1's flat options>, <name>: {options}, ...}``, the YAML layout."""
        entries = _objective_entries()
        out: dict[str, Any] = {"name": self.name}
        flat = sorted(k for k in self.options if k in entries and entries[k].flat)
        for key in flat + sorted(k for k in self.options if k not in flat):
            opts = dataclasses.asdict(self.options[key])
            if key in flat:
                out.update(opts)
            else:
                out[key] = opts
        return out


def _objective_entries() -> dict[str, Any]:
    from binge.objectives import all_objectives

    return all_objectives()


@functools.lru_cache(maxsize=1)
def _builtin_objective_names() -> frozenset[str]:
    """``binge.objectives.BUILTIN``'s names, read from its source (the package imports torch),
    as ``binge --help`` reads each command's HELP; parsed once per process."""
    import ast

    source = Path(__file__).resolve().parent / "objectives" / "__init__.py"
    names: set[str] = set()
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "BUILTIN":
            names |= set(ast.literal_eval(node.value))
    return frozenset(names)


def _objective_names() -> set[str]:
    """The names ``objective.name`` accepts, known without importing an objective (torch): the
    built-ins and the plug-ins registered so far (a plug-in imports the registry)."""
    import sys

    base = sys.modules.get("binge.objectives.base")
    return set(_builtin_objective_names()) | (set(base.registered_objectives())
                                              if base is not None else set())


def _unknown_objective(name: Any, where: str, entries: dict[str, Any]) -> str:
    return (f"{where}: {name!r} is not a registered objective; choose one of {sorted(entries)} "
            "(a plug-in objective must be imported first: binge --import MODULE ...)")


def _objective_from_dict(data: dict[str, Any], where: str) -> ObjectiveConfig:
    """Check an ``objective`` section: ``name`` against the registry, ``<name>: {...}`` against
    that objective's options dataclass, flat keys against Eq. 1's. An unknown name is refused
    before the registry (torch) is imported."""
    name = data.get("name", "nce")
    if not isinstance(name, str) or name not in _objective_names():
        raise ConfigError(_unknown_objective(name, f"{where}.name", dict.fromkeys(_objective_names())))
    entries = _objective_entries()
    if not isinstance(name, str) or name not in entries:
        raise ConfigError(_unknown_objective(name, f"{where}.name", entries))
    flat = {k: e for k, e in entries.items() if e.flat and e.options is not None}
    flat_keys = {f.name: k for k, e in flat.items() for f in dataclasses.fields(e.options)}
    sections = {k for k, e in entries.items() if e.options is not None and not e.flat}
    unknown = sorted(k for k in data if k != "name" and k not in sections and k not in flat_keys)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown}; valid keys are "
            f"{sorted({'name', *sections, *flat_keys})} (objective options live under "
            "objective.<name>; a plug-in's are known once it is imported)"
        )
    options: dict[str, Any] = {}
    for key in sections & set(data):
        if not isinstance(data[key], dict):
            raise ConfigError(f"{where}.{key}: expected a mapping, got {data[key]!r}")
        options[key] = from_dict(entries[key].options, data[key], f"{where}.{key}")
    for owner in flat:
        given = {k: v for k, v in data.items() if flat_keys.get(k) == owner}
        options[owner] = from_dict(entries[owner].options, given, where)
    return ObjectiveConfig(name, options)


@dataclass
class OptimConfig:
    """Supplement §4: Adam, lr 1e-4 → 2e-3 linearly over the first epoch, then cosine."""

    name: Literal["adam", "sgd", "adamw"] = "adam"
    lr: float = 2e-3
    warmup_start_lr: float = 1e-4
    warmup_epochs: float = 1.0
    final_lr: float = 0.0
    weight_decay: float = 0.0
    momentum: float = 0.9  # SGD only
    epochs: int = 10
    grad_clip: Optional[float] = None


@dataclass
class TrainConfig:
    """The training loop: where, how precise, how often to save and log."""

    out_dir: str = "runs/pretrain"
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    # auto: bf16 autocast on CUDA, fp32 on CPU; fp64: whole model in float64 (exactness checks)
    precision: Literal["auto", "fp32", "bf16", "fp64"] = "auto"
    checkpoint_every_steps: int = 500
    keep_checkpoints: int = 3
    log_every_steps: int = 10
    max_steps: Optional[int] = None  # stop early (tests, smoke runs); None: all epochs
    deterministic: bool = False  # torch.use_deterministic_algorithms


@dataclass
class DiscrepancyConfig:
    """Discrepancy measures (paper Eq. 2, §4.2): pair sampling and the KL estimator.

    ``max_titles`` titles of ``split`` (those with ≥ 2 snippets), ``snippets_per_title``
    snippets each (both drawn under ``seed``) are embedded once, without augmentation.
    S+ keeps every true pair; S− and S≠ are subsampled uniformly, without replacement, to
    ``max_pairs_per_set`` pairs. KL is estimated by ``estimator``: ``histogram`` (shared
    grid, Freedman–Diaconis width of the coarser sample unless ``bins`` is a count,
    ``smoothing`` pseudo-counts per bin) or ``knn`` (Wang–Kulkarni–Verdú, ``knn_k``);
    ``bootstrap`` resamples titles for confidence intervals at level ``confidence``.
    With ``unit: show`` the episodes of a show (manifest ``group``) count as one title.
    """

    split: str = "heldout"
    unit: Literal["title", "show"] = "title"  # "show": a show's episodes are one title (fn. 5)
    max_titles: int = 64
    snippets_per_title: int = 16
    max_pairs_per_set: int = 20_000
    estimator: Literal["histogram", "knn"] = "histogram"
    bins: Union[int, Literal["fd"]] = "fd"
    smoothing: float = 0.5
    knn_k: int = 1
    bootstrap: int = 200  # 0: no confidence intervals
    confidence: float = 0.95
    batch_size: int = 32
    num_workers: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    seed: int = 0
    out_dir: str = "runs/discrepancy"
    cache_dir: Optional[str] = None  # embedding cache; None: <out_dir>/cache
    every_steps: int = 0  # > 0: binge.train.monitors.LearningCurves measures every N steps
    probes: list[str] = field(default_factory=list)  # "dataset=root" probed every every_steps


@dataclass
class EvalClipConfig:
    """Clip geometry of the downstream protocols (paper §4.1 "Downstream Evaluation").

    Video clips are ``frames`` frames at ``fps`` (32 at 10 fps = 3.2 s); audio clips are
    ``audio_seconds`` long and turned into log-mel with the ``data`` section's settings
    (the same features the audio encoder was pretrained on). At test time ``test_clips``
    clips are placed uniformly in time and, for video, each is cropped ``test_crops`` ways
    (left, centre, right): 10 × 3 = 30 views for video, 10 for audio.
    """

    frames: int = 32
    fps: float = 10.0
    audio_seconds: float = 3.0
    crop_size: int = 158
    test_short_side: int = 190  # not stated by the paper: the pretraining short side
    test_clips: int = 10
    test_crops: int = 3


@dataclass
class EvalFinetuneConfig:
    """Full fine-tuning (paper §4.1; supplement §4 "Downstream Evaluation").

    SGD (momentum 0.9, weight decay 1e-4), lr warmed linearly from ``warmup_start_lr`` to
    ``lr`` over ``warmup_epochs`` then cosine to ``final_lr``; batch 96; 150 epochs on
    UCF101, 200 on HMDB51 and ESC-50. Video: scale jitter of the shorter side in
    ``scale_jitter``, random ``clips.crop_size`` crop, flip, colour jitter. Audio: time and
    frequency masks of up to ``audio_mask_max_fraction`` of each axis, no crop or jitter.
    """

    epochs: int = 150
    warmup_epochs: float = 25.0
    batch_size: int = 96
    lr: float = 0.2
    warmup_start_lr: float = 1e-3
    final_lr: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 1e-4
    dropout: float = 0.0
    pooling: Literal["avg", "max"] = "avg"
    scale_jitter: list[int] = field(default_factory=lambda: [181, 226])
    hflip: bool = True
    color_jitter: float = 0.4  # σ of brightness/contrast/saturation (paper: "colour jitter")
    audio_mask_max_fraction: float = 0.5
    checkpoint_every_epochs: int = 1
    max_steps: Optional[int] = None  # stop early (tests, smoke runs)


@dataclass
class EvalLinearConfig:
    """Linear probe on frozen features (CrissCross §E.1; avid_cma §5.2).

    Features of the final conv layer, pooled by ``pooling`` (``max_kernel``: a max-pool
    window such as (1, 4, 4) for video or (1, 3) for audio, then flattened; None: global),
    averaged over ``train_clips`` random / ``clips.test_clips`` uniform clips per sample.
    The cost is chosen among ``costs`` by ``cv_folds``-fold cross-validation on the
    TRAINING split only (grouped by source where the dataset has groups).
    """

    classifier: Literal["svm", "logistic"] = "svm"
    costs: list[float] = field(
        default_factory=lambda: [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 1.0]
    )
    cv_folds: int = 5
    train_clips: int = 10
    pooling: Literal["avg", "max"] = "avg"
    max_kernel: Optional[list[int]] = None
    standardize: bool = True
    max_iter: int = 5000
    n_jobs: int = 1  # processes for the cost × fold sweep (joblib; -1: every core)


@dataclass
class EvalRetrievalConfig:
    """Nearest-neighbour retrieval (CrissCross §E.3): test queries train by cosine, R@k."""

    ks: list[int] = field(default_factory=lambda: [1, 5, 20])
    pooling: Literal["avg", "max"] = "avg"
    max_kernel: Optional[list[int]] = None


@dataclass
class EvaluateConfig:
    """Downstream evaluation (paper §4.1, supplement §4; CrissCross §E; avid_cma §5).

    ``splits``: the official splits/folds to run (UCF101/HMDB51 1–3, ESC-50 1–5, FSDD and
    the world sets 1); split 1 for ablations, all of them for mean ± std. ``repeats``
    fine-tuning/probe runs per split with seeds ``seed``, ``seed + 1``, ….
    """

    dataset: Literal[
        "ucf101", "hmdb51", "esc50", "fsdd", "world-action", "world-sound"
    ] = "fsdd"
    root: Optional[str] = None
    protocol: Literal["finetune", "linear", "retrieval"] = "linear"
    splits: list[int] = field(default_factory=lambda: [1])
    seed: int = 0
    repeats: int = 1
    out_dir: str = "runs/evaluate"
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    batch_size: int = 32  # feature extraction and test-time batches
    num_workers: int = 0
    cache_dir: Optional[str] = None  # decode-once cache; None: <out_dir>/cache
    cache: bool = True
    clips: EvalClipConfig = field(default_factory=EvalClipConfig)
    finetune: EvalFinetuneConfig = field(default_factory=EvalFinetuneConfig)
    linear: EvalLinearConfig = field(default_factory=EvalLinearConfig)
    retrieval: EvalRetrievalConfig = field(default_factory=EvalRetrievalConfig)


@dataclass
class Config:
    """A pretraining run: everything ``binge pretrain`` needs."""

    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=lambda: ObjectiveConfig())
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    discrepancy: DiscrepancyConfig = field(default_factory=DiscrepancyConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)


# ----------------------------------------------------------------------------- machinery
T = typing.TypeVar("T")


def _check_value(value: Any, annotation: Any, where: str) -> Any:
    """Check ``value`` against a type annotation; convert int→float; return the value."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (Union, types.UnionType):
        errors = []
        for arg in args:
            if arg is type(None):
                if value is None:
                    return None
                continue
            try:
                return _check_value(value, arg, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(f"{where}: expected {describe_type(annotation)}, got {value!r}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{where}: expected a mapping of names to values, got {value!r}")
        return dict(value)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        return [_check_value(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(annotation) or annotation is ObjectiveConfig:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return from_dict(annotation, value, where)
    if annotation is float:
        if isinstance(value, str):
            # PyYAML (YAML 1.1) reads "1e-4" (no dot) as a string; accept plain numerals.
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"{where}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if annotation is str:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def describe_type(annotation: Any) -> str:
    """An annotation in words for an error message: ``Optional[int]`` → "an integer or null",
    ``Literal["a", "b"]`` → "'a' or 'b'"."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType, Literal):
        words = [describe_type(a) if origin is not Literal else repr(a)
                 for a in args if a is not type(None)]
        words += ["null"] if type(None) in args else []
        return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    if origin in (list, tuple):
        return "a list"
    if origin is dict or dataclasses.is_dataclass(annotation) or annotation is ObjectiveConfig:
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            type(None): "null"}.get(annotation, getattr(annotation, "__name__", str(annotation)))


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from a nested dict; unknown keys are errors naming the key.

    A whole :class:`Config` is also checked across sections (:func:`validate`)."""
    if cls is ObjectiveConfig:
        return _objective_from_dict(data, where)  # type: ignore[return-value]
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown}; valid keys are {sorted(names)}"
        )
    if cls is Config:
        return _config_from_dict(data, hints, where)  # type: ignore[return-value]
    kwargs = {k: _check_value(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)


def _config_from_dict(data: dict[str, Any], hints: dict[str, Any], where: str) -> "Config":
    """A whole :class:`Config`: every section but ``objective`` is checked and its ranges too
    before the objective registry is consulted (it imports torch), so that a wrong key or value
    anywhere else is refused in a fraction of a second (docs/cli.md "Failing fast")."""
    kwargs = {k: _check_value(v, hints[k], f"{where}.{k}") for k, v in data.items()
              if k != "objective"}
    out = Config(**kwargs, objective=None)  # type: ignore[arg-type]
    check_ranges(out, where)
    out.objective = (_check_value(data["objective"], ObjectiveConfig, f"{where}.objective")
                     if "objective" in data else ObjectiveConfig())
    return validate(out, where)


def _ranges(cfg: "Config") -> list[tuple]:
    """(key, holds, what it must be[, the other keys of a relation]) for every range and
    relation a run depends on."""
    d, a, s, o, t, q = cfg.data, cfg.augment, cfg.sampling, cfg.optim, cfg.train, cfg.discrepancy
    w = s.window
    return [
        ("data.frames", d.frames > 0, "> 0 (video frames per snippet)"),
        ("data.fps", d.fps > 0, "> 0 (frames per second)"),
        ("data.short_side", d.short_side > 0, "> 0 (pixels)"),
        ("data.sample_rate", d.sample_rate > 0, "> 0 (Hz)"),
        ("data.n_mels", d.n_mels > 0, "> 0 (mel filters)"),
        ("data.n_fft", d.n_fft > 0, "> 0 (samples per FFT window)"),
        ("data.hop_length", d.hop_length > 0, "> 0 (samples between frames)"),
        ("data.n_fft", d.n_fft >= d.hop_length,
         f">= data.hop_length ({d.hop_length}): a hop longer than the window skips audio",
         ("data.hop_length",)),
        ("data.n_mels", d.n_mels <= d.n_fft // 2 + 1,
         f"<= data.n_fft // 2 + 1 ({d.n_fft // 2 + 1} frequency bins): more filters leave "
         "some empty", ("data.n_fft",)),
        ("data.heldout_fraction", 0 <= d.heldout_fraction < 1, "in [0, 1)"),
        ("augment.crop_size", a.crop_size > 0, "> 0 (pixels)"),
        ("augment.audio_mask_max_fraction", 0 <= a.audio_mask_max_fraction <= 1, "in [0, 1]"),
        ("augment.color_jitter", a.color_jitter >= 0, ">= 0"),
        ("sampling.batch_size", s.batch_size > 0, "> 0"),
        ("sampling.k", s.k >= 1, ">= 1"),
        ("sampling.batch_size", s.k < 1 or s.batch_size % s.k == 0,
         f"a multiple of sampling.k ({s.k}): a batch holds B/k titles of k snippets",
         ("sampling.k",)),
        ("sampling.window", not isinstance(w, int) or w >= max(s.k, 1),
         f">= sampling.k ({s.k}): k snippets must fit in the window (or null / scene)",
         ("sampling.k",)),
        ("sampling.scene_policy", s.scene_policy is None or w is None,
         f"null while sampling.window={w!r}: 'distinct' draws the k snippets from k scenes of "
         "the whole title (w = M_n), so it needs sampling.window=null", ("sampling.window",)),
        ("sampling.steps_per_epoch", s.steps_per_epoch is None or s.steps_per_epoch > 0,
         "> 0 (or null)"),
        ("model.embed_dim", cfg.model.embed_dim > 0, "> 0"),
        ("optim.lr", o.lr > 0, "> 0"),
        ("optim.warmup_start_lr", o.warmup_start_lr >= 0, ">= 0"),
        ("optim.warmup_epochs", o.warmup_epochs >= 0, ">= 0"),
        ("optim.final_lr", o.final_lr >= 0, ">= 0"),
        ("optim.weight_decay", o.weight_decay >= 0, ">= 0"),
        ("optim.epochs", o.epochs >= 1, ">= 1"),
        ("optim.grad_clip", o.grad_clip is None or o.grad_clip > 0, "> 0 (or null)"),
        ("train.checkpoint_every_steps", t.checkpoint_every_steps > 0, "> 0"),
        ("train.log_every_steps", t.log_every_steps > 0, "> 0"),
        ("train.max_steps", t.max_steps is None or t.max_steps > 0, "> 0 (or null)"),
        ("discrepancy.every_steps", q.every_steps >= 0, ">= 0 (0: off)"),
        ("discrepancy.max_titles", q.max_titles >= 2, ">= 2"),
        ("discrepancy.snippets_per_title", q.snippets_per_title >= 2, ">= 2"),
        ("discrepancy.max_pairs_per_set", q.max_pairs_per_set > 0, "> 0"),
        ("discrepancy.bins", not isinstance(q.bins, int) or q.bins > 0, "> 0 (or fd)"),
        ("discrepancy.smoothing", q.smoothing >= 0, ">= 0"),
        ("discrepancy.knn_k", q.knn_k >= 1, ">= 1"),
        ("discrepancy.bootstrap", q.bootstrap >= 0, ">= 0 (0: no intervals)"),
        ("discrepancy.confidence", 0 < q.confidence < 1, "in (0, 1)"),
        ("discrepancy.batch_size", q.batch_size > 0, "> 0"),
    ]


def check_ranges(cfg: "Config", where: str = "config") -> None:
    """Raise :class:`ConfigError` naming the first key whose value is out of range or breaks a
    relation with another key (``data.n_fft >= data.hop_length``…), at load time, before any
    file is written (docs/cli.md)."""
    for key, holds, must, *others in _ranges(cfg):
        if not holds:
            section, name = key.split(".")
            value = getattr(getattr(cfg, section), name)
            err = ConfigError(f"{where}: {key}={value!r} must be {must}; set it with "
                              f"{key}=VALUE or in the file")
            # load_config names the override(s) that set the key or the other keys of a relation
            err.key, err.must, err.value = key, must, value
            err.related = tuple(others[0]) if others else ()
            raise err


def validate(cfg: "Config", where: str = "config") -> "Config":
    """Checks across sections: ``augment.pipeline`` must be ``auto`` or the pipeline of the
    objective ``objective.name`` trains with (a typo or a mismatch is an error here, at load
    time, not a silent paper pipeline at run time). Returns ``cfg``."""
    check_ranges(cfg, where)
    entries = _objective_entries()
    own = getattr(entries[cfg.objective.name].cls, "pipeline", "paper")
    known = sorted({"auto", *(getattr(e.cls, "pipeline", "paper") for e in entries.values())})
    pipeline = cfg.augment.pipeline
    if pipeline not in known:
        raise ConfigError(f"{where}.augment.pipeline: {pipeline!r} is not one of {known}")
    if pipeline not in ("auto", own):
        raise ConfigError(
            f"{where}.augment.pipeline: {pipeline!r} does not fit objective.name "
            f"{cfg.objective.name!r}, which trains on the {own!r} pipeline; set "
            f"augment.pipeline={own} (or auto)"
        )
    return cfg


def to_dict(obj: Any) -> dict[str, Any]:
    """A plain nested dict of a config dataclass (for JSON/YAML and checkpoints); it loads
    back with :func:`from_dict`."""
    if isinstance(obj, ObjectiveConfig):
        return obj.to_dict()
    if isinstance(obj, Config):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return dataclasses.asdict(obj)


def parse_override(item: str) -> tuple[list[str], Any]:
    """``"section.key=value"`` → (``["section", "key"]``, the value parsed as YAML). A missing
    ``=``, an empty key part or a value that is not YAML is a :class:`ConfigError` naming the
    override as typed and the form it must take."""
    if "=" not in item:
        raise ConfigError(f"override {item!r}: expected the form section.key=value "
                          "(e.g. sampling.k=4)")
    dotted, raw = item.split("=", 1)
    parts = dotted.strip().split(".")
    if not all(p.strip() for p in parts):
        raise ConfigError(f"override {item!r}: {'no key before =' if not dotted.strip() else 'an empty key part in ' + repr(dotted)}; "
                          "write section.key=value (e.g. sampling.k=4)")
    try:
        value = yaml.safe_load(raw) if raw != "" else None
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"override {item!r}: the value {raw!r} is not valid YAML "
                          f"({problem}); quote a string, close a [list]") from None
    return [p.strip() for p in parts], value


def check_override(cls: type, item: str) -> None:
    """Check one override against the schema of ``cls`` on its own, so that an unknown key or a
    value of the wrong type is blamed on the override as typed (not on the config file) with
    the fix: the valid keys, or the kind of value the key takes. Raises :class:`ConfigError`."""
    import difflib

    parts, value = parse_override(item)
    node: Any = cls
    for i, part in enumerate(parts):
        dotted = ".".join(parts[: i + 1])
        if node is ObjectiveConfig:  # checked against the objective registry (imports torch)
            rest: Any = value
            for key in reversed(parts[i:]):
                rest = {key: rest}
            try:
                _objective_from_dict(rest, "objective")
            except ConfigError as err:
                raise ConfigError(f"override {item!r}: {err}") from None
            return
        if not dataclasses.is_dataclass(node):
            if typing.get_origin(node) is dict:  # free-form constructor arguments
                return
            raise ConfigError(f"override {item!r}: {'.'.join(parts[:i])} is not a section (it "
                              f"takes {describe_type(node)}); write {'.'.join(parts[:i])}=VALUE")
        hints = typing.get_type_hints(node)
        names = sorted(f.name for f in dataclasses.fields(node))
        if part not in names:
            close = difflib.get_close_matches(part, names, n=1)
            hint = f"did you mean {'.'.join([*parts[:i], close[0]])}? " if close else ""
            section = ".".join(parts[:i]) or "the config"
            raise ConfigError(f"override {item!r}: unknown key(s) [{part!r}] in {section}; "
                              f"{hint}valid keys are {names}")
        node = hints[part]
    if dataclasses.is_dataclass(node) and not isinstance(value, dict):
        raise ConfigError(f"override {item!r}: {dotted} is a section; set one of its keys "
                          f"({dotted}.KEY=VALUE)")
    try:
        _check_value(value, node, dotted)
    except ConfigError as err:
        raise ConfigError(f"override {item!r}: {err}; write {dotted}=VALUE with VALUE "
                          f"{describe_type(node)}") from None


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides; values are parsed as YAML scalars/lists."""
    for item in overrides:
        parts, value = parse_override(item)
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a section")
        node[parts[-1]] = value
    return data


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    cls: type[T] = Config,  # type: ignore[assignment]
) -> T:
    """Load defaults ← YAML file ← overrides into ``cls`` (``Config`` by default).

    >>> cfg = load_config(None, ["sampling.k=16", "sampling.window=64"])
    >>> (cfg.sampling.k, cfg.sampling.window)
    (16, 64)
    """
    data: dict[str, Any] = {}
    where = "config"
    if path is not None:
        path = Path(path)
        if path.is_dir():  # a shipped name wins over a folder of that name in the cwd
            try:
                path = find_shipped_config(str(path))
            except ConfigError:
                raise ConfigError(f"config {path} is a directory, not a config file; give a "
                                  "YAML file or a shipped name (`binge config list`)") from None
        if not path.is_file():
            path = find_shipped_config(str(path))  # a shipped name, or configs/... elsewhere
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            at = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise ConfigError(f"{path}{at}: not valid YAML ({problem}); fix the file") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        data = loaded
        where = str(path)
    overrides = list(overrides or [])
    for item in overrides:
        check_override(cls, item)
    from_file = _dotted_keys(data)  # keys the file set (before the overrides)
    data = apply_overrides(data, overrides)
    try:
        return from_dict(cls, data, where)
    except ConfigError as err:  # a range set by an override: blame the override, as typed
        raise _blame_overrides(err, overrides, where, from_file) from None


def _dotted_keys(data: Any, prefix: str = "") -> set[str]:
    """``section.key`` of every value a loaded YAML mapping sets."""
    if not isinstance(data, dict):
        return {prefix} if prefix else set()
    return set().union(*(_dotted_keys(v, f"{prefix}.{k}" if prefix else str(k))
                         for k, v in data.items())) if data else set()


def _blame_overrides(err: ConfigError, overrides: list[str], where: str,
                     from_file: set[str]) -> ConfigError:
    """A range or relation error (:func:`check_ranges`) naming the override(s) that set its key
    or the other keys of its relation, as typed (docs/cli.md); ``err`` itself (naming the
    config file) when the file or the defaults set them all."""
    key = getattr(err, "key", None)
    if key is None:
        return err
    last = {".".join(parse_override(o)[0]): o for o in overrides}
    given = [last[k] for k in (key, *err.related) if k in last]
    if not given:
        return err
    named = ("override " if len(given) == 1 else "overrides ") + ", ".join(map(repr, given))
    if key in last:
        return ConfigError(f"{named}: {key} must be {err.must}; give another value")
    source = f"from {where}" if key in from_file else "the default"
    return ConfigError(f"{named}: {key}={err.value!r} ({source}) must be {err.must}; "
                       f"change the override or also set {key}=VALUE")


# ----------------------------------------------------------------------------- shipped configs
def shipped_config_dir() -> Path:
    """The configs shipped with binge: ``binge/configs`` in an installed package (copied there by
    setup.py's build step), else the checkout's ``configs/`` (editable install, source tree)."""
    installed = Path(__file__).resolve().parent / "configs"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "configs"


def list_shipped_configs() -> list[str]:
    """Names of the shipped configs (``tiny``, ``eval/fsdd_linear_tiny``, ``paper/table1/tv_k1``…)."""
    root = shipped_config_dir()
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.yaml"))


def find_shipped_config(name: str) -> Path:
    """The shipped config file for ``name``: ``tiny``, ``paper/table1/tv_k1``, ``tv_k1`` (a unique
    file name) or a ``configs/...yaml`` path. Raises ConfigError naming the choices."""
    key = name.replace("\\", "/").removesuffix(".yaml")
    key = key.split("configs/", 1)[1] if "configs/" in key else key
    names = list_shipped_configs()
    found = [n for n in names if n == key]
    if not found and "/" not in key:  # a bare file name: unique among the shipped configs
        found = [n for n in names if n.rsplit("/", 1)[-1] == key]
    if len(found) == 1:
        return shipped_config_dir() / f"{found[0]}.yaml"
    if len(found) > 1:
        raise ConfigError(f"config {name!r} is ambiguous: {found}; give one of them")
    raise ConfigError(f"config file {name} does not exist and is not a shipped config "
                      "(`binge config list` shows those)")
