"""The export writes the heads the objective trained, and `load_embedder` (what `binge
discrepancy` measures with) embeds through them, from an export folder or a checkpoint."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from binge.config import to_dict
from binge.models import build_av_model
from binge.objectives import build_objective
from binge.train.checkpoint import atomic_save
from binge.train.export import OBJECTIVE_HEADS, export_model, load_embedder, load_encoder


@pytest.mark.parametrize("name", ["avid", "crisscross", "nce"])
def test_objective_heads_round_trip(tmp_path, tiny_config, name):
    cfg = replace(tiny_config, objective=tiny_config.objective.replace(name=name))
    torch.manual_seed(0)
    model = build_av_model(cfg.model).eval()
    objective = build_objective(cfg, model, [6, 4]).eval()
    with torch.no_grad():  # heads that differ from any fresh initialisation
        for p in objective.parameters():
            p.add_(0.01 * torch.randn_like(p))
    g = torch.Generator().manual_seed(1)
    video, audio = torch.randn(3, 3, 4, 32, 32, generator=g), torch.randn(3, 1, 32, 24, generator=g)
    with torch.no_grad():
        ref_v, ref_a = objective.embed_video(model, video), objective.embed_audio(model, audio)
    if name == "avid":  # AVID's own space: its MLP head on pooled features, ℓ2-normalised
        with torch.no_grad():
            expect = F.normalize(objective.video_head(model.video_encoder(video)), dim=1)
        torch.testing.assert_close(ref_v, expect)
        assert ref_v.shape == (3, cfg.objective.avid.memory_dim)

    out = export_model(model, cfg, tmp_path / "export", objective)
    assert (out / OBJECTIVE_HEADS).is_file() == bool(objective.heads())
    atomic_save({"model": model.state_dict(), "objective": objective.state_dict(),
                 "config": to_dict(cfg)}, tmp_path / "last.pt")
    for source in (out, tmp_path / "last.pt"):
        embedder = load_embedder(source)
        with torch.no_grad():
            torch.testing.assert_close(embedder.embed_video(video), ref_v, rtol=0, atol=0)
            torch.testing.assert_close(embedder.embed_audio(audio), ref_a, rtol=0, atol=0)
    with torch.no_grad():
        torch.testing.assert_close(load_encoder(out, "video")(video), model.video_encoder(video))

    if objective.heads():  # an export written before the objective's heads were: a clear error
        (out / OBJECTIVE_HEADS).unlink()
        with pytest.raises(ValueError, match="checkpoints/last.pt"):
            load_embedder(out)
