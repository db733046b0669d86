"""AVID + Cross-Modal Agreement (avid_cma.md §4, Eq. 6–9).

Agreement between instances i and j in the memory banks (Eq. 6)::

    ρ_ij = min(v̄_iᵀv̄_j, āᵢᵀā_j)

Positives P_i = TopK_{j ≠ i}(ρ_ij) with K_p = 32 (Eq. 7; the instance itself is excluded, so
wMPD never compares an instance with itself, §4), negatives 𝒩'_i = K_n draws uniform over
𝒮 ∖ (P_i ∪ {i}) — the reference code's sampler could draw i itself; this one cannot
(:func:`binge.objectives.memory_bank.sample_negatives`). The loss (Eq. 8–9)::

    L_wMPD = (1/K_p) Σ_{p∈P_i} [L_NCE(v_i; v̄_p, 𝒩'_i) + L_NCE(a_i; ā_p, 𝒩'_i)]
    L_CMA  = L_Cross-AVID(v_i, a_i; 𝒩'_i) + λ·L_wMPD

Positive sets are recomputed from the banks every ``recompute_every_epochs`` epochs (§4.1:
every 50 epochs) by :func:`cma_positives`, a blocked top-k over ρ whose memory is
``chunk_size²`` scores whatever N is; rank 0's result is broadcast so every rank uses the same
sets. Training starts from a Cross-AVID checkpoint (``cma.init_checkpoint``, §4.1): the trainer
reads it with ``weights_only=True`` and hands it to :meth:`CmaObjective.init_from`, which loads
the model, heads, banks and Z̄ of the v2a/a2v terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import Tensor, nn

from binge.distributed import broadcast_from_main, gather_no_grad
from binge.objectives.avid import AvidObjective, memory_objective_kwargs
from binge.objectives.base import ObjectiveContext, at_least_float32, register_objective
from binge.objectives.memory_bank import MemoryNCE

__all__ = ["CmaOptions", "cma_positives", "CmaObjective", "load_cross_avid", "build"]


@dataclass
class CmaOptions:
    """CMA's options, ``objective.cma`` (avid_cma.md §4, Eq. 6–9); the memory-bank options
    (K, τ, momentum, heads) are AVID's, ``objective.avid``."""

    num_positives: int = 32  # K_p of Eq. 7 (the instance itself is never one)
    weight: float = 1.0  # λ of Eq. 9
    recompute_every_epochs: int = 1  # N: positives recomputed from the banks every N epochs
    init_checkpoint: Optional[str] = None  # a Cross-AVID checkpoint (loaded weights_only)
    chunk_size: int = 4096  # rows × columns of one block of ρ (bounded memory)


def _topk_merge(
    best_v: Optional[Tensor], best_i: Optional[Tensor], v: Tensor, i: Tensor, k: int
) -> tuple[Tensor, Tensor]:
    if best_v is not None and best_i is not None:
        v = torch.cat([best_v, v], dim=1)
        i = torch.cat([best_i, i], dim=1)
    k = min(k, v.shape[1])
    top_v, pos = torch.topk(v, k, dim=1)
    return top_v, torch.gather(i, 1, pos)


@torch.no_grad()
def cma_positives(bank_v: Tensor, bank_a: Tensor, k: int, chunk_size: int = 4096) -> Tensor:
    """P_i = TopK_{j≠i} min(v̄_iᵀv̄_j, āᵢᵀā_j) (Eq. 6–7) for every instance, in blocks.

    bank_v, bank_a: (N, D) memory features. Returns (N, k) int64, each row sorted by
    decreasing agreement. ρ is computed ``chunk_size`` rows × ``chunk_size`` columns at a time
    (float32) and a running top-k is merged across column blocks, so memory is O(chunk²+N·k).
    """
    n = bank_v.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"num_positives must be in [1, {n - 1}] for {n} instances, got {k}")
    out = torch.empty(n, k, dtype=torch.long, device=bank_v.device)
    for r0 in range(0, n, chunk_size):
        r1 = min(n, r0 + chunk_size)
        qv, qa = bank_v[r0:r1].float(), bank_a[r0:r1].float()
        best_v: Optional[Tensor] = None
        best_i: Optional[Tensor] = None
        for c0 in range(0, n, chunk_size):
            c1 = min(n, c0 + chunk_size)
            rho = torch.minimum(qv @ bank_v[c0:c1].float().T, qa @ bank_a[c0:c1].float().T)
            rows = torch.arange(r0, r1, device=rho.device)
            diag = (rows >= c0) & (rows < c1)
            rho[diag.nonzero().squeeze(1), (rows[diag] - c0)] = float("-inf")
            cols = torch.arange(c0, c1, device=rho.device).expand(r1 - r0, -1)
            kk = min(k, c1 - c0)
            v, pos = torch.topk(rho, kk, dim=1)
            best_v, best_i = _topk_merge(best_v, best_i, v, torch.gather(cols, 1, pos), k)
        assert best_i is not None
        out[r0:r1] = best_i
    return out


