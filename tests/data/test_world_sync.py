"""A/V sync of snippets of the prepared tiny TV world against its ground-truth JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from binge.data import SnippetDataset
from binge.data.corpus import read_manifest


@pytest.mark.slow
def test_world_cuts_and_sound_onsets_line_up(tiny_world, tiny_corpus, tiny_config):
    data = tiny_config.data
    ds = SnippetDataset(tiny_corpus, augment=False, crop_size=None, data=data)
    rows = read_manifest(tiny_corpus)
    by_group = {}
    for r in rows:
        by_group.setdefault(r["group"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_group.values())  # no show on both sides
    assert {"train", "heldout"} <= {r["split"] for r in rows}

    hop_s = data.hop_length / data.sample_rate
    lags = np.arange(-12, 13)
    triggered = np.zeros(len(lags))
    cuts = 0
    for n, tid in enumerate(ds.title_ids):
        gt = json.loads((tiny_world / "ground_truth" / f"{tid}.json").read_text())
        snippets = [ds.get_snippet(n, m) for m in range(ds.num_snippets[n])]
        video = np.concatenate([s["video"].numpy() for s in snippets]).astype(np.float32)
        audio = np.concatenate([s["audio"][0].numpy() for s in snippets], axis=1)
        # video: a cut to another location is the largest frame change around it; the first
        # frame of the new scene is the first whose time (j + 0.5) / fps is >= the cut
        jump = np.abs(np.diff(video, axis=0)).mean(axis=(1, 2, 3))  # jump[j-1]: frame j-1 → j
        for prev, sc in zip(gt["scenes"], gt["scenes"][1:]):
            c = sc["start_s"]
            j = int(np.ceil(c * data.fps - 0.5))
            if sc["location"] == prev["location"] or j + 3 >= len(video):
                continue
            lo, hi = max(1, j - 3), j + 4
            assert lo + int(np.argmax(jump[lo - 1:hi - 1])) == j, (tid, c)
            cuts += 1
        # audio: onset-triggered average of the spectral flux peaks at the onset frame
        flux = np.maximum(np.diff(audio, axis=1), 0).sum(axis=0)  # flux[t-1]: frame t-1 → t
        for o in gt["onsets"]:
            t = int(round(o["t"] / hop_s))
            if t - 1 + lags[0] >= 0 and t - 1 + lags[-1] < len(flux):
                triggered += flux[t - 1 + lags]
    assert cuts >= 3
    # frames are 2·hop wide, so the rise may show up to 2 frames early, never late
    assert -2 <= lags[int(np.argmax(triggered))] <= 0
