"""CrissCross: relaxed audio-visual synchronicity (crisscross_supplement.md Algorithm 1).

Two augmented views per modality come from two overlapping windows of one snippet
(:mod:`binge.data.crisscross_transforms`): (v1, a1) from window 1, (v2, a2) from window 2, so
v1–a1 are synchronous and v1–a2 asynchronous. With f_v = projector ∘ video encoder,
f_a = projector ∘ audio encoder (Table S7) and predictors h_v, h_a (Table S8)::

    z_m = f_m(x_m),  p_m = h_m(z_m),   D(p, z) = −cos(p, stopgrad(z))   (mean over the batch)

    L_intra = D(pv1,zv2)/2 + D(pv2,zv1)/2 + D(pa1,za2)/2 + D(pa2,za1)/2
    L_sync  = (D(pv1,za1)/2 + D(pa1,zv1)/2 + D(pv2,za2)/2 + D(pa2,zv2)/2)/2
    L_async = (D(pv1,za2)/2 + D(pa2,zv1)/2 + D(pa1,zv2)/2 + D(pv2,za1)/2)/2
    L       = (L_async + L_sync + L_intra)/3

Projector (Table S7): Linear(C, 2048)-BN-ReLU, Linear(2048, 2048)-BN-ReLU, Linear(2048,
2048)-BN — 9,455,616 parameters for C = 512. Predictor (Table S8): Linear(2048, 512)-BN-ReLU,
Linear(512, 2048) — 2,100,736 parameters. Both belong to the objective.

The predictors get their own optimiser group at ``predictor_lr_multiplier`` × the base lr
(Table S10: 0.002 vs 0.0002). A SimSiam-style loss reaches its minimum both by learning and by
collapsing to a constant, so the logs carry a collapse monitor: ``std_zv``/``std_za``, the
per-dimension standard deviation over the batch of the ℓ2-normalised projector outputs,
averaged over dimensions — about 1/√d for spread-out embeddings, 0 when collapsed
(``std_ratio_*`` = std·√d, ≈ 1 healthy).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from binge.objectives.base import Objective, ObjectiveContext, SimilaritySpec, register_objective
from binge.objectives.base import at_least_float32

__all__ = [
    "CrissCrossOptions",
    "Projector",
    "Predictor",
    "negative_cosine",
    "crisscross_loss",
    "collapse_std",
    "CrissCrossObjective",
    "build",
]


@dataclass
class CrissCrossOptions:
    """CrissCross's options, ``objective.crisscross`` (Algorithm 1, Tables S7, S8, S10)."""

    projector_dim: int = 2048  # Table S7: C → 2048 → 2048 → 2048 (fc-bn-relu ×2, fc-bn)
    predictor_hidden_dim: int = 512  # Table S8: 2048 → 512 → 2048
    predictor_lr_multiplier: float = 10.0  # Table S10: lr_vp / lr_vb = 0.002 / 0.0002
    view_fraction: float = 0.75  # each view spans this fraction of the snippet (> 0.5: overlap)
    larc: bool = False  # wrap the optimiser in LARC (Table S10, "Adam*")
    larc_trust_coefficient: float = 0.001
    larc_clip: bool = True


class Projector(nn.Sequential):
    """Table S7: in → dim (fc-bn-relu) → dim (fc-bn-relu) → dim (fc-bn). (B, in) → (B, dim)."""

    def __init__(self, in_features: int, dim: int = 2048) -> None:
        super().__init__(
            nn.Linear(in_features, dim),
            nn.BatchNorm1d(dim),
            nn.ReLU(inplace=True),
            nn.Linear(dim, dim),
            nn.BatchNorm1d(dim),
            nn.ReLU(inplace=True),
            nn.Linear(dim, dim),
            nn.BatchNorm1d(dim),
        )


class Predictor(nn.Sequential):
    """Table S8: dim → hidden (fc-bn-relu) → dim (fc). (B, dim) → (B, dim)."""

    def __init__(self, dim: int = 2048, hidden: int = 512) -> None:
        super().__init__(
            nn.Linear(dim, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, dim),
        )