def load_cross_avid(state: Mapping[str, Any], path: str, model: nn.Module,
                    objective: "CmaObjective") -> None:
    """Initialise ``model`` and the Cross-AVID part of ``objective`` from checkpoint ``state``
    (read from ``path`` by the trainer, ``weights_only``): a ``binge pretrain`` checkpoint of
    ``objective.name: avid``, ``variant: cross`` holding ``model`` and ``objective`` state dicts.
    """
    missing = [k for k in ("model", "objective") if k not in state]
    if missing:
        raise ValueError(
            f"{path}: no {missing} entry (found {sorted(state)}); cma.init_checkpoint must be a "
            "checkpoint of `binge pretrain` with objective.name=avid, objective.avid.variant=cross"
        )
    # a Cross-AVID checkpoint from before the heads moved holds the (frozen) Eq. 1 heads: dropped
    model_state, _ = objective.adopt_legacy_state(state["model"], {})
    model.load_state_dict(model_state)
    own = objective.state_dict()
    wanted = {k for k in own if not k.startswith("wmpd.") and k not in ("positives", "positives_epoch")}
    got = state["objective"]
    absent = sorted(k for k in wanted if k not in got)
    if absent:
        raise ValueError(
            f"{path}: the objective state lacks {absent[:4]}…; is it a Cross-AVID checkpoint?"
        )
    for k in wanted:
        if got[k].shape != own[k].shape:
            raise ValueError(
                f"{path}: {k} has shape {tuple(got[k].shape)}, expected {tuple(own[k].shape)} "
                "(the corpus, memory_dim or encoders differ from the Cross-AVID run)"
            )
    objective.load_state_dict({k: got[k] for k in wanted}, strict=False)


