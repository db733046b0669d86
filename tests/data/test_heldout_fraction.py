"""`data.heldout_fraction` reaches the show-disjoint split of `binge prepare`."""

from __future__ import annotations

import dataclasses
import shutil

from binge.data.corpus import read_manifest
from binge.data.prepare import prepare_corpus


def test_heldout_fraction_sets_the_number_of_held_out_groups(tiny_world, tiny_corpus, tiny_config,
                                                             tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, corpus)  # finished titles are reused: only the manifest changes
    data = dataclasses.replace(tiny_config.data, heldout_fraction=0.5)
    report = prepare_corpus([tiny_world / "titles"], corpus, metadata=tiny_world / "metadata.csv",
                            data=data, workers=1, progress=False)
    assert report.new == 0
    rows = read_manifest(corpus)
    groups = sorted({r["group"] for r in rows})
    held = {r["group"] for r in rows if r["split"] == "heldout"}
    assert len(held) == round(0.5 * len(groups))
    for group in groups:  # all or none of a show's titles
        assert len({r["split"] for r in rows if r["group"] == group}) == 1
    default = {r["group"] for r in read_manifest(tiny_corpus) if r["split"] == "heldout"}
    assert len(default) == max(1, round(0.1 * len(groups)))
