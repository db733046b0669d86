"""Eq. 1 (paper §3) against a plain NumPy float64 rendering, both variants, and its numerics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from torch import nn

from binge.config import load_config
from binge.objectives import NCEObjective, build_objective, cross_modal_nce, list_objectives


def eq1_numpy(zv: np.ndarray, za: np.ndarray, normalize: bool = False, tau: float = 1.0,
              stable: bool = True) -> float:
    """Eq. 1 written again term by term: for each i, −log(e^{s_ii} / (e^{s_ii} + Σ_{N_i} e^s)).

    N_i = {(v_i, a_j), (v_j, a_i) | j ≠ i}; reduced by the mean over i.
    """
    zv, za = zv.astype(np.float64), za.astype(np.float64)
    if normalize:
        zv = zv / np.linalg.norm(zv, axis=1, keepdims=True)
        za = za / np.linalg.norm(za, axis=1, keepdims=True)
    B = zv.shape[0]
    losses = []
    for i in range(B):
        pos = zv[i] @ za[i] / tau
        terms = [pos]
        for j in range(B):
            if j != i:
                terms.append(zv[i] @ za[j] / tau)  # (z_v^i, z_a^j)
                terms.append(zv[j] @ za[i] / tau)  # (z_v^j, z_a^i)
        assert len(terms) == 2 * B - 1
        terms = np.array(terms)
        if stable:
            losses.append(logsumexp(terms) - pos)
        else:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                losses.append(-np.log(np.exp(pos) / np.exp(terms).sum()))
    return float(np.mean(losses))


@pytest.mark.parametrize("normalize,tau", [(False, 1.0), (True, 0.07), (True, 0.3)])
@pytest.mark.parametrize("B,d", [(1, 3), (2, 4), (7, 5), (16, 32)])
def test_matches_numpy_float64(normalize, tau, B, d):
    rng = np.random.default_rng(B * 100 + d)
    zv, za = rng.normal(size=(B, d)), rng.normal(size=(B, d))
    expected = eq1_numpy(zv, za, normalize, tau)
    got = cross_modal_nce(torch.from_numpy(zv), torch.from_numpy(za), normalize, tau)
    assert got.dtype == torch.float64
    assert abs(float(got) - expected) < 1e-6
    got32 = cross_modal_nce(torch.from_numpy(zv).float(), torch.from_numpy(za).float(),
                            normalize, tau)
    assert got32.dtype == torch.float32
    assert float(got32) == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_is_not_the_average_of_two_cross_entropies():
    """One softmax over 2B − 1 terms differs from (CE(v→a) + CE(a→v)) / 2 over B terms each."""
    g = torch.Generator().manual_seed(0)
    zv, za = torch.randn(8, 6, generator=g), torch.randn(8, 6, generator=g)
    s = zv @ za.T
    target = torch.arange(8)
    two_ce = 0.5 * (nn.functional.cross_entropy(s, target)
                    + nn.functional.cross_entropy(s.T, target))
    assert abs(float(cross_modal_nce(zv, za)) - float(two_ce)) > 0.1


def test_gradient_matches_finite_differences():
    g = torch.Generator().manual_seed(1)
    zv = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    za = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: cross_modal_nce(a, b), (zv, za))
    assert torch.autograd.gradcheck(lambda a, b: cross_modal_nce(a, b, True, 0.2), (zv, za))


def test_large_logits_stay_finite_where_naive_exp_overflows():
    rng = np.random.default_rng(3)
    zv, za = 30 * rng.normal(size=(8, 16)), 30 * rng.normal(size=(8, 16))
    naive = eq1_numpy(zv, za, stable=False)
    assert not math.isfinite(naive)  # float64 exp overflows at ~709: dot products reach ~10^4
    expected = eq1_numpy(zv, za)
    for dtype in (torch.float32, torch.bfloat16):
        a = torch.from_numpy(zv).to(dtype).requires_grad_()
        b = torch.from_numpy(za).to(dtype).requires_grad_()
        loss = cross_modal_nce(a, b)
        loss.backward()
        loss = loss.detach()
        assert torch.isfinite(loss)
        assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()
        if dtype == torch.float32:
            assert float(loss) == pytest.approx(expected, rel=1e-4)


def test_bf16_autocast_computes_in_float32():
    g = torch.Generator().manual_seed(4)
    zv, za = torch.randn(16, 32, generator=g), torch.randn(16, 32, generator=g)
    zv16, za16 = zv.bfloat16(), za.bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = cross_modal_nce(zv16, za16)
    assert loss.dtype == torch.float32
    reference = eq1_numpy(zv16.float().numpy(), za16.float().numpy())
    assert float(loss) == pytest.approx(reference, rel=1e-5)


@pytest.mark.parametrize("B", [64, 256])
def test_random_init_values(B):
    """Reference figures: small-std embeddings give ≈ log(2B − 1); std 1 is far above it."""
    g = torch.Generator().manual_seed(B)
    small = cross_modal_nce(0.1 * torch.randn(B, 128, generator=g),
                            0.1 * torch.randn(B, 128, generator=g))
    assert float(small) == pytest.approx(math.log(2 * B - 1), abs=0.1)
    big = cross_modal_nce(torch.randn(B, 128, generator=g), torch.randn(B, 128, generator=g))
    assert float(big) > math.log(2 * B - 1) + 10
    normed = cross_modal_nce(torch.randn(B, 128, generator=g), torch.randn(B, 128, generator=g),
                             normalize=True, temperature=0.07)
    assert math.log(2 * B - 1) < float(normed) < math.log(2 * B - 1) + 2


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="same"):
        cross_modal_nce(torch.zeros(4, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"\(B, d\)"):
        cross_modal_nce(torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match="temperature"):
        cross_modal_nce(torch.zeros(4, 3), torch.zeros(4, 3), True, 0.0)


class TinyAV(nn.Module):
    """Stands in for AVModel: linear encoders on flattened inputs → (B, d) "feature maps" (an
    NCEObjective built without heads has identity heads, so they are z_video, z_audio)."""

    def __init__(self, video_in: int, audio_in: int, d: int) -> None:
        super().__init__()
        self.video = nn.Linear(video_in, d)
        self.audio = nn.Linear(audio_in, d)
        self.video.num_features = self.audio.num_features = d

    @property
    def video_encoder(self) -> nn.Module:
        return self.video

    @property
    def audio_encoder(self) -> nn.Module:
        return self.audio

    def forward(self, video, audio):
        return {"video": self.video(video.flatten(1)), "audio": self.audio(audio.flatten(1))}


def test_objective_follows_the_contract():
    torch.manual_seed(0)
    model = TinyAV(3 * 2 * 4 * 4, 1 * 5 * 6, 8)
    batch = {"video": torch.randn(6, 3, 2, 4, 4), "audio": torch.randn(6, 1, 5, 6)}
    out = NCEObjective()(model, batch)
    z = model(batch["video"], batch["audio"])
    zv, za = z["video"].detach().numpy(), z["audio"].detach().numpy()
    assert float(out["loss"].detach()) == pytest.approx(eq1_numpy(zv, za), rel=1e-5)
    assert out["loss"].requires_grad and not out["acc"].requires_grad
    s = zv @ za.T
    wins = [s[i, i] > max(np.delete(s[i], i).max(), np.delete(s[:, i], i).max())
            for i in range(6)]
    assert float(out["acc"]) == pytest.approx(np.mean(wins))
    assert float(out["pos_logit"]) == pytest.approx(np.trace(s) / 6, rel=1e-5)
    out["loss"].backward()
    assert model.video.weight.grad is not None


def test_build_objective_registry():
    cfg = load_config(None, ["objective.normalize=true", "objective.temperature=0.3"])
    obj = build_objective(cfg, TinyAV(1, 1, 2), 10)
    assert isinstance(obj, NCEObjective) and obj.normalize and obj.temperature == 0.3
    # the paper's default: unnormalised, τ ignored
    obj = build_objective(load_config(None, ["objective.temperature=0.3"]), TinyAV(1, 1, 2), 10)
    assert not obj.normalize and obj.temperature == 1.0
    assert obj.param_groups(1e-3) == []
    assert {"nce", "avid", "cma", "crisscross"} <= set(list_objectives())
    with pytest.raises(ValueError, match="simclr"):
        load_config(None, ["objective.name=simclr"])


def test_objective_on_the_tiny_av_model(tiny_config):
    """Through the real AVModel (tiny encoders) and the objective's Eq. 1 heads: finite loss
    and gradients, in the model and in the heads."""
    from binge.models import build_av_model

    torch.manual_seed(0)
    model = build_av_model(tiny_config.model)
    batch = {"video": torch.randn(4, 3, 4, 32, 32), "audio": torch.randn(4, 1, 32, 24)}
    objective = build_objective(tiny_config, model, 100)
    out = objective(model, batch)
    feats = model(batch["video"], batch["audio"])
    zv, za = objective.video_head(feats["video"]), objective.audio_head(feats["audio"])
    assert float(out["loss"].detach()) == pytest.approx(float(cross_modal_nce(zv, za).detach()), rel=1e-5)
    out["loss"].backward()
    grads = [p.grad for p in [*model.parameters(), *objective.parameters()] if p.requires_grad]
    assert len(list(objective.parameters())) > 0
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
