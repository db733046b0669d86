"""Manifest and split rules (paper §4.2: 90/10, show-disjoint)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from binge.config import DataConfig
from binge.data.corpus import CorpusError, CorpusParamsError, assign_splits, read_manifest

groups_st = st.lists(st.sampled_from([f"show{i}" for i in range(30)]), min_size=1, max_size=80)


@settings(max_examples=200, deadline=None)
@given(groups=groups_st, seed=st.integers(0, 3))
def test_split_is_show_disjoint_and_ten_percent(groups, seed):
    splits = assign_splits(groups, seed=seed)
    held = {g for g, s in zip(groups, splits) if s == "heldout"}
    train = {g for g, s in zip(groups, splits) if s == "train"}
    assert held.isdisjoint(train) and held | train == set(groups)
    n = len(set(groups))
    if n >= 2:
        assert len(held) == min(n - 1, max(1, round(0.1 * n)))
        assert train
    else:
        assert not held
    # deterministic and independent of title order
    order = sorted(range(len(groups)), key=lambda i: groups[i][::-1])
    again = assign_splits([groups[i] for i in order], seed=seed)
    assert [splits[i] for i in order] == again


def test_user_split_wins():
    groups = ["a", "a", "b", "c", "d"]
    out = assign_splits(groups, ["heldout", "", None, "train", ""])
    assert out[0] == "heldout" and out[3] == "train"
    assert out[1] in ("train", "heldout")
    with pytest.raises(ValueError, match="split"):
        assign_splits(["a"], ["test"])


def test_read_manifest_refuses_other_parameters(messy_corpus, tiny_data):
    out, _ = messy_corpus
    assert len(read_manifest(out, tiny_data)) == 6  # 5 good + the truncated MKV (kept)
    with pytest.raises(CorpusParamsError, match=r"short_side: prepared 64, asked 190"):
        read_manifest(out, DataConfig())
    with pytest.raises(CorpusError, match="not a prepared corpus"):
        read_manifest(out / "titles")
