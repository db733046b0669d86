"""Exports and checkpoints written while ``AVModel`` held Eq. 1's heads still load.

Before the heads moved to the objective (binge-export-1/2), the export folder held
``video_head.safetensors`` / ``audio_head.safetensors`` beside the encoders (keys of a bare
``ProjectionHead``: ``conv1.weight``, ``bn.*``, ``conv2.*``), for every objective (frozen at
initialisation for AVID / CMA / CrissCross), and a checkpoint's ``model`` state held
``video_head.*`` / ``audio_head.*``. The old layout is written here file by file, as the old
``export_model`` did, and the expected outputs are computed with the plain modules
(``ProjectionHead`` on the encoder's last feature map), not with the loaders under test.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from binge.config import to_dict
from binge.models import ProjectionHead, build_av_model
from binge.train.checkpoint import atomic_save
from binge.train.export import load_embedder, load_encoder, load_pretrained


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}


def _old_model(cfg):
    """The encoders and two ProjectionHeads as the old AVModel built them, with BN statistics
    and weights away from a fresh initialisation."""
    torch.manual_seed(3)
    model = build_av_model(cfg.model)
    m = cfg.model
    heads = {"video_head": ProjectionHead(model.video_encoder.num_features, m.embed_dim, m.head_hidden_dim, dims=3),
             "audio_head": ProjectionHead(model.audio_encoder.num_features, m.embed_dim, m.head_hidden_dim, dims=2)}
    with torch.no_grad():
        for module in [model, *heads.values()]:
            for p in module.parameters():
                p.add_(0.02 * torch.randn_like(p))
            for b in module.modules():
                if isinstance(b, nn.modules.batchnorm._BatchNorm):
                    b.running_mean.uniform_(-0.1, 0.1)
                    b.running_var.uniform_(0.5, 1.5)
    return model.eval(), {k: h.eval() for k, h in heads.items()}


def _write_old_export(out: Path, cfg, model, heads, fmt: str, objective_heads=None) -> Path:
    out.mkdir(parents=True)
    for part in ("video_encoder", "audio_encoder"):
        save_file(_state(getattr(model, part)), str(out / f"{part}.safetensors"))
    for part, head in heads.items():
        save_file(_state(head), str(out / f"{part}.safetensors"))
    if objective_heads is not None:
        save_file({f"{n}.{k}": v for n, h in objective_heads.items() for k, v in _state(h).items()},
                  str(out / "objective_heads.safetensors"))
    meta = {"format": fmt, "video": {"name": cfg.model.video, "kwargs": {}},
            "audio": {"name": cfg.model.audio, "kwargs": {}}, "embed_dim": cfg.model.embed_dim,
            "config": to_dict(cfg)}
    if objective_heads is not None:
        meta["objective_heads"] = sorted(objective_heads)
    (out / "config.json").write_text(json.dumps(meta))
    return out


def _inputs():
    g = torch.Generator().manual_seed(1)
    return torch.randn(2, 3, 16, 32, 32, generator=g), torch.randn(2, 1, 64, 40, generator=g)


@pytest.mark.parametrize("fmt", ["binge-export-1", "binge-export-2"])
@pytest.mark.parametrize("name", ["nce", "infonce"])
def test_old_nce_export_loads_with_identical_outputs(tmp_path, tiny_config, fmt, name):
    cfg = replace(tiny_config, objective=tiny_config.objective.replace(name=name))
    model, heads = _old_model(cfg)
    out = _write_old_export(tmp_path / "export", cfg, model, heads, fmt)
    ckpt = tmp_path / "last.pt"
    old_model_state = {**{f"video_encoder.{k}": v for k, v in _state(model.video_encoder).items()},
                       **{f"audio_encoder.{k}": v for k, v in _state(model.audio_encoder).items()},
                       **{f"{n}.{k}": v for n, h in heads.items() for k, v in _state(h).items()}}
    atomic_save({"model": old_model_state, "objective": {}, "config": to_dict(cfg)}, ckpt)
    v, a = _inputs()
    with torch.no_grad():
        fv, fa = model.video_encoder.forward_features(v), model.audio_encoder.forward_features(a)
        want_zv, want_za = heads["video_head"](fv), heads["audio_head"](fa)
        want_pv, want_pa = model.video_encoder(v), model.audio_encoder(a)
        for source in (out, ckpt):
            assert torch.equal(load_encoder(source, "video")(v), want_pv)
            assert torch.equal(load_encoder(source, "audio")(a), want_pa)
            loaded = load_pretrained(source)
            assert torch.equal(loaded(v, a)["video"], fv) and torch.equal(loaded(v, a)["audio"], fa)
            embedder = load_embedder(source)
            assert torch.equal(embedder.embed_video(v), want_zv), source
            assert torch.equal(embedder.embed_audio(a), want_za), source


def test_old_avid_export_uses_its_own_heads_not_the_frozen_eq1_ones(tmp_path, tiny_config):
    """binge-export-2 of an AVID run: objective_heads.safetensors (AVID's MLPs) beside the
    frozen Eq. 1 head files, which are ignored; binge-export-1 (no AVID heads) stays an error."""
    from binge.objectives import build_objective

    cfg = replace(tiny_config, objective=tiny_config.objective.replace(name="avid"))
    model, heads = _old_model(cfg)
    avid = build_objective(cfg, model, [6, 4]).eval()
    with torch.no_grad():
        for p in avid.parameters():
            p.add_(0.02 * torch.randn_like(p))
    out = _write_old_export(tmp_path / "two", cfg, model, heads, "binge-export-2",
                            objective_heads=avid.heads())
    v, a = _inputs()
    with torch.no_grad():
        want = nn.functional.normalize(avid.video_head(model.video_encoder(v)), dim=1)
        assert torch.equal(load_embedder(out).embed_video(v), want)
        assert torch.equal(load_encoder(out, "audio")(a), model.audio_encoder(a))
    one = _write_old_export(tmp_path / "one", cfg, model, heads, "binge-export-1")
    with pytest.raises(ValueError, match="objective_heads.safetensors"):
        load_embedder(one)