def negative_cosine(p: Tensor, z: Tensor) -> Tensor:
    """D(p, z) = −mean_b cos(p_b, z_b) with the gradient stopped on the target z (Eq. 1)."""
    return -F.cosine_similarity(at_least_float32(p), at_least_float32(z.detach()), dim=1).mean()


def crisscross_loss(
    zv1: Tensor, zv2: Tensor, za1: Tensor, za2: Tensor,
    pv1: Tensor, pv2: Tensor, pa1: Tensor, pa2: Tensor,
) -> dict[str, Tensor]:
    """L_CrissCross and its three parts, exactly as Algorithm 1 (module docstring)."""
    d = negative_cosine
    intra = d(pv1, zv2) / 2 + d(pv2, zv1) / 2 + d(pa1, za2) / 2 + d(pa2, za1) / 2
    sync = (d(pv1, za1) / 2 + d(pa1, zv1) / 2 + d(pv2, za2) / 2 + d(pa2, zv2) / 2) / 2
    asyn = (d(pv1, za2) / 2 + d(pa2, zv1) / 2 + d(pa1, zv2) / 2 + d(pv2, za1) / 2) / 2
    return {"loss": (asyn + sync + intra) / 3, "loss_intra": intra, "loss_sync": sync,
            "loss_async": asyn}


@torch.no_grad()
def collapse_std(z: Tensor) -> Tensor:
    """Mean over dimensions of the batch std of ℓ2-normalised z (B, d); 0 means collapse."""
    return F.normalize(at_least_float32(z.detach()), dim=1).std(dim=0).mean()


