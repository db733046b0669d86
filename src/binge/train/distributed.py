"""What the trainer adds to :mod:`binge.distributed` (process groups, gathers, seeds live there):
batch-norm synchronised across ranks, and gathering plain objects (RNG states) for checkpoints.

Synchronised batch-norm. With a per-rank BatchNorm each rank normalises with the statistics of
its own B/world_size snippets; under hierarchical sampling (paper §3) those come from only
B/(k·world_size) titles, so with k > 1 the statistics are dominated by a few titles and BN can
leak "which title is this" into the features, and they differ from a single-process run with the
same global batch. :func:`convert_sync_batchnorm` replaces every BatchNorm by one whose batch
statistics are computed over the global batch: torch's ``SyncBatchNorm`` on CUDA, and
:class:`GlobalBatchNorm` (same maths, gloo all-reduce, differentiable) on CPU, where torch's
implementation refuses to run.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from binge.distributed import is_distributed

__all__ = [
    "all_gather_object",
    "GlobalBatchNorm",
    "convert_sync_batchnorm",
]


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj`` in rank order; ``[obj]`` in a single process."""
    if not is_distributed() or dist.get_world_size() == 1:
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


# ----------------------------------------------------------------------------- sync BN
class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; the gradient of a sum is the sum of the ranks' gradients."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out = tensor.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out = grad.contiguous().clone()
        dist.all_reduce(out)
        return out


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics are those of the global batch over all ranks.

    For input (B_r, C, ...) on rank r: mean μ = Σ_r Σ x / N and biased variance
    σ² = Σ_r Σ (x − μ)² / N with N = Σ_r B_r·(spatial size), both through a differentiable
    all-reduce; y = γ (x − μ) / √(σ² + ε) + β. Running statistics get the unbiased variance, as
    in ``nn.BatchNorm``. Equals ``nn.BatchNorm`` on the concatenated batch (single process:
    exactly ``F.batch_norm``).
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        synced = self.training and is_distributed()
        if not synced or dist.get_world_size() == 1:
            return super().forward(x)
        dims = [0] + list(range(2, x.dim()))
        count = torch.tensor([x.numel() / x.shape[1]], dtype=torch.float64, device=x.device)
        dist.all_reduce(count)
        n = float(count.item())
        xf = x if x.dtype == torch.float64 else x.float()
        mean = _AllReduceSum.apply(xf.sum(dim=dims)) / n
        shape = [1, -1] + [1] * (x.dim() - 2)
        centred = xf - mean.view(shape)
        var = _AllReduceSum.apply((centred * centred).sum(dim=dims)) / n
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = (
                    1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                )
                unbiased = var * (n / max(n - 1.0, 1.0))
                self.running_mean.mul_(1 - momentum).add_(momentum * mean.to(self.running_mean.dtype))
                self.running_var.mul_(1 - momentum).add_(momentum * unbiased.to(self.running_var.dtype))
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Replace every BatchNorm{1,2,3}d by a globally synchronised one (weights kept)."""
    if device.type != "cpu":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, GlobalBatchNorm):
        new = GlobalBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
        )
        if module.affine:
            with torch.no_grad():
                new.weight.copy_(module.weight)
                new.bias.copy_(module.bias)
        if module.track_running_stats:
            new.running_mean.copy_(module.running_mean)
            new.running_var.copy_(module.running_var)
            new.num_batches_tracked.copy_(module.num_batches_tracked)
        new.train(module.training)
        return new
    for name, child in module.named_children():
        module.add_module(name, convert_sync_batchnorm(child, device))
    return module
