"""AVModel and build_av_model on the tiny config."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from binge.config import ModelConfig
from binge.models import AVModel, ProjectionHead, build_av_model, create_model


def test_build_av_model_from_tiny_config(tiny_config):
    """The model is the two encoders: forward gives their last feature maps, pooled their means."""
    torch.manual_seed(0)
    model = build_av_model(tiny_config.model)
    assert model.video_encoder.model_name == "r2plus1d_18_tiny"
    assert model.audio_encoder.model_name == "resnet18_audio_tiny"
    assert {name.split(".")[0] for name, _ in model.named_parameters()} == {"video_encoder", "audio_encoder"}
    assert not hasattr(model, "video_head") and not hasattr(model, "audio_head")
    video = torch.randn(3, 3, 16, 56, 56)
    audio = torch.randn(3, 1, 64, 200)
    model.eval()
    with torch.no_grad():
        out = model(video, audio)
        assert set(out) == {"video", "audio"}
        assert out["video"].shape[:2] == (3, model.video_encoder.num_features) and out["video"].ndim == 5
        assert out["audio"].shape[:2] == (3, model.audio_encoder.num_features) and out["audio"].ndim == 4
        fv, fa = model.pooled(video, audio)
        torch.testing.assert_close(fv, out["video"].mean(dim=(2, 3, 4)))
        torch.testing.assert_close(fa, out["audio"].mean(dim=(2, 3)))


def test_nce_objective_holds_eq1_heads_and_every_parameter_gets_a_gradient(tiny_config):
    """Eq. 1's heads (ProjectionHead on the last feature maps, model.embed_dim and
    model.head_hidden_dim) belong to the NCE objective; one loss reaches every parameter."""
    from binge.objectives import build_objective

    cfg = ModelConfig(video="r2plus1d_18_avid_tiny", audio="resnet18_audio_tiny", embed_dim=32, head_hidden_dim=48)
    model = build_av_model(cfg)
    objective = build_objective(replace(tiny_config, model=cfg), model, [4])  # the fixture is shared
    assert isinstance(objective.video_head, ProjectionHead) and objective.video_head.hidden == 48
    assert objective.audio_head.conv2.out_channels == 32 and set(objective.heads()) == {"video_head", "audio_head"}
    video, audio = torch.randn(2, 3, 8, 32, 32), torch.randn(2, 1, 32, 64)
    objective(model, {"video": video, "audio": audio})["loss"].backward()
    missing = [n for n, p in [*model.named_parameters(), *objective.named_parameters()] if p.grad is None]
    assert not missing
    objective.eval(), model.eval()
    with torch.no_grad():  # z = h(f(x)): the heads see the last feature map, before pooling
        ref = objective.video_head(model.video_encoder.forward_features(video))
        torch.testing.assert_close(objective.embed_video(model, video), ref)
        ref = objective.audio_head(model.audio_encoder.forward_features(audio))
        torch.testing.assert_close(objective.embed_audio(model, audio), ref)


def test_head_hidden_defaults_to_num_features(tiny_config):
    from binge.objectives import build_objective

    cfg = replace(tiny_config, model=ModelConfig(video="r2plus1d_18_tiny", audio="resnet18_audio_tiny",
                                                 embed_dim=16))
    model = build_av_model(cfg.model)
    objective = build_objective(cfg, model, [2])
    assert objective.video_head.hidden == model.video_encoder.num_features == 128
    assert objective.audio_head.conv2.out_channels == 16


def test_swapped_modalities_are_an_error():
    with pytest.raises(ValueError, match="model.video"):
        build_av_model(ModelConfig(video="resnet18_audio_tiny", audio="resnet18_audio_tiny"))
