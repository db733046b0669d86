"""Export → load_pretrained / load_encoder give back the same functions (safetensors + JSON).
The export holds the encoders (the model); heads are the objective's (tests/objectives/test_export_heads.py)."""

from __future__ import annotations

import json

import pytest
import torch

from binge.config import to_dict
from binge.models import build_av_model
from binge.train.checkpoint import atomic_save
from binge.train.export import PARTS, export_model, load_encoder, load_pretrained


@pytest.fixture(scope="module")
def trained(tiny_config):
    torch.manual_seed(0)
    model = build_av_model(tiny_config.model)
    model.train()
    model(torch.randn(4, 3, 16, 32, 32), torch.randn(4, 1, 64, 40))  # moves BN running stats
    return model.eval()


def _inputs():
    g = torch.Generator().manual_seed(1)
    return torch.randn(2, 3, 16, 32, 32, generator=g), torch.randn(2, 1, 64, 40, generator=g)


def test_export_round_trip(tmp_path, trained, tiny_config):
    out = export_model(trained, tiny_config, tmp_path / "export")
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{p}.safetensors" for p in PARTS] + ["config.json"])
    meta = json.loads((out / "config.json").read_text())
    assert meta["video"]["name"] == tiny_config.model.video
    v, a = _inputs()
    loaded = load_pretrained(out)
    assert not loaded.training
    with torch.no_grad():
        ref, got = trained(v, a), loaded(v, a)
    for key in ("video", "audio"):  # the encoders' last feature maps
        torch.testing.assert_close(got[key], ref[key], rtol=0, atol=0)
    video = load_encoder(out, "video")
    audio = load_encoder(out, "audio")
    with torch.no_grad():
        torch.testing.assert_close(video(v), trained.video_encoder(v), rtol=0, atol=0)
        torch.testing.assert_close(audio(a), trained.audio_encoder(a), rtol=0, atol=0)


def test_load_from_checkpoint(tmp_path, trained, tiny_config):
    atomic_save({"model": trained.state_dict(), "config": to_dict(tiny_config)}, tmp_path / "last.pt")
    v, a = _inputs()
    enc = load_encoder(tmp_path / "last.pt", "audio")
    with torch.no_grad():
        torch.testing.assert_close(enc(a), trained.audio_encoder(a), rtol=0, atol=0)


def test_bad_inputs_name_the_problem(tmp_path, trained, tiny_config):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_pretrained(tmp_path)
    out = export_model(trained, tiny_config, tmp_path / "export")
    (out / "audio_encoder.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="audio_encoder.safetensors"):
        load_pretrained(out)
    with pytest.raises(ValueError, match="modality"):
        load_encoder(out, "text")
