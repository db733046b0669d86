"""Linear probe (CrissCross §E.1): the SVM cost is chosen by cross-validation on the
training split only; these tests fail if the test split reaches the selection."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler

from binge.evaluation.linear import make_classifier, probe_and_score

COSTS = [1e-4, 1e-3, 1e-2, 1.0]


def _data(seed=0, n=120, d=20, classes=3, noise=2.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, d))
    y = np.arange(n) % classes
    x = centers[y] + noise * rng.normal(size=(n, d))
    return x, y


def test_cost_is_the_training_cv_choice_and_ignores_test_labels():
    x_train, y_train = _data(0)
    x_test, y_test = _data(1, n=60)
    probe, _, _ = probe_and_score(x_train, y_train, None, x_test, y_test, costs=COSTS, cv_folds=4, seed=0)

    # independent reference: the same folds, sklearn's cross_val_score, training split only
    folds = StratifiedKFold(n_splits=4, shuffle=True, random_state=0)
    ref = [cross_val_score(make_classifier("svm", c), x_train, y_train, cv=folds).mean() for c in COSTS]
    assert probe.cost == COSTS[int(np.argmax(ref))]
    assert [probe.cv_accuracy[c] for c in COSTS] == pytest.approx(ref)

    # adversarial test labels: exactly the predictions of a model with ANOTHER cost, so that
    # choosing the cost on the test split would pick that other cost (100 % test accuracy)
    other = next(c for c in COSTS if c != probe.cost
                 and not np.array_equal(make_classifier("svm", c).fit(x_train, y_train).predict(x_test),
                                        probe.predict(x_test)))
    y_adv = make_classifier("svm", other).fit(x_train, y_train).predict(x_test)
    test_acc = {c: (make_classifier("svm", c).fit(x_train, y_train).predict(x_test) == y_adv).mean()
                for c in COSTS}
    assert max(test_acc, key=test_acc.get) != probe.cost  # selection on test would differ
    probe_adv, acc_adv, _ = probe_and_score(x_train, y_train, None, x_test, y_adv, costs=COSTS,
                                            cv_folds=4, seed=0)
    assert probe_adv.cost == probe.cost
    assert acc_adv < 1.0


def test_no_test_row_reaches_any_fit(monkeypatch):
    x_train, y_train = _data(2)
    x_test, y_test = _data(3, n=30)
    seen: list[np.ndarray] = []
    original = StandardScaler.fit

    def spy(self, X, y=None, sample_weight=None):
        seen.append(np.asarray(X).copy())
        return original(self, X, y, sample_weight)

    monkeypatch.setattr(StandardScaler, "fit", spy)
    probe_and_score(x_train, y_train, None, x_test, y_test, costs=COSTS, cv_folds=3)
    assert len(seen) == len(COSTS) * 3 + 1  # every CV fit + the final refit
    test_rows = {r.tobytes() for r in x_test}
    train_rows = {r.tobytes() for r in x_train}
    for X in seen:
        rows = {r.tobytes() for r in X}
        assert not rows & test_rows
        assert rows <= train_rows


def test_grouped_folds_keep_groups_together(monkeypatch):
    # 10 groups of 6 near-duplicates: no group may be split over train and validation
    rng = np.random.default_rng(4)
    base = rng.normal(size=(10, 5))
    x = np.repeat(base, 6, axis=0) + 0.01 * rng.normal(size=(60, 5))
    y = np.repeat(np.arange(10) % 2, 6)
    groups = np.repeat([f"g{i}" for i in range(10)], 6)
    seen: list[np.ndarray] = []
    original = StandardScaler.fit

    def spy(self, X, y=None, sample_weight=None):
        seen.append(np.asarray(X).copy())
        return original(self, X, y, sample_weight)

    monkeypatch.setattr(StandardScaler, "fit", spy)
    probe, _, _ = probe_and_score(x, y, groups, x[:4], y[:4], costs=[1.0], cv_folds=5)
    assert probe.cv_folds == 5
    for X in seen[:-1]:
        present = {groups[i] for i in range(60) if any(np.array_equal(x[i], r) for r in X)}
        for g in present:
            members = [i for i in range(60) if groups[i] == g]
            assert all(any(np.array_equal(x[i], r) for r in X) for i in members)
