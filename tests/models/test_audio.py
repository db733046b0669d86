"""ResNet-18 audio encoder: parameter count, torchvision parity, reference shapes."""

from __future__ import annotations

import pytest
import torch
import torchvision

from binge.models import create_model


def test_parameter_count():
    # reference-figures: ResNet-18 with a 1-channel stem, without classifier
    assert sum(p.numel() for p in create_model("resnet18_audio").parameters()) == 11_170_240


@pytest.mark.parametrize("train", [False, True])
def test_equals_torchvision_resnet18_with_one_channel_stem(train):
    torch.manual_seed(0)
    tv = torchvision.models.resnet18()
    tv.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    for m in tv.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    ours = create_model("resnet18_audio")
    ours.load_state_dict({k: v for k, v in tv.state_dict().items() if not k.startswith("fc.")})
    tv.train(train)
    ours.train(train)
    x = torch.randn(2, 1, 64, 100)
    with torch.no_grad():
        stem = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
        ref = tv.layer4(tv.layer3(tv.layer2(tv.layer1(stem))))
        ref_logits = tv(x)
        torch.testing.assert_close(ours.forward_features(x), ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(tv.fc(ours(x)), ref_logits, rtol=1e-5, atol=1e-5)


def test_stage_shapes_on_80x201():
    # reference-figures: (64, 20, 51), (128, 10, 26), (256, 5, 13), (512, 3, 7)
    model = create_model("resnet18_audio").to("meta")
    x = model.maxpool(model.relu(model.bn1(model.conv1(torch.empty(1, 1, 80, 201, device="meta")))))
    expected = [(64, 20, 51), (128, 10, 26), (256, 5, 13), (512, 3, 7)]
    for layer, shape in zip((model.layer1, model.layer2, model.layer3, model.layer4), expected):
        x = layer(x)
        assert tuple(x.shape[1:]) == shape


def test_tiny_audio_on_tiny_config_logmel():
    model = create_model("resnet18_audio_tiny")
    assert model.input_spec.shape == (1, 64, 200)
    feats = model.forward_features(torch.randn(3, 1, 64, 200))
    assert feats.shape == (3, 128, 2, 7)
