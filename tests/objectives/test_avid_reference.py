"""Helpers, not tests: plain NumPy float64 renderings of avid_cma.md Eq. 1–9, written
independently of the code under test (loops, the explicit N and P_n = 1/N of the NCE derivation), and a tiny
BN-free AV model whose per-sample outputs do not depend on the batch split."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def np_normalize(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def np_nce(x: np.ndarray, pos: np.ndarray, negs: np.ndarray, z_bar: float, tau: float, n: int) -> float:
    """Eq. 1–2 for one sample: P(s|x) = exp(xᵀx̄/τ)/(N Z̄), P(D=1) = P/(P + K/N)."""
    k = len(negs)

    def p_data(t: np.ndarray) -> float:
        return float(np.exp(x @ t / tau) / (n * z_bar))

    p_pos = p_data(pos)
    loss = -np.log(p_pos / (p_pos + k / n))
    for t in negs:
        p = p_data(t)
        loss -= np.log(1.0 - p / (p + k / n))
    return float(loss)


def np_z_bar(x: np.ndarray, targets: np.ndarray, tau: float) -> float:
    """Z̄ = mean over the batch's positive and negative pairs of exp(xᵀx̄/τ)."""
    vals = [np.exp(x[b] @ targets[b, j] / tau) for b in range(len(x)) for j in range(targets.shape[1])]
    return float(np.mean(vals))


def np_ema(bank: np.ndarray, idx: np.ndarray, x: np.ndarray, mu: float) -> np.ndarray:
    """m_i ← normalize(μ m_i + (1−μ) mean of the batch features of i)."""
    out = bank.copy()
    for i in np.unique(idx):
        mean = x[idx == i].mean(axis=0)
        new = mu * bank[i] + (1 - mu) * mean
        out[i] = new / np.linalg.norm(new)
    return out


class LinearEncoder(nn.Module):
    """Mean over all but the channel axis, then a linear map: (B, C_in, ...) → (B, C)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.num_features = c_out
        self.proj = nn.Linear(c_in, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x.flatten(2).mean(2))


class TinyAV(nn.Module):
    def __init__(self, seed: int = 0, c: int = 16) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.video_encoder = LinearEncoder(3, c)
        self.audio_encoder = LinearEncoder(1, c)

    def pooled(self, video: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """As ``AVModel.pooled``: the pooled features of the two encoders."""
        return self.video_encoder(video), self.audio_encoder(audio.to(video.dtype))


def random_batch(b: int, seed: int, titles: list[int]) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    title = torch.randint(0, len(titles), (b,), generator=g)
    snippet = torch.stack([torch.randint(0, titles[int(t)], (1,), generator=g)[0] for t in title])
    return {
        "video": torch.randn(b, 3, 2, 4, 4, generator=g),
        "audio": torch.randn(b, 1, 5, 6, generator=g),
        "title": title,
        "snippet": snippet,
    }


def redraw_negatives(rng_state: torch.Tensor, n: int, k: int, exclude: np.ndarray) -> np.ndarray:
    """The objective's draws r ~ U[0, N − E) from its saved generator state, mapped by brute
    force to the r-th id outside each row's exclusions. exclude: (B, E)."""
    gen = torch.Generator()
    gen.set_state(rng_state.clone())
    r = torch.randint(0, n - exclude.shape[1], (exclude.shape[0], k), generator=gen).numpy()
    return np.stack([np.setdiff1d(np.arange(n), exclude[b])[r[b]] for b in range(len(exclude))])
