"""Linear probe on frozen features (CrissCross §E.1; avid_cma §5.2).

A one-vs-rest linear SVM (or multinomial logistic regression) on standardised features.
Its cost C is chosen among ``costs`` by k-fold cross-validation on the **training split
only** — stratified by class and grouped by ``groups`` (e.g. the UCF101 group, whose clips
are near duplicates) so that no group lies on both sides of a fold. The test split is
never an argument of the selection: :func:`fit_linear_probe` cannot see it (the peers'
code picks C by test accuracy; reference-figures.md). The cost × fold fits run in ``n_jobs``
processes (joblib, as scikit-learn's own ``GridSearchCV``) behind a tqdm progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

__all__ = ["LinearProbe", "make_classifier", "fit_linear_probe"]


@dataclass
class LinearProbe:
    """A fitted probe: the pipeline refit on the whole training split with the chosen cost."""

    pipeline: Pipeline
    cost: float
    cv_accuracy: dict[float, float] = field(default_factory=dict)  # mean CV accuracy per cost
    cv_folds: int = 0

    def decision(self, x: np.ndarray) -> np.ndarray:
        """(N, num_classes) scores (SVM margins or log-probabilities)."""
        clf = self.pipeline[-1]
        if isinstance(clf, LogisticRegression):
            return self.pipeline.predict_log_proba(x)
        scores = self.pipeline.decision_function(x)
        return scores[:, None] * np.array([-1.0, 1.0]) if scores.ndim == 1 else scores

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.pipeline.predict(x)


def make_classifier(
    classifier: str, cost: float, standardize: bool = True, max_iter: int = 5000, seed: int = 0
) -> Pipeline:
    """StandardScaler (optional) → LinearSVC (one-vs-rest) or LogisticRegression."""
    if classifier == "svm":
        clf = LinearSVC(C=cost, max_iter=max_iter, random_state=seed)
    elif classifier == "logistic":
        clf = LogisticRegression(C=cost, max_iter=max_iter, random_state=seed)
    else:
        raise ValueError(f"classifier must be 'svm' or 'logistic', got {classifier!r}")
    return make_pipeline(StandardScaler(), clf) if standardize else make_pipeline(clf)


def _folds(y: np.ndarray, groups: Optional[np.ndarray], k: int, seed: int):
    """Stratified folds, grouped when some group holds several samples."""
    smallest = int(np.bincount(np.unique(y, return_inverse=True)[1]).min())
    if groups is not None and len(np.unique(groups)) < len(groups):
        n_groups = len(np.unique(groups))
        k = max(2, min(k, n_groups))
        return StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed), k
    k = max(2, min(k, smallest))
    return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed), k


def _fold_accuracy(pipeline: Pipeline, x: np.ndarray, y: np.ndarray, train: np.ndarray,
                   test: np.ndarray) -> float:
    """Accuracy on fold ``test`` of a clone of ``pipeline`` fitted on fold ``train``."""
    est = clone(pipeline).fit(x[train], y[train])
    return float(np.mean(est.predict(x[test]) == y[test]))


def cv_accuracy(
    x: np.ndarray, y: np.ndarray, costs: Sequence[float], folds: list, classifier: str,
    standardize: bool, max_iter: int, seed: int, n_jobs: int = 1, progress: bool = True,
) -> np.ndarray:
    """(len(costs),) mean accuracy over ``folds`` [(train_idx, test_idx), ...] of each cost.

    The same numbers as scikit-learn's ``GridSearchCV(..., scoring="accuracy")``'s
    ``mean_test_score``; the len(costs) × len(folds) fits run in ``n_jobs`` processes."""
    from tqdm.auto import tqdm

    tasks = [(c, f) for c in range(len(costs)) for f in range(len(folds))]
    jobs = (delayed(_fold_accuracy)(make_classifier(classifier, costs[c], standardize, max_iter, seed),
                                    x, y, *folds[f]) for c, f in tasks)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    scores = np.zeros((len(costs), len(folds)))
    bar = tqdm(results, total=len(tasks), desc="linear probe: cost sweep", unit="fit",
               disable=not progress, leave=False)
    for (c, f), acc in zip(tasks, bar):
        scores[c, f] = acc
    return scores.mean(axis=1)


def fit_linear_probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    groups: Optional[Sequence] = None,
    costs: Sequence[float] = (1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 1.0),
    classifier: str = "svm",
    cv_folds: int = 5,
    standardize: bool = True,
    max_iter: int = 5000,
    seed: int = 0,
    n_jobs: int = 1,
    progress: bool = True,
) -> LinearProbe:
    """Choose C by cross-validation on (x_train, y_train) alone, then refit on all of it.

    Ties go to the smallest cost (the strongest regularisation). Returns the refit probe
    with the CV accuracy of every cost. ``n_jobs``: processes for the sweep (-1: every core).
    """
    x_train = np.asarray(x_train, dtype=np.float64)
    y_train = np.asarray(y_train)
    groups_arr = None if groups is None else np.asarray(groups)
    costs = sorted(float(c) for c in costs)
    splitter, k = _folds(y_train, groups_arr, cv_folds, seed)
    grouped = isinstance(splitter, StratifiedGroupKFold)
    folds = list(splitter.split(x_train, y_train, groups_arr if grouped else None))
    means = cv_accuracy(x_train, y_train, costs, folds, classifier, standardize, max_iter, seed,
                        n_jobs, progress)
    best = int(np.flatnonzero(means == means.max())[0])  # first (smallest) best cost
    pipeline = make_classifier(classifier, costs[best], standardize, max_iter, seed)
    pipeline.fit(x_train, y_train)
    return LinearProbe(pipeline, costs[best], dict(zip(costs, map(float, means))), k)


def probe_and_score(
    x_train: np.ndarray,
    y_train: np.ndarray,
    groups: Optional[Sequence],
    x_test: np.ndarray,
    y_test: np.ndarray,
    **kwargs,
) -> tuple[LinearProbe, float, np.ndarray]:
    """Fit the probe on the training split (cost by CV there), then score the test split once.

    Returns the probe, its test top-1 and the (N_test, classes) scores. The test arrays are
    used after the probe is final; nothing about them reaches the cost selection.
    """
    probe = fit_linear_probe(x_train, y_train, groups, **kwargs)
    scores = probe.decision(np.asarray(x_test, dtype=np.float64))
    return probe, float((scores.argmax(axis=1) == np.asarray(y_test)).mean()), scores