@register_objective("cma", options=CmaOptions)
class CmaObjective(AvidObjective):
    """L_CMA of Eq. 9: Cross-AVID + λ·wMPD with CMA positive sets (see the module docstring)."""

    def __init__(
        self,
        *args: Any,
        num_positives: int = 32,
        weight: float = 1.0,
        recompute_every_epochs: int = 1,
        chunk_size: int = 4096,
        init_checkpoint: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        kwargs["variant"] = "cross"
        super().__init__(*args, **kwargs)
        if recompute_every_epochs < 1:
            raise ValueError("cma.recompute_every_epochs must be ≥ 1")
        self.num_positives = int(num_positives)
        self.weight = float(weight)
        self.recompute_every_epochs = int(recompute_every_epochs)
        self.chunk_size = int(chunk_size)
        self.init_path = init_checkpoint
        temperature = next(iter(self.nce.values())).temperature
        self.wmpd = nn.ModuleDict({"v2v": MemoryNCE(temperature), "a2a": MemoryNCE(temperature)})
        self.register_buffer("positives", torch.zeros(self.num_instances, num_positives, dtype=torch.long))
        self.register_buffer("positives_epoch", torch.tensor(-1, dtype=torch.long))

    @torch.no_grad()
    def refresh_positives(self, epoch: int) -> None:
        """Recompute P_i from the banks (Eq. 6–7); rank 0's sets are broadcast to all ranks."""
        pos = cma_positives(
            self.bank.bank("video"), self.bank.bank("audio"), self.num_positives, self.chunk_size
        )
        broadcast_from_main(pos)
        self.positives.copy_(pos)
        self.positives_epoch.fill_(int(epoch))

    def on_epoch_start(self, epoch: int) -> None:
        last = int(self.positives_epoch)
        if last < 0 or epoch - last >= self.recompute_every_epochs:
            self.refresh_positives(epoch)

    def forward(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, Tensor]:
        if int(self.positives_epoch) < 0:
            self.refresh_positives(0)
        v, a = self.embed(model, batch)
        b = v.shape[0]
        ids = self.instance_ids(batch)
        global_ids = gather_no_grad(ids.to(v.device)).cpu()
        global_pos = self.positives[global_ids.to(self.positives.device)].cpu()  # (B_global, K_p)
        neg = self.local_rows(self.draw(torch.cat([global_ids[:, None], global_pos], 1)), b)
        pos = self.local_rows(global_pos, b)
        losses = self.term_losses({"video": v, "audio": a}, ids, neg)
        cross = losses["v2a"] + losses["a2v"]
        wmpd = {
            name: self._wmpd_term(name, x, modality, pos, neg)
            for name, x, modality in (("v2v", v, "video"), ("a2a", a, "audio"))
        }
        l_wmpd = wmpd["v2v"] + wmpd["a2a"]
        loss = cross + self.weight * l_wmpd
        self.update_bank(global_ids, v, a)
        logs = {f"loss_{k}": val.detach() for k, val in losses.items()}
        logs.update({f"loss_wmpd_{k}": val.detach() for k, val in wmpd.items()})
        logs.update({f"acc_{k}": m.last_accuracy for k, m in self.nce.items()})
        logs["loss_cross_avid"] = cross.detach()
        logs["loss_wmpd"] = l_wmpd.detach()
        return {"loss": loss, **logs}

    # ------------------------------------------------------------------ registry hooks
    @classmethod
    def from_config(cls, cfg: Any, model: nn.Module, context: ObjectiveContext) -> "CmaObjective":
        """``objective.name: cma``: ``objective.avid``'s bank and heads + ``objective.cma``."""
        ccfg = cfg.objective.cma
        return cls(
            **memory_objective_kwargs(cfg, model, context),
            num_positives=ccfg.num_positives,
            weight=ccfg.weight,
            recompute_every_epochs=ccfg.recompute_every_epochs,
            chunk_size=ccfg.chunk_size,
            init_checkpoint=ccfg.init_checkpoint,
        )

    def init_checkpoint(self) -> Optional[str]:
        """``cma.init_checkpoint``: the Cross-AVID run CMA starts from (§4.1), or None."""
        return self.init_path

    def init_from(self, model: nn.Module, state: Mapping[str, Any], path: str) -> None:
        load_cross_avid(state, path, model, self)

    def _wmpd_term(self, name: str, x: Tensor, modality: str, pos: Tensor, neg: Tensor) -> Tensor:
        """(1/K_p) Σ_p L_NCE(x_i; x̄_p, 𝒩'_i): x (B, D), pos (B, K_p), neg (B, K)."""
        device = self.bank.bank(modality).device
        x = at_least_float32(x)
        s_pos = torch.einsum("bd,bpd->bp", x, self.bank.get(modality, pos.to(device)))
        s_neg = torch.einsum("bd,bkd->bk", x, self.bank.get(modality, neg.to(device)))
        k_p = s_pos.shape[1]
        scores = torch.cat(
            [s_pos.reshape(-1, 1), s_neg[:, None, :].expand(-1, k_p, -1).reshape(-1, s_neg.shape[1])],
            dim=1,
        )  # (B·K_p, 1 + K): one NCE problem per (i, p), the mean over rows is (1/K_p)Σ_p
        return self.wmpd[name].loss_from_scores(scores)


def build(cfg: Any, model: nn.Module, context: Any) -> CmaObjective:
    """``objective.name: cma`` from a config (the module-level builder, kept for callers)."""
    return CmaObjective.from_config(cfg, model, ObjectiveContext.of(context))
