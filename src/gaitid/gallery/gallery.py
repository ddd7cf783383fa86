"""The gallery: enrol people from identification vectors and identify probes, with an honest "unknown".

    from gaitid.gallery import Gallery
    with Gallery.open() as gallery:                  # $GAITID_GALLERY or the per-user default
        gallery.enroll("alice", [embedding, ...], source="alice.mp4")
        identity = gallery.identify(probe_embedding)  # Identity(name or None, score, candidates)

Identification keeps one in-memory index per model (the normalised vectors and a fitted classifier). Before
every search it reads two counters from the store; when another process (or this one) enrolled people, only
the new vectors are loaded and added (CosineNN appends rows, LinearSVM trains the newcomers' SVMs); a removal
reloads the index. Vectors made by different models are never compared.

Scores are calibrated so that the threshold is a target false-positive identification rate (FPIR); see
gaitid.gallery.calibration for how, and for the limits of the estimate.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gaitid.gallery.calibration import ScoreCalibration
from gaitid.gallery.classifiers import CosineNN, LinearSVM
from gaitid.gallery.crypto import key_from_environment
from gaitid.gallery.errors import EmptyGalleryError, GalleryError, ModelMismatchError
from gaitid.gallery.store import GalleryStore, NewVector, PersonRecord, Removal, default_gallery_path
from gaitid.types import Embedding, Identity

METHODS = ("cosine", "svm")
MIN_SVM_PEOPLE = 3  # for the SVM's self-calibration by cross-fitting (two with background vectors)
DEFAULT_TARGET_FPIR = 0.01
CALIBRATION_PROBES = 2000


@dataclass
class _ModelIndex:
    """The in-memory search structure for one model's vectors."""

    model: str
    generation: int
    removals: int
    max_id: int
    person_ids: np.ndarray
    classifier: CosineNN | LinearSVM | None
    method: str
    calibration: ScoreCalibration | None = None
    calibrated_people: int = 0


