"""AVID: audio-visual instance discrimination with a memory bank (avid_cma.md §3, Eq. 1–5).

Each snippet's video and audio are encoded by the model's encoders f_v, f_a (pooled, (B, C)),
projected by AVID's own MLP heads to 128-d and ℓ2-normalised: v_i, a_i. A memory bank keeps a
slow-moving copy v̄_i, ā_i of every instance (:mod:`binge.objectives.memory_bank`). With
𝒩_i = K = 1024 instances drawn uniformly from the bank (never i itself) and the NCE loss
L_NCE(x; x̄_i, 𝒩_i) of Eq. 2 (τ = 0.07, Z̄ frozen after the first step):

* Self-AVID (Eq. 3):  L_NCE(v_i; v̄_i, 𝒩_i) + L_NCE(a_i; ā_i, 𝒩_i)
* Cross-AVID (Eq. 4): L_NCE(v_i; ā_i, 𝒩_i) + L_NCE(a_i; v̄_i, 𝒩_i)
* Joint-AVID (Eq. 5): Self-AVID + Cross-AVID

Each of the four terms has its own Z̄ (``nce_v2v``, ``nce_a2a``, ``nce_v2a``, ``nce_a2v``),
and the v→v term is logged as ``loss_v2v`` — not under the v2a key, a known slip of the
reference code.

Heads. §3.3: "output activations are … projected into a 128-dimensional feature using a
multi-layer perceptron … composed of three fully connected layers with 512 hidden units":
:class:`AvidHead` is Linear(C, 512) → ReLU → Linear(512, 512) → ReLU → Linear(512, 128)
(590,976 parameters for C = 512). These heads belong to the objective (they are in its
``state_dict``); the model's own projection heads (``AVModel``'s, used by Eq. 1 NCE) are not
used by AVID, and the exported encoders are what downstream evaluation reads.

Instances. An instance is a snippet (n, m) with id ``offsets[n] + m`` (``snippets_per_instance``
= 1) or, to bound memory on very long corpora, a bin of b consecutive snippets of one title
(id ``offsets[n] + m // b``); see docs/objectives.md for the memory arithmetic. The snippets per
title come from the trainer's :class:`~binge.objectives.base.ObjectiveContext`.

Distributed. Every rank gathers the global batch's instance ids and features; negatives for
the whole global batch are drawn from one generator whose state is a buffer (same on every
rank, saved in checkpoints), and each rank keeps its own rows, so 2 ranks compute exactly the
losses of 1 rank on the concatenated batch and apply the same bank update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from binge.distributed import gather_no_grad, get_rank
from binge.objectives.base import (
    Objective,
    ObjectiveContext,
    SimilaritySpec,
    at_least_float32,
    register_objective,
)
from binge.objectives.memory_bank import MemoryBank, MemoryNCE, instance_offsets, sample_negatives

__all__ = [
    "AvidOptions",
    "AvidHead",
    "AvidObjective",
    "memory_objective_kwargs",
    "build",
    "VARIANT_TERMS",
]


@dataclass
class AvidOptions:
    """AVID's options, ``objective.avid`` (avid_cma.md §3, Eq. 1–5); CMA reads them too."""

    variant: Literal["self", "cross", "joint"] = "cross"
    memory_dim: int = 128  # the MLP head's output: C → hidden → hidden → 128 (§3.3)
    head_hidden_dim: int = 512
    num_negatives: int = 1024  # K, drawn uniformly, never the instance itself
    temperature: float = 0.07  # τ
    momentum: float = 0.5  # EMA of the memory bank
    snippets_per_instance: int = 1  # b: an instance is b consecutive snippets of a title
    bank_dtype: Literal["float32", "float16"] = "float32"  # float16: 256 B/instance/modality
    # "random": the paper's random initial bank. "encode": one pass of the initial encoders
    # fills it before step 1, so Z̄ is estimated against real features (docs/objectives.md)
    bank_init: Literal["random", "encode"] = "random"

