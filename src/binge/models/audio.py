"""ResNet-18 audio encoder g on the log-mel image (paper §3: g: R^1 → R^{d_g}; He et al. 2016).

``resnet18_audio`` is torchvision's ``resnet18`` with a 1-channel 7×7 stem and no classifier
(11,170,240 parameters): conv 7×7/2 → BN → ReLU → max-pool 3×3/2 → four stages of two
``BasicBlock2d`` (widths 64-128-256-512, stages 2–4 stride 2). The input is (B, 1, P, Q): P mel
bins as the image height, Q STFT frames as its width; ``forward_features`` returns
(B, 512, F', T') with F' ≈ P/32 and T' ≈ Q/32 (1×80×201 → (512, 3, 7)). Parameter names equal
torchvision's (``conv1``, ``bn1``, ``layer1..4``), so torchvision's ``resnet18`` state_dict with
a 1-channel ``conv1.weight`` and without ``fc.*`` loads as is.

``resnet18_audio_tiny``: the same topology with widths 16-32-64-128 and one block per stage.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .base import Encoder, InputSpec, PlainConvEncoder, add_residual_stages, init_weights
from .registry import register_model

__all__ = ["BasicBlock2d", "AudioResNet", "resnet18_audio", "resnet18_audio_tiny"]

PAPER_AUDIO = InputSpec("audio", 1, 301, mel_bins=96)  # 3.2 s at 48 kHz, hop 512, 96 mels
TINY_AUDIO = InputSpec("audio", 1, 200, mel_bins=64)  # configs/tiny.yaml: 16 kHz, hop 256


class BasicBlock2d(nn.Module):
    """torchvision's ``BasicBlock``: relu(BN(conv3×3(relu(BN(conv3×3/s x)))) + R x), with
    R = identity or 1×1/s conv + BN. (B, in, H, W) → (B, planes, H/s, W/s)."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + residual)


class AudioResNet(Encoder):
    """A 2D ResNet on (B, channels, P, Q) log-mel images; ``forward_features`` → (B, C, F', T')."""

    def __init__(self, layers: Sequence[int], widths: Sequence[int], input_spec: InputSpec):
        super().__init__()
        if len(layers) != 4 or len(widths) != 4:
            raise ValueError(f"expected 4 stages, got layers={list(layers)} widths={list(widths)}")
        self.conv1 = nn.Conv2d(input_spec.channels, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        add_residual_stages(self, BasicBlock2d, layers, widths)
        self.num_features = widths[-1]
        self.input_spec = input_spec
        init_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
        return x


@register_model
def resnet18_audio(
    layers: Sequence[int] = (2, 2, 2, 2),
    widths: Sequence[int] = (64, 128, 256, 512),
    input_spec: InputSpec = PAPER_AUDIO,
) -> AudioResNet:
    """ResNet-18 with a 1-channel stem, no classifier (11,170,240 params)."""
    return AudioResNet(layers, widths, input_spec)


@register_model
def resnet18_audio_tiny(**kwargs) -> AudioResNet:
    """``resnet18_audio`` with widths 16-32-64-128 and one block per stage (CPU tests, demo)."""
    kwargs = {"layers": (1, 1, 1, 1), "widths": (16, 32, 64, 128), "input_spec": TINY_AUDIO, **kwargs}
    return resnet18_audio(**kwargs)


# ----------------------------------------------------------------------------- micro (CPU demo)
MICRO_AUDIO = InputSpec("audio", 1, 63, mel_bins=32)  # configs/micro.yaml: 1 s, 16 kHz, hop 256


def _conv_bn_relu2d(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class MicroAudioNet(PlainConvEncoder):
    """A plain 2D conv stack for the CPU geometry of configs/micro.yaml (docs/world.md): four
    3×3 conv → BN → ReLU layers, each of stride 2. (B, 1, 32, 63) → ``forward_features``
    (B, widths[-1], 2, 4); about 2 M MACs per snippet."""

    def __init__(self, widths: Sequence[int] = (16, 32, 64, 128), input_spec: InputSpec = MICRO_AUDIO):
        super().__init__(widths, input_spec, _conv_bn_relu2d, (2, 2, 2, 2))


@register_model
def conv2d_audio_micro(**kwargs) -> MicroAudioNet:
    """``MicroAudioNet`` with widths 16-32-64-128 on 32 mel × 1 s log-mel (configs/micro.yaml)."""
    return MicroAudioNet(**kwargs)
