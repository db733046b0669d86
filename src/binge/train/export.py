"""Export of pretrained encoders and heads, and the one-call API to load them back.

``export_model(model, cfg, out_dir)`` writes, atomically, into ``out_dir``::

    video_encoder.safetensors  audio_encoder.safetensors   f and g (paper §3)
    video_head.safetensors     audio_head.safetensors      h_f and h_g (discarded downstream)
    config.json                                             the run's full config + model names

Downstream code calls :func:`load_pretrained` (the whole :class:`~binge.models.AVModel`) or
:func:`load_encoder` (one encoder). Both accept an export folder or a training checkpoint
(``checkpoints/last.pt``), and read only safetensors / ``weights_only`` checkpoints.

>>> from binge.train.export import load_encoder  # doctest: +SKIP
>>> video = load_encoder("runs/tiny/export", "video")  # doctest: +SKIP
>>> feats = video(clips)  # (B, C) globally pooled  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from binge.config import Config, from_dict, to_dict
from binge.io import atomic_path, write_json

__all__ = ["export_model", "load_pretrained", "load_encoder", "PARTS"]

#: attribute of AVModel → file stem in the export folder.
PARTS = ("video_encoder", "audio_encoder", "video_head", "audio_head")


def _state_for_safetensors(module: nn.Module) -> dict[str, torch.Tensor]:
    # safetensors refuses shared storage; clone to contiguous CPU tensors.
    return {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}


def export_model(model: nn.Module, cfg: Config, out_dir: str | Path) -> Path:
    """Write the encoders, heads and ``config.json`` of an AVModel into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        module = getattr(model, part)
        with atomic_path(out / f"{part}.safetensors") as tmp:
            save_file(_state_for_safetensors(module), str(tmp))
    meta: dict[str, Any] = {
        "format": "binge-export-1",
        "video": {
            "name": getattr(model.video_encoder, "model_name", cfg.model.video),
            "kwargs": getattr(model.video_encoder, "model_kwargs", {}),
        },
        "audio": {
            "name": getattr(model.audio_encoder, "model_name", cfg.model.audio),
            "kwargs": getattr(model.audio_encoder, "model_kwargs", {}),
        },
        "embed_dim": cfg.model.embed_dim,
        "config": to_dict(cfg),
    }
    write_json(meta, out / "config.json")
    return out


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} is not a binge export (no config.json); pass the export/ folder written "
            "by `binge pretrain` or a checkpoint .pt file"
        )
    return json.loads(path.read_text())


def _load_part(module: nn.Module, file: Path) -> None:
    if not file.is_file():
        raise FileNotFoundError(f"{file} is missing from the export folder; re-run the export")
    missing, unexpected = module.load_state_dict(load_file(str(file)), strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{file} does not fit the model in config.json (missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}); the export folder is inconsistent"
        )


def load_pretrained(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """The pretrained :class:`~binge.models.AVModel` from an export folder or a checkpoint, in eval mode."""
    from binge.models import build_av_model

    path = Path(path)
    if path.is_dir():
        meta = _read_meta(path)
        cfg = from_dict(Config, meta["config"], f"{path / 'config.json'}:config")
        model = build_av_model(cfg.model)
        for part in PARTS:
            _load_part(getattr(model, part), path / f"{part}.safetensors")
    else:
        from binge.train.checkpoint import load_checkpoint

        state = load_checkpoint(path)
        if "model" not in state or "config" not in state:
            raise ValueError(f"{path} has no model/config entries; pass a binge pretrain checkpoint")
        cfg = from_dict(Config, state["config"], f"{path}:config")
        model = build_av_model(cfg.model)
        model.load_state_dict(state["model"])
    return model.to(map_location).eval()


def load_encoder(
    path: str | Path,
    modality: Literal["video", "audio"],
    map_location: str | torch.device = "cpu",
) -> nn.Module:
    """One pretrained encoder (f for ``"video"``, g for ``"audio"``), without its head, in eval mode."""
    if modality not in ("video", "audio"):
        raise ValueError(f"modality must be 'video' or 'audio', got {modality!r}")
    path = Path(path)
    if not path.is_dir():
        return getattr(load_pretrained(path, map_location), f"{modality}_encoder")
    from binge.models import create_model

    meta = _read_meta(path)
    encoder = create_model(meta[modality]["name"], **meta[modality]["kwargs"])
    _load_part(encoder, path / f"{modality}_encoder.safetensors")
    return encoder.to(map_location).eval()
