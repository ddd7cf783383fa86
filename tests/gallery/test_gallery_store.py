"""The SQLite store: people, vectors, audit, schema version, encryption, names and paths."""

from __future__ import annotations

import os
import sqlite3
import stat

import numpy as np
import pytest

from gaitid.gallery import store as store_module
from gaitid.gallery.errors import GalleryError, GalleryKeyError, UnknownPersonError
from gaitid.gallery.store import GalleryStore, NewVector, default_gallery_path


def _vectors(n: int, dim: int = 8, model: str = "m1", seed: int = 0) -> list[NewVector]:
    rng = np.random.default_rng(seed)
    return [NewVector(rng.normal(size=dim).astype(np.float32), model, f"walk-{i}.mp4", 40) for i in range(n)]


def test_enrol_list_show_reopen(tmp_path):
    path = tmp_path / "sub" / "g.db"
    vectors = _vectors(3)
    with GalleryStore(path) as store:
        store.enroll("alice", vectors, {"badge": 7})
        store.enroll("bob", _vectors(2, seed=1))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with GalleryStore(path, create=False) as store:
        people = store.people()
        assert [(p.name, p.num_vectors) for p in people] == [("alice", 3), ("bob", 2)]
        alice = store.person("alice")
        assert alice.metadata == {"badge": 7}
        assert [v.source for v in alice.vectors] == ["walk-0.mp4", "walk-1.mp4", "walk-2.mp4"]
        np.testing.assert_array_equal(alice.vectors[1].vector, vectors[1].vector)
        assert store.model_counts() == {"m1": (2, 5, 8)}
        _, persons, matrix = store.load_vectors("m1")
        assert matrix.shape == (5, 8) and len(set(persons)) == 2
        assert [e["action"] for e in store.audit()] == ["enrol", "enrol", "create"]


@pytest.mark.parametrize(
    "name, vectors, message",
    [
        ("", _vectors(1), "non-empty"),
        (" alice", _vectors(1), "spaces"),
        ("x" * 201, _vectors(1), "at most"),
        ("alice", [], "no vectors"),
        ("alice", [NewVector(np.zeros((2, 2)), "m1")], "one-dimensional"),
        ("alice", [NewVector(np.array([1.0, np.nan]), "m1")], "NaN"),
        ("alice", [NewVector(np.ones(3), "")], "model"),
    ],
)
def test_bad_enrolments_are_refused(tmp_path, name, vectors, message):
    with GalleryStore(tmp_path / "g.db") as store:
        with pytest.raises(GalleryError, match=message):
            store.enroll(name, vectors)
        assert store.people() == []


def test_duplicate_name_and_add(tmp_path):
    with GalleryStore(tmp_path / "g.db") as store:
        store.enroll("alice", _vectors(2))
        with pytest.raises(GalleryError, match="already enrolled"):
            store.enroll("alice", _vectors(1))
        store.enroll("alice", _vectors(1, seed=3), add=True)
        assert store.person("alice").num_vectors == 3


def test_enrol_many_is_all_or_nothing(tmp_path):
    with GalleryStore(tmp_path / "g.db") as store:
        store.enroll("carol", _vectors(1))
        with pytest.raises(GalleryError, match="already enrolled"):
            store.enroll_many([("alice", _vectors(1), None), ("carol", _vectors(1), None)])
        assert [p.name for p in store.people()] == ["carol"]


def test_unknown_person(tmp_path):
    with GalleryStore(tmp_path / "g.db") as store:
        with pytest.raises(UnknownPersonError, match="nobody called 'zed'"):
            store.person("zed")
        with pytest.raises(UnknownPersonError):
            store.remove("zed")


def test_removal_blanks_the_name_in_the_audit_log(tmp_path):
    with GalleryStore(tmp_path / "g.db") as store:
        store.enroll("alice", _vectors(2))
        store.log_identification("alice", 0.99, "m1")
        removal = store.remove("alice")
        assert removal.vectors == 2 and removal.wal_truncated
        log = store.audit()
        assert [e["action"] for e in log] == ["remove", "identify", "enrol", "create"]
        assert all(e["name"] is None for e in log)
        assert store.people() == [] and store.model_counts() == {}


@pytest.mark.parametrize("key", [None, b"correct horse"])
def test_rename_keeps_the_vectors_and_is_audited(tmp_path, key):
    vectors = _vectors(2)
    with GalleryStore(tmp_path / "g.db", key=key) as store:
        store.enroll("alice", vectors, {"badge": 7})
        store.enroll("bob", _vectors(1, seed=1))
        generation = store.counters()[0]
        store.rename("alice", "Alice Smith")
        assert [p.name for p in store.people()] == ["Alice Smith", "bob"]
        renamed = store.person("Alice Smith")
        assert renamed.metadata == {"badge": 7} and renamed.num_vectors == 2
        np.testing.assert_array_equal(renamed.vectors[0].vector, vectors[0].vector)
        assert store.counters()[0] == generation + 1
        assert store.audit(1)[0]["action"] == "rename" and store.audit(1)[0]["name"] == "Alice Smith"
        with pytest.raises(UnknownPersonError):
            store.person("alice")
        with pytest.raises(GalleryError, match="already enrolled"):
            store.rename("bob", "Alice Smith")
        with pytest.raises(UnknownPersonError):
            store.rename("zed", "carol")
        with pytest.raises(GalleryError, match="spaces"):
            store.rename("bob", " bob")
        store.rename("bob", "bob")  # the same name: nothing changes
        assert store.counters()[0] == generation + 1
        store.remove("Alice Smith")
        assert all(e["name"] is None for e in store.audit() if e["person_id"] == renamed.id)


