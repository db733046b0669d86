"""The encoder under evaluation and the classifier built on it.

``--checkpoint PATH`` loads a pretrained encoder with ``binge.train.export.load_encoder``
(an export folder or a pretraining checkpoint); ``--random-init NAME`` builds
``binge.models.create_model(NAME)`` with its initialisation: the floor every table needs.
For fine-tuning a linear layer is added on the pooled last feature map (paper §3: "we discard
the projection heads and fine-tune f and g").
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn

from binge.config import Config, ConfigError, DataConfig, from_dict
from binge.evaluation.pooling import pool_features

__all__ = ["load_eval_encoder", "pretraining_data_config", "Classifier", "model_modality",
           "check_random_init"]


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def model_modality(name: str) -> Optional[str]:
    """``input_spec.modality`` ("video" / "audio") of the registered model ``name``, read from
    an instance built on the meta device (no memory, no initialisation cost); None when the
    model declares no input_spec. Raises KeyError for an unregistered name."""
    from binge.models import create_model

    with torch.device("meta"):
        spec = getattr(create_model(name), "input_spec", None)
    return None if spec is None else spec.modality


def check_random_init(name: str, modality: str, dataset: str) -> None:
    """Refuse ``--random-init name`` for a dataset of the other modality before any data is
    read: a :class:`ConfigError` naming the flag and the registered models that fit."""
    from binge.models import list_models

    got = model_modality(name)
    if got == modality:
        return
    fits = [n for n in list_models() if model_modality(n) == modality]
    what = f"{_article(got)} {got} encoder" if got else "a model without an input_spec"
    raise ConfigError(f"--random-init {name} is {what}, but {dataset} needs {_article(modality)} "
                      f"{modality} encoder: pass --random-init with one of {fits}")


def load_eval_encoder(
    modality: str, checkpoint: Optional[str] = None, random_init: Optional[str] = None
) -> nn.Module:
    """Exactly one of ``checkpoint`` / ``random_init``; the encoder's modality must match."""
    if (checkpoint is None) == (random_init is None):
        raise ValueError("pass exactly one of --checkpoint PATH or --random-init MODEL_NAME")
    if checkpoint is not None:
        from binge.train.export import load_encoder

        encoder = load_encoder(checkpoint, modality)  # type: ignore[arg-type]
    else:
        from binge.models import create_model

        encoder = create_model(str(random_init))
    spec = getattr(encoder, "input_spec", None)
    if spec is None or spec.modality != modality:
        got = None if spec is None else spec.modality
        flag = f"--checkpoint {checkpoint}" if checkpoint is not None else f"--random-init {random_init}"
        raise ConfigError(f"this dataset needs {_article(modality)} {modality} encoder; {flag} gives "
                          f"{_article(str(got))} {got} encoder (pick a model of the right modality)")
    return encoder


def pretraining_data_config(checkpoint: Optional[str]) -> Optional[DataConfig]:
    """The ``data`` section a pretrained encoder was trained with (its log-mel settings),
    read from the export folder's ``config.json`` or the checkpoint; None for random init."""
    if checkpoint is None:
        return None
    path = Path(checkpoint)
    if path.is_dir():
        from binge.train.export import read_export_meta

        raw = read_export_meta(path)["config"]
    else:
        from binge.train.checkpoint import load_checkpoint

        raw = load_checkpoint(path).get("config", {})
    return from_dict(Config, raw, f"{path}:config").data


class Classifier(nn.Module):
    """encoder → ``forward_features`` → global ``pooling`` → dropout → linear: (B, classes)."""

    def __init__(self, encoder: nn.Module, num_classes: int, pooling: str = "avg", dropout: float = 0.0):
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(int(encoder.num_features), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(pool_features(self.encoder.forward_features(x), self.pooling)))
