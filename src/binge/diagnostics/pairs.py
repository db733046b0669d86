"""Which snippets are embedded and which audio–video pairs form S+, S− and S≠ (paper Eq. 2).

Sampling is stated and bounded:

1. :func:`select_snippets` keeps the titles with at least two snippets (a title with one has
   no S− pair), draws ``max_titles`` of them and ``snippets_per_title`` snippets of each,
   uniformly without replacement under ``seed``. The K selected snippets are embedded once;
   rows are grouped by title (title index, then snippet index, ascending). With ``groups``
   (``discrepancy.unit=show``) the unit is a show instead: its episodes count as one long
   title (paper footnote 5), so that "same title" in S− and "different titles" in S≠ read
   "same show" and "different shows".
2. :func:`sample_pairs` forms, over the K rows, with video from row i = (n, m) and audio from
   row j = (n', m'):

   - S+: every (i, i) — K pairs, never subsampled;
   - S−: i ≠ j in the same title — Σ_n s_n (s_n − 1) pairs;
   - S≠: i, j in different titles — K² − Σ_n s_n² pairs;

   S− and S≠ are each subsampled uniformly without replacement to ``max_pairs_per_set``.
   Pairs are drawn as flat indices into the enumeration "row i, then its partners in order" and
   decoded in closed form, so memory stays O(max_pairs_per_set) however large K² is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

__all__ = ["SnippetSelection", "PairSet", "select_snippets", "sample_pairs", "PAIR_SETS"]

#: key → (symbol, meaning) of the three sets of Eq. 2.
PAIR_SETS: dict[str, tuple[str, str]] = {
    "pos": ("S+", "true pair: n = n', m = m'"),
    "neg": ("S−", "same title, other snippet: n = n', m ≠ m'"),
    "diff": ("S≠", "different titles: n ≠ n'"),
}


@dataclass(frozen=True)
class SnippetSelection:
    """The K snippets to embed: row r is snippet ``snippets[r]`` of title ``titles[r]``."""

    titles: np.ndarray  # (K,) int64 title index n (the dataset's)
    snippets: np.ndarray  # (K,) int64 snippet index m
    skipped_titles: tuple[int, ...] = ()  # titles (units) with < 2 snippets
    units: np.ndarray | None = None  # (K,) unit of each row, non-decreasing; None: the title

    def __post_init__(self) -> None:
        if self.units is None:
            object.__setattr__(self, "units", self.titles)

    def __len__(self) -> int:
        return int(self.titles.size)

    @property
    def title_set(self) -> np.ndarray:
        return np.unique(self.titles)

    @property
    def unit_set(self) -> np.ndarray:
        return np.unique(self.units)

    def items(self) -> list[tuple[int, int]]:
        """The (n, m) keys of ``SnippetDataset``, in row order."""
        return [(int(n), int(m)) for n, m in zip(self.titles, self.snippets)]


@dataclass(frozen=True)
class PairSet:
    """Pairs (video row, audio row) of one set, and how many pairs the set holds in all."""

    video_rows: np.ndarray  # (P,) int64
    audio_rows: np.ndarray  # (P,) int64
    total: int  # size of the full set before subsampling

    def __len__(self) -> int:
        return int(self.video_rows.size)


def select_snippets(
    num_snippets: Sequence[int],
    max_titles: int,
    snippets_per_title: int,
    seed: int = 0,
    groups: Optional[Sequence[str]] = None,
) -> SnippetSelection:
    """Draw titles and snippets as the module doc states (deterministic under ``seed``).

    ``groups`` (one show name per title) makes the show the unit: ``max_titles`` shows,
    ``snippets_per_title`` snippets drawn from all of a show's episodes together.
    """
    if groups is not None:
        return _select_by_group(num_snippets, groups, max_titles, snippets_per_title, seed)
    if max_titles < 2:
        raise ValueError(f"max_titles must be ≥ 2 (S≠ needs two titles), got {max_titles}")
    if snippets_per_title < 2:
        raise ValueError(f"snippets_per_title must be ≥ 2 (S− needs two), got {snippets_per_title}")
    counts = np.asarray(num_snippets, dtype=np.int64)
    eligible = np.flatnonzero(counts >= 2)
    skipped = tuple(int(n) for n in np.flatnonzero(counts < 2))
    if eligible.size < 2:
        raise ValueError(
            f"the split has {eligible.size} title(s) with ≥ 2 snippets; S≠ needs at least 2 "
            "(prepare a larger held-out split or pass another --corpus)"
        )
    rng = np.random.default_rng([seed, 0])
    chosen = np.sort(rng.permutation(eligible)[:max_titles])
    titles, snippets = [], []
    for n in chosen:
        take = min(snippets_per_title, int(counts[n]))
        ms = np.sort(rng.choice(int(counts[n]), size=take, replace=False))
        titles.append(np.full(take, n, dtype=np.int64))
        snippets.append(ms.astype(np.int64))
    return SnippetSelection(np.concatenate(titles), np.concatenate(snippets), skipped)


def _select_by_group(
    num_snippets: Sequence[int], groups: Sequence[str], max_units: int, per_unit: int, seed: int
) -> SnippetSelection:
    counts = np.asarray(num_snippets, dtype=np.int64)
    if len(groups) != counts.size:
        raise ValueError(f"{len(groups)} group names for {counts.size} titles")
    names = sorted(set(groups))
    members = {g: [n for n in range(counts.size) if groups[n] == g] for g in names}
    keys = {g: [(n, m) for n in members[g] for m in range(int(counts[n]))] for g in names}
    sel = select_snippets([len(keys[g]) for g in names], max_units, per_unit, seed)
    pairs = [keys[names[u]][j] for u, j in zip(sel.titles, sel.snippets)]
    skipped = tuple(n for u in sel.skipped_titles for n in members[names[u]])
    return SnippetSelection(np.array([n for n, _ in pairs], dtype=np.int64),
                            np.array([m for _, m in pairs], dtype=np.int64), skipped, sel.titles)


def _blocks(titles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: first row of its title's block and the block size (rows grouped by title)."""
    if np.any(np.diff(titles) < 0):
        raise ValueError("rows must be grouped by title (titles non-decreasing)")
    _, first, sizes = np.unique(titles, return_index=True, return_counts=True)
    block = np.searchsorted(first, np.arange(titles.size), side="right") - 1
    return first[block], sizes[block]


