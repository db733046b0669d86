"""CrissCross (crisscross_supplement.md Algorithm 1, Tables S7, S8) and LARC vs. NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from binge.objectives.crisscross import (
    CrissCrossObjective,
    Predictor,
    Projector,
    collapse_std,
    crisscross_loss,
    negative_cosine,
)
from binge.objectives.larc import LARC

from test_avid_reference import TinyAV, random_batch


def np_d(p: np.ndarray, z: np.ndarray) -> float:
    """D(p, z) = −mean cos(p, z)."""
    cos = [pi @ zi / (np.linalg.norm(pi) * np.linalg.norm(zi)) for pi, zi in zip(p, z)]
    return -float(np.mean(cos))


def np_crisscross(zv1, zv2, za1, za2, pv1, pv2, pa1, pa2) -> float:
    """Algorithm 1, written out again."""
    intra = (np_d(pv1, zv2) + np_d(pv2, zv1) + np_d(pa1, za2) + np_d(pa2, za1)) / 2
    sync = (np_d(pv1, za1) + np_d(pa1, zv1) + np_d(pv2, za2) + np_d(pa2, zv2)) / 4
    asyn = (np_d(pv1, za2) + np_d(pa2, zv1) + np_d(pa1, zv2) + np_d(pv2, za1)) / 4
    return (asyn + sync + intra) / 3


def test_parameter_counts_match_tables_s7_s8():
    assert sum(p.numel() for p in Projector(512, 2048).parameters()) == 9_455_616
    assert sum(p.numel() for p in Predictor(2048, 512).parameters()) == 2_100_736


def test_loss_equals_numpy_algorithm_1():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(7, 5)) for _ in range(8)]
    got = crisscross_loss(*(torch.from_numpy(a) for a in arrays))
    assert float(got["loss"]) == pytest.approx(np_crisscross(*arrays), rel=1e-6, abs=1e-9)
    assert float(got["loss"]) == pytest.approx(
        float(got["loss_intra"] + got["loss_sync"] + got["loss_async"]) / 3, rel=1e-12)


def test_stop_gradient_on_the_target():
    p = torch.randn(4, 6, requires_grad=True)
    z = torch.randn(4, 6, requires_grad=True)
    negative_cosine(p, z).backward()
    assert z.grad is None and p.grad.abs().sum() > 0


def test_collapse_monitor():
    g = torch.Generator().manual_seed(0)
    spread = torch.randn(512, 64, generator=g)
    assert float(collapse_std(spread)) == pytest.approx(1 / np.sqrt(64), rel=0.05)
    collapsed = torch.ones(512, 64) + 1e-4 * torch.randn(512, 64, generator=g)
    assert float(collapse_std(collapsed)) < 1e-3
    # a collapsed solution reaches the loss minimum too: the monitor is what tells them apart
    z = torch.ones(8, 4)
    assert float(crisscross_loss(z, z, z, z, z, z, z, z)["loss"]) == pytest.approx(-4 / 3)


def test_objective_forward_param_groups_and_missing_views():
    model = TinyAV()
    obj = CrissCrossObjective(16, 16, projector_dim=32, predictor_hidden_dim=8,
                              predictor_lr_multiplier=10.0)
    b1, b2 = random_batch(6, 1, [5]), random_batch(6, 2, [5])
    batch = {**b1, "video2": b2["video"], "audio2": b2["audio"]}
    out = obj(model, batch)
    out["loss"].backward()
    assert {"loss_intra", "loss_sync", "loss_async", "std_zv", "std_za"} <= set(out)
    assert model.video_encoder.proj.weight.grad.abs().sum() > 0
    groups = obj.param_groups(0.01)
    assert [g["lr"] for g in groups] == [0.01, pytest.approx(0.1)]
    assert sum(len(g["params"]) for g in groups) == len(list(obj.parameters()))
    with pytest.raises(KeyError, match="crisscross_transforms"):
        obj(model, b1)


def test_larc_step_equals_numpy():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(5, 3, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    w0, lr, c, wd = w.detach().numpy().copy(), 0.1, 0.02, 0.01
    opt = LARC(torch.optim.SGD([w, b], lr=lr, weight_decay=wd), trust_coefficient=c, clip=True)
    (w.sum() * 3 + (w ** 2).sum() + b.sum()).backward()
    g = w.grad.numpy().copy()
    opt.step()
    local = c * np.linalg.norm(w0) / (np.linalg.norm(g) + wd * np.linalg.norm(w0) + 1e-8)
    gs = g * min(local / lr, 1.0)
    np.testing.assert_allclose(w.detach().numpy(), w0 - lr * (gs + wd * w0), rtol=1e-10)
    np.testing.assert_allclose(b.detach().numpy(), -lr * np.ones(3))  # ‖b‖ = 0: untouched
    assert opt.param_groups is opt.optim.param_groups
    opt.load_state_dict(opt.state_dict())
