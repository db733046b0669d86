"""Memory bank, NCE with frozen Z̄ and negative sampling vs. NumPy (avid_cma.md Eq. 1–2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from binge.objectives.memory_bank import (
    MemoryBank,
    MemoryNCE,
    ema_update,
    estimate_partition,
    instance_offsets,
    nce_loss,
    sample_negatives,
)

from test_avid_reference import np_ema, np_nce, np_normalize, np_z_bar


def test_nce_loss_equals_numpy_eq2():
    rng = np.random.default_rng(0)
    b, k, d, tau, n = 6, 9, 5, 0.07, 1000
    x = np_normalize(rng.normal(size=(b, d)))
    targets = np_normalize(rng.normal(size=(b, 1 + k, d)))
    z_bar = np_z_bar(x, targets, tau)
    scores = torch.from_numpy(np.einsum("bd,bkd->bk", x, targets))
    got = nce_loss(scores.double(), torch.tensor(z_bar, dtype=torch.float64), tau)
    want = np.mean([np_nce(x[i], targets[i, 0], targets[i, 1:], z_bar, tau, n) for i in range(b)])
    # nce_loss works in float32: the tolerance is float32 rounding on values of ~10
    assert float(got) == pytest.approx(want, rel=1e-6, abs=1e-5)
    assert float(estimate_partition(scores, tau)) == pytest.approx(z_bar, rel=1e-6)


def test_z_bar_is_estimated_once_then_frozen_and_saved():
    rng = np.random.default_rng(1)
    x = torch.from_numpy(np_normalize(rng.normal(size=(4, 8)))).float()
    t1 = torch.from_numpy(np_normalize(rng.normal(size=(4, 6, 8)))).float()
    t2 = torch.from_numpy(np_normalize(rng.normal(size=(4, 6, 8)))).float()
    term = MemoryNCE(0.07)
    assert torch.isnan(term.z_bar)
    term(x, t1)
    z1 = float(term.z_bar)
    assert z1 == pytest.approx(np_z_bar(x.double().numpy(), t1.double().numpy(), 0.07), rel=1e-5)
    term(x, t2)
    assert float(term.z_bar) == z1
    s = torch.einsum("bd,bkd->bk", x, t2)
    assert float(term.last_accuracy) == float((s[:, 0] > s[:, 1:].max(1).values).float().mean())
    fresh = MemoryNCE(0.07)
    fresh.load_state_dict(term.state_dict())
    assert float(fresh.z_bar) == z1


def test_reference_figure_random_embeddings():
    """reference-figures.md: K = 1024, τ = 0.07, d = 128 random → loss ≈ 8.70, Z̄ ≈ 2.22."""
    g = torch.Generator().manual_seed(0)
    b, k, d = 256, 1024, 128
    x = torch.nn.functional.normalize(torch.randn(b, d, generator=g), dim=1)
    t = torch.nn.functional.normalize(torch.randn(b, 1 + k, d, generator=g), dim=2)
    term = MemoryNCE(0.07)
    loss = float(term(x, t))
    assert float(term.z_bar) == pytest.approx(2.22, abs=0.05)
    assert loss == pytest.approx(8.70, abs=0.1)


def test_ema_update_equals_numpy_with_duplicates():
    rng = np.random.default_rng(2)
    bank = np_normalize(rng.normal(size=(10, 4)))
    idx = np.array([3, 7, 3, 0, 9])
    x = np_normalize(rng.normal(size=(5, 4)))
    want = np_ema(bank, idx, x, 0.5)
    t = torch.from_numpy(bank).clone()
    ema_update(t, torch.from_numpy(idx), torch.from_numpy(x), 0.5)
    np.testing.assert_allclose(t.numpy(), want, atol=1e-6)
    untouched = [i for i in range(10) if i not in idx]
    np.testing.assert_array_equal(t.numpy()[untouched], bank[untouched])


def test_bank_init_is_seeded_normalised_and_fp16_storage_works():
    a, b = MemoryBank(50, 8, seed=3), MemoryBank(50, 8, seed=3)
    assert torch.equal(a.bank_video, b.bank_video) and torch.equal(a.bank_audio, b.bank_audio)
    assert not torch.equal(a.bank_video, a.bank_audio)
    np.testing.assert_allclose(a.bank_video.norm(dim=1).numpy(), 1.0, atol=1e-6)
    h = MemoryBank(50, 8, dtype=torch.float16, seed=3)
    assert h.bank_video.dtype == torch.float16 and h.get("video", torch.tensor([1, 2])).dtype == torch.float32
    x = torch.nn.functional.normalize(torch.randn(2, 8), dim=1)
    h.update(torch.tensor([1, 2]), {"video": x, "audio": x})
    want = np_ema(a.bank_video.double().numpy(), np.array([1, 2]), x.double().numpy(), 0.5)
    np.testing.assert_allclose(h.bank_video[1:3].float().numpy(), want[1:3], atol=2e-3)


def test_negatives_exclude_the_instance_and_map_exactly():
    n, k = 20, 500
    exclude = torch.tensor([[0, 5, 6], [19, 3, 4], [10, 11, 12]])
    gen = torch.Generator().manual_seed(4)
    neg = sample_negatives(n, k, exclude, gen)
    # the same draws r, mapped by brute force to the r-th id not excluded
    r = torch.randint(0, n - 3, (3, k), generator=torch.Generator().manual_seed(4)).numpy()
    for row in range(3):
        allowed = np.setdiff1d(np.arange(n), exclude[row].numpy())
        np.testing.assert_array_equal(neg[row].numpy(), allowed[r[row]])
        assert not np.isin(neg[row].numpy(), exclude[row].numpy()).any()


def test_negatives_are_uniform_over_the_rest():
    n = 8
    neg = sample_negatives(n, 80_000, torch.tensor([2]), torch.Generator().manual_seed(5))[0]
    counts = np.bincount(neg.numpy(), minlength=n)
    assert counts[2] == 0
    from scipy.stats import chisquare

    assert chisquare(np.delete(counts, 2)).pvalue > 1e-3


def test_instance_offsets():
    np.testing.assert_array_equal(instance_offsets([3, 5, 1]).numpy(), [0, 3, 8, 9])
    np.testing.assert_array_equal(instance_offsets([3, 5, 1], 2).numpy(), [0, 2, 5, 6])
    with pytest.raises(ValueError):
        instance_offsets([3], 0)
