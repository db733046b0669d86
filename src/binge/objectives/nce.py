"""The paper's cross-modal noise-contrastive loss, Eq. 1 (paper §3, "Loss Function").

For element ``i`` of a batch of ``B`` audio-visual pairs with embeddings ``z_v^i, z_a^i``::

    ℓ_i = −log  exp(s_ii) / ( exp(s_ii) + Σ_{j≠i} exp(s_ij) + Σ_{j≠i} exp(s_ji) ),
    s_ij = (z_v^i)ᵀ z_a^j

— **one** softmax over the ``2B − 1`` terms: the positive, the video-anchored negatives
``(z_v^i, z_a^j)`` and the audio-anchored negatives ``(z_v^j, z_a^i)``. This is *not* the
average of a video→audio and an audio→video cross-entropy (each over ``B`` terms). Eq. 1
writes a sum over ``i``; we reduce by the **mean** over ``i`` so that the loss and the
learning rate do not scale with ``B``. By default the space is unnormalised (paper §3); with
``normalize=True`` the embeddings are ℓ2-normalised and ``s_ij`` is divided by the
temperature ``τ`` (Table 2).

Across ranks the negatives are the **global** batch: each rank gathers every rank's
embeddings with gradients (:func:`binge.distributed.all_gather_with_grad`), computes ``ℓ_i``
for its own rows ``i`` against all ``B`` columns, and averages over its rows. With ``W`` ranks
of ``b = B/W`` rows, DDP averages the parameter gradients over ranks, which gives
``(1/W) Σ_r ∇[(1/b) Σ_{i∈r} ℓ_i] = ∇[(1/B) Σ_i ℓ_i]`` — provided the gather's backward sums,
onto each rank's slice, the gradients that *every* rank's loss sends to it (it does). So
8 GPUs × 64 give the same loss and gradients as 1 × 512 (tests/test_distributed.py).

The projection heads h_f, h_g that give ``z_v = h_f(f(v))``, ``z_a = h_g(g(a))`` (paper §3,
supplement §4: :class:`binge.models.ProjectionHead` on the encoders' last feature maps) belong
to this objective (:class:`JointSpaceObjective`, shared with the symmetric InfoNCE and open to
plug-ins), not to the model: the export writes them as ``objective_heads.safetensors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from binge.distributed import all_gather_with_grad, convert_sync_batchnorm, get_rank, get_world_size
from binge.objectives.base import Objective, ObjectiveContext, SimilaritySpec, register_objective

if TYPE_CHECKING:
    from binge.config import Config

__all__ = ["cross_modal_nce", "eq1_terms", "NCEOptions", "JointSpaceObjective", "NCEObjective", "build"]


@dataclass
class NCEOptions:
    """Eq. 1's options. They sit directly under ``objective`` (``objective.normalize``,
    ``objective.temperature``), where the paper configs have always put them."""

    normalize: bool = False  # Eq. 1 in an unnormalized space by default; True: ℓ2 + τ
    temperature: float = 1.0  # τ, only used when normalize=True (Table 2: 0.07, 0.3)


def _prepare(z: torch.Tensor, normalize: bool, scale: float) -> torch.Tensor:
    """At least float32 (bf16/fp16 inputs are upcast), optionally ℓ2-normalised, × ``scale``."""
    if z.dim() != 2:
        raise ValueError(f"embeddings must be (B, d), got shape {tuple(z.shape)}")
    if z.dtype not in (torch.float32, torch.float64):
        z = z.float()
    if normalize:
        z = F.normalize(z, dim=1)
    return z * scale if scale != 1.0 else z


def eq1_terms(
    zv_rows: torch.Tensor,
    za_rows: torch.Tensor,
    zv_all: torch.Tensor,
    za_all: torch.Tensor,
    offset: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 1's ``ℓ_i`` for rows ``i = offset … offset + b − 1`` of a global batch.

    Args:
        zv_rows, za_rows: (b, d) the rows' embeddings (already scaled by 1/τ on the video side
            if a temperature applies).
        zv_all, za_all: (B, d) the whole batch, in which row ``t`` of ``*_rows`` is row
            ``offset + t``.
        offset: global index of the first row.

    Returns:
        ``(loss, positive, best_negative)``, each (b,): the per-row losses
        ``logsumexp(2B − 1 logits) − s_ii`` (log-sum-exp keeps large unnormalised logits
        finite), the positive logits ``s_ii`` and (detached) the largest of the ``2B − 2``
        negative logits.
    """
    b = zv_rows.shape[0]
    with torch.autocast(device_type=zv_rows.device.type, enabled=False):
        rows = torch.arange(b, device=zv_rows.device)
        cols = rows + offset
        minus_inf = torch.tensor(float("-inf"), dtype=zv_rows.dtype, device=zv_rows.device)
        s_va = zv_rows @ za_all.T  # (b, B): s_{i j}, the positive at column offset + i
        s_av = za_rows @ zv_all.T  # (b, B): s_{j i}
        positive = s_va[rows, cols]
        s_av = s_av.index_put((rows, cols), minus_inf)
        lse = torch.logsumexp(torch.cat([s_va, s_av], dim=1), dim=1)
        with torch.no_grad():
            neg_va = s_va.detach().index_put((rows, cols), minus_inf).amax(dim=1)
            best_negative = torch.maximum(neg_va, s_av.detach().amax(dim=1))
    return lse - positive, positive, best_negative


