"""Self-/Cross-/Joint-AVID (avid_cma.md Eq. 3–5) against a NumPy rendering, and plumbing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from binge.objectives.avid import AvidHead, AvidObjective, VARIANT_TERMS

from test_avid_reference import TinyAV, np_ema, np_nce, np_z_bar, random_batch, redraw_negatives

TITLES = [7, 12, 5, 9]  # snippets per title: N = 33 instances
K, TAU, MU = 10, 0.07, 0.5


def _objective(variant: str, seed: int = 0, **kw) -> AvidObjective:
    torch.manual_seed(100 + seed)
    return AvidObjective(16, 16, TITLES, variant=variant, dim=8, hidden=12, num_negatives=K,
                         temperature=TAU, momentum=MU, seed=seed, **kw)


def _float64(model, obj, batch):
    """Model, objective (heads, banks, Z̄) and inputs in float64, for 1e-6 comparisons."""
    batch = {k: v.double() if v.is_floating_point() else v for k, v in batch.items()}
    return obj.double(), model.double(), batch


def _numpy_step(obj: AvidObjective, model, batch, n_steps: int = 2):
    """Run ``n_steps`` of the objective and, alongside, the NumPy rendering; compare each."""
    offsets = np.concatenate([[0], np.cumsum(TITLES)])
    z_bar: dict[str, float] = {}
    for step in range(n_steps):
        bank = {m: obj.bank.bank(m).double().numpy().copy() for m in ("video", "audio")}
        state = obj.rng_state.clone()
        with torch.no_grad():
            v, a = (t.double().numpy() for t in obj.embed(model, batch))
        ids = offsets[batch["title"].numpy()] + batch["snippet"].numpy()
        neg = redraw_negatives(state, obj.num_instances, K, ids[:, None])
        out = obj(model, batch)
        feats = {"video": v, "audio": a}
        total = 0.0
        for q, t in VARIANT_TERMS[obj.variant]:
            name = f"{q[0]}2{t[0]}"
            x = feats[q]
            targets = bank[t][np.concatenate([ids[:, None], neg], 1)]  # (B, 1+K, D)
            if name not in z_bar:  # first iteration: estimate, then frozen
                z_bar[name] = np_z_bar(x, targets, TAU)
            term = np.mean([np_nce(x[i], targets[i, 0], targets[i, 1:], z_bar[name], TAU, 33)
                            for i in range(len(x))])
            assert float(out[f"loss_{name}"]) == pytest.approx(term, rel=1e-6), (step, name)
            assert float(out[f"z_bar_{name}"]) == pytest.approx(z_bar[name], rel=1e-6)
            total += term
        assert float(out["loss"].detach()) == pytest.approx(total, rel=1e-6)
        for m in ("video", "audio"):
            want = np_ema(bank[m], ids, feats[m], MU)
            np.testing.assert_allclose(obj.bank.bank(m).double().numpy(), want, atol=1e-6)
        for b, i in enumerate(ids):
            assert i not in neg[b], "the instance itself was drawn as a negative"


@pytest.mark.parametrize("variant", ["self", "cross", "joint"])
def test_avid_loss_and_bank_equal_numpy(variant):
    model = TinyAV()
    obj = _objective(variant)
    batch = random_batch(6, seed=1, titles=TITLES)
    batch["snippet"][1] = batch["snippet"][0]  # a repeated instance in the batch
    batch["title"][1] = batch["title"][0]
    _numpy_step(*_float64(model, obj, batch))


def test_joint_is_self_plus_cross():
    model = TinyAV()
    batch = random_batch(5, seed=2, titles=TITLES)
    outs = {v: {k: t.detach() for k, t in _objective(v)(model, batch).items()}
            for v in ("self", "cross", "joint")}
    assert float(outs["joint"]["loss"]) == pytest.approx(
        float(outs["self"]["loss"]) + float(outs["cross"]["loss"]), rel=1e-6)
    assert "loss_v2v" in outs["self"] and "loss_v2a" in outs["cross"]
    assert outs["self"]["loss_v2v"] != outs["cross"]["loss_v2a"]


def test_gradients_reach_encoders_and_heads_not_bank():
    model = TinyAV()
    obj = _objective("cross")
    obj(model, random_batch(4, 3, TITLES))["loss"].backward()
    assert model.video_encoder.proj.weight.grad.abs().sum() > 0
    assert obj.video_head[0].weight.grad.abs().sum() > 0
    assert not obj.bank.bank_video.requires_grad


def test_state_dict_round_trip_gives_same_next_loss():
    model = TinyAV()
    a = _objective("cross")
    a(model, random_batch(4, 4, TITLES))
    b = _objective("cross", seed=9)
    b.load_state_dict(a.state_dict())
    batch = random_batch(4, 5, TITLES)
    assert float(a(model, batch)["loss"].detach()) == float(b(model, batch)["loss"].detach())
    assert {"nce.v2a.z_bar", "bank.bank_video", "rng_state"} <= set(a.state_dict())


def test_bins_and_index_and_errors():
    obj = _objective("cross", snippets_per_instance=4)
    assert obj.num_instances == 2 + 3 + 2 + 3
    ids = obj.instance_ids({"title": torch.tensor([0, 1, 3]), "snippet": torch.tensor([6, 4, 8])})
    assert ids.tolist() == [1, 2 + 1, 7 + 2]
    flat = AvidObjective(16, 16, 33, dim=8, hidden=12, num_negatives=K)
    assert flat.instance_ids({"index": torch.tensor([0, 32])}).tolist() == [0, 32]
    with pytest.raises(KeyError, match="index"):
        flat.instance_ids({"title": torch.tensor([0]), "snippet": torch.tensor([0])})
    with pytest.raises(IndexError, match="memory bank"):
        flat.instance_ids({"index": torch.tensor([33])})
    with pytest.raises(ValueError, match="variant"):
        _objective("both")


def test_head_parameter_count_matches_reference():
    """reference-figures.md: the AVID-CMA MLP head 512-512-128 has 590,976 parameters."""
    assert sum(p.numel() for p in AvidHead(512, 512, 128).parameters()) == 590_976


def test_build_from_config_on_the_tiny_model(tiny_config):
    from dataclasses import replace

    from binge.models.av import build_av_model
    from binge.objectives import build_objective

    cfg = replace(tiny_config, objective=tiny_config.objective.replace(name="avid"))
    model = build_av_model(cfg.model)
    obj = build_objective(cfg, model, [40, 30])
    assert obj.num_instances == 70 and obj.variant == "cross"
    # the model is the two encoders (no frozen Eq. 1 heads); AVID's heads are its own
    assert {n.split(".")[0] for n, _ in model.named_parameters()} == {"video_encoder", "audio_encoder"}
    assert set(obj.heads()) == {"video_head", "audio_head"} and all(p.requires_grad for p in obj.parameters()
                                                                     if p.dtype.is_floating_point)


def test_bins_from_the_trainer_context(tiny_config):
    """The bank is sized from the snippets per title the trainer hands over (no manifest read)."""
    from dataclasses import replace

    from binge.models.av import build_av_model
    from binge.objectives import ObjectiveContext, build_objective

    avid = replace(tiny_config.objective.avid, snippets_per_instance=4)
    cfg = replace(tiny_config, objective=tiny_config.objective.replace(name="avid", avid=avid))
    obj = build_objective(cfg, build_av_model(cfg.model), ObjectiveContext((10, 7)))
    assert obj.num_instances == 3 + 2
    assert obj.instance_ids({"title": torch.tensor([1]), "snippet": torch.tensor([6])}).tolist() == [4]


def test_warm_start_writes_each_instance_and_then_z_bar_is_estimated_against_it():
    """bank_init="encode": rows of the batch are replaced (momentum 0) by the normalised mean of
    their features (NumPy), others stay; after the first step Z̄ is set and no warm start is
    wanted any more. The paper's default (random) never asks for one."""
    assert not _objective("self").wants_warm_start()
    obj = _objective("self", bank_init="encode")
    model = TinyAV(seed=1)
    batch = random_batch(12, 5, TITLES)
    batch["title"][1], batch["snippet"][1] = batch["title"][0], batch["snippet"][0]  # a repeat
    obj, model, batch = _float64(model, obj, batch)
    assert obj.wants_warm_start()
    before = {m: obj.bank.bank(m).numpy().copy() for m in ("video", "audio")}
    with torch.no_grad():
        v, a = (t.numpy() for t in obj.embed(model, batch))
    obj.warm_start(model, batch)
    ids = np.concatenate([[0], np.cumsum(TITLES)])[batch["title"].numpy()] + batch["snippet"].numpy()
    assert len(np.unique(ids)) < len(ids), "the batch should repeat an instance"
    for m, x in (("video", v), ("audio", a)):
        want = np_ema(before[m], ids, x, 0.0)
        np.testing.assert_allclose(obj.bank.bank(m).numpy(), want, atol=1e-12)
        untouched = np.setdiff1d(np.arange(sum(TITLES)), ids)
        np.testing.assert_array_equal(obj.bank.bank(m).numpy()[untouched], before[m][untouched])
    assert obj.wants_warm_start()  # still fresh until the first step estimates Z̄
    obj(model, batch)
    assert not obj.wants_warm_start()


def test_unknown_bank_init_is_refused():
    with pytest.raises(ValueError, match="bank_init"):
        _objective("self", bank_init="zeros")
