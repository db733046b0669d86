"""The linear probe's cost sweep in several processes (``evaluate.linear.n_jobs``) gives
scikit-learn's ``GridSearchCV`` numbers exactly, grouped folds included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from binge.evaluation.linear import fit_linear_probe, make_classifier

COSTS = [1e-3, 1e-2, 1.0]


def test_parallel_sweep_equals_gridsearchcv():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 12))
    y = np.arange(90) % 3
    x = centers[y] + 2.0 * rng.normal(size=(90, 12))
    groups = np.arange(90) // 3  # 30 groups of 3

    ref = GridSearchCV(make_classifier("svm", COSTS[0]), {"linearsvc__C": COSTS},
                       cv=StratifiedGroupKFold(n_splits=4, shuffle=True, random_state=0),
                       scoring="accuracy", refit=False).fit(x, y, groups=groups)
    expected = dict(zip(COSTS, ref.cv_results_["mean_test_score"]))
    one = fit_linear_probe(x, y, groups, COSTS, cv_folds=4, seed=0, n_jobs=1, progress=False)
    two = fit_linear_probe(x, y, groups, COSTS, cv_folds=4, seed=0, n_jobs=2, progress=False)
    assert one.cv_accuracy == pytest.approx(expected, abs=0)
    assert two.cv_accuracy == one.cv_accuracy and two.cost == one.cost