def test_counters_track_enrolments_and_removals(tmp_path):
    with GalleryStore(tmp_path / "g.db") as store:
        assert store.counters() == (0, 0)
        store.enroll("alice", _vectors(1))
        assert store.counters() == (1, 0)
        store.remove("alice")
        assert store.counters() == (2, 1)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "g.db"
    with GalleryStore(path) as store:
        store.enroll("alice", _vectors(1))
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(GalleryError, match="schema version 99, newer"):
        GalleryStore(path)


def test_migrations_run_on_open(tmp_path, monkeypatch):
    path = tmp_path / "g.db"
    with GalleryStore(path) as store:
        store.enroll("alice", _vectors(1))

    def add_column(db):
        db.execute("ALTER TABLE people ADD COLUMN note TEXT")

    newer = len(store_module._MIGRATIONS) + 1
    monkeypatch.setattr(store_module, "_MIGRATIONS", [*store_module._MIGRATIONS, add_column])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", newer)
    with GalleryStore(path) as store:
        assert store.person("alice").num_vectors == 1
        assert store.audit(1)[0]["action"] == "migrate"
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(newer),)
    assert "note" in [r[1] for r in db.execute("PRAGMA table_info(people)")]
    db.close()


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GAITID_GALLERY", str(tmp_path / "mine.db"))
    assert default_gallery_path() == tmp_path / "mine.db"
    monkeypatch.delenv("GAITID_GALLERY")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_gallery_path() == tmp_path / "data" / "gaitid" / "gallery.db"


def test_a_missing_gallery_is_not_created_when_asked_not_to(tmp_path):
    with pytest.raises(GalleryError, match="no gallery at"):
        GalleryStore(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


# -- encryption ------------------------------------------------------------------------------------------


def test_encrypted_gallery_round_trip_and_hides_everything(tmp_path):
    path = tmp_path / "g.db"
    vectors = _vectors(2, dim=16)
    with GalleryStore(path, key=b"correct horse") as store:
        assert store.encrypted
        store.enroll("Alice Secretname", vectors, {"note": "hushhush"})
        store.log_identification("Alice Secretname", 0.9, "m1")
    with GalleryStore(path, key=b"correct horse") as store:
        alice = store.person("Alice Secretname")
        np.testing.assert_array_equal(alice.vectors[0].vector, vectors[0].vector)
        assert alice.metadata == {"note": "hushhush"}
        assert alice.vectors[0].source == "walk-0.mp4"
        assert store.audit(1)[0]["name"] == "Alice Secretname"
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (b"Secretname", b"hushhush", b"walk-0", vectors[0].vector.tobytes()[:16]):
        assert secret not in raw


def test_encrypted_gallery_without_or_with_a_wrong_key(tmp_path):
    path = tmp_path / "g.db"
    with GalleryStore(path, key=b"k1") as store:
        store.enroll("alice", _vectors(1))
    before = path.read_bytes()
    with pytest.raises(GalleryKeyError, match="is encrypted: give its key"):
        GalleryStore(path)
    with pytest.raises(GalleryKeyError, match="wrong key"):
        GalleryStore(path, key=b"k2")
    assert path.read_bytes() == before


def test_a_key_for_a_plain_gallery_is_refused(tmp_path):
    path = tmp_path / "g.db"
    with GalleryStore(path) as store:
        store.enroll("alice", _vectors(1))
    with pytest.raises(GalleryKeyError, match="not encrypted"):
        GalleryStore(path, key=b"k")


def test_key_from_environment(tmp_path, monkeypatch):
    from gaitid.gallery.crypto import key_from_environment

    monkeypatch.delenv("GAITID_GALLERY_KEY", raising=False)
    monkeypatch.delenv("GAITID_GALLERY_KEY_FILE", raising=False)
    assert key_from_environment() is None
    monkeypatch.setenv("GAITID_GALLERY_KEY", "from-env")
    assert key_from_environment() == b"from-env"
    key_file = tmp_path / "key"
    key_file.write_bytes(b"from-file\n")
    key_file.chmod(0o600)
    monkeypatch.setenv("GAITID_GALLERY_KEY_FILE", str(key_file))
    assert key_from_environment() == b"from-file"
    assert key_from_environment(key_file) == b"from-file"
    with pytest.raises(GalleryKeyError, match="cannot read"):
        key_from_environment(tmp_path / "absent")
    (tmp_path / "empty").write_bytes(b"\n")
    (tmp_path / "empty").chmod(0o600)
    with pytest.raises(GalleryKeyError, match="empty"):
        key_from_environment(tmp_path / "empty")
