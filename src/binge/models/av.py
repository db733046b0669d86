"""The audio-visual model of paper §3: the two encoders f (video) and g (audio).

``AVModel`` holds only the encoders, under fixed names (``video_encoder``, ``audio_encoder``;
the export writes one safetensors file per name). The heads that map their features to a
training space — Eq. 1's projection heads h_f, h_g (:class:`~binge.models.ProjectionHead`),
AVID's MLPs, CrissCross's projectors — belong to the objective that trains them
(``binge.objectives``), which also says how to embed (``Objective.embed_video``).

Exports and checkpoints written before the heads moved hold ``video_head`` / ``audio_head``
in the model; :func:`split_legacy_heads` separates them (``binge.train.export`` and the
trainer's resume hand them to the objective).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..config import ModelConfig
from .registry import create_model

__all__ = ["AVModel", "build_av_model", "split_legacy_heads", "LEGACY_HEADS"]

#: the names under which AVModel held Eq. 1's projection heads before they moved to the objective
LEGACY_HEADS = ("video_head", "audio_head")


class AVModel(nn.Module):
    """Video encoder f + audio encoder g (no heads).

    ``forward(video (B,3,T,H,W), audio (B,1,P,Q))`` → ``{"video": f's last feature map
    (B, C_v, T', H', W'), "audio": g's (B, C_a, F', T')}``, before pooling (what Eq. 1's heads
    take); :meth:`pooled` gives the globally pooled features.
    """

    def __init__(self, video_encoder: nn.Module, audio_encoder: nn.Module):
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

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"video": self.video_encoder.forward_features(video),
                "audio": self.audio_encoder.forward_features(audio)}

    def pooled(self, video: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled encoder features f(v) (B, C_v) and g(a) (B, C_a): what the objectives with
        MLP heads (AVID, CMA, CrissCross) project. ``video`` is the float (B, 3, T, H, W) of
        ``video_to_float``; ``audio`` is cast to the encoder's dtype."""
        if video.dtype == torch.uint8:
            raise TypeError("video is uint8: convert it with binge.data.transforms.video_to_float first")
        dtype = next(self.audio_encoder.parameters()).dtype
        return self.video_encoder(video), self.audio_encoder(audio.to(dtype))


def split_legacy_heads(state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An AVModel ``state_dict`` → (the encoders' entries, the legacy Eq. 1 head entries).

    Checkpoints written before the heads moved to the objective hold ``video_head.*`` and
    ``audio_head.*``; the second dict keeps those keys as they are (the NCE-family objectives
    hold their heads under the same names)."""
    heads = {k: v for k, v in state.items() if k.split(".", 1)[0] in LEGACY_HEADS}
    return {k: v for k, v in state.items() if k not in heads}, heads


def build_av_model(model_cfg: ModelConfig) -> AVModel:
    """The AVModel of a config's ``model`` section (encoders from the registry, random init;
    ``model.video_kwargs`` / ``model.audio_kwargs`` go to their constructors).

    ``model.embed_dim`` / ``model.head_hidden_dim`` size Eq. 1's heads, which the NCE-family
    objectives build (``binge.objectives.nce``). ``model_cfg.sync_batchnorm`` is applied by
    the trainer when it wraps the model in DDP.
    """
    return AVModel(
        create_model(model_cfg.video, **model_cfg.video_kwargs),
        create_model(model_cfg.audio, **model_cfg.audio_kwargs),
    )
