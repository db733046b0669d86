"""``__getitems__``: a whole batch at once, sample by sample what ``__getitem__`` gives.

The reference is the per-item path on a separate dataset instance (no shared decoder, file or
header state): ``[ds[key] for key in keys]``, compared key by key (every field, dtype, shape,
value, bit for bit), with augmentation on in both modalities (random crop, colour jitter,
audio mask), on keys across titles, with k > 1 snippets per title from the real sampler, and
with a key repeated inside a batch. The trainer's ``DataLoader`` is checked to call
``__getitems__`` once per batch (torch's fetcher does when the dataset defines it) and never
``__getitem__``.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from binge.config import SamplingConfig
from binge.data import SnippetDataset
from binge.sampling import build_sampler
from binge.train.seeding import KeyedBatchSampler, KeyedDataset

AUG = dict(augment=True, crop_size=32, color_jitter=0.4, audio_mask_max_fraction=0.25)


def _assert_same(got: dict, want: dict, key) -> None:
    assert got.keys() == want.keys(), key
    for field, value in want.items():
        if isinstance(value, torch.Tensor):
            other = got[field]
            assert isinstance(other, torch.Tensor), (key, field)
            assert other.dtype == value.dtype and other.shape == value.shape, (key, field)
            assert other.is_contiguous() == value.is_contiguous(), (key, field)
            assert torch.equal(other, value), (key, field)
        else:
            assert type(got[field]) is type(value) and got[field] == value, (key, field)


def _sampler_keys(ds: SnippetDataset, k: int, batch: int, steps: int) -> list[list[tuple]]:
    sampler = KeyedBatchSampler(build_sampler(SamplingConfig(batch_size=batch, k=k),
                                              ds.num_snippets, seed=3), seed=3)
    sampler.set_epoch(0)
    out = []
    for batch_keys in sampler:
        out.append(batch_keys)
        if len(out) == steps:
            break
    return out


@pytest.mark.parametrize("k", [1, 2])
def test_batched_equals_per_item_sample_by_sample(tiny_corpus, k):
    batched, per_item = SnippetDataset(tiny_corpus, **AUG), SnippetDataset(tiny_corpus, **AUG)
    batches = _sampler_keys(batched, k=k, batch=8, steps=2)
    keys = [key for b in batches for key in b]
    assert len({n for n, _, _ in keys}) > 1  # across titles
    if k > 1:  # k snippets of a title per batch: each title's files opened once for them
        titles = [n for n, _, _ in batches[0]]
        assert all(titles.count(n) == k for n in titles)
    keys.append(keys[0])  # the same key twice in one batch: the same sample twice
    keys.append((0, 0, 2**32 - 1))
    states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
    got = batched.__getitems__(keys)
    # the global generators untouched (per-sample generators only)
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])
    assert len(got) == len(keys)
    masked = jittered = 0
    for key, sample in zip(keys, got):
        want = per_item[key]
        _assert_same(sample, want, key)
        plain = per_item.get_snippet(key[0], key[1])
        masked += not torch.equal(sample["audio"], plain["audio"])
        top, left, _ = per_item._plan(key)[2]
        jittered += not torch.equal(sample["video"], plain["video"][:, top:top + 32,
                                                                    left:left + 32])
    assert masked > 0 and jittered > 0  # both modalities were augmented
    # the batched path through KeyedDataset, and the same batch a second time
    again = KeyedDataset(batched).__getitems__(keys)
    for key, a, b in zip(keys, got, again):
        _assert_same(a, b, key)


def test_batched_pairs_draw_their_seeds_in_key_order(tiny_corpus):
    """Keys without a seed draw one from torch's generator each, as successive calls do."""
    batched, per_item = SnippetDataset(tiny_corpus, **AUG), SnippetDataset(tiny_corpus, **AUG)
    pairs = [(0, 0), (1, 1), (0, 0), (2, 0)]
    torch.manual_seed(5)
    got = batched.__getitems__(pairs)
    after = torch.get_rng_state()
    torch.manual_seed(5)
    want = [per_item[pair] for pair in pairs]
    assert torch.equal(torch.get_rng_state(), after)
    for pair, a, b in zip(pairs, got, want):
        _assert_same(a, b, pair)
    assert not torch.equal(got[0]["video"], got[2]["video"])  # two draws, two crops


def test_batched_with_a_transform_seeds_each_sample_and_restores_once(tiny_corpus):
    """A user transform may draw from the global generators: each sample is still drawn with
    them seeded by its own seed; the caller's streams are restored after the batch."""

    def noisy(sample):
        sample["noise"] = (torch.rand(()), float(np.random.rand()), random.random())
        return sample

    ds = SnippetDataset(tiny_corpus, transform=noisy, **AUG)
    assert not ds.seeds_from_key
    keyed = KeyedDataset(ds)
    keys = [(0, 0, 11), (1, 1, 12), (0, 0, 11), (2, 0, 13)]
    torch.manual_seed(1)
    np.random.seed(1)
    random.seed(1)
    states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
    got = keyed.__getitems__(keys)
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])
    for key, sample in zip(keys, got):
        torch.manual_seed(99)  # the per-item path does not depend on the caller's state
        want = keyed[key]
        assert torch.equal(sample["noise"][0], want["noise"][0]), key
        assert sample["noise"][1:] == want["noise"][1:], key
        for field in ("video", "audio"):
            assert torch.equal(sample[field], want[field]), (key, field)
    assert got[0]["noise"][1:] == got[2]["noise"][1:]  # the same key, the same draws


def test_the_trainers_loader_takes_the_batched_path(tiny_corpus, tmp_path, monkeypatch):
    from binge.config import load_config
    from binge.distributed import init_distributed
    from binge.train.loop import Trainer

    repo = Path(__file__).resolve().parents[2]
    cfg = load_config(repo / "configs" / "tiny.yaml",
                      [f"data.corpus={tiny_corpus}", f"train.out_dir={tmp_path / 'run'}",
                       "data.num_workers=0", "sampling.batch_size=8", "sampling.k=2"])
    trainer = Trainer(cfg, init_distributed(device="cpu"))
    calls: list = []
    original = SnippetDataset.__getitems__

    def spy(self, keys):
        calls.append(list(keys))
        return original(self, keys)

    def per_item(self, key):
        raise AssertionError(f"__getitem__({key}) called: the loader took the per-item path")

    monkeypatch.setattr(SnippetDataset, "__getitems__", spy)
    monkeypatch.setattr(KeyedDataset, "__getitem__", per_item)
    trainer.batches.set_epoch(0)
    keys = next(iter(trainer.batches))
    batch = next(iter(trainer.loader))
    assert calls == [[tuple(key) for key in keys]]  # one call, the whole batch
    monkeypatch.undo()
    reference = SnippetDataset.from_config(cfg, split="train", augment=True)
    want = default_collate([reference[key] for key in keys])
    assert batch.keys() == want.keys()
    for field in want:
        assert torch.equal(batch[field], want[field]), field
