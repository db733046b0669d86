"""AVModel and build_av_model on the tiny config."""

from __future__ import annotations

import pytest
import torch

from binge.config import ModelConfig
from binge.models import AVModel, ProjectionHead, build_av_model, create_model


def test_build_av_model_from_tiny_config(tiny_config):
    torch.manual_seed(0)
    model = build_av_model(tiny_config.model)
    assert model.video_encoder.model_name == "r2plus1d_18_tiny"
    assert model.audio_encoder.model_name == "resnet18_audio_tiny"
    video = torch.randn(3, 3, 16, 56, 56)
    audio = torch.randn(3, 1, 64, 200)
    out = model(video, audio)
    assert set(out) == {"z_video", "z_audio"}
    assert out["z_video"].shape == out["z_audio"].shape == (3, tiny_config.model.embed_dim)
    # z = h(f(x)): the heads see the last feature map, before pooling
    model.eval()
    with torch.no_grad():
        ref = model.video_head(model.video_encoder.forward_features(video))
        torch.testing.assert_close(model.embed_video(video), ref)
        ref = model.audio_head(model.audio_encoder.forward_features(audio))
        torch.testing.assert_close(model.embed_audio(audio), ref)


def test_every_parameter_gets_a_gradient():
    model = AVModel(create_model("r2plus1d_18_avid_tiny"), create_model("resnet18_audio_tiny"), 32, head_hidden=48)
    assert isinstance(model.video_head, ProjectionHead) and model.video_head.hidden == 48
    out = model(torch.randn(2, 3, 8, 32, 32), torch.randn(2, 1, 32, 64))
    (out["z_video"] * out["z_audio"]).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_head_hidden_defaults_to_num_features():
    model = build_av_model(ModelConfig(video="r2plus1d_18_tiny", audio="resnet18_audio_tiny", embed_dim=16))
    assert model.video_head.hidden == model.video_encoder.num_features == 128
    assert model.audio_head.conv2.out_channels == 16


def test_swapped_modalities_are_an_error():
    with pytest.raises(ValueError, match="model.video"):
        build_av_model(ModelConfig(video="resnet18_audio_tiny", audio="resnet18_audio_tiny"))
