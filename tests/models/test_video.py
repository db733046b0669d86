"""R(2+1)D-18 encoders: parameter counts, torchvision parity, reference output shapes, init."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

from binge.models import create_model
from binge.models.video import midplanes


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_of_full_size_encoders():
    # /work/shared/reference-figures.md "Parameter counts"
    assert n_params(create_model("r2plus1d_18")) == 31_300_125
    assert n_params(create_model("r2plus1d_18_avid")) == 15_379_136


def test_midplanes_formula_matches_torchvision():
    tv = torchvision.models.video.r2plus1d_18()
    for planes, layer in zip((64, 128, 256, 512), (tv.layer1, tv.layer2, tv.layer3, tv.layer4)):
        first = layer[0].conv1[0][0]  # Conv2Plus1D's spatial conv
        assert first.out_channels == midplanes(first.in_channels, planes)


def _randomize_bn(model: torch.nn.Module, seed: int) -> None:
    """Non-trivial BN running statistics and affine parameters."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)


@pytest.mark.parametrize("train", [False, True])
def test_r2plus1d_18_equals_torchvision_with_its_weights(train):
    torch.manual_seed(0)
    tv = torchvision.models.video.r2plus1d_18()  # random init: no downloads
    _randomize_bn(tv, seed=1)
    ours = create_model("r2plus1d_18")
    state = {k: v for k, v in tv.state_dict().items() if not k.startswith("fc.")}
    ours.load_state_dict(state, strict=True)  # same key names, only fc.* dropped
    tv.train(train)
    ours.train(train)

    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        ref_feats = tv.layer4(tv.layer3(tv.layer2(tv.layer1(tv.stem(x)))))
        ref_logits = tv(x)
        feats = ours.forward_features(x)
        logits = tv.fc(ours(x))
    assert feats.shape == ref_feats.shape == (2, 512, 1, 2, 2)
    torch.testing.assert_close(feats, ref_feats, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits, ref_logits, rtol=1e-5, atol=1e-5)


def test_r2plus1d_18_last_map_on_8x112():
    # reference-figures: torchvision R(2+1)D-18 on 8×112² → (512, 1, 7, 7), no stem max-pool
    model = create_model("r2plus1d_18").to("meta")
    out = model.forward_features(torch.empty(1, 3, 8, 112, 112, device="meta"))
    assert tuple(out.shape) == (1, 512, 1, 7, 7)


def test_avid_stage_shapes_match_reference():
    # reference-figures "Output shapes": conv1/conv2x … conv5x of AVID R(2+1)D-18 on 8×224²
    model = create_model("r2plus1d_18_avid").to("meta")
    x = model.stem(torch.empty(1, 3, 8, 224, 224, device="meta"))
    assert tuple(x.shape[1:]) == (64, 8, 56, 56)
    expected = [(64, 8, 56, 56), (128, 4, 28, 28), (256, 2, 14, 14), (512, 1, 7, 7)]
    for layer, shape in zip((model.layer1, model.layer2, model.layer3, model.layer4), expected):
        x = layer(x)
        assert tuple(x.shape[1:]) == shape
    out = model.forward_features(torch.empty(1, 3, 32, 224, 224, device="meta"))
    assert tuple(out.shape[1:]) == (512, 4, 7, 7)


def test_avid_block_structure():
    """No mid-plane expansion, 1×1×1 residual without BN, one BN after the sum."""
    model = create_model("r2plus1d_18_avid")
    block = model.layer2[0]
    spatial, temporal = block.conv1[0][0], block.conv1[0][3]
    assert spatial.out_channels == 128 == temporal.in_channels  # mid = out
    assert isinstance(block.residual, torch.nn.Conv3d) and block.residual.kernel_size == (1, 1, 1)
    assert block.residual.stride == (2, 2, 2) and block.residual.bias is None
    assert model.layer1[0].residual is None
    # relu(BN(F(x) + R(x))) written out with the block's own modules
    block.eval()
    x = torch.randn(1, 64, 4, 8, 8)
    with torch.no_grad():
        ref = torch.relu(block.bn_out(block.conv2(block.conv1(x)) + block.residual(x)))
        torch.testing.assert_close(block(x), ref)


@pytest.mark.parametrize("name", ["r2plus1d_18_tiny", "r2plus1d_18_avid_tiny"])
def test_tiny_video_on_tiny_config_clip(name):
    model = create_model(name)
    assert model.num_features == 128 and model.input_spec.shape == (3, 16, 56, 56)
    x = torch.randn(2, 3, 16, 56, 56, requires_grad=True)
    out = model(x)
    assert out.shape == (2, 128) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_conv_init_is_kaiming_fan_out():
    """torchvision's init: N(0, 2 / fan_out) with fan_out = out_channels × kernel volume."""
    conv = create_model("r2plus1d_18").layer4[1].conv2[0][0]  # 1×3×3, 512 → 1152 (5.3 M weights)
    fan_out = conv.out_channels * math.prod(conv.kernel_size)
    std = conv.weight.std().item()
    assert abs(std - math.sqrt(2.0 / fan_out)) < 0.02 * math.sqrt(2.0 / fan_out)