def cross_modal_nce(
    z_video: torch.Tensor,
    z_audio: torch.Tensor,
    normalize: bool = False,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Eq. 1 on one batch: the mean over ``i`` of ``ℓ_i`` (see the module docstring).

    Args:
        z_video, z_audio: (B, d) embeddings ``z_v^i``, ``z_a^i`` of the same ``B`` snippets.
        normalize: ℓ2-normalise both before the dot products (Table 2's variant).
        temperature: ``τ``; the logits are divided by it (keep 1.0 for the paper's
            unnormalised default).

    Returns:
        A scalar tensor, computed in float32 (float64 if the inputs are float64) with
        log-sum-exp, also under bf16/fp16 autocast.

    >>> z = torch.zeros(4, 8)
    >>> round(float(cross_modal_nce(z, z)), 4) == round(float(torch.log(torch.tensor(7.))), 4)
    True
    """
    if z_video.shape != z_audio.shape:
        raise ValueError(f"z_video {tuple(z_video.shape)} and z_audio {tuple(z_audio.shape)} "
                         "must have the same (B, d) shape")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    zv = _prepare(z_video, normalize, 1.0 / temperature)
    za = _prepare(z_audio, normalize, 1.0)
    loss, _, _ = eq1_terms(zv, za, zv, za, 0)
    return loss.mean()


class JointSpaceObjective(Objective):
    """An objective that trains a d-dimensional joint space through Eq. 1's projection heads.

    ``video_head`` / ``audio_head`` map the encoders' last feature maps (B, C, *S) to (B, d)
    (:meth:`project_video` / :meth:`project_audio`); :meth:`joint_heads` builds the paper's
    (:class:`binge.models.ProjectionHead`, ``model.embed_dim``, ``model.head_hidden_dim``).
    ``None`` heads are identities (the encoders' features are the embeddings: test stand-ins).
    Before the heads moved here they were the model's ``video_head`` / ``audio_head``
    (:attr:`legacy_model_heads`), so older exports and checkpoints load into them.
    """

    head_names = ("video_head", "audio_head")
    legacy_model_heads = True

    def __init__(self, video_head: Optional[nn.Module] = None, audio_head: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.video_head = video_head if video_head is not None else nn.Identity()
        self.audio_head = audio_head if audio_head is not None else nn.Identity()

    @staticmethod
    def joint_heads(cfg: "Config", model: nn.Module, context: ObjectiveContext) -> dict[str, nn.Module]:
        """h_f (Conv3d) and h_g (Conv2d) for ``model``'s encoders: ``{"video_head", "audio_head"}``,
        on the model's device and dtype; under DDP with ``model.sync_batchnorm`` their batch
        norms are synchronised, as the encoders' are."""
        from binge.models.heads import ProjectionHead

        m = cfg.model
        heads = nn.ModuleDict({
            "video_head": ProjectionHead(model.video_encoder.num_features, m.embed_dim, m.head_hidden_dim, dims=3),
            "audio_head": ProjectionHead(model.audio_encoder.num_features, m.embed_dim, m.head_hidden_dim, dims=2),
        })
        param = next(model.parameters(), None)
        if param is not None:
            heads.to(param.device, param.dtype)
        if context.world_size > 1 and m.sync_batchnorm:
            heads = convert_sync_batchnorm(heads, param.device if param is not None else torch.device("cpu"))
        return dict(heads.items())

    def project_video(self, features: torch.Tensor) -> torch.Tensor:
        """z_v = h_f(features) (B, d), features f's last map (B, C_v, T', H', W')."""
        return self.video_head(features)

    def project_audio(self, features: torch.Tensor) -> torch.Tensor:
        """z_a = h_g(features) (B, d), features g's last map (B, C_a, F', T')."""
        return self.audio_head(features)

    def embed(self, model: nn.Module, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_v, z_a), each (b, d), of a batch: one pass of each encoder, then its head."""
        features = model(batch["video"], batch["audio"])
        return self.project_video(features["video"]), self.project_audio(features["audio"])


@register_objective("nce", options=NCEOptions, flat=True)
class NCEObjective(JointSpaceObjective):
    """Eq. 1 over the global batch, following the ``Objective`` contract.

    ``forward(model, batch)`` embeds the batch through the heads (:meth:`embed`), gathers the
    embeddings of all ranks with gradients and returns this rank's mean of ``ℓ_i`` as
    ``"loss"``, plus detached logs over this rank's rows: ``"pos_logit"`` (mean ``s_ii``) and
    ``"acc"`` (fraction of rows whose positive beats all ``2B − 2`` negatives).
    """

    def __init__(self, normalize: bool = False, temperature: float = 1.0,
                 video_head: Optional[nn.Module] = None, audio_head: Optional[nn.Module] = None) -> None:
        super().__init__(video_head, audio_head)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.normalize = normalize
        self.temperature = temperature

    def forward(  # type: ignore[override]
        self, model: nn.Module, batch: Mapping[str, Any]
    ) -> dict[str, torch.Tensor]:
        return self.loss_from_embeddings(*self.embed(model, batch))

    def loss_from_embeddings(
        self, z_video: torch.Tensor, z_audio: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Loss and logs from this rank's (b, d) embeddings (gathered across ranks here)."""
        zv = _prepare(z_video, self.normalize, 1.0 / self.temperature)
        za = _prepare(z_audio, self.normalize, 1.0)
        zv_all, za_all = all_gather_with_grad(zv), all_gather_with_grad(za)
        if zv_all.shape[0] != zv.shape[0] * get_world_size():
            raise RuntimeError("ranks passed batches of different sizes to the NCE objective")
        per_row, positive, best_negative = eq1_terms(
            zv, za, zv_all, za_all, get_rank() * zv.shape[0]
        )
        return {
            "loss": per_row.mean(),
            "pos_logit": positive.detach().mean(),
            "acc": (positive.detach() > best_negative).float().mean(),
        }


    @classmethod
    def from_config(cls, cfg: "Config", model: nn.Module, context: ObjectiveContext) -> "NCEObjective":
        """Eq. 1 from ``cfg.objective`` (``temperature`` only if normalised), with Eq. 1's heads."""
        obj = cfg.objective
        return cls(normalize=obj.normalize, temperature=obj.temperature if obj.normalize else 1.0,
                   **cls.joint_heads(cfg, model, context))

    @classmethod
    def similarity(cls, cfg: "Config") -> SimilaritySpec:
        """s_ij of Eq. 1: the dot product, or cosine / τ with ``objective.normalize``."""
        obj = cfg.objective
        return SimilaritySpec(obj.normalize, obj.temperature if obj.normalize else 1.0)


def build(cfg: "Config", model: nn.Module, context: Any) -> NCEObjective:
    """Eq. 1 from ``cfg.objective`` (kept for callers of the module-level builder)."""
    return NCEObjective.from_config(cfg, model, ObjectiveContext.of(context))
