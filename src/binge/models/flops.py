"""Multiply-accumulate counts with ``torch.utils.flop_counter.FlopCounterMode``.

Counted on the ``meta`` device (shapes only, no arithmetic), so even the full-size models at
the paper's input size count in milliseconds. FlopCounterMode counts convolutions and matrix
products (2 FLOPs per MAC), not BatchNorm, ReLU or pooling — the usual convention of the
GMAC figures quoted for these networks.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["count_macs"]


def count_macs(model: nn.Module, *input_shapes: tuple[int, ...], backward: bool = False) -> int:
    """MACs of one ``model(*inputs)`` call on inputs of the given shapes (batch included).

    With ``backward=True`` the backward pass of ``output.sum()`` is counted too (gradients of
    the parameters and the activations, not of the inputs, as in training).
    """
    meta = copy.deepcopy(model).to("meta")
    inputs = [torch.empty(shape, device="meta") for shape in input_shapes]
    counter = FlopCounterMode(display=False)
    with counter:
        out = meta(*inputs)
        if backward:
            tensors = out.values() if isinstance(out, dict) else [out]
            sum(t.sum() for t in tensors).backward()
    return counter.get_total_flops() // 2
