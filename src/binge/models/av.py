"""The audio-visual model of paper §3: z_v = h_f(f(v)), z_a = h_g(g(a)).

``AVModel`` holds the two encoders and their projection heads under fixed names
(``video_encoder``, ``audio_encoder``, ``video_head``, ``audio_head``; the export writes one
safetensors file per name). The objective (Eq. 1) consumes ``{"z_video", "z_audio"}``.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..config import ModelConfig
from .heads import ProjectionHead
from .registry import create_model

__all__ = ["AVModel", "build_av_model"]


class AVModel(nn.Module):
    """Video encoder f + audio encoder g, each followed by a :class:`ProjectionHead` to d dims.

    ``forward(video (B,3,T,H,W), audio (B,1,P,Q))`` → ``{"z_video": (B,d), "z_audio": (B,d)}``.
    The heads take the encoders' last feature maps (before pooling), as in the paper.
    """

    def __init__(
        self,
        video_encoder: nn.Module,
        audio_encoder: nn.Module,
        embed_dim: int = 512,
        head_hidden: Optional[int] = None,
    ):
        super().__init__()
        for name, enc, modality in (("video", video_encoder, "video"), ("audio", audio_encoder, "audio")):
            spec = getattr(enc, "input_spec", None)
            if spec is None or spec.modality != modality:
                raise ValueError(
                    f"the {name} encoder {type(enc).__name__} is not a {modality} encoder "
                    f"(input_spec={spec}); check model.{name} in the config"
                )
        self.video_encoder = video_encoder
        self.audio_encoder = audio_encoder
        self.embed_dim = embed_dim
        self.video_head = ProjectionHead(video_encoder.num_features, embed_dim, head_hidden, dims=3)
        self.audio_head = ProjectionHead(audio_encoder.num_features, embed_dim, head_hidden, dims=2)

    def embed_video(self, video: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) → z_v (B, d)."""
        return self.video_head(self.video_encoder.forward_features(video))

    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 1, P, Q) → z_a (B, d)."""
        return self.audio_head(self.audio_encoder.forward_features(audio))

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"z_video": self.embed_video(video), "z_audio": self.embed_audio(audio)}

    def pooled(self, video: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled encoder features f(v) (B, C_v) and g(a) (B, C_a), without the heads: what the
        objectives with heads of their own (AVID, CMA, CrissCross) project. ``video`` is the
        float (B, 3, T, H, W) of ``video_to_float``; ``audio`` is cast to the encoder's dtype."""
        if video.dtype == torch.uint8:
            raise TypeError("video is uint8: convert it with binge.data.transforms.video_to_float first")
        dtype = next(self.audio_encoder.parameters()).dtype
        return self.video_encoder(video), self.audio_encoder(audio.to(dtype))

    def freeze_heads(self) -> "AVModel":
        """Switch off the gradients of the Eq. 1 projection heads (for objectives that train
        heads of their own): frozen, they are skipped by the optimiser and by DDP's gradient
        reduction, which would otherwise wait for them."""
        self.video_head.requires_grad_(False)
        self.audio_head.requires_grad_(False)
        return self


def build_av_model(model_cfg: ModelConfig) -> AVModel:
    """The AVModel of a config's ``model`` section (encoders from the registry, random init;
    ``model.video_kwargs`` / ``model.audio_kwargs`` go to their constructors).

    ``model_cfg.sync_batchnorm`` is applied by the trainer when it wraps the model in DDP.
    """
    return AVModel(
        create_model(model_cfg.video, **model_cfg.video_kwargs),
        create_model(model_cfg.audio, **model_cfg.audio_kwargs),
        embed_dim=model_cfg.embed_dim,
        head_hidden=model_cfg.head_hidden_dim,
    )
