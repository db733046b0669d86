"""Discrepancy measures of paper §3 (Eq. 2) and §4.2: how much easier negatives from other
titles (S≠) are than negatives from the same title (S−), measured on a held-out split.

>>> from binge.diagnostics import kl_divergence
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> round(kl_divergence(rng.normal(0, 1, 20000), rng.normal(0, 1, 20000)), 1)
0.0

Modules: :mod:`.kl` (estimators), :mod:`.pairs` (snippet selection, S+/S−/S≠),
:mod:`.embed` (batched embedding + cache), :mod:`.measures` (similarities, KLs, bootstrap),
:mod:`.discrepancy` (the ``measure`` hook, one checkpoint → JSON + PNG), :mod:`.monitor`
(every N training steps), :mod:`.runs` (curves over a run's checkpoints, runs compared),
:mod:`.plots`, :mod:`.accuracy` (estimators vs Gaussians), :mod:`.cli` (``binge discrepancy``).
"""

from binge.lazy import lazy_attributes

#: public name → the submodule that defines it, imported on first use (PEP 562): importing
#: ``binge.diagnostics.cli`` must not import torch (through measures → objectives.base), so that
#: ``binge discrepancy`` refuses a bad config or argument before the torch import (docs/cli.md)
_LAZY = {
    "kl_divergence": "kl",
    "KL_TERMS": "measures", "PairSimilarities": "measures", "SimilaritySpec": "measures",
    "discrepancy_measures": "measures", "pair_similarities": "measures",
    "PAIR_SETS": "pairs", "PairSet": "pairs", "SnippetSelection": "pairs",
    "sample_pairs": "pairs", "select_snippets": "pairs",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


def measure(model, dataset, cfg, progress: bool = False, objective=None) -> dict:
    """See :func:`binge.diagnostics.discrepancy.measure` (imported lazily: it needs torch);
    ``objective``: the run's, whose heads give the space measured."""
    from binge.diagnostics.discrepancy import measure as _measure

    return _measure(model, dataset, cfg, progress=progress, objective=objective)


__all__ = [
    "kl_divergence",
    "measure",
    "KL_TERMS",
    "PAIR_SETS",
    "PairSet",
    "PairSimilarities",
    "SimilaritySpec",
    "SnippetSelection",
    "discrepancy_measures",
    "pair_similarities",
    "sample_pairs",
    "select_snippets",
]
