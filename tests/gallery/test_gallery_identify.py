"""Gallery: enrol from embeddings, identify with an honest unknown, model changes, other processes' changes."""

from __future__ import annotations

import numpy as np
import pytest
from gallery_helpers import MODEL, People, name

from gaitid.gallery.cohort import Cohort
from gaitid.gallery import Gallery, GalleryStore
from gaitid.gallery.errors import EmptyGalleryError, GalleryError, ModelMismatchError
from gaitid.types import Embedding


@pytest.fixture
def people():
    return People(n=16, dim=32, seed=1)


def _fill(gallery: Gallery, people: People, n: int, per: int = 4) -> None:
    for p in range(n):
        gallery.enroll(name(p), people.embeddings(p, per), source=f"{name(p)}.mp4")


@pytest.mark.parametrize("method", ["cosine", "svm"])
def test_enrolled_people_are_named_and_strangers_unknown(tmp_path, people, method):
    with Gallery.open(tmp_path / "g.db", method=method, target_fpir=0.05) as gallery:
        _fill(gallery, people, 10)
        for p in range(10):
            identity = gallery.identify(people.embeddings(p, 1)[0])
            assert identity.name == name(p)
            assert identity.candidates[0] == (name(p), identity.score)
            assert 0.95 <= identity.score <= 1.0
            assert len(identity.candidates) == 5
            assert [s for _, s in identity.candidates] == sorted(
                (s for _, s in identity.candidates), reverse=True
            )
        strangers = [gallery.identify(e) for p in range(10, 16) for e in people.embeddings(p, 2)]
        assert sum(i.is_unknown for i in strangers) >= 10
        actions = [e["action"] for e in gallery.store.audit(30)]
        assert actions.count("identify") == 22


def test_batch_identification_matches_single(tmp_path, people):
    with Gallery.open(tmp_path / "g.db", method="cosine", audit_identifications=False) as gallery:
        _fill(gallery, people, 8)
        probes = np.stack([people.vectors(p, 1)[0] for p in range(12)])
        batch = gallery.identify_batch(probes, MODEL, top_k=3)
        single = [gallery.identify(Embedding(v, MODEL), top_k=3) for v in probes]
        assert [(b.name, b.score, b.candidates) for b in batch] == [(s.name, s.score, s.candidates) for s in single]
        assert [b.margin for b in batch] == pytest.approx([s.margin for s in single], abs=1e-5)
        assert gallery.store.audit(1)[0]["action"] == "enrol"


def _cohort(people, persons=range(10, 16), per=20) -> Cohort:
    vectors = np.concatenate([people.vectors(p, per) for p in persons])
    return Cohort.from_vectors(vectors, np.repeat([f"c{p}" for p in persons], per), MODEL)


def test_a_cohort_calibrates_the_svm(tmp_path, people):
    with Gallery.open(tmp_path / "g.db", method="svm", cohort=_cohort(people), target_fpir=0.1) as gallery:
        _fill(gallery, people, 2)  # too few people to calibrate an SVM on the gallery alone
        assert gallery.identify(people.embeddings(1, 1)[0]).name == name(1)
        index = gallery._indexes[MODEL]
        assert index.method == "svm" and index.calibration.source == "cohort"
        assert len(index.classifier.background_) == 60  # half the cohort's people are negatives
        assert len(index.calibration.nonmated) == 60  # the other half calibrate


def test_one_enrolled_person_with_a_cohort(tmp_path, people):
    """Verification: with a cohort, one enrolled person is named and strangers are not."""
    cohort = _cohort(People(n=400, dim=32, seed=5), persons=range(400), per=3)
    with Gallery.open(tmp_path / "g.db", cohort=cohort, audit_identifications=False) as gallery:
        _fill(gallery, people, 1)
        assert gallery.calibration_source(MODEL) == "cohort"
        mine = [gallery.identify(e) for e in people.embeddings(0, 10)]
        assert all(i.name == name(0) and i.margin == float("inf") for i in mine)
        strangers = [gallery.identify(e) for p in range(1, 10) for e in people.embeddings(p, 5)]
        assert sum(not i.is_unknown for i in strangers) <= 2  # about 1 % of 45 expected


