"""The gallery: enrol people from identification vectors and identify probes, with an honest "unknown".

    from gaitid.gallery import Gallery
    with Gallery.open() as gallery:                  # $GAITID_GALLERY or the per-user default
        gallery.enroll("alice", [embedding, ...], source="alice.mp4")
        identity = gallery.identify(probe_embedding)  # Identity(name or None, score, candidates)
        evidence = TrackEvidence(model)                # or a walk, window by window:
        evidence.add(window_vector); gallery.decide(evidence)

`decide` is the one decision every caller goes through (the pipeline's walkers, the server, the CLI).

Identification keeps one in-memory index per model (the normalised vectors and a fitted classifier). Before
every search it reads two counters from the store; when another process (or this one) enrolled people, only
the new vectors are loaded and added (CosineNN appends rows, LinearSVM trains the newcomers' SVMs); a removal
reloads the index (so do changes of the site cohort). Vectors made by different models are never compared.

Scores are normalised against a cohort of people never enrolled (gaitid.gallery.normalisation) and
calibrated so that the threshold is a target false-positive identification rate (FPIR) whatever the number
of people enrolled; see gaitid.gallery.calibration for how, and for the limits of the estimate.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaitid.gallery.calibration import ScoreCalibration
from gaitid.gallery.classifiers import CosineNN, LinearSVM
from gaitid.gallery.cohort import Cohort, shipped_cohort
from gaitid.gallery.evidence import TrackEvidence
from gaitid.gallery.normalisation import MODES, CohortNorm
from gaitid.gallery.crypto import key_from_environment
from gaitid.gallery.errors import EmptyGalleryError, GalleryError, ModelMismatchError
from gaitid.gallery.store import GalleryStore, NewVector, PersonRecord, Removal, default_gallery_path
from gaitid.types import Embedding, Identity

METHODS = ("cosine", "svm")
MIN_SVM_PEOPLE = 3  # for the SVM's self-calibration by cross-fitting (two with a cohort)
DEFAULT_TARGET_FPIR = 0.01
CALIBRATION_PROBES = 2000  # cohort windows searched as strangers against the gallery
NORMALISATION = "s"  # chosen on validation identities: experiments/results/openset_methods.md
NORMALISATION_TOP = 0.1
MIN_TNORM_PEOPLE = 5
SITE_COHORT_ALONE = 10  # walkers of the site's own footage from which they replace the shipped cohort
ENROLLED_NULL_PEOPLE = 5  # enrolled people from which their own windows are a null too (enrolled_null)


@dataclass(frozen=True)
class CohortSource:
    """How a gallery makes its cohort for one model, so that another gallery (an archive search's) makes
    it the same way and decides as it does: the cohort it was given (`given`; otherwise the shipped one,
    unless `shipped` is False), the site's own walkers (labels and vectors, one row per window), and whether
    the enrolled people are a null of their own too."""

    model: str
    given: Cohort | None = None
    shipped: bool = True
    site_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, str))
    site_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    enrolled_null: bool = True

    def open_gallery(self, path: Path, target_fpir: float) -> Gallery:
        """A new, unencrypted gallery at `path` with this cohort (the site's walkers added to it)."""
        gallery = Gallery.open(path, key=None, target_fpir=target_fpir, cohort=self.given,
                               shipped_cohort=self.shipped, enrolled_null=self.enrolled_null,
                               audit_identifications=False)
        for label in dict.fromkeys(self.site_labels.tolist()):
            rows = self.site_vectors[self.site_labels == label]
            gallery.add_cohort(label, [Embedding(v, self.model) for v in rows])
        return gallery


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
    norm: CohortNorm | None = None  # cosine with a cohort: scores are normalised against it
    person_stats: tuple[np.ndarray, np.ndarray] | None = None  # z-norm (mu, sd) per class
    null_raw: np.ndarray | None = None  # (probes, classes) raw scores of cohort windows searched as strangers
    null_stats: tuple[np.ndarray, np.ndarray] | None = None  # their own t-norm (mu, sd), own person left out
    calibrated_generation: int = -1
    svm_probes: np.ndarray | None = None  # the SVM's calibration probes: the cohort half it was not fitted on
    cohort_kind: str = "none"  # what the cohort is made of (see Gallery.calibration)
    site_rows: np.ndarray | None = None  # rows of a joined cohort that are a small site cohort's windows
    site_raw: np.ndarray | None = None  # (site windows, classes) their raw scores, searched as strangers
    site_stats: tuple[np.ndarray, np.ndarray] | None = None  # their own t-norm (mu, sd), own walker left out
    site_walkers: int = 0  # walkers in the site's cohort, joined or alone


class Gallery:
    """Enrolled people and their vectors, and the one open-set decision against them.

    store: an open GalleryStore (the Gallery closes it on close()).
    method: "cosine" (nearest neighbour, the default) or "svm" (one-vs-rest linear SVMs; needs 2 people).
        On held-out CASIA-B subjects both name enrolled people about equally well, but cosine rejects
        strangers far better (benchmarks/RESULTS-gallery.md), hence the default.
    target_fpir: the false-positive identification rate the open-set decision aims at: the fraction of
        strangers (people not enrolled) who are given a name, whatever the number of people enrolled.
    cohort: vectors of people who are never enrolled, for the model that made them. Default: the cohort
        shipped beside the model's weights (CASIA-B training subjects), joined with the site's own cohort
        stored in the gallery (`add_cohort`); once the site's cohort has SITE_COHORT_ALONE walkers, it is
        used alone (a laboratory's strangers say little about how strangers look on the site's cameras);
        until then its windows also calibrate on their own, and a score must pass both calibrations.
        With cosine, every score is normalised against the cohort (`normalisation`, see
        gaitid.gallery.normalisation) and the cohort's windows, searched as strangers against this very
        gallery, calibrate the scores (gaitid.gallery.calibration); with the SVM, half of the cohort's
        people are extra negatives and the other half calibrate. A model with no cohort falls
        back to calibrating against the enrolled people themselves (needs 2 people, unreliable below 10).
    enrolled_null: with cosine and a cohort, once ENROLLED_NULL_PEOPLE people are enrolled with a model, their
        own windows, searched as strangers against the others (leave one person out), are a null that a
        score must pass too: they were filmed like the strangers to come, which a laboratory cohort was not.
        On by default since version 6 of the silhouette model, by a rule written before its figures: on
        vtest it held back nearly all same-camera strangers, and on validation identities it cost at most
        0.55 points of FPIR and 2.6 of TPIR at a 5 % target; on unseen CASIA-B people it costs more, 1-15
        points of TPIR with 10-50 enrolled (benchmarks/RESULTS-openset.md).
    shipped_cohort: look for the cohort shipped with the model (set False to use only `cohort` and the site's).
    audit_identifications: write every identification (time, result, score) to the audit log.
    """

    def __init__(
        self,
        store: GalleryStore,
        *,
        method: str = "cosine",
        target_fpir: float = DEFAULT_TARGET_FPIR,
        cohort: Cohort | None = None,
        shipped_cohort: bool = True,
        enrolled_null: bool = True,
        normalisation: str = NORMALISATION,
        normalisation_top: float = NORMALISATION_TOP,
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
        if normalisation not in MODES:
            raise GalleryError(f"unknown normalisation {normalisation!r}; choose one of {', '.join(MODES)}")
        self.store = store
        self.method = method
        self.target_fpir = float(target_fpir)
        self.cohort = cohort
        self.shipped_cohort = shipped_cohort
        self.enrolled_null = enrolled_null
        self.normalisation = normalisation
        self.normalisation_top = normalisation_top
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

    # -- the site cohort -----------------------------------------------------------------------------------

    def add_cohort(self, label: str, embeddings: Sequence[Embedding], *, source: str | None = None) -> int:
        """Add a local walker who will not be enrolled to the site's cohort (their windows' vectors); returns
        how many site-cohort vectors the model now has. Scores are then normalised against them too."""
        if isinstance(embeddings, Embedding):
            embeddings = [embeddings]
        with self._lock:
            count = self.store.add_cohort(label, [NewVector(e.vector, e.model, source, e.num_frames) for e in embeddings])
            self._indexes.clear()
        return count

    def clear_cohort(self) -> int:
        """Erase the site's cohort; returns how many vectors were erased."""
        with self._lock:
            erased = self.store.clear_cohort()
            self._indexes.clear()
        return erased

    # -- identification -----------------------------------------------------------------------------------

    def identify(self, embedding: Embedding, top_k: int = 5, *, source: str | None = None) -> Identity:
        """The enrolled person this one vector is, or unknown (name None): `decide` on a walk of one window."""
        evidence = TrackEvidence(embedding.model)
        evidence.add(embedding.vector)
        identity = self.decide(evidence, top_k)
        self.record(identity, embedding.model, source)
        return identity

    def decide(
        self, evidence: TrackEvidence, top_k: int = 5, footage: Sequence[TrackEvidence] = ()
    ) -> Identity:
        """The answer for a walk: who it is, or unknown (name None), from every window's evidence so far.

        Each window is scored against every enrolled person and the score normalised against the cohort;
        a person's evidence is the mean over the windows. The best person is named when the estimated
        FPIR at their evidence is at most the target (Identity.fpir; Identity.score = 1 - fpir). The answer
        kept in `evidence` changes only when a new one holds for `evidence.confirm` windows in a row.

        footage: the other walks of the same run (oldest first; `evidence` itself is skipped). A candidate
        must also outscore their windows (the most recent CALIBRATION_PROBES) against that candidate: the
        same camera's other people, most of whom are not enrolled, and those who are count only as
        impostors of the others. Each window is scored once, when its own walk is decided, so the footage
        costs no search.
        """
        if not evidence.vectors:
            raise GalleryError("no windows to decide on: add a window's vector to the evidence first")
        with self._lock:
            index = self._index(evidence.model)
            names = self._person_names()
            key = (index.generation, id(index))  # _index has just brought it up to the store's generation
            self._score(index, evidence, key)
            rows = self._footage_rows(index, key, evidence, footage)
            calibration = self._calibration(index)
            labels = index.classifier.classes_
        fresh = _answer(
            np.mean(evidence.scores, axis=0), [names[int(c)] for c in labels], calibration,
            self.target_fpir, top_k, evidence.windows, np.stack(rows) if rows else None,
        )
        return evidence.settle(fresh)

    def _footage_rows(
        self, index: _ModelIndex, key: tuple, evidence: TrackEvidence, footage: Sequence[TrackEvidence]
    ) -> list[np.ndarray]:
        """The score rows of the footage's most recent CALIBRATION_PROBES windows (the walks are taken from the
        newest back, so a long file's early walks cost nothing), each scored against the gallery as it is."""
        walks, count = [], 0
        for other in reversed(footage):
            if other is evidence or other.model != evidence.model or not other.vectors:
                continue
            self._score(index, other, key)
            walks.append(other.scores)
            count += len(other.scores)
            if count >= CALIBRATION_PROBES:
                break
        return [row for scores in reversed(walks) for row in scores][-CALIBRATION_PROBES:]

    def _score(self, index: _ModelIndex, evidence: TrackEvidence, key: tuple) -> None:
        """Bring the evidence's window scores up to the gallery (`key`): score the new windows, or every window
        kept when people were enrolled or removed since."""
        if evidence.key != key:
            evidence.scores, evidence.scored, evidence.key = [], evidence.first_window, key
        unscored = min(len(evidence.vectors), evidence.windows - evidence.scored)
        new = np.arange(len(evidence.vectors) - unscored, len(evidence.vectors))
        if len(new):
            vectors = np.stack([evidence.vectors[i] for i in new])
            stats = self._window_stats(index, evidence, new, vectors)
            evidence.scores.extend(self._normalised(index, vectors, stats))
            evidence.scored = evidence.windows
        del evidence.scores[: -evidence.max_windows]

    def record(self, identity: Identity, model: str, source: str | None = None) -> None:
        """Write a walker's final answer to the audit log (when this gallery audits identifications)."""
        if self.audit_identifications:
            self.store.log_identification(identity.name, identity.score, model, source)

    def identify_batch(self, vectors: np.ndarray, model: str, top_k: int = 5) -> list[Identity]:
        """Identify many single-window probes of one model at once (not audited: for evaluation)."""
        vectors = self._check_probes(vectors)
        with self._lock:
            index = self._index(model)
            self._check_dim(index, vectors)
            scores = self._normalised(index, vectors)
            names = self._person_names()
            labels = [names[int(c)] for c in index.classifier.classes_]
            calibration = self._calibration(index)
        return [_answer(row, labels, calibration, self.target_fpir, top_k, 1) for row in scores]

    def search(self, vectors: np.ndarray, model: str, top_k: int = 5) -> tuple[list[list[str]], np.ndarray]:
        """The top_k people for each probe and their raw (unnormalised) scores, best first (for evaluation)."""
        vectors = self._check_probes(vectors)
        with self._lock:  # an index update (another thread's enrolment) must not run under a search
            index = self._index(model)
            self._check_dim(index, vectors)
            classes, raw = index.classifier.top_k(vectors, top_k)
            names = self._person_names()
            labels = index.classifier.classes_
            return [[names[int(labels[c])] for c in row] for row in classes], raw

    def scores(self, vectors: np.ndarray, model: str) -> tuple[list[str], np.ndarray]:
        """(names, (n, people) scores as the decision sees them: normalised against the cohort when there is
        one) of every person enrolled with `model` (for evaluation and benchmarks)."""
        vectors = self._check_probes(vectors)
        with self._lock:  # another thread's enrolment updates the classifier under this lock
            index = self._index(model)
            self._check_dim(index, vectors)
            names = self._person_names()
            return [names[int(c)] for c in index.classifier.classes_], self._normalised(index, vectors)

    def calibrated(self, scores: np.ndarray, model: str) -> np.ndarray:
        """Scores (as `scores` gives them) mapped to 1 - the estimated FPIR (see gaitid.gallery.calibration)."""
        return self._calibration(self._index(model))(scores)

    def threshold(self, model: str) -> float:
        """The score (as `scores` gives them) that the target FPIR corresponds to, for `model`; raises a
        GalleryError when the gallery cannot decide for `model` (empty, other model, too few people)."""
        return self._calibration(self._index(model)).raw_threshold(self.target_fpir)

    def calibration_source(self, model: str) -> str:
        """Where the FPIR estimate comes from: "cohort" (people never enrolled) or "gallery" (the enrolled
        people themselves, when the model has no cohort)."""
        return self._calibration(self._index(model)).source

    def calibration(self, model: str) -> dict[str, object]:
        """What a score of `model` means, for reports: the target FPIR, where its estimate comes from and,
        with a cohort, what the cohort is made of ("shipped", "site (N walkers)", "shipped + site ..."), how
        many of the site's walkers it holds, and whether the enrolled people are a null of their own too."""
        index = self._index(model)
        calibration = self._calibration(index)
        source = calibration.source
        return {
            "target_fpir": self.target_fpir,
            "source": source,
            "cohort": index.cohort_kind if source == "cohort" else None,
            "site_walkers": index.site_walkers,
            "enrolled_null": calibration.enrolled is not None,
            "normalisation": None if index.norm is None else f"{index.norm.mode}-norm, top {index.norm.top:g}",
        }

    def cohort_for(self, model: str) -> CohortSource:
        """How this gallery makes its cohort for `model` (see `cohort` above), for a search that decides
        against another gallery as this one would (gaitid.batch.search)."""
        with self._lock:
            labels, vectors = self.store.load_cohort(model)
        given = self.cohort if self.cohort is not None and self.cohort.model == model else None
        return CohortSource(model, given, self.shipped_cohort, labels, vectors, self.enrolled_null)

    @staticmethod
    def _check_probes(vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2:
            raise GalleryError(f"expected probe vectors of shape (n, d), got {vectors.shape}")
        return vectors

    @staticmethod
    def _check_dim(index: _ModelIndex, vectors: np.ndarray) -> None:
        if vectors.shape[1] != index.classifier.n_features_in_:
            raise GalleryError(
                f"probe vectors have dimension {vectors.shape[1]} but model {index.model!r} enrolled "
                f"{index.classifier.n_features_in_}-dimensional vectors: the model changed without a new name"
            )

    def _normalised(
        self, index: _ModelIndex, vectors: np.ndarray, stats: tuple[np.ndarray, np.ndarray] | None = None
    ) -> np.ndarray:
        """Scores of `vectors` against everyone, normalised; `stats`: their cohort statistics when known."""
        self._check_dim(index, vectors)
        raw = index.classifier.decision_function(vectors)
        if index.norm is None:
            return raw
        if stats is None and index.norm.needs_probe_stats():
            stats = index.norm.probe_stats(vectors)
        return index.norm.normalise(raw, stats, index.person_stats)

    @staticmethod
    def _window_stats(
        index: _ModelIndex, evidence: TrackEvidence, rows: np.ndarray, vectors: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The cohort statistics of the evidence's windows `rows`, computed once per window and cohort."""
        norm = index.norm
        if norm is None or not norm.needs_probe_stats():
            return None
        if evidence.stats_key != norm.key:
            evidence.probe_stats, evidence.stats_key = {}, norm.key
        numbers = [evidence.first_window + int(r) for r in rows]
        missing = [i for i, n in enumerate(numbers) if n not in evidence.probe_stats]
        if missing:
            mu, sd = norm.probe_stats(vectors[missing])
            for i, m, d in zip(missing, mu, sd):
                evidence.probe_stats[numbers[i]] = (float(m), float(d))
        stats = np.array([evidence.probe_stats[n] for n in numbers], np.float32)
        return stats[:, 0], stats[:, 1]

    # -- the index ----------------------------------------------------------------------------------------

    def _person_names(self) -> dict[int, str]:
        generation, _ = self.store.counters()
        if generation != self._names_generation:
            self._names = self.store.names()
            self._names_generation = generation
        return self._names

    def _model_cohort(self, model: str, labels: np.ndarray, vectors: np.ndarray) -> tuple[Cohort | None, str, int]:
        """The cohort for `model` given the site's own (`labels`, `vectors`), what it is made of, and how many
        site windows were joined to it (they are its last rows): the site's own when it has at least
        SITE_COHORT_ALONE walkers (strangers as the site's cameras see them); else the one given (or
        shipped) joined with the site's; or (None, "none")."""
        site = len(np.unique(labels))
        if site >= SITE_COHORT_ALONE:
            return Cohort.from_vectors(vectors, labels, model), f"site ({site} walkers)", 0
        base, kind = (self.cohort, "given") if self.cohort is not None and self.cohort.model == model else (None, "none")
        if base is None and self.shipped_cohort:
            base, kind = shipped_cohort(model), "shipped"
        if base is None:
            alone = (Cohort.from_vectors(vectors, labels, model), f"site ({site} walkers)", 0)
            return alone if site else (None, "none", 0)
        if site and vectors.shape[1] != base.vectors.shape[1]:
            raise GalleryError(f"the site cohort of {model!r} has vectors of another dimension than the model's")
        return base.extended(vectors, labels), kind + (f" + site ({site} walkers)" if site else ""), len(vectors)

    @staticmethod
    def _cohort_halves(cohort: Cohort) -> tuple[np.ndarray, np.ndarray]:
        """(SVM negatives, calibration probes): the cohort's people split in two halves."""
        rng = np.random.default_rng(0)
        people = np.unique(cohort.labels)
        first = np.isin(cohort.labels, rng.permutation(people)[: len(people) // 2])
        return cohort.vectors[first], cohort.vectors[~first]

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
            if index.norm is not None:
                changed = np.flatnonzero(np.isin(index.classifier.classes_, persons))
                self._update_cohort_scores(index, changed)
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
        site_labels, site_vectors = self.store.load_cohort(model)
        cohort, cohort_kind, joined_site = self._model_cohort(model, site_labels, site_vectors)
        if cohort is not None and cohort.vectors.shape[1] != matrix.shape[1]:
            raise GalleryError(
                f"the cohort of {model!r} has {cohort.vectors.shape[1]}-dimensional vectors but the gallery "
                f"{matrix.shape[1]}-dimensional ones: the model changed without a new name"
            )
        n_people = len(np.unique(persons))
        index = _ModelIndex(model, generation, removals, int(ids[-1]), persons, None, self.method)
        index.cohort_kind = cohort_kind
        index.site_walkers = len(np.unique(site_labels))
        if self.method == "svm":
            if n_people < 2:
                raise GalleryError("the linear SVM needs at least two enrolled people; use the cosine method")
            negatives, index.svm_probes = (None, None) if cohort is None else self._cohort_halves(cohort)
            index.classifier = LinearSVM(C=self.svm_c).fit(matrix, persons, background=negatives)
            return index
        index.classifier = CosineNN().fit(matrix, persons)
        if cohort is not None:
            mode = self.normalisation
            if cohort.people < MIN_TNORM_PEOPLE and mode in ("t", "s"):
                mode = "z"  # a probe's statistics over a handful of people are noise: the enrolled side only
            index.norm = CohortNorm(cohort, mode, self.normalisation_top, CALIBRATION_PROBES)
            index.null_stats = index.norm.calibration_probe_stats()
            if joined_site:
                rows = np.arange(len(cohort.labels) - joined_site, len(cohort.labels))
                index.site_rows = rows
                index.site_stats = index.norm.probe_stats(cohort.vectors[rows], exclude=cohort.labels[rows])
            self._update_cohort_scores(index, np.arange(len(index.classifier.classes_)))
        return index

    @staticmethod
    def _update_cohort_scores(index: _ModelIndex, classes: np.ndarray) -> None:
        """Score the cohort's windows against the given classes (new or changed): their z-norm statistics
        and their columns of the calibration probes' scores."""
        clf, norm = index.classifier, index.norm
        n_classes = len(clf.classes_)
        columns = np.empty((len(norm.cohort.vectors), len(classes)), np.float32)
        for j, c in enumerate(classes):
            rows = clf.X_[clf.y_index_ == c]
            for start in range(0, len(columns), 4096):
                columns[start : start + 4096, j] = (norm.cohort.vectors[start : start + 4096] @ rows.T).max(axis=1)
        mu, sd = norm.person_stats(columns)
        site_rows = index.site_rows if index.site_rows is not None else np.zeros(0, int)
        if index.person_stats is None:
            index.person_stats = (np.zeros(0, np.float32), np.ones(0, np.float32))
            index.null_raw = np.zeros((len(norm.probe_rows), 0), np.float32)
            index.site_raw = np.zeros((len(site_rows), 0), np.float32)
        grow = n_classes - len(index.person_stats[0])
        if grow > 0:
            index.person_stats = tuple(np.concatenate([s, np.zeros(grow, np.float32)]) for s in index.person_stats)
            index.null_raw = np.pad(index.null_raw, ((0, 0), (0, grow)))
            index.site_raw = np.pad(index.site_raw, ((0, 0), (0, grow)))
        index.person_stats[0][classes] = mu
        index.person_stats[1][classes] = sd
        index.null_raw[:, classes] = columns[norm.probe_rows]
        index.site_raw[:, classes] = columns[site_rows]

    def _calibration(self, index: _ModelIndex) -> ScoreCalibration:
        with self._lock:
            return self._current_calibration(index)

    def _enrolled_null(self, index: _ModelIndex) -> np.ndarray | None:
        """The top normalised scores of the enrolled people's own windows (at most CALIBRATION_PROBES) searched
        against everyone else enrolled; None below ENROLLED_NULL_PEOPLE people or when switched off."""
        if not self.enrolled_null or len(index.classifier.classes_) < ENROLLED_NULL_PEOPLE:
            return None
        probes, raw = index.classifier.leave_one_out(CALIBRATION_PROBES, np.random.default_rng(0))
        stats = index.norm.probe_stats(probes) if index.norm.needs_probe_stats() else None
        return index.norm.normalise(raw, stats, index.person_stats).max(axis=1)

    def _current_calibration(self, index: _ModelIndex) -> ScoreCalibration:
        n_people = len(index.classifier.classes_)
        if index.norm is not None:  # cosine with a cohort: cheap, so always current
            if index.calibration is None or index.calibrated_generation != index.generation:
                null = index.norm.normalise(index.null_raw, index.null_stats, index.person_stats)
                site = None
                if index.site_rows is not None:
                    site = index.norm.normalise(index.site_raw, index.site_stats, index.person_stats).max(axis=1)
                index.calibration = ScoreCalibration.from_scores(
                    null.max(axis=1), "cohort", site, self._enrolled_null(index)
                )
                index.calibrated_generation = index.generation
            return index.calibration
        # Otherwise recalibrated when the number of people changed by more than 5 % (always below 20
        # people): the estimate moves slowly with the gallery's size, and for the SVM a recalibration costs
        # a refit.
        stale = index.calibration is None or (
            index.calibrated_people != n_people
            and (n_people < 20 or abs(n_people - index.calibrated_people) > 0.05 * index.calibrated_people)
        )
        if not stale:
            return index.calibration
        if index.svm_probes is not None:  # the SVM with a cohort: its other half, people the SVMs never saw
            scores = index.classifier.decision_function(index.svm_probes).max(axis=1)
            source = "cohort"
        else:
            scores = index.classifier.nonmated_scores(CALIBRATION_PROBES, np.random.default_rng(0))
            source = "gallery"
        if len(scores) == 0:
            need = MIN_SVM_PEOPLE if isinstance(index.classifier, LinearSVM) else 2
            raise GalleryError(
                f"only {n_people} {'person is' if n_people == 1 else 'people are'} enrolled with model "
                f"{index.model!r}, and the model has no cohort "
                f"(people never enrolled) to tell how often a stranger would be accepted: enrol at least {need}, "
                "or add walkers who will not be enrolled to the cohort (gaitid gallery cohort add VIDEO)"
            )
        index.calibration = ScoreCalibration.from_scores(scores, source)
        index.calibrated_people = n_people
        return index.calibration


def _answer(
    evidence: np.ndarray,
    names: list[str],
    calibration: ScoreCalibration,
    target_fpir: float,
    top_k: int,
    windows: int,
    footage: np.ndarray | None = None,
) -> Identity:
    """The decision on one evidence row (a score per enrolled person): the best person if the FPIR at their
    evidence is within the target, else unknown; with the runners-up and the margin to the second best.
    footage: (windows, people) scores of the run's other walkers; each candidate must outscore them too."""
    k = min(top_k, len(evidence))
    order = np.argsort(-evidence, kind="stable")[: max(k, 2)]
    calibrated = calibration(evidence[order])
    if footage is not None:
        calibrated = np.minimum(calibrated, (footage[:, order] < evidence[order]).mean(axis=0))
    candidates = tuple((names[i], float(c)) for i, c in zip(order[:k], calibrated[:k]))
    best = float(calibrated[0])
    margin = float(evidence[order[0]] - evidence[order[1]]) if len(order) > 1 else float("inf")
    accepted = best >= 1.0 - target_fpir
    return Identity(
        name=names[order[0]] if accepted else None, score=best, candidates=candidates,
        fpir=1.0 - best, margin=margin, windows=windows,
    )