class Gallery:
    """Enrolled people and their vectors, and identification against them.

    store: an open GalleryStore (the Gallery closes it on close()).
    method: "cosine" (nearest neighbour, the default) or "svm" (one-vs-rest linear SVMs; needs 3 people, or 2
        with background vectors). On held-out CASIA-B subjects both name enrolled people about equally well,
        but cosine rejects strangers far better (benchmarks/RESULTS-gallery.md), hence the default.
    target_fpir: the false-positive identification rate the open-set threshold aims at.
    background: (n, d) vectors of people who are not enrolled, made by `background_model`. With cosine NN they
        calibrate the scores (see gaitid.gallery.calibration); with the SVM half of the background people
        are extra negatives for every SVM and the other half calibrate. Without, the gallery calibrates
        itself. background_labels: (n,) who is who in the background, so that the halves split people
        (without labels they split vectors, and the calibration is then optimistic).
    audit_identifications: write every identification (time, result, score) to the audit log.
    """

    def __init__(
        self,
        store: GalleryStore,
        *,
        method: str = "cosine",
        target_fpir: float = DEFAULT_TARGET_FPIR,
        background: np.ndarray | None = None,
        background_model: str | None = None,
        background_labels: np.ndarray | None = None,
        audit_identifications: bool = True,
        svm_c: float = 1.0,
    ) -> None:
        if method not in METHODS:
            raise GalleryError(
                f"unknown identification method {method!r}; choose one of {', '.join(METHODS)}"
            )
        if not 0.0 <= target_fpir <= 1.0:
            raise GalleryError(
                f"the target false-positive identification rate must be in [0, 1], got {target_fpir}"
            )
        if background is not None and not background_model:
            raise GalleryError("background vectors need the name of the model that made them")
        self.store = store
        self.method = method
        self.target_fpir = float(target_fpir)
        self.background = None if background is None else np.asarray(background, np.float32)
        self.background_model = background_model
        self.background_labels = None if background_labels is None else np.asarray(background_labels)
        if self.background_labels is not None and (
            self.background is None or self.background_labels.shape != (len(self.background),)
        ):
            raise GalleryError("background_labels must give one label per background vector")
        self.audit_identifications = audit_identifications
        self.svm_c = svm_c
        self._lock = threading.RLock()  # the indexes are shared by the threads of a server
        self._indexes: dict[str, _ModelIndex] = {}
        self._names: dict[int, str] = {}
        self._names_generation = -1

    @classmethod
    def open(
        cls,
        path: str | os.PathLike | None = None,
        *,
        key: bytes | None = None,
        key_file: str | os.PathLike | None = None,
        create: bool = True,
        **options: object,
    ) -> Gallery:
        """Open (or create) the gallery at `path` (default: see default_gallery_path), with the key from
        `key`, `key_file`, or the environment ($GAITID_GALLERY_KEY_FILE, $GAITID_GALLERY_KEY)."""
        if key is None:
            key = key_from_environment(key_file)
        store = GalleryStore(Path(path) if path is not None else default_gallery_path(), key, create=create)
        return cls(store, **options)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- enrolment ----------------------------------------------------------------------------------------

    def enroll(
        self,
        name: str,
        embeddings: Sequence[Embedding],
        *,
        source: str | None = None,
        metadata: dict | None = None,
        add: bool = False,
    ) -> PersonRecord:
        """Enrol a person from one or more identification vectors, all or nothing.

        A name already enrolled is an error unless add=True (which adds the vectors to them).
        Returns the person as stored.
        """
        if isinstance(embeddings, Embedding):
            embeddings = [embeddings]
        if not embeddings:
            raise GalleryError(f"no identification vectors to enrol for {name!r}")
        models = {e.model for e in embeddings}
        counts = self.store.model_counts()
        for model in models:
            dim = {e.vector.shape[0] for e in embeddings if e.model == model}
            if model in counts and dim != {counts[model][2]}:
                raise GalleryError(
                    f"model {model!r} made vectors of dimension {counts[model][2]} in this gallery, "
                    f"but these have dimension {sorted(dim)}: the model changed without a new name"
                )
        others = {m: c for m, c in counts.items() if m not in models}
        if others:
            warnings.warn(
                f"the gallery also holds vectors of other models ({', '.join(sorted(others))}); "
                "people enrolled only with those cannot be compared with these vectors until re-enrolled",
                stacklevel=2,
            )
        vectors = [NewVector(e.vector, e.model, source, e.num_frames) for e in embeddings]
        self.store.enroll(name, vectors, metadata, add=add)
        return self.store.person(name)

    def remove(self, name: str) -> Removal:
        """Erase a person and their vectors (see GalleryStore.remove)."""
        with self._lock:
            removal = self.store.remove(name)
            self._indexes.clear()
        return removal

    def rename(self, name: str, new_name: str) -> PersonRecord:
        """Give an enrolled person another name (see GalleryStore.rename); returns them as stored."""
        with self._lock:
            self.store.rename(name, new_name)
        return self.store.person(new_name)

    def people(self) -> list[PersonRecord]:
        return self.store.people()

    def person(self, name: str) -> PersonRecord:
        return self.store.person(name)

    # -- identification -----------------------------------------------------------------------------------

    def identify(self, embedding: Embedding, top_k: int = 5, *, source: str | None = None) -> Identity:
        """The enrolled person this probe is, or unknown (name None) when no one matches well enough.

        Identity.score and the candidates' scores are calibrated: 1 - the estimated FPIR at that score.
        """
        identity = self.identify_batch(np.asarray(embedding.vector)[None, :], embedding.model, top_k)[0]
        if self.audit_identifications:
            self.store.log_identification(identity.name, identity.score, embedding.model, source)
        return identity

    def identify_batch(self, vectors: np.ndarray, model: str, top_k: int = 5) -> list[Identity]:
        """Identify many probes of one model at once (not audited: for evaluation)."""
        names, raw = self.search(vectors, model, top_k)
        calibration = self._calibration(self._index(model))
        accept = 1.0 - self.target_fpir
        out = []
        for row_names, row_raw in zip(names, raw):
            scores = calibration(row_raw)
            candidates = tuple((n, float(s)) for n, s in zip(row_names, scores))
            best_name, best = candidates[0]
            out.append(
                Identity(name=best_name if best >= accept else None, score=best, candidates=candidates)
            )
        return out

    def search(self, vectors: np.ndarray, model: str, top_k: int = 5) -> tuple[list[list[str]], np.ndarray]:
        """The top_k people for each probe and their raw (uncalibrated) scores, best first (for evaluation)."""
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2:
            raise GalleryError(f"expected probe vectors of shape (n, d), got {vectors.shape}")
        with self._lock:  # an index update (another thread's enrolment) must not run under a search
            index = self._index(model)
            if vectors.shape[1] != index.classifier.n_features_in_:
                raise GalleryError(
                    f"probe vectors have dimension {vectors.shape[1]} but model {model!r} enrolled "
                    f"{index.classifier.n_features_in_}-dimensional vectors: the model changed without a new name"
                )
            classes, raw = index.classifier.top_k(vectors, top_k)
            names = self._person_names()
            labels = index.classifier.classes_
            return [[names[int(labels[c])] for c in row] for row in classes], raw

    def raw_scores(self, vectors: np.ndarray, model: str) -> tuple[list[str], np.ndarray]:
        """(names, (n, people) raw scores) of every person enrolled with `model` (for evaluation)."""
        with self._lock:  # another thread's enrolment updates the classifier under this lock
            index = self._index(model)
            names = self._person_names()
            return [names[int(c)] for c in index.classifier.classes_], index.classifier.decision_function(vectors)

    def calibrated(self, raw: np.ndarray, model: str) -> np.ndarray:
        """Raw scores of `model`'s classifier mapped to calibrated scores (see gaitid.gallery.calibration)."""
        return self._calibration(self._index(model))(raw)

    def threshold(self, model: str) -> float:
        """The raw score that the current target FPIR corresponds to, for `model`'s classifier."""
        return self._calibration(self._index(model)).raw_threshold(self.target_fpir)

    # -- the index ----------------------------------------------------------------------------------------

    def _person_names(self) -> dict[int, str]:
        generation, _ = self.store.counters()
        if generation != self._names_generation:
            self._names = self.store.names()
            self._names_generation = generation
        return self._names

    def _background_halves(self, model: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(SVM negatives, calibration probes) from the background vectors of `model`, or (None, None)."""
        if self.background is None or self.background_model != model:
            return None, None
        rng = np.random.default_rng(0)
        if self.background_labels is not None:
            people = np.unique(self.background_labels)
            first = np.isin(self.background_labels, rng.permutation(people)[: len(people) // 2])
        else:
            first = np.zeros(len(self.background), bool)
            first[rng.permutation(len(self.background))[: len(self.background) // 2]] = True
        return self.background[first], self.background[~first]

    def _index(self, model: str) -> _ModelIndex:
        with self._lock:
            return self._current_index(model)

    def _current_index(self, model: str) -> _ModelIndex:
        generation, removals = self.store.counters()
        index = self._indexes.get(model)
        if index is not None and index.generation == generation:
            return index
        if index is not None and index.removals == removals:  # only enrolments since: add the new vectors
            ids, persons, matrix = self.store.load_vectors(model, after_id=index.max_id)
            if not len(ids):
                index.generation = generation
                return index
            index.classifier.partial_fit(matrix, persons)
            index.person_ids = np.concatenate([index.person_ids, persons])
            index.max_id = int(ids[-1])
            index.generation = generation
            return index
        self._indexes[model] = index = self._build(model, generation, removals)
        return index

    def _build(self, model: str, generation: int, removals: int) -> _ModelIndex:
        counts = self.store.model_counts()
        if model not in counts:
            if not counts:
                raise EmptyGalleryError("the gallery is empty: enrol people first (gaitid enroll NAME VIDEO)")
            described = ", ".join(f"{m} ({c[0]} people)" for m, c in sorted(counts.items()))
            raise ModelMismatchError(
                f"the probe was made by model {model!r} but the gallery's vectors by {described}; vectors of "
                "different models are never compared: re-enrol the people with the current model "
                "(gaitid enroll NAME VIDEO), or go back to the model they were enrolled with"
            )
        total_people = len(self.store.names())
        if counts[model][0] < total_people:
            warnings.warn(
                f"{total_people - counts[model][0]} of {total_people} enrolled people have no vectors of model "
                f"{model!r} and cannot be recognised with it until they are re-enrolled",
                stacklevel=3,
            )
        ids, persons, matrix = self.store.load_vectors(model)
        n_people = len(np.unique(persons))
        method = self.method
        if method == "svm":
            if n_people < 2:
                raise GalleryError("the linear SVM needs at least two enrolled people; use the cosine method")
            negatives, _ = self._background_halves(model)
            classifier = LinearSVM(C=self.svm_c).fit(matrix, persons, background=negatives)
        else:
            classifier = CosineNN().fit(matrix, persons)
        return _ModelIndex(model, generation, removals, int(ids[-1]), persons, classifier, method)

    def _calibration(self, index: _ModelIndex) -> ScoreCalibration:
        with self._lock:
            return self._current_calibration(index)

    def _current_calibration(self, index: _ModelIndex) -> ScoreCalibration:
        n_people = len(index.classifier.classes_)
        # Recalibrated when the number of people changed by more than 5 % (always below 20 people): the
        # estimate moves slowly with the gallery's size, and for the SVM a recalibration costs a refit.
        stale = index.calibration is None or (
            index.calibrated_people != n_people
            and (n_people < 20 or abs(n_people - index.calibrated_people) > 0.05 * index.calibrated_people)
        )
        if not stale:
            return index.calibration
        if self.background is not None and self.background_model == index.model:
            probes = self.background
            if isinstance(index.classifier, LinearSVM):
                probes = self._background_halves(index.model)[1]  # people the SVMs did not see
            scores = index.classifier.decision_function(probes).max(axis=1)
            source = "background"
        else:
            scores = index.classifier.nonmated_scores(CALIBRATION_PROBES, np.random.default_rng(0))
            source = "gallery"
        if len(scores) == 0:
            need = MIN_SVM_PEOPLE if isinstance(index.classifier, LinearSVM) else 2
            raise GalleryError(
                f"only {n_people} people are enrolled with model {index.model!r}: at least {need} are needed to "
                "estimate how often a stranger would be accepted (or give background vectors of people who are "
                "not enrolled)"
            )
        index.calibration = ScoreCalibration.from_scores(scores, source)
        index.calibrated_people = n_people
        return index.calibration
