"""Symmetric InfoNCE: the mean of a video→audio and an audio→video cross-entropy (ℓ2 + τ).

The usual cross-modal contrastive loss of the literature (CLIP; Oord et al. 2018's InfoNCE in
both directions). With ℓ2-normalised embeddings ``v_i = z_v^i/‖z_v^i‖``, ``a_j = z_a^j/‖z_a^j‖``
and ``s_ij = v_iᵀa_j / τ`` over a global batch of ``B`` pairs::

    ℓ_i^{v→a} = −log exp(s_ii) / Σ_j exp(s_ij)        (B terms: audio candidates for video i)
    ℓ_i^{a→v} = −log exp(s_ii) / Σ_j exp(s_ji)        (B terms: video candidates for audio i)
    L = (1/B) Σ_i ½ (ℓ_i^{v→a} + ℓ_i^{a→v})

It differs from the paper's Eq. 1 (:mod:`binge.objectives.nce`), which puts the positive and
both kinds of negatives in **one** softmax over 2B − 1 terms. Across ranks the candidates are
the global batch (:func:`binge.distributed.all_gather_with_grad`); each rank averages over its
own rows, and DDP's gradient average gives the gradient of L (as for Eq. 1). It trains the
joint space of Eq. 1's projection heads, which it holds (:class:`~binge.objectives.nce.JointSpaceObjective`),
so the discrepancy measures use cos / τ there.

Options (``objective.infonce``): ``temperature`` τ (default 0.07, CLIP's initial value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from binge.distributed import all_gather_with_grad, get_rank
from binge.objectives.base import ObjectiveContext, SimilaritySpec, register_objective
from binge.objectives.nce import JointSpaceObjective

__all__ = ["InfoNCEOptions", "symmetric_infonce_terms", "symmetric_infonce", "InfoNCEObjective"]


@dataclass
class InfoNCEOptions:
    """``objective.infonce``."""

    temperature: float = 0.07  # τ of the cosine logits


def symmetric_infonce_terms(
    v_rows: torch.Tensor, a_rows: torch.Tensor, v_all: torch.Tensor, a_all: torch.Tensor,
    offset: int, temperature: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row ½(ℓ^{v→a} + ℓ^{a→v}) and the positive logits for rows ``offset … offset + b − 1``.

    Args:
        v_rows, a_rows: (b, d) ℓ2-normalised embeddings of this rank's rows.
        v_all, a_all: (B, d) the whole (gathered) batch; row t of ``*_rows`` is row offset + t.
        offset: global index of the first row.
        temperature: τ > 0.

    Returns:
        ``(loss, positive)``, each (b,), in float32 (float64 for float64 inputs).
    """
    with torch.autocast(device_type=v_rows.device.type, enabled=False):
        cols = torch.arange(v_rows.shape[0], device=v_rows.device) + offset
        s_va = v_rows @ a_all.T / temperature  # (b, B): row i, audio candidates j
        s_av = a_rows @ v_all.T / temperature  # (b, B): row i, video candidates j (s_ji)
        loss = 0.5 * (F.cross_entropy(s_va, cols, reduction="none")
                      + F.cross_entropy(s_av, cols, reduction="none"))
        positive = s_va.gather(1, cols[:, None])[:, 0]
    return loss, positive


def _normalised(z: torch.Tensor) -> torch.Tensor:
    if z.dim() != 2:
        raise ValueError(f"embeddings must be (B, d), got shape {tuple(z.shape)}")
    return F.normalize(z if z.dtype == torch.float64 else z.float(), dim=1)


def symmetric_infonce(z_video: torch.Tensor, z_audio: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """L of the module docstring on one batch of (B, d) embeddings (a scalar tensor)."""
    if z_video.shape != z_audio.shape:
        raise ValueError(f"z_video {tuple(z_video.shape)} and z_audio {tuple(z_audio.shape)} "
                         "must have the same (B, d) shape")
    if temperature <= 0:
        raise ValueError(f"objective.infonce.temperature must be > 0, got {temperature}")
    v, a = _normalised(z_video), _normalised(z_audio)
    return symmetric_infonce_terms(v, a, v, a, 0, temperature)[0].mean()


@register_objective("infonce", options=InfoNCEOptions)
class InfoNCEObjective(JointSpaceObjective):
    """Symmetric InfoNCE over the global batch, in the space of Eq. 1's heads (its own);
    logs ``pos_logit`` (mean s_ii, this rank)."""

    def __init__(self, temperature: float = 0.07, video_head: Optional[nn.Module] = None,
                 audio_head: Optional[nn.Module] = None) -> None:
        super().__init__(video_head, audio_head)
        if temperature <= 0:
            raise ValueError(f"objective.infonce.temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    @classmethod
    def from_config(cls, cfg: Any, model: nn.Module, context: ObjectiveContext) -> "InfoNCEObjective":
        return cls(cfg.objective.infonce.temperature, **cls.joint_heads(cfg, model, context))

    @classmethod
    def similarity(cls, cfg: Any) -> SimilaritySpec:
        """cos / τ: the logits it trains."""
        return SimilaritySpec(True, cfg.objective.infonce.temperature)

    def forward(self, model: nn.Module, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:  # type: ignore[override]
        zv, za = self.embed(model, batch)
        v, a = _normalised(zv), _normalised(za)
        v_all, a_all = all_gather_with_grad(v), all_gather_with_grad(a)
        loss, positive = symmetric_infonce_terms(v, a, v_all, a_all, get_rank() * v.shape[0],
                                                 self.temperature)
        return {"loss": loss.mean(), "pos_logit": positive.detach().mean()}
