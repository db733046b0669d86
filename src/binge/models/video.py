"""R(2+1)D-18 video encoders f (paper §3 "Notations and Architecture"; Tran et al., CVPR 2018).

Two 18-layer variants share the (2+1)D convolution and the ResNet layout (a stem, then four
stages of two residual blocks with widths 64-128-256-512, stages 2–4 halving T, H and W):

``r2plus1d_18``
    Tran et al.'s network exactly as torchvision's ``r2plus1d_18`` without its classifier
    (31,300,125 parameters). Each 3×3×3 convolution is factorised into a 1×3×3 spatial and a
    3×1×1 temporal convolution with ``M = ⌊27·N_in·N_out / (9·N_in + 3·N_out)⌋`` intermediate
    channels (Tran et al. §3.5: the factorised pair has the parameters of the full 3D conv).
    Stem: 1×7×7 conv (3→45, stride 1×2×2) → BN → ReLU → 3×1×1 conv (45→64) → BN → ReLU; no
    max-pool. Residual: identity, or 1×1×1 conv + BN when the shape changes. Parameter names
    equal torchvision's (``stem.*``, ``layer1..4.*``), so a torchvision ``state_dict`` without
    ``fc.*`` loads as is.

``r2plus1d_18_avid``
    The variant of the AVID-CMA / CrissCross code (15,379,136 parameters): no mid-plane
    expansion (M = N_out), the 1×1×1 residual conv has no BN, and the block applies one BN to
    the sum, ``relu(BN(F(x) + R(x)))``. Stem (inferred, see docs/models.md): a full 3×7×7 conv
    (3→64, stride 1×2×2) → BN → ReLU → 1×3×3 max-pool (stride 1×2×2), i.e. spatial /4 and no
    temporal stride, which gives the reference shapes (64, 8, 56, 56) … (512, 1, 7, 7) on
    3×8×224² and, with the blocks above, exactly 15,379,136 parameters.

Tiny variants (``*_tiny``) keep each topology (stem, four stages, strides, block type) with
widths 16-32-64-128 and one block per stage, for CPU tests and the demo.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from .base import (KINETICS_MEAN, KINETICS_STD, Encoder, InputSpec, PlainConvEncoder,
                   add_residual_stages, init_weights)
from .registry import register_model

__all__ = [
    "midplanes",
    "Conv2Plus1d",
    "R2Plus1dBlock",
    "AvidR2Plus1dBlock",
    "VideoResNet",
    "r2plus1d_18",
    "r2plus1d_18_avid",
    "r2plus1d_18_tiny",
    "r2plus1d_18_avid_tiny",
]

PAPER_VIDEO = InputSpec("video", 3, 16, size=158, mean=KINETICS_MEAN, std=KINETICS_STD)
TINY_VIDEO = InputSpec("video", 3, 16, size=56, mean=KINETICS_MEAN, std=KINETICS_STD)
WIDTHS_18 = (64, 128, 256, 512)
WIDTHS_TINY = (16, 32, 64, 128)


def midplanes(in_planes: int, out_planes: int) -> int:
    """Tran et al. §3.5: intermediate channels giving a (2+1)D pair the parameter count of
    a t×d×d = 3×3×3 conv, ``⌊t·d²·N_in·N_out / (d²·N_in + t·N_out)⌋``."""
    return (27 * in_planes * out_planes) // (9 * in_planes + 3 * out_planes)


class Conv2Plus1d(nn.Sequential):
    """1×3×3 spatial conv (stride 1×s×s) → BN → ReLU → 3×1×1 temporal conv (stride s×1×1).

    (B, in_planes, T, H, W) → (B, out_planes, T/s, H/s, W/s). Index names 0, 1, 3 match
    torchvision's ``Conv2Plus1D``.
    """

    def __init__(self, in_planes: int, out_planes: int, mid_planes: int, stride: int = 1):
        super().__init__(
            nn.Conv3d(in_planes, mid_planes, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
            nn.BatchNorm3d(mid_planes),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid_planes, out_planes, (3, 1, 1), (stride, 1, 1), (1, 0, 0), bias=False),
        )


class R2Plus1dBlock(nn.Module):
    """torchvision's ``BasicBlock`` with ``Conv2Plus1D``: relu(BN(C2(relu(BN(C1 x)))) + R x),
    with mid-plane expansion and R = identity or 1×1×1 conv (stride s) + BN."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        mid = midplanes(in_planes, planes)
        self.conv1 = nn.Sequential(
            Conv2Plus1d(in_planes, planes, mid, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True)
        )
        self.conv2 = nn.Sequential(Conv2Plus1d(planes, planes, mid), nn.BatchNorm3d(planes))
        self.downsample: nn.Module | None = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                nn.Conv3d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm3d(planes)
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + residual)