def test_too_few_people_to_calibrate_without_a_cohort(tmp_path, people):
    with Gallery.open(tmp_path / "g.db") as gallery:
        _fill(gallery, people, 1)
        with pytest.raises(GalleryError, match="no cohort .* enrol at least 2"):
            gallery.identify(people.embeddings(0, 1)[0])
        gallery.add_cohort("walker-1", people.embeddings(11, 10))  # a site's own stranger is enough
        gallery.add_cohort("walker-2", people.embeddings(12, 10))
        assert gallery.identify(people.embeddings(0, 1)[0]).name == name(0)
        assert gallery.calibration_source(MODEL) == "cohort"


def test_empty_gallery_and_model_change(tmp_path, people):
    with Gallery.open(tmp_path / "g.db") as gallery:
        with pytest.raises(EmptyGalleryError, match="empty"):
            gallery.identify(people.embeddings(0, 1)[0])
        _fill(gallery, people, 4)
        with pytest.raises(ModelMismatchError, match="never compared: re-enrol"):
            gallery.identify(people.embeddings(0, 1, model="gait-v2")[0])
        with pytest.raises(GalleryError, match="dimension"):
            gallery.enroll("newcomer", [Embedding(np.ones(7, np.float32), MODEL)])
        with pytest.raises(GalleryError, match="dimension"):
            gallery.identify_batch(np.ones((1, 7), np.float32), MODEL)
        with pytest.warns(UserWarning, match="other models"):
            gallery.enroll(name(0), people.embeddings(0, 2, model="gait-v2"), add=True)
        with pytest.warns(UserWarning, match="3 of 4 enrolled people have no vectors"):
            with pytest.raises(GalleryError, match="only 1 person is enrolled"):
                gallery.identify(people.embeddings(0, 1, model="gait-v2")[0])


def test_sees_enrolments_and_removals_made_elsewhere(tmp_path, people):
    path = tmp_path / "g.db"
    for method in ("cosine", "svm"):
        with Gallery.open(path, method=method, audit_identifications=False) as gallery:
            if method == "cosine":
                _fill(gallery, people, 6)
            with GalleryStore(path) as other:  # another connection, as another process would have
                from gaitid.gallery.store import NewVector

                late = 6 if method == "cosine" else 7
                assert gallery.identify(people.embeddings(late, 1)[0]).name != name(late)
                other.enroll(name(late), [NewVector(v, MODEL) for v in people.vectors(late, 4)])
                assert gallery.identify(people.embeddings(late, 1)[0]).name == name(late)
                before = gallery._indexes[MODEL].classifier
                gone = 2 if method == "cosine" else 3
                other.remove(name(gone))
            identity = gallery.identify(people.embeddings(gone, 1)[0])
            assert name(gone) not in dict(identity.candidates)
            assert gallery._indexes[MODEL].classifier is not before  # rebuilt after a removal


def test_incremental_enrolment_keeps_the_index(tmp_path, people):
    with Gallery.open(tmp_path / "g.db", method="cosine", audit_identifications=False) as gallery:
        _fill(gallery, people, 6)
        gallery.identify(people.embeddings(0, 1)[0])
        classifier = gallery._indexes[MODEL].classifier
        gallery.enroll(name(6), people.embeddings(6, 4))
        assert gallery.identify(people.embeddings(6, 1)[0]).name == name(6)
        assert gallery._indexes[MODEL].classifier is classifier
        assert classifier.X_.shape[0] == 28


@pytest.mark.parametrize(
    "options, message",
    [
        ({"method": "lda"}, "unknown identification method"),
        ({"target_fpir": 2.0}, "must be in"),
        ({"normalisation": "q"}, "unknown normalisation"),
    ],
)
def test_bad_options(tmp_path, options, message):
    with pytest.raises(GalleryError, match=message):
        Gallery(GalleryStore(tmp_path / "g.db"), **options)


def test_threads_share_one_gallery(tmp_path, people):
    from concurrent.futures import ThreadPoolExecutor

    with Gallery.open(tmp_path / "g.db", audit_identifications=True) as gallery:
        _fill(gallery, people, 4)

        def work(p: int) -> str | None:
            if p >= 4:
                gallery.enroll(name(p), people.embeddings(p, 3))
            return gallery.identify(people.embeddings(p % 4, 1)[0]).name

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(work, range(12)))
        assert answers == [name(p % 4) for p in range(12)]
        assert len(gallery.people()) == 12
