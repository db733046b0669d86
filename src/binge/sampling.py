"""Hierarchical batch sampling over long-form content (paper §3, "Sampling Policy").

The paper draws a title ``n ~ U(1, N)``, then a set ``𝓜_n ⊂ [1..M_n]`` of ``k`` *distinct*
snippets with ``k ≤ max(𝓜_n) − min(𝓜_n) + 1 ≤ w ≤ M_n``, and repeats this for ``B/k``
distinct titles. ``w = M_n`` (``window=None``) imposes no temporal constraint; ``w = k``
makes the ``k`` snippets adjacent. ``k = 1`` is the paper's baseline, "the default sampling
policy": snippets i.i.d. over ``∪X_n``.

Every batch is a pure function of ``(seed, epoch, step)``: it is drawn with its own
``numpy.random.Generator(Philox(SeedSequence([seed, epoch, step])))``. There is no saved
plan, so resuming at any step and splitting a batch across ranks cost nothing, and memory is
``O(N)`` (a few arrays of one number per title), never ``O(ΣM_n)``.

Scene policies (the paper's future work, §4.2 "Sampling window": "ideally, we should
identify scene boundaries and dynamically modify w during sampling"): with per-title scene
boundaries (:mod:`binge.data.scenes`), ``window="scene"`` draws the ``k`` snippets of a title
inside one of its scenes (w = that scene's length) and ``scene_policy="distinct"`` draws them
from ``k`` different scenes (w = M_n). Memory stays ``O(N + number of scenes)``.

See ``docs/sampling.md`` for the policy on short titles and short scenes, the meaning of an
epoch and the relation between ``k = 1`` and title-uniform sampling.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Literal, Optional, Union

import numpy as np

if TYPE_CHECKING:
    from binge.config import SamplingConfig

__all__ = ["HierarchicalBatchSampler", "build_sampler", "floyd_sample", "snippet_offsets"]

logger = logging.getLogger(__name__)

#: draws allowed per group when units are drawn with replacement before giving up
#: (only reachable when a batch nearly exhausts the corpus).
_MAX_DRAWS_PER_GROUP = 1000

TitleWeighting = Literal["uniform", "length"]
ShortTitlePolicy = Literal["skip", "shrink_window"]
ScenePolicy = Literal["distinct"]
Window = Union[int, Literal["scene"], None]


def snippet_offsets(snippets_per_title: Sequence[int]) -> np.ndarray:
    """(N + 1,) int64 offsets of the flat snippet ids: snippet (n, m) is ``offsets[n] + m``
    and ``offsets[-1]`` = Σ M_n, the number of snippets. The one place this is computed."""
    counts = np.asarray(list(snippets_per_title), dtype=np.int64)
    return np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(counts, dtype=np.int64)])


def floyd_sample(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``k`` distinct integers drawn uniformly from ``range(n)`` in ``O(k)`` time and memory.

    Robert Floyd's algorithm: every ``k``-subset is equally likely. The result is returned in
    the order of insertion, which is *not* a uniform random order; callers sort or shuffle.
    """
    if not 0 <= k <= n:
        raise ValueError(f"cannot draw {k} distinct values from range({n})")
    chosen: dict[int, None] = {}  # insertion-ordered set
    for j in range(n - k, n):
        t = int(rng.integers(0, j + 1))
        chosen[j if t in chosen else t] = None
    return np.fromiter(chosen, dtype=np.int64, count=k)