class AvidR2Plus1dBlock(nn.Module):
    """The AVID-CMA block: relu(BN(C2(relu(BN(C1 x)))) + R x) with C1, C2 (2+1)D convs whose
    intermediate width is the output width, and R = identity or a 1×1×1 conv without BN."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Sequential(
            Conv2Plus1d(in_planes, planes, planes, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True)
        )
        self.conv2 = Conv2Plus1d(planes, planes, planes)
        self.residual: nn.Module | None = None
        if stride != 1 or in_planes != planes:
            self.residual = nn.Conv3d(in_planes, planes, 1, stride=stride, bias=False)
        self.bn_out = nn.BatchNorm3d(planes)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.residual is None else self.residual(x)
        return self.relu(self.bn_out(self.conv2(self.conv1(x)) + residual))


def r2plus1d_stem(width: int, mid: int) -> nn.Sequential:
    """torchvision's ``R2Plus1dStem`` (mid = 45 for width 64): (B,3,T,H,W) → (B,width,T,H/2,W/2)."""
    return nn.Sequential(
        nn.Conv3d(3, mid, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(inplace=True),
        nn.Conv3d(mid, width, (3, 1, 1), (1, 1, 1), (1, 0, 0), bias=False),
        nn.BatchNorm3d(width),
        nn.ReLU(inplace=True),
    )


def avid_stem(width: int) -> nn.Sequential:
    """The AVID-CMA stem: (B,3,T,H,W) → (B,width,T,H/4,W/4) (3×7×7 conv /2, max-pool /2)."""
    return nn.Sequential(
        nn.Conv3d(3, width, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
        nn.BatchNorm3d(width),
        nn.ReLU(inplace=True),
        nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
    )


class VideoResNet(Encoder):
    """stem → layer1..layer4 (strides 1, 2, 2, 2 on T, H, W) → global average pool.

    ``forward_features``: (B, 3, T, H, W) → (B, widths[-1], T/8, H/(8·s), W/(8·s)) with s the
    stem's spatial stride (2 for R(2+1)D, 4 for AVID); ceil division at each stride.
    """

    def __init__(
        self,
        stem: nn.Module,
        block: Callable[[int, int, int], nn.Module],
        layers: Sequence[int],
        widths: Sequence[int],
        input_spec: InputSpec,
    ):
        super().__init__()
        if len(layers) != 4 or len(widths) != 4:
            raise ValueError(f"expected 4 stages, got layers={list(layers)} widths={list(widths)}")
        self.stem = stem
        add_residual_stages(self, block, layers, widths)
        self.num_features = widths[-1]
        self.input_spec = input_spec
        init_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        x = self.stem(x)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
        return x


@register_model
def r2plus1d_18(
    layers: Sequence[int] = (2, 2, 2, 2), widths: Sequence[int] = WIDTHS_18, input_spec: InputSpec = PAPER_VIDEO
) -> VideoResNet:
    """R(2+1)D-18 of Tran et al. as torchvision's ``r2plus1d_18`` minus ``fc`` (31,300,125 params)."""
    stem_mid = max(1, round(45 * widths[0] / 64))
    return VideoResNet(r2plus1d_stem(widths[0], stem_mid), R2Plus1dBlock, layers, widths, input_spec)


@register_model
def r2plus1d_18_avid(
    layers: Sequence[int] = (2, 2, 2, 2), widths: Sequence[int] = WIDTHS_18, input_spec: InputSpec = PAPER_VIDEO
) -> VideoResNet:
    """R(2+1)D-18 of the AVID-CMA / CrissCross code (15,379,136 params)."""
    return VideoResNet(avid_stem(widths[0]), AvidR2Plus1dBlock, layers, widths, input_spec)


@register_model
def r2plus1d_18_tiny(**kwargs) -> VideoResNet:
    """``r2plus1d_18`` with widths 16-32-64-128 and one block per stage (CPU tests, demo)."""
    kwargs = {"layers": (1, 1, 1, 1), "widths": WIDTHS_TINY, "input_spec": TINY_VIDEO, **kwargs}
    return r2plus1d_18(**kwargs)


@register_model
def r2plus1d_18_avid_tiny(**kwargs) -> VideoResNet:
    """``r2plus1d_18_avid`` with widths 16-32-64-128 and one block per stage."""
    kwargs = {"layers": (1, 1, 1, 1), "widths": WIDTHS_TINY, "input_spec": TINY_VIDEO, **kwargs}
    return r2plus1d_18_avid(**kwargs)


# ----------------------------------------------------------------------------- micro (CPU demo)
MICRO_VIDEO = InputSpec("video", 3, 8, size=32, mean=KINETICS_MEAN, std=KINETICS_STD)


def _conv_bn_relu3d(cin: int, cout: int, stride: tuple[int, int, int]) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm3d(cout),
                         nn.ReLU(inplace=True))


class MicroVideoNet(PlainConvEncoder):
    """A plain 3D conv stack for the CPU geometry of configs/micro.yaml (docs/world.md): four
    3×3×3 conv → BN → ReLU layers with spatial strides 2, 2, 2, 2 and temporal strides
    1, 2, 2, 1. (B, 3, 8, 32, 32) → ``forward_features`` (B, widths[-1], 2, 2, 2); about
    10 M MACs per snippet at widths 16-32-64-128 (R(2+1)D-18-tiny on 16×56²: ~70× more)."""

    def __init__(self, widths: Sequence[int] = WIDTHS_TINY, input_spec: InputSpec = MICRO_VIDEO):
        super().__init__(widths, input_spec, _conv_bn_relu3d,
                         ((1, 2, 2), (2, 2, 2), (2, 2, 2), (1, 2, 2)))


@register_model
def conv3d_micro(**kwargs) -> MicroVideoNet:
    """``MicroVideoNet`` with widths 16-32-64-128 on 8 frames of 32² (configs/micro.yaml)."""
    return MicroVideoNet(**kwargs)
