"""Classifiers over enrolled identification vectors, following the scikit-learn estimator contract.

Both work on L2-normalised vectors and give one raw score per enrolled class (higher = more alike):
- `CosineNN`: the cosine similarity of the probe to the class's closest enrolled vector. Nothing to train;
  adding a person appends rows to a matrix.
- `LinearSVM`: one linear SVM per class (one-vs-rest, hinge loss, liblinear), trained on the class's
  vectors against at most `max_negatives` vectors of the other classes drawn at random, plus (when given
  to fit) at most as many background vectors: people who are not enrolled. A one-vs-rest SVM accepts a
  whole half-space, where strangers fall easily; background negatives pull that boundary in, which is
  what makes its "unknown" usable (see benchmarks/RESULTS-gallery.md). Each class is
  trained on its own, so enrolling a person trains one small SVM whose cost does not depend on the
  gallery's size (`partial_fit`); the classes trained earlier did not see the newcomer as a negative, which
  `refit` (or `fit`) repairs when wanted.

Raw scores are not probabilities; `ScoreCalibration` (gaitid.gallery.calibration) turns them into scores
whose threshold is a false-positive identification rate.

Both also answer `top_k(X, k)` quickly at scale and `nonmated_scores(...)`: the top scores of searches by
probes whose person is not among the classes searched, which is what the open-set threshold is set from.
"""

from __future__ import annotations

import warnings

import numpy as np

_EPS = 1e-12
_BOUND_SLACK = 1e-3  # float32 rounding in the projected bounds: keep them safely above the true similarity


def l2_normalise(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero); float32, a new array."""
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=-1, keepdims=True)
    return X / np.maximum(norms, _EPS)


def _check_X(X: np.ndarray, n_features: int | None = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2:
        raise ValueError(f"expected vectors of shape (n, d), got {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"expected vectors of dimension {n_features}, got {X.shape[1]}")
    if not np.all(np.isfinite(X)):
        raise ValueError("vectors contain NaN or infinite values")
    return X


def _check_Xy(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = _check_X(X)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"expected one label per vector: {X.shape[0]} vectors, labels of shape {y.shape}")
    if X.shape[0] == 0:
        raise ValueError("no vectors to fit")
    return X, y


class _GalleryClassifier:
    """What both classifiers share: the stored training set, labels, predict and top_k."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit first")

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._param_names}

    def set_params(self, **params: object) -> _GalleryClassifier:
        for name, value in params.items():
            if name not in self._param_names:
                raise ValueError(f"unknown parameter {name!r} for {type(self).__name__}")
            setattr(self, name, value)
        return self

    def _set_training(self, X: np.ndarray, y: np.ndarray) -> None:
        self.classes_, y_index = np.unique(y, return_inverse=True)
        self.X_ = l2_normalise(X)
        self.y_index_ = y_index.astype(np.int64)
        self.n_features_in_ = X.shape[1]

    def _append_training(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Add vectors (new classes allowed); returns the indices of the classes that received vectors."""
        classes = list(self.classes_)
        lookup = {c: i for i, c in enumerate(classes)}
        index = np.empty(len(y), np.int64)
        for i, label in enumerate(y):
            if label not in lookup:
                lookup[label] = len(classes)
                classes.append(label)
            index[i] = lookup[label]
        self.classes_ = np.asarray(classes)
        self.X_ = np.concatenate([self.X_, l2_normalise(X)])
        self.y_index_ = np.concatenate([self.y_index_, index])
        return np.unique(index)

    def predict(self, X: np.ndarray) -> np.ndarray:
        scores = self.decision_function(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def top_k(self, X: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """The k best classes per probe: (class indices (n, k'), raw scores (n, k')), best first; k' <= k."""
        scores = self.decision_function(X)
        k = min(k, scores.shape[1])
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)

    def _probe_sample(self, max_probes: int, rng: np.random.Generator) -> np.ndarray:
        n = self.X_.shape[0]
        if n <= max_probes:
            return np.arange(n)
        return np.sort(rng.choice(n, size=max_probes, replace=False))


