"""Starting weights for an encoder: ``model.video_init`` / ``model.audio_init``.

The file is a ``state_dict`` of the encoder, in any of these forms:

- torchvision's key names: ``torchvision.models.video.r2plus1d_18().state_dict()`` for
  ``r2plus1d_18`` (``stem.*``, ``layer1..4.*``) or ``torchvision.models.resnet18()`` with a
  one-channel ``conv1`` for ``resnet18_audio``; the classifier ``fc.*`` is not part of an encoder
  and is ignored (and reported);
- a binge export: the folder written by ``binge pretrain`` (``export/``; its
  ``<modality>_encoder.safetensors`` is read) or one of its ``*_encoder.safetensors`` files;
- a binge pretraining checkpoint (``checkpoints/last.pt``: its ``model`` entry, keys
  ``video_encoder.*`` / ``audio_encoder.*``), or any ``.pt``/``.pth`` whose keys carry a
  ``module.`` (DDP) prefix.

``.pt`` files are read with ``torch.load(weights_only=True)`` (no unpickling of code);
``.safetensors`` with safetensors. The check is strict: every tensor of the encoder must be in
the file with the same shape (``InitWeightsError`` lists the missing, unexpected and mis-shaped
keys and says what the file looks like), so a file for another model never half-loads.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn

from binge.config import ConfigError

__all__ = ["InitReport", "InitWeightsError", "apply_model_init", "load_init_weights", "read_state_dict"]

log = logging.getLogger(__name__)

#: keys of a file that are not part of an encoder and are dropped (the classifier of torchvision).
IGNORED_PREFIXES = ("fc.",)


class InitWeightsError(ConfigError):
    """A starting-weights file that does not fit the encoder (names the file, the keys, the fix)."""


@dataclass
class InitReport:
    """What :func:`load_init_weights` loaded: tensors matched, and the file's keys it ignored."""

    path: str
    modality: str
    loaded: int
    ignored: list[str] = field(default_factory=list)

    def summary(self) -> str:
        extra = f"; ignored {len(self.ignored)} classifier tensor(s) {self.ignored}" if self.ignored else ""
        return f"{self.modality} encoder: loaded {self.loaded} tensors from {self.path} (all of them){extra}"


def _strip(state: dict[str, torch.Tensor], modality: str) -> dict[str, torch.Tensor]:
    """Drop a ``module.`` (DDP) prefix; keep only ``<modality>_encoder.*`` of an AVModel state."""
    state = {k.removeprefix("module."): v for k, v in state.items()}
    prefix = f"{modality}_encoder."
    if any(k.startswith(prefix) for k in state):
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return state


def read_state_dict(path: str | Path, modality: str) -> dict[str, torch.Tensor]:
    """The tensors of ``path`` for the ``modality`` encoder (see the module doc for the forms)."""
    path = Path(path)
    if path.is_dir():
        path = path / f"{modality}_encoder.safetensors"
        if not path.is_file():
            raise InitWeightsError(f"model.{modality}_init: {path} does not exist; pass a binge export "
                                   "folder or a state_dict file (.safetensors, .pt, .pth)")
    if not path.is_file():
        raise InitWeightsError(f"model.{modality}_init: {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
            raise InitWeightsError(f"model.{modality}_init: {path} is not a weights-only torch "
                                   f"file ({type(err).__name__}); save a plain state_dict") from err
        for key in ("model", "state_dict"):  # a binge checkpoint, or a common wrapper
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InitWeightsError(f"model.{modality}_init: {path} does not hold a state_dict of tensors")
    return _strip(dict(state), modality)


def load_init_weights(encoder: nn.Module, path: str | Path, modality: str) -> InitReport:
    """Load ``path`` into ``encoder`` after checking key coverage and shapes; returns the report.

    Raises:
        InitWeightsError: the file misses some of the encoder's tensors, holds tensors the encoder
            does not have (other than a classifier ``fc.*``), or a tensor's shape differs.
    """
    state = read_state_dict(path, modality)
    ignored = sorted(k for k in state if k.startswith(IGNORED_PREFIXES))
    state = {k: v for k, v in state.items() if k not in ignored}
    own = encoder.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in sorted(set(own) & set(state))
              if state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        name = type(encoder).__name__
        parts = [f"{len(own) - len(missing)} of the {name}'s {len(own)} tensors found"]
        if missing:
            parts.append(f"missing {len(missing)}: {missing[:4]}")
        if unexpected:
            parts.append(f"not in the model {len(unexpected)}: {unexpected[:4]}")
        if shapes:
            parts.append(f"shape differs for {len(shapes)} (file vs model): {shapes[:3]}")
        raise InitWeightsError(f"model.{modality}_init: {path} does not fit the {modality} encoder "
                               f"({'; '.join(parts)}); check model.{modality} names the architecture "
                               "the weights were trained for")
    encoder.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)
    return InitReport(str(path), modality, len(state), ignored)


def apply_model_init(model: nn.Module, model_cfg) -> list[InitReport]:
    """Load ``model_cfg.video_init`` / ``audio_init`` (when set) into an ``AVModel``'s encoders."""
    reports = []
    for modality in ("video", "audio"):
        path: Optional[str] = getattr(model_cfg, f"{modality}_init", None)
        if path:
            report = load_init_weights(getattr(model, f"{modality}_encoder"), path, modality)
            log.info("%s", report.summary())
            reports.append(report)
    return reports