class HierarchicalBatchSampler:
    """Batches of ``(title_index, snippet_index)`` pairs, drawn hierarchically (paper §3).

    Each global batch holds ``B/k`` groups of ``k`` distinct snippets; the snippets of one
    group come from one sampling unit and lie inside a window of ``w`` consecutive snippets
    (``k ≤ max − min + 1 ≤ w``). Rank ``r`` of ``world_size`` yields the ``r``-th contiguous
    slice of ``B / world_size`` pairs, so the ranks' lists concatenated in rank order equal the
    list that ``world_size=1`` yields for the same seed, epoch and step.

    **Title weighting.** ``"uniform"`` draws units ``n ~ U(1, N)`` as in the paper;
    ``"length"`` draws them with probability ``∝ M_n``. With ``k = 1`` the two differ exactly
    in the snippet distribution: ``"length"`` makes every snippet of ``∪X_n`` equally likely
    (``1/ΣM_n``), i.e. the paper's i.i.d. baseline, whereas ``"uniform"`` gives a snippet of
    title ``n`` probability ``1/(N·M_n)``, over-sampling short titles. For ``k > 1`` with
    ``w = M_n`` the same holds per snippet; the shipped configs use ``k = 1`` + ``"length"`` for
    the baseline and ``"uniform"`` for the hierarchical rows, as the paper writes ``U(1, N)``.

    **Distinct titles.** With ``distinct_titles=True`` every batch holds ``B/k`` *distinct*
    units, so that the negatives ``𝓝_i`` of Eq. 1 contain exactly ``2k − 2`` pairs from the
    title of ``x_i``. ``None`` (default) means ``k > 1``: for ``k = 1`` units are drawn with
    replacement (only the ``(title, snippet)`` pairs of a batch are distinct), which is the
    paper's i.i.d. baseline, where two snippets of one title meet in a batch with the
    "negligible" probability the paper discusses.

    **Sampling unit.** By default a unit is a title. With ``groups`` (one hashable id per title,
    e.g. the show) the titles of a group are stitched, in index order, into one long unit
    (paper footnote 5); a snippet index of the stitched unit is mapped back to the real
    ``(title, snippet)`` pair, so the dataset only ever sees real titles. A window may then
    straddle two consecutive episodes.

    **Short units.** A unit with ``M < k`` cannot give ``k`` distinct snippets and is always
    excluded. With a window ``w``, ``short_titles="skip"`` also excludes units with ``M < w``
    (so ``w ≤ M_n`` holds as written in the paper), while ``"shrink_window"`` keeps them and
    uses ``min(w, M)`` as their window. Exclusions are counted in the log (``logging`` INFO),
    and a ``ValueError`` is raised if too few units remain to fill a batch.

    **Within a unit.** A window start ``s ~ U{0, …, M − w}`` is drawn, then ``k`` distinct
    offsets uniformly from ``[0, w)`` (Floyd's algorithm), returned in ascending order. With
    ``w = M`` every ``k``-subset is equally likely; with ``w < M`` snippets within ``w − 1``
    of a unit's ends are drawn less often than central ones. For ``k = 1`` a window
    constrains nothing and the snippet is uniform in its unit.

    **Scenes.** ``scenes`` gives, per title, the ascending snippet indices where its scenes
    start (first 0; :func:`binge.data.scenes.snippet_scene_starts`). With stitched units a
    scene never crosses an episode: scene ids stay per episode.

    * ``window="scene"``: a scene of the unit is drawn with probability ``∝`` its snippet count
      (among the scenes that can be drawn), then ``k`` distinct snippets uniformly inside it
      (``w`` = the scene's length). Scenes with fewer than ``k`` snippets: ``"skip"`` never
      draws them (a unit with no scene of ``≥ k`` snippets is excluded);
      ``"shrink_window"`` draws them too and widens the window to the ``k`` consecutive
      snippets centred on the scene (clipped to the unit), so the group holds the whole scene
      and its nearest neighbours.
    * ``scene_policy="distinct"``: ``k`` distinct scenes of the unit are drawn without
      replacement with probabilities ``∝`` their snippet counts (Efraimidis–Spirakis keys),
      then one snippet uniformly in each (``w = M_n``). Units with fewer than ``k`` scenes:
      ``"skip"`` excludes them; ``"shrink_window"`` keeps them and draws their ``k`` snippets
      as with ``w = M_n`` (uniform ``k``-subset), so such a group may repeat a scene.

    Both counts (units excluded; scenes or units handled by the short policy) are logged.
    With ``k = 1`` both policies reduce to one snippet uniform in its unit.

    **Epoch.** Batches are drawn independently (units are sampled with replacement *across*
    batches), so an epoch is a number of steps, not a pass without replacement:
    ``steps_per_epoch`` if given, else ``ΣM_n // B`` over the eligible units — as many snippets
    as the corpus holds. Call :meth:`set_epoch` before each epoch (as with
    ``DistributedSampler``); ``set_epoch(e, start_step=s)`` resumes exactly at step ``s``.

    Args:
        snippets_per_title: ``M_n`` for each title ``n`` (the dataset's ``num_snippets``).
        batch_size: the **global** batch ``B`` over all ranks; a multiple of ``k`` and of
            ``world_size``.
        k: snippets per unit (paper ``k``).
        window: the window ``w`` (``k ≤ w``); ``None`` means ``w = M_n``; ``"scene"``: one
            scene of the unit (needs ``scenes``).
        seed: base seed; batch ``(epoch, step)`` depends only on ``(seed, epoch, step)``.
        rank, world_size: this process's slice of every global batch.
        title_weighting: ``"uniform"`` or ``"length"`` (see above).
        groups: optional group id per title; if given, units are groups (shows).
        short_titles: ``"skip"`` or ``"shrink_window"`` (see above).
        steps_per_epoch: overrides ``ΣM_n // B``.
        distinct_titles: whether the ``B/k`` units of a batch are distinct (``None``: ``k > 1``).
        scenes: per title, the snippet indices where its scenes start (see **Scenes**).
        scene_policy: ``"distinct"`` (``k`` different scenes, ``w = M_n``) or ``None``.

    Example:
        >>> s = HierarchicalBatchSampler([10, 20, 30, 40], batch_size=4, k=2, window=3)
        >>> batch = next(iter(s))
        >>> len(batch), len({t for t, _ in batch})
        (4, 2)
    """

    def __init__(
        self,
        snippets_per_title: Sequence[int],
        batch_size: int,
        k: int,
        window: Window = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        title_weighting: TitleWeighting = "uniform",
        *,
        groups: Optional[Sequence[Hashable]] = None,
        short_titles: ShortTitlePolicy = "skip",
        steps_per_epoch: Optional[int] = None,
        distinct_titles: Optional[bool] = None,
        scenes: Optional[Sequence[Sequence[int]]] = None,
        scene_policy: Optional[ScenePolicy] = None,
    ) -> None:
        lengths = np.asarray(snippets_per_title, dtype=np.int64).reshape(-1)
        self._check_args(lengths, batch_size, k, window, seed, rank, world_size,
                         title_weighting, short_titles, steps_per_epoch)
        self._check_scene_args(window, scene_policy, scenes, lengths.size)
        self.batch_size = int(batch_size)
        self.k = int(k)
        self.window = window if window is None or window == "scene" else int(window)
        self.scene_policy = scene_policy
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.title_weighting = title_weighting
        self.short_titles = short_titles
        self.distinct_titles = (self.k > 1) if distinct_titles is None else bool(distinct_titles)
        self.num_titles = int(lengths.size)
        self.unit_kind = "title" if groups is None else "show"
        self._build_units(lengths, groups)
        self._build_scenes(lengths, scenes)
        self._select_eligible()
        self.steps_per_epoch = (
            int(steps_per_epoch) if steps_per_epoch is not None
            else int(self._unit_len[self._eligible].sum()) // self.batch_size
        )
        if self.steps_per_epoch < 1:
            raise ValueError(
                f"the eligible units hold {int(self._unit_len[self._eligible].sum())} snippets, "
                f"fewer than one batch of {self.batch_size}: lower sampling.batch_size or set "
                "sampling.steps_per_epoch"
            )
        self.epoch = 0
        self.start_step = 0

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _check_args(lengths, batch_size, k, window, seed, rank, world_size,
                    title_weighting, short_titles, steps_per_epoch) -> None:
        if lengths.size == 0:
            raise ValueError("snippets_per_title is empty: the corpus has no titles")
        if (lengths < 0).any():
            raise ValueError("snippets_per_title holds a negative count")
        if k < 1:
            raise ValueError(f"k must be ≥ 1, got {k}")
        if batch_size < 1 or batch_size % k:
            raise ValueError(f"batch_size {batch_size} must be a positive multiple of k={k}")
        if world_size < 1 or batch_size % world_size:
            raise ValueError(
                f"batch_size {batch_size} (the global batch) must be divisible by "
                f"world_size={world_size}"
            )
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside [0, {world_size})")
        if isinstance(window, str) and window != "scene":
            raise ValueError(f"window {window!r} is not an integer, None or 'scene'")
        if isinstance(window, (int, np.integer)) and window < k:
            raise ValueError(f"window w={window} must be ≥ k={k} (paper: k ≤ w ≤ M_n)")
        if seed < 0:
            raise ValueError(f"seed must be ≥ 0, got {seed}")
        if title_weighting not in ("uniform", "length"):
            raise ValueError(f"title_weighting {title_weighting!r} is not 'uniform' or 'length'")
        if short_titles not in ("skip", "shrink_window"):
            raise ValueError(f"short_titles {short_titles!r} is not 'skip' or 'shrink_window'")
        if steps_per_epoch is not None and steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be ≥ 1, got {steps_per_epoch}")

    @staticmethod
    def _check_scene_args(window, scene_policy, scenes, num_titles: int) -> None:
        if scene_policy not in (None, "distinct"):
            raise ValueError(f"scene_policy {scene_policy!r} is not None or 'distinct'")
        if scene_policy is not None and window is not None:
            raise ValueError(f"scene_policy={scene_policy!r} draws over the whole title "
                             f"(w = M_n): set window to None, not {window!r}")
        if (window == "scene" or scene_policy is not None) and scenes is None:
            raise ValueError("window='scene' and scene_policy need the titles' scenes "
                             "(binge scenes CORPUS, or sampling.scenes=CSV)")
        if scenes is not None and len(scenes) != num_titles:
            raise ValueError(f"scenes has {len(scenes)} entries but snippets_per_title has "
                             f"{num_titles}")

    def _build_units(self, lengths: np.ndarray, groups: Optional[Sequence[Hashable]]) -> None:
        """Units (titles or stitched groups) as flat O(N) arrays.

        Titles are ordered unit by unit (index order inside a unit): ``_unit_titles[j]`` is
        the j-th title of that order and ``_starts[j]`` its first snippet in the concatenation
        of all units; unit ``u`` covers ``[_unit_start[u], _unit_start[u] + _unit_len[u])``.
        """
        if groups is None:
            codes = np.arange(lengths.size, dtype=np.int64)
            self.unit_ids: list[Hashable] = list(range(lengths.size))
        else:
            if len(groups) != lengths.size:
                raise ValueError(
                    f"groups has {len(groups)} entries but snippets_per_title has {lengths.size}"
                )
            first: dict[Hashable, int] = {}
            codes = np.fromiter((first.setdefault(g, len(first)) for g in groups),
                                dtype=np.int64, count=lengths.size)
            self.unit_ids = list(first)
        order = np.argsort(codes, kind="stable")  # titles grouped, index order inside
        counts = np.bincount(codes, minlength=len(self.unit_ids))
        ptr = snippet_offsets(counts)  # first title of each unit in `order`
        ordered_len = lengths[order]
        self._unit_titles = order
        self._starts = np.cumsum(ordered_len) - ordered_len
        self._unit_start = self._starts[ptr[:-1]]
        self._unit_len = np.add.reduceat(ordered_len, ptr[:-1])

    def _build_scenes(self, lengths: np.ndarray, scenes: Optional[Sequence[Sequence[int]]]) -> None:
        """Scenes as flat O(number of scenes) arrays in the units' snippet order.

        ``_scene_start[j]`` is scene ``j``'s first snippet in the concatenation of all units
        (as ``_starts``), ``_scene_len[j]`` its snippet count; unit ``u`` owns scenes
        ``[_unit_scene_ptr[u], _unit_scene_ptr[u + 1])``. Titles are never merged, so a
        stitched unit's scenes stay per episode.
        """
        self.has_scenes = scenes is not None
        self.num_scenes = self.num_short_scenes = self.num_few_scene_units = 0
        if scenes is None:
            return
        starts, sizes = [], []
        for j, title in enumerate(self._unit_titles.tolist()):
            m = int(lengths[title])
            s = np.asarray(scenes[title], dtype=np.int64).reshape(-1)
            if m == 0:
                continue
            if s.size == 0 or s[0] != 0 or (np.diff(s) <= 0).any() or s[-1] >= m:
                raise ValueError(f"scenes of title {title}: expected ascending snippet starts "
                                 f"beginning at 0 and below M_n={m}, got {s.tolist()[:8]}")
            starts.append(s + self._starts[j])
            sizes.append(np.diff(np.append(s, m)))
        self._scene_start = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        self._scene_len = np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
        # scenes of unit u: those starting inside [unit_start, unit_start + unit_len)
        bounds = np.append(self._unit_start, self._unit_start[-1] + self._unit_len[-1])
        ptr = np.searchsorted(self._scene_start, bounds, side="left")
        ptr[-1] = self._scene_start.size
        # empty units share a start with their successor: give them no scenes
        ptr[:-1][self._unit_len == 0] = ptr[1:][self._unit_len == 0]
        self._unit_scene_ptr = ptr
        self.num_scenes = int(self._scene_start.size)

    def _scene_eligibility(self) -> tuple[np.ndarray, str]:
        """Units that a scene policy can draw from, and the short-scene counts (logged)."""
        lengths, k = self._unit_len, self.k
        scenes_per_unit = np.diff(self._unit_scene_ptr)
        shrink = self.short_titles == "shrink_window"
        if self.window == "scene":
            drawable = (self._scene_len >= k) | shrink
            self._scene_cum = np.cumsum(np.where(drawable, self._scene_len, 0))
            per_unit = np.add.reduceat(np.append(drawable.astype(np.int64), 0),
                                       self._unit_scene_ptr[:-1])[:lengths.size]
            per_unit[scenes_per_unit == 0] = 0
            short = int((self._scene_len < k).sum())
            self.num_short_scenes = short
            eligible = (per_unit > 0) & (lengths >= k)
            note = (f"{short} of {self.num_scenes} scenes have fewer than k={k} snippets "
                    + ("(widened to k snippets)" if shrink else "(never drawn)"))
            return eligible, note
        few = scenes_per_unit < k
        eligible = (lengths >= k) & (~few | shrink)
        self.num_few_scene_units = int((few & eligible).sum())
        note = (f"{int((few & (lengths >= k)).sum())} {self.unit_kind}s have fewer than "
                f"k={k} scenes " + ("(drawn as w = M_n)" if shrink else "(excluded)"))
        return eligible, note

    def _select_eligible(self) -> None:
        """Apply the short-unit policy; log the exclusions; fail if a batch cannot be filled."""
        lengths = self._unit_len
        unit = self.unit_kind
        if self.window == "scene" or self.scene_policy is not None:
            eligible, note = self._scene_eligibility()
            need = self.k
            policy = f"window={self.window}, scene_policy={self.scene_policy}"
            logger.info("sampling: %s (%s, short_titles=%s)", note, policy, self.short_titles)
        else:
            need = self.k if (self.window is None or self.short_titles == "shrink_window") \
                else self.window
            eligible = lengths >= need
        excluded = int((~eligible).sum())
        if excluded:
            logger.info(
                "sampling: excluded %d of %d %ss with fewer than %d snippets%s "
                "(k=%d, window=%s, short_titles=%s)",
                excluded, lengths.size, unit, need,
                "" if self.scene_policy is None and self.window != "scene"
                else " in one scene" if self.window == "scene" else " or scenes",
                self.k, self.window, self.short_titles,
            )
        self.num_excluded = excluded
        self._eligible = np.flatnonzero(eligible)
        groups_per_batch = self.batch_size // self.k
        total = int(lengths[self._eligible].sum())
        if self.distinct_titles and self._eligible.size < groups_per_batch:
            raise ValueError(
                f"only {self._eligible.size} {unit}s can give a group (≥ {need} snippets), "
                f"but a batch "
                f"needs B/k = {groups_per_batch} distinct ones: lower batch_size, raise k, "
                "lower the window, or use short_titles=shrink_window"
            )
        if total < self.batch_size:
            raise ValueError(
                f"the eligible {unit}s hold {total} snippets, fewer than batch_size "
                f"{self.batch_size}"
            )
        weights = lengths[self._eligible].astype(np.float64)
        self._cum_weight = np.cumsum(weights)  # O(N) floats, for "length" draws

    # ------------------------------------------------------------------ public API
    def __len__(self) -> int:
        """Steps per epoch (the same on every rank)."""
        return self.steps_per_epoch

    @property
    def num_units(self) -> int:
        """Number of sampling units that can be drawn (after the short-unit policy)."""
        return int(self._eligible.size)

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        """Select the epoch that ``__iter__`` yields, starting at ``start_step`` (resume)."""
        if epoch < 0 or not 0 <= start_step <= self.steps_per_epoch:
            raise ValueError(
                f"epoch {epoch} / start_step {start_step} out of range "
                f"(steps per epoch: {self.steps_per_epoch})"
            )
        self.epoch = int(epoch)
        self.start_step = int(start_step)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.steps_per_epoch):
            yield self.batch(self.epoch, step)

    def state_dict(self) -> dict[str, int]:
        """Position to resume from (the batches themselves need no saving)."""
        return {"seed": self.seed, "epoch": self.epoch, "start_step": self.start_step}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if int(state["seed"]) != self.seed:
            raise ValueError(f"sampler state has seed {state['seed']}, this sampler {self.seed}")
        self.set_epoch(int(state["epoch"]), int(state["start_step"]))

    def batch(self, epoch: int, step: int) -> list[tuple[int, int]]:
        """This rank's slice of global batch ``(epoch, step)``: ``B / world_size`` pairs."""
        per_rank = self.batch_size // self.world_size
        full = self.global_batch(epoch, step)
        return full[self.rank * per_rank:(self.rank + 1) * per_rank]

    def global_batch(self, epoch: int, step: int) -> list[tuple[int, int]]:
        """All ``B`` pairs of batch ``(epoch, step)``, a pure function of ``(seed, epoch, step)``.

        Pairs are grouped: pairs ``[j·k, (j+1)·k)`` come from one unit.
        """
        rng = np.random.Generator(np.random.Philox(np.random.SeedSequence(
            [self.seed, int(epoch), int(step)])))
        groups_per_batch = self.batch_size // self.k
        if self.distinct_titles:
            units = self._draw_distinct_units(rng, groups_per_batch)
            index = self._draw_snippets(rng, units)
        else:
            units, index = self._draw_with_replacement(rng, groups_per_batch)
        return self._to_pairs(np.repeat(units, self.k), index)

    # ------------------------------------------------------------------ drawing
    def _draw_distinct_units(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` distinct eligible units, uniformly or ∝ length, in random order."""
        n = self._eligible.size
        if self.title_weighting == "uniform":
            picks = floyd_sample(rng, n, count)
            rng.shuffle(picks)
        else:
            # Efraimidis–Spirakis: the `count` smallest Exp(1)/w_i keys are a draw of `count`
            # items without replacement with probabilities ∝ w_i (successive sampling).
            weights = np.diff(self._cum_weight, prepend=0.0)
            keys = rng.exponential(size=n) / weights
            picks = np.argpartition(keys, count - 1)[:count] if count < n else np.arange(n)
            picks = picks[np.argsort(keys[picks], kind="stable")]
        return self._eligible[picks]

    def _draw_units(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` eligible units, i.i.d. (with replacement)."""
        if self.title_weighting == "uniform":
            return self._eligible[rng.integers(0, self._eligible.size, size=count)]
        x = rng.random(count) * self._cum_weight[-1]
        j = np.searchsorted(self._cum_weight, x, side="right")
        return self._eligible[np.minimum(j, self._eligible.size - 1)]

    def _draw_with_replacement(
        self, rng: np.random.Generator, count: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """``count`` groups from i.i.d. units, keeping a group only if it shares no pair with
        the groups kept before it (a sequential rejection, processed in chunks)."""
        seen: set[int] = set()
        units: list[int] = []
        index: list[np.ndarray] = []
        drawn = 0
        while len(units) < count:
            if drawn >= _MAX_DRAWS_PER_GROUP * count:
                raise RuntimeError(
                    f"could not fill a batch of {self.batch_size} distinct pairs after {drawn} "
                    f"draws: the corpus is too small for B={self.batch_size}, k={self.k}, "
                    f"w={self.window}; lower sampling.batch_size"
                )
            chunk = self._draw_units(rng, count - len(units))
            offsets = self._draw_snippets(rng, chunk).reshape(chunk.size, self.k)
            drawn += chunk.size
            for u, idx in zip(chunk.tolist(), offsets):
                keys = (self._unit_start[u] + idx).tolist()  # global snippet ids
                if len(units) < count and seen.isdisjoint(keys):
                    seen.update(keys)
                    units.append(u)
                    index.append(idx)
        return np.asarray(units, dtype=np.int64), np.concatenate(index)

    def _draw_snippets(self, rng: np.random.Generator, units: np.ndarray) -> np.ndarray:
        """(len(units)·k,) snippet indices inside each unit: ``k`` distinct per unit, ascending,
        inside a window of ``w`` (any single snippet when ``k = 1``: uniform in the unit)."""
        lengths = self._unit_len[units]
        if self.k == 1:
            return rng.integers(0, lengths)
        if self.window == "scene":
            return self._draw_in_scene(rng, units)
        if self.scene_policy == "distinct":
            return self._draw_distinct_scenes(rng, units)
        out = np.empty((units.size, self.k), dtype=np.int64)
        for g, length in enumerate(lengths.tolist()):
            w = length if self.window is None else min(self.window, length)
            start = int(rng.integers(0, length - w + 1))
            out[g] = np.sort(floyd_sample(rng, w, self.k)) + start
        return out.reshape(-1)

    def _draw_in_scene(self, rng: np.random.Generator, units: np.ndarray) -> np.ndarray:
        """``window="scene"``: per unit, a scene ∝ its length among the drawable ones, then
        ``k`` distinct snippets inside it (a scene shorter than ``k``: the ``k`` snippets
        centred on it, clipped to the unit)."""
        k = self.k
        out = np.empty((units.size, k), dtype=np.int64)
        cum = self._scene_cum
        for g, u in enumerate(units.tolist()):
            lo, hi = self._unit_scene_ptr[u], self._unit_scene_ptr[u + 1]
            base = int(cum[lo - 1]) if lo > 0 else 0
            x = base + int(rng.integers(0, int(cum[hi - 1]) - base))
            j = int(np.searchsorted(cum, x, side="right"))
            start = int(self._scene_start[j] - self._unit_start[u])
            length = int(self._scene_len[j])
            if length >= k:
                out[g] = np.sort(floyd_sample(rng, length, k)) + start
            else:
                first = start - (k - length) // 2
                first = min(max(first, 0), int(self._unit_len[u]) - k)
                out[g] = np.arange(first, first + k)
        return out.reshape(-1)

    def _draw_distinct_scenes(self, rng: np.random.Generator, units: np.ndarray) -> np.ndarray:
        """``scene_policy="distinct"``: per unit, ``k`` distinct scenes (∝ length, without
        replacement) and one snippet uniform in each; a unit with fewer than ``k`` scenes
        (``shrink_window``) draws a uniform ``k``-subset of the unit."""
        k = self.k
        out = np.empty((units.size, k), dtype=np.int64)
        for g, u in enumerate(units.tolist()):
            lo, hi = self._unit_scene_ptr[u], self._unit_scene_ptr[u + 1]
            if hi - lo < k:
                out[g] = np.sort(floyd_sample(rng, int(self._unit_len[u]), k))
                continue
            sizes = self._scene_len[lo:hi]
            keys = rng.exponential(size=hi - lo) / sizes
            picks = np.argpartition(keys, k - 1)[:k] if k < hi - lo else np.arange(k)
            offsets = (rng.random(k) * sizes[picks]).astype(np.int64)
            local = self._scene_start[lo + picks] - self._unit_start[u] + offsets
            out[g] = np.sort(local)
        return out.reshape(-1)

    def _to_pairs(self, units: np.ndarray, index: np.ndarray) -> list[tuple[int, int]]:
        """Map snippet ``index`` of (possibly stitched) ``units`` to real ``(title, snippet)``."""
        pos = self._unit_start[units] + index
        # the last title starting at or before pos (empty titles share their successor's start)
        j = np.searchsorted(self._starts, pos, side="right") - 1
        return list(zip(self._unit_titles[j].tolist(), (pos - self._starts[j]).tolist()))


def build_sampler(
    cfg: "SamplingConfig",
    snippets_per_title: Sequence[int],
    groups: Optional[Sequence[Hashable]] = None,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    scenes: Optional[Sequence[Sequence[int]]] = None,
) -> HierarchicalBatchSampler:
    """A sampler from the ``sampling`` config section.

    ``groups`` (one id per title, e.g. ``SnippetDataset.groups``) is required when
    ``cfg.unit == "show"`` and ignored for ``"title"``. ``scenes`` (per title, snippet
    indices where its scenes start: :func:`binge.data.scenes.sampling_scenes`) is required
    by ``window: scene`` and ``scene_policy: distinct``.
    """
    if cfg.unit == "show" and groups is None:
        raise ValueError("sampling.unit=show needs the titles' groups (the dataset's groups)")
    return HierarchicalBatchSampler(
        snippets_per_title,
        batch_size=cfg.batch_size,
        k=cfg.k,
        window=cfg.window,
        seed=seed,
        rank=rank,
        world_size=world_size,
        title_weighting=cfg.title_weighting,
        groups=groups if cfg.unit == "show" else None,
        short_titles=cfg.short_titles,
        steps_per_epoch=cfg.steps_per_epoch,
        distinct_titles=cfg.distinct_titles,
        scenes=scenes,
        scene_policy=cfg.scene_policy,
    )
