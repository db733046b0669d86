"""Memory bank and memory-NCE of AVID (avid_cma.md §3.2, Eq. 1–2; Wu et al. 2018).

Pieces shared by :mod:`binge.objectives.avid` and :mod:`binge.objectives.cma`:

* :class:`MemoryBank` — one slow-moving, ℓ2-normalised feature per *instance* and modality,
  updated by an exponential moving average (momentum 0.5 in the paper)::

      m_i ← normalize(μ·m_i + (1 − μ)·x̂_i)

  where x̂_i is the mean of the batch features of instance i (an instance can appear more than
  once in a batch when several snippets share one instance, see ``instance_ids``). Updates are
  gathered from every rank and applied in rank order, and the initial bank is drawn from a
  seeded generator, so every rank holds the same bank.
* :func:`nce_loss` — Eq. 2 with the generalised softmax of Eq. 1. With
  P(s_j|x) = exp(xᵀx̄_j/τ) / (N·Z̄) and a uniform noise distribution P_n = 1/N,
  P(D=1|x, x̄_j) = P(s_j|x) / (P(s_j|x) + K/N) = e_j / (e_j + K) with e_j = exp(xᵀx̄_j/τ)/Z̄,
  and the loss is the usual NCE negative log-likelihood of the positive *and* the K negatives::

      L = −log e_0/(e_0 + K) − Σ_{j=1..K} log K/(e_j + K)

  (the printed Eq. 2 runs the two terms together; this is the form of Wu et al. 2018 that the
  paper follows).
* :class:`MemoryNCE` — an NCE term owning its normalised partition function Z̄, estimated on
  the first call as the mean of exp(xᵀx̄/τ) over the positive and negative scores of that
  batch (averaged over ranks) and frozen thereafter; it is a buffer, so it lives in the
  checkpoint.
* :func:`sample_negatives` — K indices drawn uniformly from the bank *excluding* the instance
  itself (and, for CMA, its positive set): the known mistake of the reference code, drawing
  the instance itself as a negative, cannot happen.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from binge.distributed import all_reduce_mean, gather_no_grad
from binge.objectives.base import at_least_float32
from binge.sampling import snippet_offsets

__all__ = [
    "MemoryBank",
    "MemoryNCE",
    "nce_loss",
    "estimate_partition",
    "ema_update",
    "sample_negatives",
    "instance_offsets",
]


# ----------------------------------------------------------------------------- instances
def instance_offsets(snippets_per_title: Sequence[int], snippets_per_instance: int = 1) -> Tensor:
    """Offsets so that instance id = offsets[n] + m // b (b = ``snippets_per_instance``).

    With b = 1 every snippet (n, m) is its own instance, id = Σ_{n'<n} M_n' + m. With b > 1
    title n is cut into ⌈M_n / b⌉ bins of b consecutive snippets and each bin is an
    instance, which bounds the bank for very long corpora. Returns (num_titles + 1,) int64;
    the last entry is the number of instances.
    """
    if snippets_per_instance < 1:
        raise ValueError(f"snippets_per_instance must be ≥ 1, got {snippets_per_instance}")
    sizes = [-(-int(m) // snippets_per_instance) for m in snippets_per_title]
    return torch.from_numpy(snippet_offsets(sizes))


# ----------------------------------------------------------------------------- bank
@torch.no_grad()
def ema_update(bank: Tensor, idx: Tensor, x: Tensor, momentum: float) -> None:
    """In place: bank[i] ← normalize(μ·bank[i] + (1−μ)·mean_{b: idx_b = i} x_b).

    bank: (N, D) float tensor (float32 or float16); idx: (B,) int64; x: (B, D).
    """
    uniq, inverse = torch.unique(idx, return_inverse=True)
    x = at_least_float32(x)
    sums = torch.zeros(len(uniq), x.shape[1], dtype=x.dtype, device=x.device)
    sums.index_add_(0, inverse, x)
    counts = torch.bincount(inverse, minlength=len(uniq)).to(sums)
    mean = sums / counts[:, None]
    new = momentum * bank[uniq].to(x.dtype) + (1.0 - momentum) * mean
    bank[uniq] = F.normalize(new, dim=1).to(bank.dtype)


class MemoryBank(nn.Module):
    """Slow-moving ℓ2-normalised features, one (N, D) buffer per modality (avid_cma.md §3.2).

    Args:
        num_instances: N.
        dim: D (128 in AVID).
        modalities: names of the banks (buffers ``bank_<name>``).
        momentum: μ of the EMA (0.5 in AVID).
        dtype: storage type; float16 halves the memory (512 B per instance for two 128-d
            banks), all arithmetic is float32.
        seed: the initial bank (random unit vectors) is drawn from this seed, so it is the
            same on every rank.
    """

    def __init__(
        self,
        num_instances: int,
        dim: int,
        modalities: Sequence[str] = ("video", "audio"),
        momentum: float = 0.5,
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if num_instances < 2:
            raise ValueError(f"a memory bank needs at least 2 instances, got {num_instances}")
        self.num_instances = int(num_instances)
        self.dim = int(dim)
        self.momentum = float(momentum)
        self.modalities = tuple(modalities)
        gen = torch.Generator().manual_seed(int(seed))
        for name in self.modalities:
            init = F.normalize(torch.randn(num_instances, dim, generator=gen), dim=1)
            self.register_buffer(f"bank_{name}", init.to(dtype))

    def bank(self, modality: str) -> Tensor:
        return getattr(self, f"bank_{modality}")

    def get(self, modality: str, idx: Tensor) -> Tensor:
        """Memory features at ``idx`` (any shape) as float32 (float64 for a float64 bank),
        shape idx.shape + (D,)."""
        bank = self.bank(modality)
        return at_least_float32(bank[idx.reshape(-1)]).reshape(*idx.shape, self.dim)

    @torch.no_grad()
    def update(self, idx: Tensor, features: dict[str, Tensor], gathered: bool = False) -> None:
        """EMA update with this step's features from every rank.

        idx: (B,) local instance ids; features: modality → (B, D) normalised features.
        With ``gathered=True`` the inputs already hold the global batch.
        """
        if not gathered:
            idx = gather_no_grad(idx)
            features = {k: gather_no_grad(v) for k, v in features.items()}
        for name, x in features.items():
            ema_update(self.bank(name), idx, x.detach(), self.momentum)

    @torch.no_grad()
    def write(self, idx: Tensor, features: dict[str, Tensor]) -> None:
        """Replace rows (momentum 0): bank[i] ← normalize(mean_{b: idx_b = i} x_b).

        idx: (B,) global instance ids; features: modality → (B, D), already gathered.
        """
        for name, x in features.items():
            ema_update(self.bank(name), idx, x.detach(), 0.0)


# ----------------------------------------------------------------------------- NCE
def estimate_partition(scores: Tensor, temperature: float) -> Tensor:
    """Z̄ = mean of exp(s/τ) over all scores s = xᵀx̄ (positives and negatives), Eq. 1."""
    return torch.exp(scores.detach().double() / temperature).mean().to(at_least_float32(scores).dtype)


def nce_loss(scores: Tensor, z_bar: Tensor | float, temperature: float) -> Tensor:
    """NCE loss of Eq. 2, averaged over the batch.

    scores: (B, 1 + K) dot products xᵀx̄, column 0 the positive, then K negatives.
    z_bar: the normalised partition function Z̄. Computed in log space:
    log e_j = s_j/τ − log Z̄, log(e_j + K) = logaddexp(log e_j, log K).
    """
    k = scores.shape[1] - 1
    if k < 1:
        raise ValueError("nce_loss needs at least one negative")
    scores = at_least_float32(scores)
    log_e = scores / temperature - torch.log(torch.as_tensor(z_bar).to(scores))
    log_k = torch.full_like(log_e, math.log(k))
    log_denom = torch.logaddexp(log_e, log_k)
    pos = log_e[:, 0] - log_denom[:, 0]
    neg = (log_k[:, 1:] - log_denom[:, 1:]).sum(dim=1)
    return -(pos + neg).mean()


class MemoryNCE(nn.Module):
    """One NCE term of Eq. 2 with its own frozen Z̄ (a buffer, NaN until estimated).

    ``forward(x, targets)``: x (B, D) normalised query features, targets (B, 1 + K, D) memory
    features (positive first). Z̄ is estimated on the first call (averaged over ranks).
    ``last_accuracy``: share of the last call's rows whose positive scored above every
    negative (a progress signal that, unlike the loss, does not depend on the frozen Z̄).
    """

    def __init__(self, temperature: float = 0.07) -> None:
        super().__init__()
        self.temperature = float(temperature)
        self.register_buffer("z_bar", torch.tensor(float("nan")))

    def forward(self, x: Tensor, targets: Tensor) -> Tensor:
        scores = torch.einsum("bd,bkd->bk", at_least_float32(x), at_least_float32(targets))
        return self.loss_from_scores(scores)

    def loss_from_scores(self, scores: Tensor) -> Tensor:
        # progress signal independent of Z̄: share of rows whose positive beats all negatives
        self.last_accuracy = (scores[:, 0] > scores[:, 1:].max(dim=1).values).float().mean().detach()
        if torch.isnan(self.z_bar):
            z = all_reduce_mean(estimate_partition(scores, self.temperature).to(self.z_bar))
            self.z_bar.copy_(z)
        return nce_loss(scores, self.z_bar, self.temperature)


# ----------------------------------------------------------------------------- negatives
def sample_negatives(
    num_instances: int,
    num_negatives: int,
    exclude: Tensor,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    """Uniform negatives that avoid each row's excluded ids.

    exclude: (B,) or (B, E) instance ids that must not be drawn for that row (the instance
    itself; for CMA also its positives), distinct within a row. Returns (B, K) int64 ids on
    the CPU, each uniform over {0..N−1} minus that row's exclusions (with replacement across
    the K draws, as 𝒰(𝒩_i)^K in the paper). Draws r ∈ [0, N − E) and maps r to the r-th
    id not excluded: j = r + #{k : e_(k) − k ≤ r} for the sorted exclusions e_(k).
    """
    exclude = exclude.reshape(exclude.shape[0], -1).long().cpu()
    b, e = exclude.shape
    if num_instances - e < 1:
        raise ValueError(
            f"cannot draw negatives: {e} excluded ids per row leave none of {num_instances}"
        )
    r = torch.randint(0, num_instances - e, (b, num_negatives), generator=generator)
    sorted_ex, _ = torch.sort(exclude, dim=1)
    shifted = sorted_ex - torch.arange(e)
    return r + torch.searchsorted(shifted, r, right=True)
