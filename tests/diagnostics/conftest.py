"""A stand-in held-out split with the SnippetDataset interface, for fast pipeline tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from binge.config import load_config


class TitleTintedSnippets:
    """``ds[(n, m)]`` → video (16×56×56×3 uint8) tinted per title, audio (1×64×200) with a
    per-title offset, both plus per-snippet noise: the SnippetDataset contract, tiny sizes."""

    augment = False

    def __init__(self, num_snippets=(4, 3, 5, 1, 4)):
        self.num_snippets = list(num_snippets)
        self.title_ids = [f"show{n // 2}_ep{n % 2 + 1}" for n in range(len(num_snippets))]
        self.groups = [f"show{n // 2}" for n in range(len(num_snippets))]
        self.calls: list[tuple[int, int]] = []

    def __len__(self) -> int:
        return sum(self.num_snippets)

    def __getitem__(self, key):
        n, m = key
        if not 0 <= m < self.num_snippets[n]:
            raise IndexError(key)
        self.calls.append((n, m))
        g = torch.Generator().manual_seed(1000 * n + m)
        tint = torch.tensor([40 * n, 255 - 40 * n, 128], dtype=torch.float32)
        video = (tint + 30 * torch.randn(16, 56, 56, 3, generator=g)).clamp(0, 255).to(torch.uint8)
        audio = n + torch.randn(1, 64, 200, generator=g)
        return {"video": video, "audio": audio, "title": n, "snippet": m,
                "start_s": 3.2 * m, "end_s": 3.2 * (m + 1)}


@pytest.fixture
def fake_heldout():
    return TitleTintedSnippets()


@pytest.fixture
def fake_corpus(tmp_path) -> Path:
    """A folder standing for the prepared corpus (the cache key reads its manifest.csv)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "manifest.csv").write_text("title_id,split\n")
    return corpus


@pytest.fixture
def tiny_cfg(tiny_config):
    """configs/tiny.yaml with small discrepancy sampling (all 4 eligible titles, 3 snippets)."""
    return load_config(
        Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml",
        ["discrepancy.max_titles=8", "discrepancy.snippets_per_title=3",
         "discrepancy.max_pairs_per_set=50", "discrepancy.bootstrap=20",
         "discrepancy.batch_size=4", "discrepancy.device=cpu"],
    )