#: (query modality, target bank) pairs of each variant's NCE terms, Eq. 3–5.
VARIANT_TERMS: dict[str, tuple[tuple[str, str], ...]] = {
    "self": (("video", "video"), ("audio", "audio")),
    "cross": (("video", "audio"), ("audio", "video")),
    "joint": (("video", "video"), ("audio", "audio"), ("video", "audio"), ("audio", "video")),
}
_SHORT = {"video": "v", "audio": "a"}

InstanceSpec = Union[int, Sequence[int]]


class AvidHead(nn.Sequential):
    """AVID's MLP head (§3.3): C → hidden → hidden → out, ReLU between, no normalisation.

    (B, C) → (B, out). With C = hidden = 512, out = 128: 590,976 parameters.
    """

    def __init__(self, in_features: int, hidden: int = 512, out_features: int = 128) -> None:
        super().__init__(
            nn.Linear(in_features, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out_features),
        )


@register_objective("avid", options=AvidOptions)
class AvidObjective(Objective):
    """Self-, Cross- or Joint-AVID (Eq. 3–5) with a memory bank of ``num_instances``.

    Args:
        video_features, audio_features: C_v, C_a of the encoders.
        instances: the number of snippets N (then every batch must carry ``index``, the
            flat snippet id offsets[n] + m) or the snippets per title M_n (then the ids are
            computed from the batch's ``title`` and ``snippet``).
        variant: "self" | "cross" | "joint".
        snippets_per_instance: b; b > 1 groups b consecutive snippets of a title into one
            instance (requires per-title counts).
        bank_init: "random" (the paper: random unit vectors, Z̄ estimated against them) or
            "encode" (the training loop fills the bank with the initial encoders' features of
            every instance before the first step, see :meth:`warm_start`).
        seed: seeds the initial bank and the negative sampler (same on every rank).
    """

    head_names = ("video_head", "audio_head")

    def __init__(
        self,
        video_features: int,
        audio_features: int,
        instances: InstanceSpec,
        variant: str = "cross",
        dim: int = 128,
        hidden: int = 512,
        num_negatives: int = 1024,
        temperature: float = 0.07,
        momentum: float = 0.5,
        snippets_per_instance: int = 1,
        bank_dtype: torch.dtype = torch.float32,
        bank_init: str = "random",
        seed: int = 0,
    ) -> None:
        super().__init__()
        if variant not in VARIANT_TERMS:
            raise ValueError(f"unknown AVID variant {variant!r}; use one of {list(VARIANT_TERMS)}")
        if bank_init not in ("random", "encode"):
            raise ValueError(f"unknown bank_init {bank_init!r}; use 'random' or 'encode'")
        self.bank_init = bank_init
        self.variant = variant
        self.terms = VARIANT_TERMS[variant]
        self.num_negatives = int(num_negatives)
        self.snippets_per_instance = int(snippets_per_instance)
        if isinstance(instances, int):
            if snippets_per_instance != 1:
                raise ValueError(
                    "snippets_per_instance > 1 needs the snippets per title, not only their total"
                )
            self.register_buffer("offsets", torch.zeros(0, dtype=torch.long), persistent=False)
            num_instances = int(instances)
        else:
            offsets = instance_offsets(instances, snippets_per_instance)
            self.register_buffer("offsets", offsets, persistent=False)
            num_instances = int(offsets[-1])
        self.video_head = AvidHead(video_features, hidden, dim)
        self.audio_head = AvidHead(audio_features, hidden, dim)
        self.bank = MemoryBank(num_instances, dim, ("video", "audio"), momentum, bank_dtype, seed)
        self.nce = nn.ModuleDict(
            {self.term_name(q, t): MemoryNCE(temperature) for q, t in self.terms}
        )
        self._generator = torch.Generator().manual_seed(int(seed) + 1)
        self.register_buffer("rng_state", self._generator.get_state())

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def term_name(query: str, target: str) -> str:
        return f"{_SHORT[query]}2{_SHORT[target]}"

    @property
    def num_instances(self) -> int:
        return self.bank.num_instances

    def instance_ids(self, batch: dict[str, Any]) -> Tensor:
        """(B,) int64 instance ids of a batch (see the class docstring)."""
        if self.offsets.numel() > 0:
            title = torch.as_tensor(batch["title"]).long().cpu()
            snippet = torch.as_tensor(batch["snippet"]).long().cpu()
            ids = self.offsets.cpu()[title] + snippet // self.snippets_per_instance
        elif "index" in batch:
            ids = torch.as_tensor(batch["index"]).long().cpu()
        else:
            raise KeyError(
                "AVID needs instance ids: build it with the snippets per title, or give "
                "each batch an 'index' (offsets[n] + m)"
            )
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.num_instances):
            raise IndexError(
                f"instance id out of range [0, {self.num_instances}): the corpus does not "
                "match the memory bank (was the objective built for another corpus?)"
            )
        return ids

    def draw(self, exclude: Tensor) -> Tensor:
        """Negatives (B_global, K) for the GLOBAL batch from the shared generator state."""
        self._generator.set_state(self.rng_state.cpu())
        neg = sample_negatives(self.num_instances, self.num_negatives, exclude, self._generator)
        self.rng_state.copy_(self._generator.get_state())
        return neg

    @staticmethod
    def local_rows(x: Tensor, local_batch: int) -> Tensor:
        """This rank's rows of a global-batch tensor (ranks hold consecutive blocks)."""
        rank = get_rank()
        return x[rank * local_batch : (rank + 1) * local_batch]

    def embed(self, model: nn.Module, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        """ℓ2-normalised 128-d v_i, a_i (B, D) of a batch."""
        return self.embed_video(model, batch["video"]), self.embed_audio(model, batch["audio"])

    def embed_video(self, model: nn.Module, video: Tensor) -> Tensor:
        """ℓ2-normalised v (B, 128): AVID's video head on the pooled video features."""
        return F.normalize(at_least_float32(self.video_head(model.video_encoder(video))), dim=1)

    def embed_audio(self, model: nn.Module, audio: Tensor) -> Tensor:
        """ℓ2-normalised a (B, 128): AVID's audio head on the pooled audio features."""
        dtype = next(model.audio_encoder.parameters()).dtype
        return F.normalize(at_least_float32(self.audio_head(model.audio_encoder(audio.to(dtype)))), dim=1)

    def project_video(self, features: Tensor) -> Tensor:
        """v (B, 128) from f's last feature map (B, C_v, T', H', W'): its global mean, the head,
        ℓ2 (what :meth:`embed_video` computes from the video)."""
        return F.normalize(at_least_float32(self.video_head(features.flatten(2).mean(dim=2))), dim=1)

    def project_audio(self, features: Tensor) -> Tensor:
        """a (B, 128) from g's last feature map (B, C_a, F', T'), as :meth:`project_video`."""
        return F.normalize(at_least_float32(self.audio_head(features.flatten(2).mean(dim=2))), dim=1)

    def term_losses(
        self, feats: dict[str, Tensor], pos_idx: Tensor, neg_idx: Tensor
    ) -> dict[str, Tensor]:
        """Eq. 2 for each term: feats modality → (B, D), pos_idx (B,), neg_idx (B, K)."""
        targets = torch.cat([pos_idx[:, None], neg_idx], dim=1).to(self.bank.bank("video").device)
        out = {}
        for q, t in self.terms:
            name = self.term_name(q, t)
            out[name] = self.nce[name](feats[q], self.bank.get(t, targets))
        return out

    def update_bank(self, global_ids: Tensor, v: Tensor, a: Tensor) -> None:
        """EMA update of both banks with every rank's features (after the loss is computed)."""
        feats = {"video": gather_no_grad(v), "audio": gather_no_grad(a)}
        self.bank.update(global_ids.to(feats["video"].device), feats, gathered=True)

    # ------------------------------------------------------------------ warm start
    def wants_warm_start(self) -> bool:
        """True for ``bank_init="encode"`` while no Z̄ is estimated yet (a fresh run: a resumed
        run, or CMA started from a Cross-AVID checkpoint, already holds its bank and Z̄)."""
        return self.bank_init == "encode" and all(bool(torch.isnan(m.z_bar)) for m in self.nce.values())

    @torch.no_grad()
    def warm_start(self, model: nn.Module, batch: dict[str, Any]) -> None:
        """Write one batch of the initial encoders' features into the bank, replacing the
        random rows (no EMA): m_i ← normalize(mean of the batch's features of instance i).

        Why: the initial MLP heads map every input close to one direction (mean within-modal
        cosine 0.87–0.89 on the world corpus, docs/objectives.md), while a random bank scores
        ≈ 0. Z̄ estimated against the random bank is then ~10⁵× too small for the real
        features that replace it, and each within-modal negative costs
        log(1 + exp(x·x̄/τ)/(K·Z̄)) ≫ 0: the frozen-Z̄ loss of Self-/Joint-AVID rises as the
        bank fills. Filled from the encoders first, Z̄ is estimated on the first step against
        the features it will meet. Ranks gather the batch, so every bank stays identical.
        """
        v, a = self.embed(model, batch)
        global_ids = gather_no_grad(self.instance_ids(batch).to(v.device))
        feats = {"video": gather_no_grad(v), "audio": gather_no_grad(a)}
        self.bank.write(global_ids, feats)

    # ------------------------------------------------------------------ Objective API
    def forward(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, Tensor]:
        v, a = self.embed(model, batch)
        b = v.shape[0]
        ids = self.instance_ids(batch)
        global_ids = gather_no_grad(ids.to(v.device)).cpu()
        neg = self.local_rows(self.draw(global_ids), b)
        losses = self.term_losses({"video": v, "audio": a}, ids, neg)
        loss = torch.stack(list(losses.values())).sum()
        self.update_bank(global_ids, v, a)
        logs = {f"loss_{k}": val.detach() for k, val in losses.items()}
        logs.update({f"z_bar_{k}": m.z_bar.detach().clone() for k, m in self.nce.items()})
        logs.update({f"acc_{k}": m.last_accuracy for k, m in self.nce.items()})
        return {"loss": loss, **logs}


    # ------------------------------------------------------------------ registry hooks
    @classmethod
    def from_config(cls, cfg: Any, model: nn.Module, context: ObjectiveContext) -> "AvidObjective":
        """``objective.name: avid`` (cfg: a :class:`binge.config.Config`)."""
        return cls(variant=cfg.objective.avid.variant, **memory_objective_kwargs(cfg, model, context))

    @classmethod
    def similarity(cls, cfg: Any) -> SimilaritySpec:
        """cos / τ (avid_cma Eq. 1–2), τ = ``objective.avid.temperature``."""
        return SimilaritySpec(True, cfg.objective.avid.temperature)


def _bank_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float16": torch.float16}[name]


def memory_objective_kwargs(cfg: Any, model: nn.Module, context: ObjectiveContext) -> dict[str, Any]:
    """Constructor arguments shared by the memory-bank objectives (AVID, CMA) from a Config:
    ``objective.avid``'s options, the bank sized by the context's snippets per title."""
    m = model
    acfg = cfg.objective.avid
    return dict(
        video_features=m.video_encoder.num_features,
        audio_features=m.audio_encoder.num_features,
        instances=list(context.snippets_per_title),
        dim=acfg.memory_dim,
        hidden=acfg.head_hidden_dim,
        num_negatives=acfg.num_negatives,
        temperature=acfg.temperature,
        momentum=acfg.momentum,
        snippets_per_instance=acfg.snippets_per_instance,
        bank_dtype=_bank_dtype(acfg.bank_dtype),
        bank_init=acfg.bank_init,
        seed=cfg.train.seed,
    )


def build(cfg: Any, model: nn.Module, context: Any) -> AvidObjective:
    """``objective.name: avid`` from a config (the module-level builder, kept for callers)."""
    return AvidObjective.from_config(cfg, model, ObjectiveContext.of(context))
