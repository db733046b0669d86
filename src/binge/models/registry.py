"""A timm-style model registry: ``@register_model`` on a constructor, ``create_model(name)``.

>>> from binge.models import create_model, list_models
>>> "r2plus1d_18" in list_models()
True
>>> create_model("resnet18_audio_tiny").num_features
128
"""

from __future__ import annotations

import fnmatch
from typing import Callable, TypeVar

from torch import nn

__all__ = ["register_model", "create_model", "list_models", "is_model"]

_MODELS: dict[str, Callable[..., nn.Module]] = {}

F = TypeVar("F", bound=Callable[..., nn.Module])


def register_model(fn: F) -> F:
    """Register a model constructor under its function name (a duplicate name is an error)."""
    name = fn.__name__
    if name in _MODELS:
        raise ValueError(f"a model named {name!r} is already registered")
    _MODELS[name] = fn
    return fn


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the registered models matching a shell-style ``pattern``."""
    return sorted(n for n in _MODELS if fnmatch.fnmatchcase(n, pattern))


def is_model(name: str) -> bool:
    """Whether ``name`` is a registered model."""
    return name in _MODELS


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name``; ``kwargs`` go to its constructor.

    The module gets ``model_name`` and ``model_kwargs`` attributes so that an exported
    encoder can be rebuilt with the same call. No pretrained weights are downloaded.
    """
    if name not in _MODELS:
        raise KeyError(
            f"unknown model {name!r}; registered models are {list_models()} "
            "(set model.video / model.audio in the config to one of them)"
        )
    model = _MODELS[name](**kwargs)
    model.model_name = name
    model.model_kwargs = dict(kwargs)
    return model
