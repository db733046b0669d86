"""``SnippetDataset[(n, m, seed)]``: the augmentation drawn from ``default_rng(seed)`` alone.

The reference is built independently of ``__getitem__``: whole frames and the unmasked
log-mel from ``get_snippet``, cropped and masked with parameters drawn from a fresh
``np.random.default_rng(seed)`` in the documented order (crop top, left; jitter b, c, s;
mask axis, width, start)."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch.utils.data import DataLoader
from torchvision.transforms.v2 import functional as TF

from binge.data import SnippetDataset
from binge.train.seeding import KeyedDataset

KEYS = [(0, 0, 11), (1, 2, 11), (0, 1, 12), (2, 0, 3_000_000_000), (1, 0, 7)]


def _reference(ds: SnippetDataset, n: int, m: int, seed: int, sigma: float) -> tuple:
    """The sample by hand: plain NumPy draws, slicing and SpecAugment-style fill."""
    raw = ds.get_snippet(n, m)
    video, audio = raw["video"].numpy(), raw["audio"][0].numpy().copy()
    rng = np.random.default_rng(seed)
    size = ds.crop_size
    top = int(rng.integers(0, video.shape[1] - size + 1))
    left = int(rng.integers(0, video.shape[2] - size + 1))
    video = torch.from_numpy(video[:, top:top + size, left:left + size].copy())
    if sigma > 0:
        b, c, s = (float(rng.uniform(1 - sigma, 1 + sigma)) for _ in range(3))
        x = video.permute(0, 3, 1, 2)
        x = TF.adjust_saturation(TF.adjust_contrast(TF.adjust_brightness(x, b), c), s)
        video = x.permute(0, 2, 3, 1).contiguous()
    axis = int(rng.integers(0, 2))
    width = int(rng.integers(0, int(0.25 * audio.shape[axis]) + 1))
    if width:
        start = int(rng.integers(0, audio.shape[axis] - width + 1))
        fill = audio.mean(dtype=np.float64)
        band = (slice(start, start + width), slice(None))[:: 1 if axis == 0 else -1]
        audio[band] = fill
    return video, audio, fill if width else None


def test_keyed_sample_is_the_reference_and_a_pure_function_of_the_key(tiny_corpus):
    ds = SnippetDataset(tiny_corpus, augment=True, crop_size=32, color_jitter=0.4)
    states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
    first = [ds[k] for k in KEYS]
    # global generators untouched: no seeding, nothing to restore
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])
    masked = 0
    for key, s in zip(KEYS, first):
        video, audio, fill = _reference(ds, *key, sigma=0.4)
        assert torch.equal(s["video"], video), key
        got = s["audio"][0].numpy()
        if fill is None:
            np.testing.assert_array_equal(got, audio)
        else:  # float32 pairwise mean vs the float64 reference: equal to ~1e-6
            np.testing.assert_allclose(got, audio, rtol=1e-5, atol=1e-5)
            masked += 1
    assert masked >= 2  # the mask's band is checked, not only its absence
    # history and order do not matter; another seed gives another draw
    again = [ds[k] for k in reversed(KEYS)][::-1]
    assert all(torch.equal(a["video"], b["video"]) and torch.equal(a["audio"], b["audio"])
               for a, b in zip(first, again))
    other = [ds[(n, m, seed + 1)] for n, m, seed in KEYS]
    assert any(not torch.equal(a["video"], b["video"]) for a, b in zip(first, other))


def test_keyed_dataset_passes_seeded_keys_through_unless_a_transform_may_draw(tiny_corpus):
    ds = SnippetDataset(tiny_corpus, augment=True, crop_size=32)
    assert ds.seeds_from_key
    keyed = KeyedDataset(ds)
    for key in KEYS[:3]:
        a, b = keyed[key], ds[key]
        assert torch.equal(a["video"], b["video"]) and torch.equal(a["audio"], b["audio"])

    def noisy(sample):  # a user transform drawing from torch's global generator
        sample["noise"] = torch.rand(())
        return sample

    with_transform = SnippetDataset(tiny_corpus, augment=True, crop_size=32, transform=noisy)
    assert not with_transform.seeds_from_key
    keyed = KeyedDataset(with_transform)
    torch.manual_seed(1)
    a = keyed[KEYS[0]]
    torch.manual_seed(2)
    b = keyed[KEYS[0]]
    assert torch.equal(a["noise"], b["noise"])  # the globals seeded from the key, as before
    assert torch.equal(a["video"], b["video"])


def test_keyed_samples_do_not_depend_on_workers(tiny_corpus):
    ds = KeyedDataset(SnippetDataset(tiny_corpus, augment=True, crop_size=32))
    batches = [KEYS[:3], KEYS[3:]]
    runs = []
    for workers in (0, 2):
        loader = DataLoader(ds, batch_sampler=batches, num_workers=workers)
        runs.append([(b["video"], b["audio"]) for b in loader])
    for (v0, a0), (v1, a1) in zip(*runs):
        assert torch.equal(v0, v1) and torch.equal(a0, a1)