class CosineNN(_GalleryClassifier):
    """Nearest neighbour by cosine similarity; a class's score is its best vector's similarity to the probe.

    prune_above: from this many vectors on, top_k prunes with projected bounds (exact; see top_k).
    projection_dim: the number of principal directions those bounds use.
    """

    _param_names = ("prune_above", "projection_dim")

    def __init__(self, prune_above: int = 20000, projection_dim: int = 64) -> None:
        self.prune_above = prune_above
        self.projection_dim = projection_dim

    def fit(self, X: np.ndarray, y: np.ndarray) -> CosineNN:
        X, y = _check_Xy(X, y)
        self._set_training(X, y)
        self._sorted = None
        self._projected = None
        self._pruned = 0.0
        return self

    def partial_fit(self, X: np.ndarray, y: np.ndarray) -> CosineNN:
        """Add vectors and classes without touching what is there (an append)."""
        X, y = _check_Xy(X, y)
        if not hasattr(self, "classes_"):
            return self.fit(X, y)
        _check_X(X, self.n_features_in_)
        self._append_training(X, y)
        self._sorted = None
        return self

    def _grouped(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The training vectors sorted by class, with each class's first row (for a per-class max)."""
        if getattr(self, "_sorted", None) is None:
            order = np.argsort(self.y_index_, kind="stable")
            starts = np.searchsorted(self.y_index_[order], np.arange(len(self.classes_)))
            self._sorted = (order, starts, self.X_[order])
        return self._sorted

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """(n, n_classes) cosine similarity of each probe to each class's closest vector."""
        self._check_fitted()
        X = l2_normalise(_check_X(X, self.n_features_in_))
        _, starts, Xs = self._grouped()
        sims = X @ Xs.T
        return np.maximum.reduceat(sims, starts, axis=1)

    def leave_one_out(self, max_probes: int = 2000, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(probes, scores): up to `max_probes` training vectors, drawn at random, and their (probes, classes)
        scores against every class, their own class's set to -inf: each searched as a stranger to the others."""
        self._check_fitted()
        probes = self._probe_sample(max_probes, rng if rng is not None else np.random.default_rng(0))
        scores = self.decision_function(self.X_[probes])
        scores[np.arange(len(probes)), self.y_index_[probes]] = -np.inf
        return self.X_[probes], scores

    def top_k(self, X: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k classes, without a per-class pass over the whole gallery.

        Small galleries: one product with every vector, then `_best_classes`. Large ones (at least
        `prune_above` vectors): the vectors are also kept projected on their `projection_dim` principal
        directions, with the norm of what the projection leaves out. For unit vectors x and v,
        x.v <= (Px).(Pv) + |x - P'Px| |v - P'Pv|, so a cheap product with the projections bounds every
        similarity from above; only the vectors whose bound reaches the k-th best class found so far are
        compared exactly. The answer is the same as the full product's. Where the vectors have no
        low-dimensional structure the bounds prune little, and the index falls back to the full product.
        """
        self._check_fitted()
        X = l2_normalise(_check_X(X, self.n_features_in_))
        k = min(k, len(self.classes_))
        out_idx = np.zeros((X.shape[0], k), np.int64)
        out_scores = np.zeros((X.shape[0], k), np.float32)
        projection = self._projection()
        if projection is None:
            sims = X @ self.X_.T
            everything = np.arange(self.X_.shape[0])
            for row in range(X.shape[0]):
                out_idx[row], out_scores[row] = self._best_classes(sims[row], everything, k)
            return out_idx, out_scores
        basis, projected, residuals = projection
        xp = X @ basis.T
        x_residual = np.sqrt(np.maximum(0.0, 1.0 - (xp * xp).sum(axis=1)))
        bounds = xp @ projected.T + x_residual[:, None] * residuals[None, :] + _BOUND_SLACK
        n_vec = self.X_.shape[0]
        for row in range(X.shape[0]):
            ub = bounds[row]
            m = min(n_vec, max(8 * k, 64))
            while True:  # a first guess at the k-th best class score, from the vectors with the best bounds
                seed = np.argpartition(-ub, m - 1)[:m] if m < n_vec else np.arange(n_vec)
                seed_sims = self.X_[seed] @ X[row]
                _, scores = self._best_classes(seed_sims, seed, k)
                if len(np.unique(self.y_index_[seed])) >= k or m >= n_vec:
                    break
                m = min(n_vec, 2 * m)
            candidates = np.flatnonzero(ub >= scores[-1])
            self._pruned = 0.9 * self._pruned + 0.1 * (len(candidates) / n_vec)
            if len(candidates) > n_vec // 3:
                candidates = np.arange(n_vec)
                sims = self.X_ @ X[row]
            else:
                sims = self.X_[candidates] @ X[row]
            out_idx[row], out_scores[row] = self._best_classes(sims, candidates, k)
        return out_idx, out_scores

    def _best_classes(self, sims: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best classes among the vectors `rows` whose similarities are `sims`.

        The best m vectors are found by a partial sort; every class that has a vector among them has its
        best vector among them too, and ranks above every class that has none. So the classes found there
        are exactly the top ones; m doubles until k different classes are found.
        """
        n = len(rows)
        m = min(n, max(4 * k, 32))
        while True:
            best = np.argpartition(-sims, m - 1)[:m] if m < n else np.arange(n)
            best = best[np.argsort(-sims[best], kind="stable")]
            labels = self.y_index_[rows[best]]
            _, first = np.unique(labels, return_index=True)
            if len(first) >= k or m >= n:
                break
            m = min(n, 2 * m)
        first = np.sort(first)[:k]
        classes = np.full(k, -1, np.int64)
        scores = np.full(k, -np.inf, np.float32)
        classes[: len(first)] = labels[first]
        scores[: len(first)] = sims[best[first]]
        return classes, scores

    def _projection(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(basis (r, d), projected vectors (n, r), residual norms (n,)), or None to use the full product."""
        n, d = self.X_.shape
        if n < self.prune_above or d < 2 * self.projection_dim:
            return None
        if getattr(self, "_pruned", 0.0) > 0.3:  # the bounds have not been pruning: full products for a while
            self._pruned *= 0.98
            return None
        state = getattr(self, "_projected", None)
        if state is None or state[1].shape[0] > n:
            rng = np.random.default_rng(0)
            sample = self.X_[rng.choice(n, size=min(n, 2000), replace=False)].astype(np.float64)
            _, vectors = np.linalg.eigh(sample.T @ sample)  # principal directions, ascending
            basis = np.ascontiguousarray(vectors[:, ::-1][:, : self.projection_dim].T).astype(np.float32)
            state = (basis, np.zeros((0, self.projection_dim), np.float32), np.zeros(0, np.float32))
            self._pruned = 0.0
        basis, projected, residuals = state
        if projected.shape[0] < n:  # vectors added since: project them with the same basis
            new = self.X_[projected.shape[0] :]
            new_projected = new @ basis.T
            new_residuals = np.sqrt(np.maximum(0.0, 1.0 - (new_projected**2).sum(axis=1)))
            state = (
                basis,
                np.concatenate([projected, new_projected]),
                np.concatenate([residuals, new_residuals]),
            )
        self._projected = state
        return state

    def nonmated_scores(self, max_probes: int = 2000, rng: np.random.Generator | None = None) -> np.ndarray:
        """Top score of each sampled training vector against every class but its own (leave one person out)."""
        self._check_fitted()
        rng = rng if rng is not None else np.random.default_rng(0)
        if len(self.classes_) < 2:
            return np.zeros(0, np.float32)
        probes = self._probe_sample(max_probes, rng)
        out = np.empty(len(probes), np.float32)
        for start in range(0, len(probes), 256):
            chunk = probes[start : start + 256]
            sims = self.X_[chunk] @ self.X_.T
            sims[self.y_index_[chunk][:, None] == self.y_index_[None, :]] = -np.inf
            out[start : start + 256] = sims.max(axis=1)
        return out


class LinearSVM(_GalleryClassifier):
    """One-vs-rest linear SVMs, one per enrolled class, each trained on its own.

    C: the SVM's regularisation (larger fits the enrolment vectors harder).
    max_negatives: at most this many vectors of other classes, drawn at random, train each class's SVM;
        this bounds the cost of adding a class whatever the gallery's size.
    random_state: seeds the draw of negatives (class i uses seed (random_state, i)), so fits are repeatable.
    """

    _param_names = ("C", "max_negatives", "random_state")

    def __init__(self, C: float = 1.0, max_negatives: int = 2000, random_state: int = 0) -> None:
        self.C = C
        self.max_negatives = max_negatives
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray, background: np.ndarray | None = None) -> LinearSVM:
        """Fit one SVM per class. background: (m, d) vectors of people not in y, extra negatives for all."""
        X, y = _check_Xy(X, y)
        if self.C <= 0 or self.max_negatives < 1:
            raise ValueError("C must be positive and max_negatives at least 1")
        self._set_training(X, y)
        if background is None:
            self.background_ = np.zeros((0, X.shape[1]), np.float32)
        else:
            self.background_ = l2_normalise(_check_X(background, X.shape[1]))
        if len(self.classes_) < 2:
            raise ValueError("a linear SVM needs at least two enrolled people")
        self.coef_ = np.zeros((len(self.classes_), X.shape[1]), np.float32)
        self.intercept_ = np.zeros(len(self.classes_), np.float32)
        self.stale_ = np.zeros(len(self.classes_), bool)
        self._train(np.arange(len(self.classes_)))
        return self

    def partial_fit(self, X: np.ndarray, y: np.ndarray) -> LinearSVM:
        """Add vectors; (re)train only the classes that received vectors. Others are marked stale_."""
        X, y = _check_Xy(X, y)
        if not hasattr(self, "classes_"):
            return self.fit(X, y)
        _check_X(X, self.n_features_in_)
        changed = self._append_training(X, y)
        grow = len(self.classes_) - self.coef_.shape[0]
        if grow:
            self.coef_ = np.concatenate([self.coef_, np.zeros((grow, self.n_features_in_), np.float32)])
            self.intercept_ = np.concatenate([self.intercept_, np.zeros(grow, np.float32)])
            self.stale_ = np.concatenate([self.stale_, np.zeros(grow, bool)])
        self.stale_[:] = True
        self._train(changed)
        return self

    def refit(self) -> LinearSVM:
        """Retrain every stale class against the current gallery."""
        self._check_fitted()
        self._train(np.flatnonzero(self.stale_))
        return self

    def _train(self, class_indices: np.ndarray) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.svm import LinearSVC

        for c in class_indices:
            pos = np.flatnonzero(self.y_index_ == c)
            neg = np.flatnonzero(self.y_index_ != c)
            if len(neg) > self.max_negatives:
                rng = np.random.default_rng((self.random_state, int(c)))
                neg = np.sort(rng.choice(neg, size=self.max_negatives, replace=False))
            extra = self.background_
            if len(extra) > self.max_negatives:
                rng = np.random.default_rng((self.random_state, int(c), 1))
                extra = extra[np.sort(rng.choice(len(extra), size=self.max_negatives, replace=False))]
            data = np.concatenate([self.X_[pos], self.X_[neg], extra])
            target = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(extra))])
            svm = LinearSVC(C=self.C, class_weight="balanced", dual=True, max_iter=5000, tol=1e-4)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # the last iterate is still a usable SVM
                svm.fit(data, target)
            self.coef_[c] = svm.coef_[0]
            self.intercept_[c] = svm.intercept_[0]
            self.stale_[c] = False

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """(n, n_classes) signed distance of each probe to each class's hyperplane (positive: that class)."""
        self._check_fitted()
        X = l2_normalise(_check_X(X, self.n_features_in_))
        return X @ self.coef_.T + self.intercept_

    def nonmated_scores(self, max_probes: int = 2000, rng: np.random.Generator | None = None) -> np.ndarray:
        """Top scores of probes from people the SVMs never saw, by cross-fitting over people.

        The classes are dealt into K = min(5, classes) folds; SVMs fitted on the other folds' classes score
        the vectors of one fold. Folds are taken until `max_probes` probes are scored, so a large gallery
        costs one fit on 80 % of its classes. The galleries searched are up to 20 % smaller than the real
        one (fewer impostors), so the estimate of false accepts is slightly optimistic.
        """
        self._check_fitted()
        rng = rng if rng is not None else np.random.default_rng(0)
        n_classes = len(self.classes_)
        if n_classes < 3:
            return np.zeros(0, np.float32)
        folds = min(5, n_classes)
        fold_of_class = np.empty(n_classes, np.int64)
        fold_of_class[rng.permutation(n_classes)] = np.arange(n_classes) % folds
        fold_of_vector = fold_of_class[self.y_index_]
        out: list[np.ndarray] = []
        budget = max_probes
        for fold in range(folds):
            test = np.flatnonzero(fold_of_vector == fold)
            if len(test) > budget:
                test = np.sort(rng.choice(test, size=budget, replace=False))
            train = fold_of_vector != fold
            model = LinearSVM(self.C, self.max_negatives, self.random_state)
            model.fit(self.X_[train], self.y_index_[train], background=self.background_)
            out.append(model.decision_function(self.X_[test]).max(axis=1))
            budget -= len(test)
            if budget <= 0:
                break
        return np.concatenate(out).astype(np.float32)
