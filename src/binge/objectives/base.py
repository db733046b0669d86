"""The plug-in boundary between an objective and the rest of binge (docs/architecture.md).

An objective is **one file**: a subclass of :class:`Objective` registered with
:func:`register_objective` under the name that ``objective.name`` selects, together with its
options dataclass. The trainer, the config schema and the diagnostics only ever talk to it
through the hooks below; nothing outside ``binge.objectives`` looks at an objective's name.

It owns:

* its **options** — a dataclass given to ``register_objective(name, options=...)``; the config
  schema checks ``objective.<name>`` against it (unknown keys and wrong types are errors naming
  the key) and ``cfg.objective.<name>`` returns the typed instance;
* its **heads** and any other parameters or buffers (memory banks) — they are submodules, so
  they are in its ``state_dict`` and in every checkpoint; the model is only the two encoders,
  so Eq. 1's projection heads are the NCE objectives' (:class:`binge.objectives.nce.JointSpaceObjective`),
  and the export writes the heads the run trained (:attr:`Objective.head_names`);
* its **embedding** — :meth:`embed_video` / :meth:`embed_audio` (or :meth:`project_video` /
  :meth:`project_audio` from the encoders' last feature maps): the space its similarity measures;
* its **views and transforms** — :meth:`Objective.make_dataset` builds the training dataset;
* its **parameter groups** and **optimiser wrapper** — :meth:`param_groups`,
  :meth:`wrap_optimizer`;
* its **similarity** for the discrepancy measures — :meth:`similarity` (an objective without one
  is an error that names it, never a silent cosine);
* its **warm start** (:meth:`wants_warm_start`, :meth:`warm_start`) and its **init-from
  checkpoint** (:meth:`init_checkpoint`, :meth:`init_from`: the trainer reads the file, so no
  objective imports from ``binge.train``).

The trainer hands :meth:`Objective.from_config` an :class:`ObjectiveContext` (snippets per
title, their offsets, the show of each title, rank and world size) rather than a count.

A worked example, a complete objective in one file (the symmetric InfoNCE shipped as
``binge.objectives.infonce`` is the same thing with distributed gathering). It trains Eq. 1's
projection heads, which it holds (``JointSpaceObjective``: ``video_head``, ``audio_head``,
``embed``), so its export writes them and ``binge discrepancy`` embeds through them::

    from dataclasses import dataclass
    import torch, torch.nn.functional as F
    from binge.objectives import JointSpaceObjective, SimilaritySpec, register_objective

    @dataclass
    class CosineOptions:
        temperature: float = 0.1          # τ

    @register_objective("cosine_ce", options=CosineOptions)
    class CosineCE(JointSpaceObjective):
        def __init__(self, temperature: float, video_head, audio_head) -> None:
            super().__init__(video_head, audio_head)
            self.temperature = temperature

        @classmethod
        def from_config(cls, cfg, model, context):
            return cls(cfg.objective.cosine_ce.temperature, **cls.joint_heads(cfg, model, context))

        @classmethod
        def similarity(cls, cfg):
            return SimilaritySpec(True, cfg.objective.cosine_ce.temperature)

        def forward(self, model, batch):
            zv, za = self.embed(model, batch)
            zv, za = F.normalize(zv, dim=1), F.normalize(za, dim=1)
            logits = zv @ za.T / self.temperature
            target = torch.arange(len(zv), device=zv.device)
            return {"loss": F.cross_entropy(logits, target)}

Then ``binge --import my_module pretrain --config C objective.name=cosine_ce
objective.cosine_ce.temperature=0.2`` trains it, and ``binge --import my_module discrepancy``
measures with its similarity.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, TypeVar

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from binge.config import Config

__all__ = [
    "Objective",
    "ObjectiveContext",
    "SimilaritySpec",
    "ObjectiveEntry",
    "register_objective",
    "registered_objectives",
    "at_least_float32",
]


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """``x`` as float32, or as float64 if it already is (tests run the maths in float64)."""
    return x if x.dtype == torch.float64 else x.float()


@dataclass(frozen=True)
class SimilaritySpec:
    """How a pair's similarity is computed for the discrepancy measures (paper Eq. 2): the dot
    product of the embeddings, or their cosine / τ when ``normalize``."""

    normalize: bool = False
    temperature: float = 1.0
    source: str = "config"  # where the setting was read (a run's config, --config, ...)

    def describe(self) -> dict[str, Any]:
        kind = "cosine / temperature" if self.normalize else "dot product (unnormalized)"
        return {"kind": kind, "normalize": self.normalize, "temperature": self.temperature,
                "source": self.source}


@dataclass(frozen=True)
class ObjectiveContext:
    """What the trainer knows about the training set, handed to :meth:`Objective.from_config`.

    ``snippets_per_title`` (M_n of every training title, in ``SnippetDataset`` order),
    ``offsets`` ((N + 1,) int64: the flat id of snippet (n, m) is ``offsets[n] + m``, the last
    entry the number of snippets), ``groups`` (the show of each title, or None), this process's
    ``rank`` and the ``world_size``.
    """

    snippets_per_title: tuple[int, ...]
    groups: Optional[tuple[str, ...]] = None
    rank: int = 0
    world_size: int = 1
    offsets: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from binge.sampling import snippet_offsets

        object.__setattr__(self, "snippets_per_title", tuple(int(m) for m in self.snippets_per_title))
        object.__setattr__(self, "offsets", snippet_offsets(self.snippets_per_title))

    @classmethod
    def of(cls, spec: "ObjectiveContext | int | Sequence[int]") -> "ObjectiveContext":
        """A context from a context, the snippets per title, or only their total (one title)."""
        if isinstance(spec, ObjectiveContext):
            return spec
        if isinstance(spec, (int, np.integer)):
            return cls((int(spec),))
        return cls(tuple(spec))

    @property
    def num_snippets(self) -> int:
        """N = Σ_n M_n, the number of training snippets."""
        return int(self.offsets[-1])


class Objective(nn.Module):
    """Base class of the pretraining objectives (Eq. 1 NCE, AVID, CMA, CrissCross, InfoNCE, plug-ins).

    Subclasses implement :meth:`forward` and :meth:`from_config`; every other hook has a
    default. The trainer calls, in order: ``from_config(cfg, model, context)``; if
    ``init_checkpoint()`` names a file, ``init_from(model, state, path)`` with that checkpoint
    read ``weights_only``; ``wrap_optimizer(optimizer)`` around the optimiser it built over the
    model, the objective and ``param_groups(lr)``; on a fresh run whose objective
    ``wants_warm_start()``, ``warm_start(model, batch)`` over every training snippet once; then
    ``on_epoch_start(epoch)`` at each epoch, and per step ``outputs = objective(model, batch)``,
    ``outputs["loss"].backward()``, the optimiser step, ``after_step(batch, outputs)``.
    """

    #: set by :func:`register_objective`
    name: str = ""
    #: the views and transforms it trains on (``augment.pipeline`` must be ``auto`` or this)
    pipeline: str = "paper"
    #: names of the submodules that are heads it trains: the export writes them
    #: (``objective_heads.safetensors``) and :meth:`embed_video` / :meth:`embed_audio` use them
    head_names: tuple[str, ...] = ()
    #: True when its heads are the ones ``AVModel`` held as ``video_head`` / ``audio_head``
    #: before heads moved to the objectives (binge-export-1/2 exports, older checkpoints):
    #: those load into it (:meth:`adopt_legacy_state`)
    legacy_model_heads: bool = False

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, cfg: "Config", model: nn.Module, context: ObjectiveContext) -> "Objective":
        """The objective for a run: its options are ``cfg.objective.<name>``; ``model`` is the
        ``AVModel`` (for feature sizes); ``context`` describes the training set."""
        raise NotImplementedError(f"objective {cls.name!r} ({cls.__qualname__}) defines no from_config")

    @classmethod
    def make_dataset(cls, cfg: "Config", dataset_class: Optional[type] = None) -> Any:
        """The training dataset with this objective's views and transforms; the default is
        the paper's pipeline (``dataset_class.from_config(cfg, split="train", augment=True)``).
        ``dataset_class``: a ``SnippetDataset`` (sub)class chosen by the trainer (e.g. one that
        keeps decoded snippets in memory); None: ``SnippetDataset``."""
        if dataset_class is None:
            from binge.data import SnippetDataset as dataset_class

        return dataset_class.from_config(cfg, split="train", augment=True)

    @classmethod
    def similarity(cls, cfg: "Config") -> SimilaritySpec:
        """The similarity of the space this objective trains, for the discrepancy measures
        (``binge discrepancy``); read from ``cfg`` so a random initialisation can be measured
        too. The base class has none: measuring would silently use a wrong one."""
        raise NotImplementedError(
            f"objective {cls.name!r} ({cls.__module__}.{cls.__qualname__}) defines no similarity "
            "for the discrepancy measures: implement the classmethod similarity(cfg) -> "
            "SimilaritySpec"
        )

    @classmethod
    def for_inference(cls, cfg: "Config", model: nn.Module) -> "Objective":
        """The objective built only to hold its heads for embedding (an export, a checkpoint, a
        random initialisation): ``from_config`` with a context of one title of two snippets,
        so training state such as a memory bank is minimal; an init checkpoint is not read."""
        return cls.from_config(cfg, model, ObjectiveContext((2,)))

    def embed_video(self, model: nn.Module, video: torch.Tensor) -> torch.Tensor:
        """z_v (B, d): video (B, 3, T, H, W) float in the space :meth:`similarity` measures.
        The default: :meth:`project_video` of the video encoder's last feature map."""
        return self.project_video(model.video_encoder.forward_features(video))

    def embed_audio(self, model: nn.Module, audio: torch.Tensor) -> torch.Tensor:
        """z_a (B, d): audio (B, 1, P, Q) float, as :meth:`embed_video`."""
        return self.project_audio(model.audio_encoder.forward_features(audio))

    def project_video(self, features: torch.Tensor) -> torch.Tensor:
        """z_v (B, d) from the video encoder's last feature map (B, C_v, T', H', W') (what
        ``binge embed`` uses to run each encoder once). The base class has none."""
        raise NotImplementedError(
            f"objective {self.name!r} ({type(self).__qualname__}) defines no embedding: implement "
            "project_video / project_audio (or embed_video / embed_audio), or subclass "
            "binge.objectives.JointSpaceObjective for Eq. 1's heads")

    def project_audio(self, features: torch.Tensor) -> torch.Tensor:
        """z_a (B, d) from the audio encoder's last feature map (B, C_a, F', T')."""
        raise NotImplementedError(
            f"objective {self.name!r} ({type(self).__qualname__}) defines no embedding: implement "
            "project_audio (or embed_audio)")

    def adopt_legacy_state(
        self, model_state: Mapping[str, Any], objective_state: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A checkpoint's ``(model, objective)`` states as this binge holds them.

        Checkpoints written before the heads moved to the objectives hold Eq. 1's
        ``video_head.*`` / ``audio_head.*`` in the model: they are taken out of it, and given to
        the objective when :attr:`legacy_model_heads` (its heads are those, under the same
        names; the optimiser's parameter order is unchanged), else dropped (they were frozen).
        A current checkpoint comes back unchanged."""
        from binge.models.av import split_legacy_heads

        encoders, heads = split_legacy_heads(model_state)
        objective_state = dict(objective_state)
        if heads and self.legacy_model_heads and not any(k in objective_state for k in heads):
            objective_state.update(heads)
        return encoders, objective_state

    def heads(self) -> dict[str, nn.Module]:
        """The heads it trains, by name (:attr:`head_names`)."""
        return {name: getattr(self, name) for name in self.head_names}

    # ------------------------------------------------------------------ optimiser
    def param_groups(self, base_lr: float) -> list[dict[str, Any]]:
        """Extra optimiser groups, e.g. parameters with their own learning rate.

        Parameters of the model or the objective not listed here go into the trainer's main
        group at ``base_lr``; the default lists none.
        """
        return []

    def wrap_optimizer(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """The optimiser the trainer steps (e.g. CrissCross's LARC around Adam); default as is."""
        return optimizer

    # ------------------------------------------------------------------ start-up
    def init_checkpoint(self) -> Optional[str]:
        """A checkpoint to start from (e.g. CMA's Cross-AVID run), or None."""
        return None

    def init_from(self, model: nn.Module, state: Mapping[str, Any], path: str) -> None:
        """Initialise ``model`` and this objective from the checkpoint ``state`` read from
        ``path`` (``{"model": ..., "objective": ..., "config": ...}``)."""
        raise NotImplementedError(f"objective {self.name!r} names an init checkpoint but "
                                  "defines no init_from")

    def wants_warm_start(self) -> bool:
        """Whether the loop should call :meth:`warm_start` on every training snippet once,
        before the first step (e.g. AVID's ``bank_init: encode``)."""
        return False

    @torch.no_grad()
    def warm_start(self, model: nn.Module, batch: Mapping[str, Any]) -> None:
        """One batch of the pass before the first step (model in train mode, no gradient)."""

    # ------------------------------------------------------------------ steps
    def forward(  # type: ignore[override]
        self, model: nn.Module, batch: Mapping[str, Any]
    ) -> dict[str, torch.Tensor]:
        """Loss of one batch.

        Args:
            model: the ``AVModel`` (the two encoders); ``model(video, audio)`` returns their
                last feature maps ``{"video": (b, C_v, T', H', W'), "audio": (b, C_a, F', T')}``
                and ``model.pooled(video, audio)`` the pooled features; heads are the
                objective's own.
            batch: this rank's batch: ``video`` (b, 3, T, H, W) float and ``audio``
                (b, 1, P, Q) float, already on the device (plus any views the objective's
                dataset adds); ``title`` and ``snippet`` (b,) indices.

        Returns:
            ``{"loss": scalar tensor with grad, **logs}``; logs are detached scalar tensors.
        """
        raise NotImplementedError

    def on_epoch_start(self, epoch: int) -> None:
        """Called before the first step of ``epoch`` (e.g. CMA recomputes its positives)."""

    @torch.no_grad()
    def after_step(self, batch: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        """Called after the optimiser step (e.g. a memory bank update)."""


# ----------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class ObjectiveEntry:
    """A registered objective: its class and its options dataclass. ``flat``: the options sit
    directly under ``objective`` (only Eq. 1 NCE's ``normalize`` / ``temperature``, kept where
    configs written before the plug-in boundary put them); otherwise under ``objective.<name>``."""

    name: str
    cls: type[Objective]
    options: Optional[type]
    flat: bool = False

    def default_options(self) -> Any:
        return self.options() if self.options is not None else None


_REGISTRY: dict[str, ObjectiveEntry] = {}

O = TypeVar("O", bound=type)


def register_objective(name: str, options: Optional[type] = None, flat: bool = False) -> Callable[[O], O]:
    """Class decorator: register an :class:`Objective` subclass as ``objective.name: <name>``.

    ``options``: a dataclass of the objective's settings (``cfg.objective.<name>``), all with
    defaults. A name registered twice is an error, unless by the same class (a re-import).
    """
    if not name.isidentifier():
        raise ValueError(f"objective name {name!r} must be a Python identifier (it is a config key)")
    if options is not None and not dataclasses.is_dataclass(options):
        raise TypeError(f"register_objective({name!r}): options must be a dataclass, got {options!r}")

    def decorate(cls: O) -> O:
        if not (isinstance(cls, type) and issubclass(cls, Objective)):
            raise TypeError(f"register_objective({name!r}) decorates Objective subclasses, not {cls!r}")
        old = _REGISTRY.get(name)
        if old is not None and (old.cls.__module__, old.cls.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"an objective named {name!r} is already registered "
                             f"({old.cls.__module__}.{old.cls.__qualname__})")
        if flat and any(e.flat for e in _REGISTRY.values() if e.name != name):
            raise ValueError("only one objective can keep its options flat under `objective`")
        cls.name = name
        _REGISTRY[name] = ObjectiveEntry(name, cls, options, flat)
        return cls

    return decorate


def registered_objectives() -> dict[str, ObjectiveEntry]:
    """The objectives registered so far (name → entry); see ``binge.objectives.get_objective``
    for the lookup that also imports the built-in ones."""
    return dict(_REGISTRY)
