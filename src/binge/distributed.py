"""Process-group helpers for one CPU process, one GPU, or many GPUs on many nodes.

``torchrun`` sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``; :func:`init_distributed` reads them (NCCL on CUDA, gloo on CPU). Without
them everything here degrades to the single-process case, so the same code runs everywhere.

:func:`all_gather_with_grad` is what makes the negatives of Eq. 1 span the **global** batch
(paper §3; issue 4 §3): each rank gets every rank's embeddings, and in the backward pass the
gradient that *all* ranks' losses send to a rank's slice is summed back onto that rank.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.distributed as dist

__all__ = [
    "DistInfo",
    "init_distributed",
    "cleanup_distributed",
    "is_distributed",
    "get_rank",
    "get_world_size",
    "get_local_rank",
    "is_main_process",
    "barrier",
    "all_gather_with_grad",
    "all_reduce_mean",
    "derive_seed",
    "seed_everything",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: its global rank, local rank, the world size and its device."""

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    backend: Optional[str]


def is_distributed() -> bool:
    """True when a default process group is initialised."""
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def get_local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", 0))


def is_main_process() -> bool:
    return get_rank() == 0


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def init_distributed(backend: Optional[str] = None, device: str = "auto") -> DistInfo:
    """Initialise the default process group from the ``torchrun`` environment, if any.

    Args:
        backend: ``"nccl"`` or ``"gloo"``; ``None`` picks NCCL when the process uses CUDA and
            gloo otherwise.
        device: ``"auto"`` (CUDA if available), ``"cuda"`` or ``"cpu"``. Under torchrun each
            process takes GPU ``LOCAL_RANK``.

    Without ``WORLD_SIZE`` > 1 in the environment no group is created and rank 0 of 1 is
    returned. Calling it twice returns the existing group's info.
    """
    if device not in ("auto", "cuda", "cpu"):
        raise ValueError(f"device {device!r} is not 'auto', 'cuda' or 'cpu'")
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError("device=cuda was asked for but CUDA is not available")
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    local_rank = get_local_rank()
    if use_cuda:
        torch.cuda.set_device(local_rank % max(torch.cuda.device_count(), 1))
        dev = torch.device("cuda", torch.cuda.current_device())
    else:
        dev = torch.device("cpu")
    if world_size > 1 and not is_distributed():
        missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
        if missing:
            raise RuntimeError(
                f"WORLD_SIZE={world_size} but {missing} are unset: launch with torchrun"
            )
        backend = backend or ("nccl" if use_cuda else "gloo")
        kwargs = {"device_id": dev} if backend == "nccl" else {}
        dist.init_process_group(backend=backend, init_method="env://", **kwargs)
    return DistInfo(
        rank=get_rank(),
        local_rank=local_rank,
        world_size=get_world_size(),
        device=dev,
        backend=dist.get_backend() if is_distributed() else None,
    )


def cleanup_distributed() -> None:
    """Destroy the default process group, if one exists."""
    if is_distributed():
        dist.destroy_process_group()


class _AllGatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 whose backward returns the summed gradient of this rank's slice."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        world = dist.get_world_size()
        ctx.rank, ctx.rows = dist.get_rank(), tensor.shape[0]
        parts = [torch.empty_like(tensor) for _ in range(world)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        # Every rank's loss depends on every slice: sum the gradients over ranks, keep ours.
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.rows:(ctx.rank + 1) * ctx.rows]


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` (b, ...) of every rank in rank order → (world_size·b, ...).

    Gradients flow back to each rank's own slice, summed over all ranks' uses of it. Every
    rank must pass the same shape. In a single process this returns ``tensor`` itself.
    """
    if not is_distributed() or get_world_size() == 1:
        return tensor
    return _AllGatherWithGrad.apply(tensor)


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """Mean of a (detached) tensor over ranks, for logging; the tensor itself if alone."""
    if not is_distributed() or get_world_size() == 1:
        return tensor
    out = tensor.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / get_world_size()


def derive_seed(seed: int, *keys: int) -> int:
    """A 32-bit seed derived from ``seed`` and integer ``keys`` (e.g. rank, worker id).

    Uses ``numpy.random.SeedSequence`` so that nearby inputs give unrelated streams.
    """
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1)[0])


def seed_everything(seed: int, rank: Optional[int] = None) -> int:
    """Seed Python, NumPy and torch (all devices); returns the seed used.

    With ``rank`` given the seed is :func:`derive_seed` ``(seed, rank)``, so ranks draw
    different augmentations; model initialisation should use the same seed on every rank
    (or be broadcast, as DDP does).
    """
    used = int(seed) if rank is None else derive_seed(seed, rank)
    random.seed(used)
    np.random.seed(used)
    torch.manual_seed(used)
    return used
