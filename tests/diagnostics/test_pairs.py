"""S+, S−, S≠ of paper Eq. 2: every pair's (n, m, n', m') checked against a brute-force list."""

from __future__ import annotations

import numpy as np
import pytest

from binge.diagnostics import sample_pairs, select_snippets


def quads(sel, ps):
    """The (n, m, n', m') of each pair: video from (n, m), audio from (n', m')."""
    return [
        (int(sel.titles[i]), int(sel.snippets[i]), int(sel.titles[j]), int(sel.snippets[j]))
        for i, j in zip(ps.video_rows, ps.audio_rows)
    ]


def brute_force(sel):
    """All pairs of the K rows, classified by Eq. 2 with plain loops."""
    rows = list(zip(sel.titles.tolist(), sel.snippets.tolist()))
    sets = {"pos": [], "neg": [], "diff": []}
    for n, m in rows:
        for n2, m2 in rows:
            key = "pos" if (n == n2 and m == m2) else "neg" if n == n2 else "diff"
            sets[key].append((n, m, n2, m2))
    return sets


NUM_SNIPPETS = [5, 1, 3, 4, 0, 2, 7]


def test_selection_is_stated_and_deterministic():
    sel = select_snippets(NUM_SNIPPETS, max_titles=3, snippets_per_title=3, seed=0)
    again = select_snippets(NUM_SNIPPETS, max_titles=3, snippets_per_title=3, seed=0)
    assert np.array_equal(sel.titles, again.titles) and np.array_equal(sel.snippets, again.snippets)
    assert sel.skipped_titles == (1, 4)  # fewer than 2 snippets: no S− pair possible
    titles = sel.title_set
    assert titles.size == 3 and set(titles) <= {0, 2, 3, 5, 6}
    for n in titles:
        ms = sel.snippets[sel.titles == n]
        assert ms.size == min(3, NUM_SNIPPETS[n]) and len(set(ms)) == ms.size
        assert ms.min() >= 0 and ms.max() < NUM_SNIPPETS[n] and np.all(np.diff(ms) > 0)
    others = {tuple(select_snippets(NUM_SNIPPETS, 3, 3, seed=s).snippets) for s in range(8)}
    assert len(others) > 1  # the seed matters


def test_every_pair_without_subsampling():
    sel = select_snippets(NUM_SNIPPETS, max_titles=10, snippets_per_title=10, seed=0)
    assert len(sel) == 5 + 3 + 4 + 2 + 7  # every snippet of every title with ≥ 2
    pairs = sample_pairs(sel, max_pairs_per_set=10**6, seed=0)
    expected = brute_force(sel)
    k = len(sel)
    sizes = [5, 3, 4, 2, 7]
    assert len(pairs["pos"]) == k
    assert len(pairs["neg"]) == sum(s * (s - 1) for s in sizes) == pairs["neg"].total
    assert len(pairs["diff"]) == k * k - sum(s * s for s in sizes) == pairs["diff"].total
    for name in ("pos", "neg", "diff"):
        got = quads(sel, pairs[name])
        assert len(set(got)) == len(got)  # no pair twice
        assert sorted(got) == sorted(expected[name])


def test_subsampled_sets_are_uniform_subsets():
    sel = select_snippets([6, 2, 9, 3], max_titles=4, snippets_per_title=9, seed=1)
    full = brute_force(sel)
    limit = 20
    pairs = sample_pairs(sel, max_pairs_per_set=limit, seed=3)
    for name in ("neg", "diff"):
        got = quads(sel, pairs[name])
        assert len(got) == limit and len(set(got)) == limit
        assert set(got) <= set(full[name])
        assert pairs[name].total == len(full[name])
    assert len(pairs["pos"]) == len(sel)  # S+ is never subsampled
    a = sample_pairs(sel, limit, seed=3)["diff"].video_rows
    b = sample_pairs(sel, limit, seed=4)["diff"].video_rows
    assert np.array_equal(a, pairs["diff"].video_rows) and not np.array_equal(a, b)


def test_subsampling_is_uniform_over_pairs():
    """Row title of S≠ pairs ∝ s_n (K − s_n), of S− pairs ∝ s_n (s_n − 1): all pairs equally likely."""
    sizes = np.array([2, 5, 10, 20])
    sel = select_snippets(sizes, max_titles=4, snippets_per_title=20, seed=0)
    k = sizes.sum()
    pairs = sample_pairs(sel, max_pairs_per_set=4000, seed=0)
    for name, weight in (("diff", sizes * (k - sizes)), ("neg", sizes * (sizes - 1))):
        ps = pairs[name]
        frac = np.bincount(sel.titles[ps.video_rows], minlength=4) / len(ps)
        assert np.allclose(frac, weight / weight.sum(), atol=0.03)


def test_memory_is_bounded_for_huge_sets():
    """10⁵ rows → ~10¹⁰ S≠ pairs: only the drawn ones are ever held."""
    sel = select_snippets([1000] * 100, max_titles=100, snippets_per_title=1000, seed=0)
    pairs = sample_pairs(sel, max_pairs_per_set=500, seed=0)
    d = pairs["diff"]
    assert d.total == 10**10 - 100 * 1000**2 and len(d) == 500
    assert np.all(sel.titles[d.video_rows] != sel.titles[d.audio_rows])
    n = pairs["neg"]
    assert np.all(sel.titles[n.video_rows] == sel.titles[n.audio_rows])
    assert np.all(n.video_rows != n.audio_rows)


def test_too_few_titles_is_a_clear_error():
    with pytest.raises(ValueError, match="needs at least 2"):
        select_snippets([5, 1, 0], max_titles=4, snippets_per_title=4)
    with pytest.raises(ValueError, match="max_titles"):
        select_snippets([5, 5], max_titles=1, snippets_per_title=4)


def test_show_unit_pairs_span_episodes():
    """unit=show: a show's episodes are one title, so S− pairs may join two of its episodes."""
    counts, groups = [2, 3, 1, 4, 0], ["a", "a", "b", "c", "c"]
    sel = select_snippets(counts, max_titles=5, snippets_per_title=10, seed=0, groups=groups)
    assert sel.skipped_titles == (2,)  # show b has one snippet in all
    assert sel.items() == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (3, 0), (3, 1), (3, 2), (3, 3)]
    pairs = sample_pairs(sel, 10**6, 0)
    show = {(n, m): groups[n] for n, m in sel.items()}
    rows = sel.items()
    for name, ps in pairs.items():
        for i, j in zip(ps.video_rows, ps.audio_rows):
            a, b = rows[i], rows[j]
            want = "pos" if a == b else "neg" if show[a] == show[b] else "diff"
            assert want == name, (a, b, name)
    assert len(pairs["neg"]) == 5 * 4 + 4 * 3 and len(pairs["diff"]) == 2 * 5 * 4
    assert any(rows[i][0] != rows[j][0] for i, j in zip(pairs["neg"].video_rows, pairs["neg"].audio_rows))
    few = select_snippets(counts, max_titles=2, snippets_per_title=3, seed=1, groups=groups)
    assert few.unit_set.size == 2 and np.all(np.unique(few.units, return_counts=True)[1] == 3)
