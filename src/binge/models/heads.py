"""Projection heads h_f, h_g (paper §3 "Notations and Architecture", supplement §4).

"Two convolution layers, separated by Batch Normalization and ReLU, followed by global average
pooling", both convolutions with kernel size 1 (supplement §4), applied to the encoder's last
feature map and mapping it to the d-dimensional joint space (d = 512 in the paper). The heads
are used for pretraining only and discarded afterwards.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

__all__ = ["ProjectionHead"]


class ProjectionHead(nn.Module):
    """conv1×1(in→hidden, no bias) → BN → ReLU → conv1×1(hidden→out, bias) → global mean.

    Input (B, in_features, *S) with len(S) = ``dims`` (3: (T', H', W') video, 2: (F', T')
    audio); output (B, out_features). ``hidden`` defaults to ``in_features``. The first conv
    has no bias because BN follows it. Weights keep PyTorch's default convolution init.
    """

    def __init__(
        self, in_features: int, out_features: int = 512, hidden: Optional[int] = None, dims: int = 3
    ):
        super().__init__()
        if dims not in (2, 3):
            raise ValueError(f"dims must be 2 (audio) or 3 (video), got {dims}")
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        norm = nn.BatchNorm3d if dims == 3 else nn.BatchNorm2d
        hidden = in_features if hidden is None else hidden
        self.dims = dims
        self.in_features, self.hidden, self.out_features = in_features, hidden, out_features
        self.conv1 = conv(in_features, hidden, kernel_size=1, bias=False)
        self.bn = norm(hidden)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv(hidden, out_features, kernel_size=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != self.dims + 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"ProjectionHead(dims={self.dims}) expects (B, {self.in_features}, "
                f"{'T, H, W' if self.dims == 3 else 'F, T'}); got shape {tuple(x.shape)}"
            )
        x = self.conv2(self.relu(self.bn(self.conv1(x))))
        return x.flatten(2).mean(dim=2)
