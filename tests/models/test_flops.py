"""MAC counts (FlopCounterMode on the meta device) against reference-figures and by hand."""

from __future__ import annotations

import pytest
import torch
import torchvision

from binge.models import count_macs, create_model


def test_single_conv_matches_hand_count():
    conv = torch.nn.Conv3d(4, 6, (3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))
    # output 6 × 4 × 5 × 5 positions, each 4·3 MACs
    assert count_macs(conv, (2, 4, 8, 5, 5)) == 2 * 6 * 4 * 5 * 5 * 4 * 3


@pytest.mark.parametrize(
    "name, shape, gmacs",
    [
        ("r2plus1d_18", (1, 3, 8, 112, 112), 20.26),
        ("r2plus1d_18_avid", (1, 3, 8, 224, 224), 12.13),
        ("r2plus1d_18_avid", (1, 3, 32, 224, 224), 48.5),
        ("resnet18_audio", (1, 1, 80, 201), 0.61),
    ],
)
def test_macs_match_reference_figures(name, shape, gmacs):
    macs = count_macs(create_model(name), shape) / 1e9
    assert macs == pytest.approx(gmacs, rel=0.005)


def test_r2plus1d_18_macs_equal_torchvision_without_fc():
    tv = torchvision.models.video.r2plus1d_18()
    shape = (1, 3, 8, 112, 112)
    assert count_macs(tv, shape) - 512 * 400 == count_macs(create_model("r2plus1d_18"), shape)