def _draw(total: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted flat indices: all of ``range(total)`` or ``limit`` of them without replacement."""
    if total <= limit:
        return np.arange(total, dtype=np.int64)
    return np.sort(rng.choice(total, size=limit, replace=False).astype(np.int64))


def _decode(flat: np.ndarray, per_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat index → (row, offset among that row's partners)."""
    ends = np.cumsum(per_row)
    rows = np.searchsorted(ends, flat, side="right")
    return rows, flat - (ends[rows] - per_row[rows])


def sample_pairs(
    selection: SnippetSelection, max_pairs_per_set: int, seed: int = 0
) -> dict[str, PairSet]:
    """S+, S− and S≠ over the selected rows: ``{"pos", "neg", "diff"} → PairSet``."""
    if max_pairs_per_set < 1:
        raise ValueError(f"max_pairs_per_set must be ≥ 1, got {max_pairs_per_set}")
    k = len(selection)
    start, size = _blocks(selection.units)
    rows = np.arange(k, dtype=np.int64)
    rng = np.random.default_rng([seed, 1])

    # S−: row i's partners are the other s_i − 1 rows of its block, in order.
    neg_per_row = size - 1
    flat = _draw(int(neg_per_row.sum()), max_pairs_per_set, rng)
    i, o = _decode(flat, neg_per_row)
    local = i - start[i]
    neg = PairSet(i, start[i] + o + (o >= local), int(neg_per_row.sum()))

    # S≠: row i's partners are all rows outside its block, in order.
    diff_per_row = k - size
    flat = _draw(int(diff_per_row.sum()), max_pairs_per_set, rng)
    i, o = _decode(flat, diff_per_row)
    diff = PairSet(i, o + (o >= start[i]) * size[i], int(diff_per_row.sum()))

    return {"pos": PairSet(rows, rows.copy(), k), "neg": neg, "diff": diff}
