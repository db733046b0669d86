"""The timm-style registry: names, errors, kwargs, determinism."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from binge.models import create_model, is_model, list_models, register_model
from binge.models.base import Encoder

ENCODERS = [
    "r2plus1d_18",
    "r2plus1d_18_avid",
    "r2plus1d_18_avid_tiny",
    "r2plus1d_18_tiny",
    "resnet18_audio",
    "resnet18_audio_tiny",
]


def test_list_models_holds_every_encoder():
    assert set(ENCODERS) <= set(list_models())
    assert list_models("*tiny") == ["r2plus1d_18_avid_tiny", "r2plus1d_18_tiny", "resnet18_audio_tiny"]
    assert is_model("r2plus1d_18") and not is_model("resnet50")


def test_unknown_model_error_names_it_and_the_choices():
    with pytest.raises(KeyError, match="resnet50.*r2plus1d_18"):
        create_model("resnet50")


def test_duplicate_registration_is_an_error():
    def r2plus1d_18() -> nn.Module:
        return nn.Identity()

    with pytest.raises(ValueError, match="already registered"):
        register_model(r2plus1d_18)


@pytest.mark.parametrize("name", [n for n in ENCODERS if n.endswith("tiny")])
def test_encoder_api(name):
    model = create_model(name)
    assert isinstance(model, Encoder)
    assert model.model_name == name and model.model_kwargs == {}
    spec = model.input_spec
    x = torch.randn(2, *spec.shape)
    model.eval()
    feats = model.forward_features(x)
    assert feats.ndim == 2 + spec.feature_dims and feats.shape[:2] == (2, model.num_features)
    pooled = model(x)
    torch.testing.assert_close(pooled, feats.mean(dim=tuple(range(2, feats.ndim))))
    if spec.modality == "video":
        assert spec.channels == 3 and spec.mean is not None and len(spec.std) == 3
    else:
        assert spec.channels == 1 and spec.mel_bins is not None


def test_kwargs_reach_the_constructor():
    model = create_model("resnet18_audio_tiny", widths=(8, 8, 16, 24))
    assert model.num_features == 24 and model.model_kwargs == {"widths": (8, 8, 16, 24)}


def test_same_seed_same_weights():
    torch.manual_seed(3)
    a = create_model("r2plus1d_18_avid_tiny").state_dict()
    torch.manual_seed(3)
    b = create_model("r2plus1d_18_avid_tiny").state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "name, shape", [("r2plus1d_18_tiny", (2, 16, 56, 56, 3)), ("resnet18_audio_tiny", (2, 64, 200))]
)
def test_wrong_layout_is_a_clear_error(name, shape):
    with pytest.raises(ValueError, match="expects"):
        create_model(name).forward_features(torch.randn(*shape))


def test_input_spec_validates_its_fields():
    from binge.models import InputSpec

    assert InputSpec("audio", 1, 301, mel_bins=96).shape == (1, 96, 301)
    assert InputSpec("video", 3, 16, size=158).feature_dims == 3
    with pytest.raises(ValueError, match="size"):
        InputSpec("video", 3, 16)
    with pytest.raises(ValueError, match="mel_bins"):
        InputSpec("audio", 1, 200)
