"""Encoders, projection heads and the audio-visual model (paper §3, supplement §4).

>>> from binge.models import create_model, list_models, ProjectionHead, AVModel
>>> list_models("*tiny")
['r2plus1d_18_avid_tiny', 'r2plus1d_18_tiny', 'resnet18_audio_tiny']
"""

from . import audio, video  # noqa: F401  (registers the models)
from .av import AVModel, build_av_model
from .base import KINETICS_MEAN, KINETICS_STD, Encoder, InputSpec, init_weights
from .flops import count_macs
from .heads import ProjectionHead
from .registry import create_model, is_model, list_models, register_model

__all__ = [
    "AVModel",
    "build_av_model",
    "Encoder",
    "InputSpec",
    "KINETICS_MEAN",
    "KINETICS_STD",
    "init_weights",
    "count_macs",
    "ProjectionHead",
    "create_model",
    "is_model",
    "list_models",
    "register_model",
]