@register_objective("crisscross", options=CrissCrossOptions)
class CrissCrossObjective(Objective):
    """Algorithm 1 on the batch keys ``video``/``video2`` and ``audio``/``audio2``.

    Its training set has two views per modality (:meth:`make_dataset`, the ``crisscross``
    pipeline of Tables S1, S2); with ``crisscross.larc`` its optimiser is wrapped in LARC."""

    pipeline = "crisscross"
    head_names = ("video_projector", "audio_projector", "video_predictor", "audio_predictor")

    def __init__(
        self,
        video_features: int,
        audio_features: int,
        projector_dim: int = 2048,
        predictor_hidden_dim: int = 512,
        predictor_lr_multiplier: float = 10.0,
        larc: bool = False,
        larc_trust_coefficient: float = 0.001,
        larc_clip: bool = True,
    ) -> None:
        super().__init__()
        self.larc = (larc, float(larc_trust_coefficient), bool(larc_clip))
        self.video_projector = Projector(video_features, projector_dim)
        self.audio_projector = Projector(audio_features, projector_dim)
        self.video_predictor = Predictor(projector_dim, predictor_hidden_dim)
        self.audio_predictor = Predictor(projector_dim, predictor_hidden_dim)
        self.predictor_lr_multiplier = float(predictor_lr_multiplier)

    def param_groups(self, base_lr: float) -> list[dict[str, Any]]:
        """Projectors at ``base_lr``; predictors at ``predictor_lr_multiplier × base_lr``."""
        projectors = [*self.video_projector.parameters(), *self.audio_projector.parameters()]
        predictors = [*self.video_predictor.parameters(), *self.audio_predictor.parameters()]
        return [
            {"params": projectors, "lr": base_lr, "name": "crisscross_projectors"},
            {"params": predictors, "lr": base_lr * self.predictor_lr_multiplier,
             "name": "crisscross_predictors"},
        ]

    def wrap_optimizer(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """LARC around the optimiser with ``crisscross.larc`` (Table S10, "Adam*")."""
        use, trust, clip = self.larc
        if not use:
            return optimizer
        from binge.objectives.larc import LARC

        return LARC(optimizer, trust_coefficient=trust, clip=clip)

    @classmethod
    def make_dataset(cls, cfg: Any, dataset_class: Optional[type] = None) -> Any:
        """Whole uncropped, unaugmented frames through the CrissCross transform (Tables S1,
        S2), which cuts the two views of each snippet."""
        from binge.data.crisscross_transforms import build_transform

        if dataset_class is None:
            from binge.data import SnippetDataset as dataset_class
        return dataset_class(cfg.data.corpus, split="train", augment=False, crop_size=None,
                              data=cfg.data, transform=build_transform(cfg, two_views=True))

    def embed_video(self, model: nn.Module, video: Tensor) -> Tensor:
        """z_v (B, projector_dim): the video projector on the pooled features (cosine-compared)."""
        return self.video_projector(model.video_encoder(video))

    def embed_audio(self, model: nn.Module, audio: Tensor) -> Tensor:
        """z_a (B, projector_dim): the audio projector on the pooled features."""
        dtype = next(model.audio_encoder.parameters()).dtype
        return self.audio_projector(model.audio_encoder(audio.to(dtype)))

    def project_video(self, features: Tensor) -> Tensor:
        """z_v from f's last feature map (B, C_v, T', H', W'): the projector on its global mean."""
        return self.video_projector(features.flatten(2).mean(dim=2))

    def project_audio(self, features: Tensor) -> Tensor:
        """z_a from g's last feature map (B, C_a, F', T'): the projector on its global mean."""
        return self.audio_projector(features.flatten(2).mean(dim=2))

    @classmethod
    def similarity(cls, cfg: Any) -> SimilaritySpec:
        """Cosine, no temperature: its losses compare ℓ2-normalised vectors."""
        return SimilaritySpec(True, 1.0)

    @classmethod
    def from_config(cls, cfg: Any, model: nn.Module, context: ObjectiveContext) -> "CrissCrossObjective":
        """``objective.name: crisscross`` from ``objective.crisscross`` (its own projectors and
        predictors on the pooled features)."""
        m = model
        options = dataclasses.asdict(cfg.objective.crisscross)
        options.pop("view_fraction")  # the transform's (make_dataset), not the loss's
        return cls(m.video_encoder.num_features, m.audio_encoder.num_features, **options)

    def forward(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, Tensor]:
        missing = [k for k in ("video", "video2", "audio", "audio2") if k not in batch]
        if missing:
            raise KeyError(
                f"CrissCross needs two views per modality but the batch lacks {missing}: "
                "the dataset must apply binge.data.crisscross_transforms.build_transform(cfg) "
                "(augment.pipeline: crisscross)"
            )
        # each view through the encoders on its own (its own batch-norm statistics), as
        # Algorithm 1: zv1, zv2 = fv(v1), fv(v2)
        z: dict[str, Tensor] = {}
        p: dict[str, Tensor] = {}
        for view, (vk, ak) in {"1": ("video", "audio"), "2": ("video2", "audio2")}.items():
            fv, fa = model.pooled(batch[vk], batch[ak])
            z["v" + view], z["a" + view] = self.video_projector(fv), self.audio_projector(fa)
            p["v" + view] = self.video_predictor(z["v" + view])
            p["a" + view] = self.audio_predictor(z["a" + view])
        out = crisscross_loss(z["v1"], z["v2"], z["a1"], z["a2"], p["v1"], p["v2"], p["a1"], p["a2"])
        logs = {k: v.detach() for k, v in out.items() if k != "loss"}
        dim = z["v1"].shape[1]
        logs["std_zv"] = collapse_std(z["v1"])
        logs["std_za"] = collapse_std(z["a1"])
        logs["std_ratio_zv"] = logs["std_zv"] * math.sqrt(dim)
        logs["std_ratio_za"] = logs["std_za"] * math.sqrt(dim)
        return {"loss": out["loss"], **logs}


def build(cfg: Any, model: nn.Module, context: Any = 1) -> CrissCrossObjective:
    """``objective.name: crisscross`` from a config (the module-level builder, kept for callers)."""
    return CrissCrossObjective.from_config(cfg, model, ObjectiveContext.of(context))
