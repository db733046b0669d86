"""AVID + CMA (avid_cma.md Eq. 6–9) against NumPy: positive sets, negatives, loss, init."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from binge.objectives.cma import CmaObjective, build, cma_positives

from test_avid_reference import TinyAV, np_ema, np_nce, np_normalize, random_batch, redraw_negatives

TITLES = [9, 14, 7, 10]  # N = 40
K, KP, TAU, MU, LAM = 12, 4, 0.07, 0.5, 0.7


def np_positives(v: np.ndarray, a: np.ndarray, k: int) -> list[set[int]]:
    """Eq. 6–7 by brute force: ρ_ij = min(v_iᵀv_j, a_iᵀa_j), top-k over j ≠ i."""
    n = len(v)
    out = []
    for i in range(n):
        rho = [(min(v[i] @ v[j], a[i] @ a[j]), j) for j in range(n) if j != i]
        out.append({j for _, j in sorted(rho, reverse=True)[:k]})
    return out


@pytest.mark.parametrize("chunk", [1000, 7, 1])
def test_positives_equal_brute_force_and_chunked_equals_unchunked(chunk):
    rng = np.random.default_rng(0)
    v, a = np_normalize(rng.normal(size=(53, 6))), np_normalize(rng.normal(size=(53, 6)))
    got = cma_positives(torch.from_numpy(v), torch.from_numpy(a), 5, chunk_size=chunk)
    want = np_positives(v, a, 5)
    assert [set(r.tolist()) for r in got] == want
    assert all(i not in got[i].tolist() for i in range(53))
    rho = np.minimum(v @ v.T, a @ a.T)
    rows = rho[np.arange(53)[:, None], got.numpy()]
    assert (np.diff(rows, axis=1) <= 0).all()  # sorted by decreasing agreement


def test_positives_reject_bad_k():
    with pytest.raises(ValueError, match="num_positives"):
        cma_positives(torch.randn(5, 3), torch.randn(5, 3), 5)


def _objective(seed: int = 0) -> CmaObjective:
    torch.manual_seed(200 + seed)
    return CmaObjective(16, 16, TITLES, dim=8, hidden=12, num_negatives=K, temperature=TAU,
                        momentum=MU, seed=seed, num_positives=KP, weight=LAM,
                        recompute_every_epochs=2, chunk_size=16)


def test_cma_loss_equals_numpy_eq9():
    model, obj = TinyAV().double(), _objective().double()
    batch = random_batch(5, 1, TITLES)
    batch = {k: v.double() if v.is_floating_point() else v for k, v in batch.items()}
    offsets = np.concatenate([[0], np.cumsum(TITLES)])
    ids = offsets[batch["title"].numpy()] + batch["snippet"].numpy()
    z_bar: dict[str, float] = {}
    obj.on_epoch_start(0)
    pos_sets = np_positives(obj.bank.bank_video.numpy(), obj.bank.bank_audio.numpy(), KP)
    for step in range(3):
        bank = {m: obj.bank.bank(m).numpy().copy() for m in ("video", "audio")}
        if step == 2:  # epoch 2 recomputed the sets from the banks as they were then
            pos_sets = np_positives(bank["video"], bank["audio"], KP)
        pos = obj.positives.numpy()[ids]
        assert [set(p) for p in pos] == [pos_sets[i] for i in ids]
        neg = redraw_negatives(obj.rng_state.clone(), 40, K, np.concatenate([ids[:, None], pos], 1))
        for b, i in enumerate(ids):
            assert i not in neg[b] and not set(neg[b]) & set(pos[b])
        with torch.no_grad():
            v, a = (t.numpy() for t in obj.embed(model, batch))
        out = obj(model, batch)

        def term(name, x, pos_bank, pos_idx):
            # pos_idx (B, P): one NCE per positive; Z̄ over all of this term's problems
            problems = [(x[b], pos_bank[pos_idx[b, p]], pos_bank[neg[b]])
                        for b in range(len(x)) for p in range(pos_idx.shape[1])]
            if name not in z_bar:
                z_bar[name] = float(np.mean([np.exp(np.concatenate([[xx @ t], n @ xx]) / TAU)
                                             for xx, t, n in problems]))
            return np.mean([np_nce(xx, t, n, z_bar[name], TAU, 40) for xx, t, n in problems])

        cross = term("v2a", v, bank["audio"], ids[:, None]) + term("a2v", a, bank["video"], ids[:, None])
        wmpd = term("wv", v, bank["video"], pos) + term("wa", a, bank["audio"], pos)
        assert float(out["loss_cross_avid"]) == pytest.approx(cross, rel=1e-6)
        assert float(out["loss_wmpd"]) == pytest.approx(wmpd, rel=1e-6)
        assert float(out["loss"].detach()) == pytest.approx(cross + LAM * wmpd, rel=1e-6)
        for m, x in (("video", v), ("audio", a)):
            np.testing.assert_allclose(obj.bank.bank(m).numpy(), np_ema(bank[m], ids, x, MU), atol=1e-9)
        obj.on_epoch_start(1 + step)  # epoch 1: kept; epoch 2: recomputed from the new banks


def test_positive_sets_recomputed_every_n_epochs():
    obj, model = _objective(), TinyAV()
    obj.on_epoch_start(0)
    first = obj.positives.clone()
    for s in range(3):
        obj(model, random_batch(8, 10 + s, TITLES))
    obj.on_epoch_start(1)
    assert torch.equal(obj.positives, first) and int(obj.positives_epoch) == 0
    obj.on_epoch_start(2)
    assert int(obj.positives_epoch) == 2 and not torch.equal(obj.positives, first)


def test_init_from_cross_avid_checkpoint(tmp_path, tiny_config):
    from dataclasses import replace

    from binge.models.av import build_av_model
    from binge.objectives.avid import build as build_avid
    from binge.train.checkpoint import load_checkpoint

    avid_cfg = replace(tiny_config.objective.avid, num_negatives=8)
    cfg = replace(tiny_config, objective=tiny_config.objective.replace(name="avid", avid=avid_cfg))
    torch.manual_seed(0)
    src_model = build_av_model(cfg.model)
    src = build_avid(cfg, src_model, [20, 30])
    with torch.no_grad():
        src.bank.bank_video.mul_(-1)
        src.nce["v2a"].z_bar.fill_(2.5)
    path = tmp_path / "cross.pt"
    torch.save({"model": src_model.state_dict(), "objective": src.state_dict(), "step": 3}, path)

    cma_cfg = replace(cfg.objective.cma, init_checkpoint=str(path), num_positives=3)
    cfg2 = replace(cfg, objective=cfg.objective.replace(name="cma", cma=cma_cfg))
    torch.manual_seed(1)
    model = build_av_model(cfg2.model)
    obj = build(cfg2, model, [20, 30])
    assert obj.init_checkpoint() == str(path)
    obj.init_from(model, load_checkpoint(path), str(path))  # what the trainer does
    assert torch.equal(obj.bank.bank_video, src.bank.bank_video)
    assert float(obj.nce["v2a"].z_bar) == 2.5
    assert torch.equal(obj.video_head[0].weight, src.video_head[0].weight)
    for k, t in src_model.state_dict().items():
        assert torch.equal(model.state_dict()[k], t), k

    torch.save({"model": src_model.state_dict()}, tmp_path / "bad.pt")
    bad = tmp_path / "bad.pt"
    with pytest.raises(ValueError, match="bad.pt"):
        m = build_av_model(cfg2.model)
        build(cfg2, m, [20, 30]).init_from(m, load_checkpoint(bad), str(bad))
    with pytest.raises(ValueError, match="shape"):
        m = build_av_model(cfg2.model)
        build(cfg2, m, [20, 31]).init_from(m, load_checkpoint(path), str(path))
