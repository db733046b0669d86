"""SnippetDataset: the contract, augmentation, workers, parameter checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from binge.config import DataConfig
from binge.data import SnippetDataset
from binge.data.corpus import CorpusParamsError, read_manifest
from binge.data.transforms import crop_video


def test_contract_and_split_numbering(messy_corpus, tiny_data):
    out, _ = messy_corpus
    rows = read_manifest(out)
    for split in (None, "train", "heldout"):
        ds = SnippetDataset(out, split=split, crop_size=56, data=tiny_data)
        expect = [r for r in rows if split is None or r["split"] == split]
        assert ds.title_ids == [r["title_id"] for r in expect]
        assert ds.num_snippets == [r["num_snippets"] for r in expect]
        assert ds.groups == [r["group"] for r in expect]
        assert len(ds) == sum(ds.num_snippets)
    ds = SnippetDataset(out, crop_size=56)
    s = ds[(2, 1)]
    assert s["video"].dtype == torch.uint8 and s["video"].shape == (16, 56, 56, 3)
    assert s["audio"].dtype == torch.float32 and s["audio"].shape == (1, 64, 200)
    assert (s["title"], s["snippet"], s["start_s"], s["end_s"]) == (2, 1, 3.2, 6.4)
    assert ds[ds.num_snippets[0]]["title"] == 1  # flat index → (n, m) in title order
    with pytest.raises(IndexError):
        ds[(0, ds.num_snippets[0])]
    with pytest.raises(ValueError, match="split"):
        SnippetDataset(out, split="test")


def test_no_augment_is_centre_crop_of_whole_snippet(messy_corpus):
    out, _ = messy_corpus
    ds = SnippetDataset(out, augment=False, crop_size=56)
    raw = ds.get_snippet(1, 1)
    a, b = ds[(1, 1)], ds[(1, 1)]
    assert torch.equal(a["video"], b["video"]) and torch.equal(a["audio"], b["audio"])
    assert torch.equal(a["video"], torch.from_numpy(crop_video(raw["video"].numpy(), 56, None)))
    assert torch.equal(a["audio"], raw["audio"])
    assert raw["video"].shape[1:3] == (64, 106)  # whole 64-px short-side frames


def test_augmentation_random_crop_mask_jitter_seeded(messy_corpus):
    out, _ = messy_corpus
    ds = SnippetDataset(out, augment=True, crop_size=56, color_jitter=0.5)
    raw = ds.get_snippet(0, 0)
    torch.manual_seed(0)
    a = [ds[(0, 0)] for _ in range(8)]
    torch.manual_seed(0)
    b = [ds[(0, 0)] for _ in range(8)]
    assert all(torch.equal(x["video"], y["video"]) and torch.equal(x["audio"], y["audio"])
               for x, y in zip(a, b))  # repeatable under a seed
    assert len({x["video"].float().mean().item() for x in a}) > 1  # jitter/crop vary
    masked = [(x["audio"] != raw["audio"]).any(dim=1).sum().item() for x in a]
    assert max(masked) > 0
    for x in a:  # at most 25 % of the time axis (or the frequency axis) changed
        diff = (x["audio"][0] != raw["audio"][0])
        cols, rows = diff.any(0).sum().item(), diff.any(1).sum().item()
        assert cols <= 50 or rows <= 16


def test_transform_hook_and_param_check(messy_corpus):
    out, _ = messy_corpus
    ds = SnippetDataset(out, augment=False, crop_size=56,
                        transform=lambda s: {**s, "extra": s["video"].shape[0]})
    assert ds[(0, 0)]["extra"] == 16
    with pytest.raises(CorpusParamsError, match="prepared with other parameters"):
        SnippetDataset(out, data=DataConfig())
    with pytest.raises(ValueError, match="crop_size"):
        SnippetDataset(out, crop_size=158)


def test_dataloader_workers_with_pair_batches(messy_corpus):
    out, _ = messy_corpus
    ds = SnippetDataset(out, augment=False, crop_size=56)
    pairs = [(n, m) for n in range(len(ds.title_ids)) for m in range(ds.num_snippets[n])]
    batches = [pairs[i:i + 3] for i in range(0, len(pairs), 3)]
    ds.get_snippet(0, 0)  # the parent opens handles before forking: workers must not share them
    loader = DataLoader(ds, batch_sampler=batches, num_workers=2)
    got = [(int(t), int(s)) for b in loader for t, s in zip(b["title"], b["snippet"])]
    assert got == pairs
    direct = torch.stack([ds[p]["video"] for p in pairs[:3]])
    first = next(iter(DataLoader(ds, batch_sampler=batches, num_workers=2)))
    assert torch.equal(first["video"], direct)
    assert isinstance(ds._title_ids, np.ndarray) and ds._title_ids.dtype.kind == "U"
