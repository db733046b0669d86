"""binge.data.memory_cache: the cached dataset returns what the decoding one does, per draw."""

from __future__ import annotations

import pickle

import numpy as np
import torch

from binge.data.dataset import SnippetDataset
from binge.data.memory_cache import MemorySnippetDataset, snippet_dataset_class


def test_same_samples_as_the_decoder_with_augmentation(tiny_corpus, monkeypatch):
    kwargs = dict(split="train", crop_size=32, color_jitter=0.5)
    plain, cached = SnippetDataset(tiny_corpus, **kwargs), MemorySnippetDataset(tiny_corpus, **kwargs)
    pairs = [(n, m) for n in range(3) for m in range(2)] * 3  # every snippet read 3 times
    decodes = []
    original = SnippetDataset.read_video

    def counting(self, n, m, box=None):
        decodes.append((type(self).__name__, n, m))
        return original(self, n, m, box)

    monkeypatch.setattr(SnippetDataset, "read_video", counting)
    for i, pair in enumerate(pairs):
        torch.manual_seed(i)  # the same augmentation draw for both
        a = plain[pair]
        torch.manual_seed(i)
        b = cached[pair]
        assert torch.equal(a["video"], b["video"]) and torch.equal(a["audio"], b["audio"])
    # the cache decodes each snippet once (whole frames), the plain dataset every time
    assert sum(name == "MemorySnippetDataset" for name, *_ in decodes) == 6
    assert sum(name == "SnippetDataset" for name, *_ in decodes) == len(pairs)
    assert cached.cached_snippets == 6
    h, w = cached.read_video(0, 0).shape[1:3]
    assert cached.cached_bytes == 6 * cached.frames * h * w * 3
    whole = cached.read_video(0, 0)
    whole[:] = 0  # a caller's copy: the cache is not changed
    assert cached.read_video(0, 0).any()
    assert pickle.loads(pickle.dumps(cached)).cached_snippets == 0  # workers fill their own


def test_config_switch(tiny_config):
    from dataclasses import replace

    assert snippet_dataset_class(tiny_config) is SnippetDataset
    cfg = replace(tiny_config, data=replace(tiny_config.data, memory_cache=True))
    assert snippet_dataset_class(cfg) is MemorySnippetDataset
