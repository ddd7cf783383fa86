"""CosineNN and LinearSVM: the scikit-learn contract, exact top-k, incremental updates, calibration."""

from __future__ import annotations

import numpy as np
import pytest
from gallery_helpers import People
from sklearn.base import clone

from gaitid.gallery.calibration import ScoreCalibration
from gaitid.gallery.classifiers import CosineNN, LinearSVM


def _data(people: People, n_people: int, per: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.concatenate([people.vectors(p, per) for p in range(n_people)])
    y = np.repeat(np.arange(n_people) * 10, per)  # labels need not be 0..n-1
    return X, y


@pytest.mark.parametrize(
    "make", [lambda: CosineNN(prune_above=10), lambda: LinearSVM(C=0.5, max_negatives=50)]
)
def test_estimator_contract(make):
    people = People(n=6, dim=16)
    X, y = _data(people, 6, 4)
    model = make()
    params = model.get_params()
    with pytest.raises(ValueError, match="not fitted"):
        model.decision_function(X)
    assert model.fit(X, y) is model
    assert list(model.classes_) == [0, 10, 20, 30, 40, 50]
    assert model.n_features_in_ == 16
    assert model.decision_function(X).shape == (24, 6)
    assert (model.predict(X) == y).mean() == 1.0
    twin = clone(model)
    assert twin.get_params() == params and not hasattr(twin, "classes_")
    with pytest.raises(ValueError, match="dimension 16"):
        model.decision_function(np.ones((1, 5)))
    with pytest.raises(ValueError, match="one label per vector"):
        make().fit(X, y[:-1])


@pytest.mark.parametrize("make", [CosineNN, lambda: LinearSVM(max_negatives=100)])
def test_top_k_agrees_with_decision_function(make):
    people = People(n=20, dim=16, noise=0.8, seed=3)
    X, y = _data(people, 20, 3)
    model = make().fit(X, y)
    probes = np.concatenate([people.vectors(p, 2) for p in range(20)])
    classes, scores = model.top_k(probes, k=5)
    full = model.decision_function(probes)
    expected = np.argsort(-full, axis=1, kind="stable")[:, :5]
    np.testing.assert_allclose(scores, np.take_along_axis(full, expected, axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.take_along_axis(full, classes, axis=1), scores, rtol=1e-5, atol=1e-6)


def test_cosine_partial_fit_equals_fit():
    people = People(n=8, dim=16)
    X, y = _data(people, 8, 3)
    whole = CosineNN().fit(X, y)
    grown = CosineNN().fit(X[:12], y[:12]).partial_fit(X[12:], y[12:])
    probes = people.vectors(5, 4)
    np.testing.assert_allclose(grown.decision_function(probes), whole.decision_function(probes), atol=1e-6)
    assert list(grown.classes_) == list(whole.classes_)


def test_svm_partial_fit_trains_only_the_newcomer():
    people = People(n=8, dim=16)
    X, y = _data(people, 8, 4)
    model = LinearSVM(max_negatives=64).fit(X[:28], y[:28])
    before = model.coef_.copy()
    model.partial_fit(X[28:], y[28:])
    assert model.coef_.shape == (8, 16)
    np.testing.assert_array_equal(model.coef_[:7], before)
    assert model.stale_[:7].all() and not model.stale_[7]
    assert (model.predict(people.vectors(7, 5)) == 70).all()
    model.refit()
    assert not model.stale_.any()


def test_nonmated_scores_are_below_mated_ones():
    people = People(n=10, dim=16)
    X, y = _data(people, 10, 4)
    for model in (CosineNN().fit(X, y), LinearSVM().fit(X, y)):
        nonmated = model.nonmated_scores(max_probes=100, rng=np.random.default_rng(0))
        mated = model.decision_function(X).max(axis=1)
        assert len(nonmated) > 0 and np.median(nonmated) < np.median(mated)


def test_calibration_maps_scores_to_one_minus_fpir():
    calibration = ScoreCalibration.from_scores(np.arange(100, dtype=float))  # non-mated top scores 0..99
    np.testing.assert_allclose(calibration(np.array([-1.0, 0.0, 0.5, 99.0, 100.0])), [0, 0, 0.01, 0.99, 1.0])
    for fpir in (0.0, 0.01, 0.05, 0.5):
        t = calibration.raw_threshold(fpir)
        assert np.mean(calibration.nonmated >= t) <= fpir + 1e-12
        assert calibration(t) >= 1 - fpir - 1e-12
        assert calibration(np.nextafter(t, -np.inf)) < 1 - fpir
    assert calibration.raw_threshold(1.0) == -np.inf


@pytest.mark.parametrize("structured", [True, False])
def test_pruned_search_is_exact(structured):
    rng = np.random.default_rng(5)
    n_people, per, dim = 300, 6, 96
    if structured:  # most of the energy in a few directions, as in real embeddings
        basis = rng.normal(size=(12, dim))
        centres = rng.normal(size=(n_people, 12)) @ basis
        spread = 0.5 * rng.normal(size=(n_people * per, 12)) @ basis
        X = np.repeat(centres, per, axis=0) + spread + 0.3 * rng.normal(size=(n_people * per, dim))
    else:
        X = np.repeat(rng.normal(size=(n_people, dim)), per, axis=0) + rng.normal(size=(n_people * per, dim))
    y = np.repeat(np.arange(n_people), per)
    pruned = CosineNN(prune_above=100, projection_dim=16).fit(X[: -per * 20], y[: -per * 20])
    pruned.partial_fit(X[-per * 20 :], y[-per * 20 :])  # vectors added after the projection was made
    probes = X[rng.choice(len(X), 40)] + 0.5 * rng.normal(size=(40, dim))
    classes, scores = pruned.top_k(probes, k=5)
    full = CosineNN(prune_above=10**9).fit(X, y)
    expected_classes, expected_scores = full.top_k(probes, k=5)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)
    np.testing.assert_array_equal(classes, expected_classes)
    if structured:
        assert pruned._pruned < 0.3  # the bounds did prune
