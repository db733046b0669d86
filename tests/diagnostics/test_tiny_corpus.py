"""On the prepared tiny world (real SnippetDataset): every pair's (n, m, n', m') and the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from binge.cli import main
from binge.diagnostics import sample_pairs, select_snippets
from binge.diagnostics.discrepancy import open_heldout

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # the session's tiny world + corpus (≈ 1 min on 2 cores)


def heldout_rows(corpus: Path) -> list[dict]:
    with open(corpus / "manifest.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["split"] == "heldout"]


def test_every_pair_on_the_tiny_heldout_split(tiny_corpus, tiny_config):
    ds = open_heldout(tiny_corpus, tiny_config, "heldout")
    rows = heldout_rows(tiny_corpus)
    assert ds.title_ids == [r["title_id"] for r in rows]
    assert ds.num_snippets == [int(r["num_snippets"]) for r in rows]
    d = tiny_config.discrepancy  # 64 titles × 16 snippets: the whole tiny split is taken
    sel = select_snippets(ds.num_snippets, d.max_titles, d.snippets_per_title, d.seed)
    expected = [(n, m) for n, r in enumerate(rows) if int(r["num_snippets"]) >= 2
                for m in range(int(r["num_snippets"]))]
    assert sel.items() == expected
    items = {key: ds[key] for key in sel.items()}  # each snippet read once
    for (n, m), item in items.items():
        assert (item["title"], item["snippet"]) == (n, m)
        assert item["video"].shape[1:] == (tiny_config.augment.crop_size,) * 2 + (3,)
    ids = ds.title_ids
    pairs = sample_pairs(sel, d.max_pairs_per_set, d.seed)
    got = {
        name: sorted((ids[sel.titles[i]], int(sel.snippets[i]), ids[sel.titles[j]], int(sel.snippets[j]))
                     for i, j in zip(ps.video_rows, ps.audio_rows))
        for name, ps in pairs.items()
    }
    # brute force over the manifest's title ids: Eq. 2 with loops
    keys = [(ids[n], m) for n, m in expected]
    want = {"pos": [], "neg": [], "diff": []}
    for t, m in keys:
        for t2, m2 in keys:
            want["pos" if (t, m) == (t2, m2) else "neg" if t == t2 else "diff"].append((t, m, t2, m2))
    assert got == {k: sorted(v) for k, v in want.items()}
    sizes = [int(r["num_snippets"]) for r in rows if int(r["num_snippets"]) >= 2]
    assert len(got["neg"]) == sum(s * (s - 1) for s in sizes)
    assert len(got["diff"]) == sum(sizes) ** 2 - sum(s * s for s in sizes)


def test_cli_random_init_on_tiny_corpus(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "disc"
    rc = main(["discrepancy", "--random-init", "--corpus", str(tiny_corpus),
               "--config", str(REPO / "configs" / "tiny.yaml"), "--out", str(out),
               "discrepancy.device=cpu", "discrepancy.bootstrap=50"])
    assert rc == 0
    r = json.loads((out / "random-init" / "discrepancy.json").read_text())
    for key in ("kl_neg_pos", "kl_diff_pos", "kl_neg_diff", "gap"):
        assert r[key] >= 0 or key == "gap"
        assert key in r["ci"]
    assert r["gap"] == pytest.approx(r["kl_diff_pos"] - r["kl_neg_pos"])
    assert r["pairs"]["pos"]["count"] == r["sampling"]["snippets"]
    assert r["estimator"]["name"] == "histogram" and r["bootstrap"]["replicates"] == 50
    assert (out / "random-init" / "histograms.png").stat().st_size > 10_000
    assert "KL(S-||S+)=" in capsys.readouterr().out

