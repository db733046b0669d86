"""Projection heads (paper §3, supplement §4) against a plain NumPy rendering."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from binge.models import ProjectionHead


def numpy_head(head: ProjectionHead, x: np.ndarray, train: bool) -> np.ndarray:
    """conv1×1 → BN (batch or running statistics) → ReLU → conv1×1 → mean over positions."""
    w1 = head.conv1.weight.detach().double().numpy().reshape(head.hidden, head.in_features)
    w2 = head.conv2.weight.detach().double().numpy().reshape(head.out_features, head.hidden)
    b2 = head.conv2.bias.detach().double().numpy()
    gamma = head.bn.weight.detach().double().numpy()
    beta = head.bn.bias.detach().double().numpy()
    b, c = x.shape[:2]
    cols = x.reshape(b, c, -1).transpose(0, 2, 1)  # (B, positions, C)
    h = cols @ w1.T  # (B, positions, hidden)
    if train:
        mean, var = h.mean(axis=(0, 1)), h.var(axis=(0, 1))
    else:
        mean = head.bn.running_mean.double().numpy()
        var = head.bn.running_var.double().numpy()
    h = (h - mean) / np.sqrt(var + head.bn.eps) * gamma + beta
    h = np.maximum(h, 0.0)
    z = h @ w2.T + b2
    return z.mean(axis=1)


@pytest.mark.parametrize("dims, shape", [(3, (4, 32, 2, 3, 3)), (2, (4, 32, 3, 5))])
@pytest.mark.parametrize("train", [True, False])
def test_head_equals_numpy(dims, shape, train):
    torch.manual_seed(0)
    head = ProjectionHead(32, out_features=16, hidden=24, dims=dims).double()
    with torch.no_grad():
        head.bn.weight.uniform_(0.5, 1.5)
        head.bn.bias.normal_(0, 0.2)
        head.bn.running_mean.normal_(0, 0.3)
        head.bn.running_var.uniform_(0.5, 2.0)
    head.train(train)
    x = torch.randn(*shape, dtype=torch.float64)
    ref = numpy_head(head, x.numpy(), train)
    out = head(x)
    assert out.shape == (4, 16)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-10, atol=1e-10)


def test_head_structure():
    head = ProjectionHead(512)
    convs = [m for m in head.modules() if isinstance(m, nn.Conv3d)]
    assert len(convs) == 2 and all(c.kernel_size == (1, 1, 1) for c in convs)
    assert (head.hidden, head.out_features) == (512, 512)  # defaults: hidden = in, d = 512
    assert [type(m) for m in head.children()] == [nn.Conv3d, nn.BatchNorm3d, nn.ReLU, nn.Conv3d]
    assert head.conv1.bias is None and head.conv2.bias is not None
    head2d = ProjectionHead(128, out_features=64, hidden=256, dims=2)
    assert isinstance(head2d.conv1, nn.Conv2d) and isinstance(head2d.bn, nn.BatchNorm2d)
    assert head2d.conv1.out_channels == 256 and head2d.conv2.out_channels == 64


def test_head_rejects_wrong_input():
    with pytest.raises(ValueError, match="expects"):
        ProjectionHead(64, dims=3)(torch.randn(2, 64, 4, 4))
    with pytest.raises(ValueError, match="dims"):
        ProjectionHead(64, dims=1)
