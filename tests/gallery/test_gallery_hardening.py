"""The gallery under hostile input (issue #16): no crash, no traceback, no file read or written that should not be.

Every error is a GalleryError (one line, exit status 2 from the CLI); nothing is lost or half-written.
"""

from __future__ import annotations

import os
import stat
import sys

import numpy as np
import pytest

from gallery_helpers import env  # noqa: F401 (a fixture)

from gaitid.cli import main
from gaitid.gallery.crypto import key_from_environment
from gaitid.gallery.errors import GalleryError, GalleryKeyError
from gaitid.gallery.store import GalleryStore, NewVector

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes and links")


def _vectors(n: int, dim: int = 8, model: str = "m1", seed: int = 0) -> list[NewVector]:
    rng = np.random.default_rng(seed)
    return [NewVector(rng.normal(size=dim).astype(np.float32), model, f"walk-{i}.mp4", 40) for i in range(n)]


def _key_file(folder, mode: int = 0o600, text: str = "a long passphrase\n"):
    path = folder / "key"
    path.write_text(text)
    path.chmod(mode)
    return path


# -- the key file ---------------------------------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(env, capsys, mode):
    key_file = _key_file(env, mode)
    with GalleryStore(env / "g.db", key=b"a long passphrase") as store:
        store.enroll("alice", _vectors(1))
    with pytest.raises(GalleryKeyError, match=f"can be read by others .*chmod 600 {key_file}"):
        key_from_environment(key_file)
    assert main(["gallery", "list", "--key-file", str(key_file)]) == 2
    err = capsys.readouterr().err
    assert "chmod 600" in err and len(err.strip().splitlines()) == 1
    key_file.chmod(0o600)
    assert main(["gallery", "list", "--key-file", str(key_file)]) == 0
    assert "alice" in capsys.readouterr().out


@posix_only
def test_a_key_file_that_is_not_a_regular_file_is_refused(env):
    fifo = env / "fifo"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(GalleryKeyError, match="not a regular file"):
        key_from_environment(fifo)  # opening it for reading would wait for a writer forever
    with pytest.raises(GalleryKeyError, match="not a regular file"):
        key_from_environment(env)


def test_a_key_in_the_environment_that_is_not_utf8_is_its_bytes(env, monkeypatch):
    monkeypatch.setenv("GAITID_GALLERY_KEY", "k\udcff")  # the bytes b"k\xff" as Python sees them
    assert key_from_environment() == b"k\xff"


# -- names ----------------------------------------------------------------------------------------------------

BAD_NAMES = [
    ("\udcff", "not valid UTF-8"),  # the byte 0xff on the command line, or "\udcff" in a JSON file
    ("ali\udcffce", "not valid UTF-8"),
    ("a\x1b[31mb", "control characters"),
    ("two\nlines", "control characters"),
    ("a\u2028b", "control characters"),
    ("evil\u202egnp.exe", "control characters"),  # a right-to-left override that disguises the name
    ("tab\there", "control characters"),
]


@pytest.mark.parametrize("name, message", BAD_NAMES)
def test_names_that_are_not_printable_text_are_refused(tmp_path, name, message):
    with GalleryStore(tmp_path / "g.db") as store:
        store.enroll("alice", _vectors(1))
        with pytest.raises(GalleryError, match=message):
            store.enroll(name, _vectors(1))
        with pytest.raises(GalleryError, match=message):
            store.rename("alice", name)
        assert [p.name for p in store.people()] == ["alice"]


@pytest.mark.parametrize("verb", ["show", "remove"])
def test_looking_up_a_name_that_is_not_utf8_is_a_clear_error(env, capsys, verb):
    with GalleryStore(env / "g.db") as store:
        store.enroll("alice", _vectors(1))
    assert main(["gallery", verb, "\udcff"]) == 2
    assert "not valid UTF-8" in capsys.readouterr().err


def test_enroll_checks_the_name_before_reading_the_video(env, capsys, monkeypatch):
    from gaitid.commands import identify as app

    def never(*args, **kwargs):
        raise AssertionError("the video was processed before the name was checked")

    monkeypatch.setattr(app, "encoder_for", never)
    monkeypatch.setattr(app, "analyse", never)
    for bad, message in [("\udcff", "not valid UTF-8"), ("a\x07b", "control characters"), (" ", "non-empty")]:
        assert main(["enroll", bad, str(env / "walk.mp4")]) == 2
        assert message in capsys.readouterr().err
    assert not (env / "g.db").exists()


def test_import_of_a_name_that_is_not_utf8_is_refused(env, capsys):
    bad = env / "bad.json"
    vector = "AACAPwAAgD8="  # two float32 ones, base64
    bad.write_text(
        '{"format": "gaitid-gallery-export", "version": 1, "people": [{"name": "\\udcff", '
        f'"vectors": [{{"model": "m", "dim": 2, "vector": "{vector}"}}]}}]}}'
    )
    assert main(["gallery", "import", str(bad)]) == 2
    assert "not valid UTF-8" in capsys.readouterr().err


def test_a_source_that_is_not_utf8_is_kept_readable(tmp_path):
    with GalleryStore(tmp_path / "g.db") as store:
        store.enroll("alice", [NewVector(np.ones(4), "m1", "walk\udcff.mp4")])  # a file name of undecodable bytes
        assert store.person("alice").vectors[0].source == "walk\\udcff.mp4"


@pytest.mark.parametrize(
    "metadata, message",
    [(["a", "list"], "must be a JSON object"), ({"note": "\udcff"}, "not valid UTF-8"), ({"x": object()}, "JSON")],
)
def test_metadata_that_is_not_a_json_object_of_text_is_refused(tmp_path, metadata, message):
    with GalleryStore(tmp_path / "g.db") as store:
        with pytest.raises(GalleryError, match=message):
            store.enroll("alice", _vectors(1), metadata)
        assert store.people() == []


# -- export: the file written ---------------------------------------------------------------------------------


def _enrolled(env, key: bytes | None = None):
    with GalleryStore(env / "g.db", key=key) as store:
        store.enroll("alice", _vectors(2), {"team": 1})
        store.enroll("bob", _vectors(1, seed=1))


@posix_only
def test_export_does_not_follow_a_link_planted_at_a_predictable_name(env, capsys):
    _enrolled(env)
    victim = env / "victim.txt"
    victim.write_text("precious")
    target = env / "backup.json"
    (env / "backup.json.partial").symlink_to(victim)
    assert main(["gallery", "export", str(target)]) == 0
    assert victim.read_text() == "precious"
    assert (env / "backup.json.partial").is_symlink()  # another's file: left alone
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert b"alice" in target.read_bytes()


@posix_only
def test_export_is_private_even_beside_a_readable_leftover(env):
    _enrolled(env)
    leftover = env / "backup.json.partial"
    leftover.write_text("")
    leftover.chmod(0o644)
    assert main(["gallery", "export", str(env / "backup.json")]) == 0
    assert stat.S_IMODE((env / "backup.json").stat().st_mode) == 0o600
    assert sorted(p.name for p in env.iterdir() if p.name.startswith(".")) == []  # no temporary file left


@posix_only
def test_export_never_replaces_a_file_not_even_through_a_dangling_link(env, capsys):
    _enrolled(env)
    target = env / "backup.json"
    target.symlink_to(env / "elsewhere.json")
    assert main(["gallery", "export", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.is_symlink() and not (env / "elsewhere.json").exists()


def test_a_file_appearing_during_a_no_replace_write_is_kept(tmp_path):
    from gaitid.outputs import atomic_path

    final = tmp_path / "out.json"
    with pytest.raises(FileExistsError):
        with atomic_path(final, replace=False) as tmp:
            tmp.write_text("mine")
            final.write_text("theirs")  # another process, between the check and the rename
    assert final.read_text() == "theirs"
    assert list(tmp_path.iterdir()) == [final]


# -- import: crafted and damaged exports ----------------------------------------------------------------------

ONES = "AACAPwAAgD8="  # base64 of two float32 ones


def _export(people) -> bytes:
    import json

    return json.dumps({"format": "gaitid-gallery-export", "version": 1, "people": people}).encode()


def _vector(**changes) -> dict:
    return {"model": "m", "dim": 2, "vector": ONES, "source": None, "num_frames": 3, **changes}


def _import_fails(env, capsys, content: bytes, message: str, *extra: str) -> None:
    bad = env / "bad.json"
    bad.write_bytes(content)
    before = (env / "g.db").read_bytes() if (env / "g.db").exists() else None
    assert main(["gallery", "import", str(bad), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    after = (env / "g.db").read_bytes() if (env / "g.db").exists() else None
    assert after == before


@pytest.mark.parametrize(
    "people, message",
    [
        ({"alice": []}, "'people' is not a list"),
        (["alice"], "people[0] is not an object"),
        ([{"name": 7, "vectors": [_vector()]}], "people[0].name is not a text"),
        ([{"name": "a", "vectors": {}}], "people[0].vectors is not a non-empty list"),
        ([{"name": "a", "vectors": [_vector(model=["m"])]}], "people[0].vectors[0].model is not a model name"),
        ([{"name": "a", "vectors": [_vector(model="m\x1b[2J")]}], "control characters"),
        ([{"name": "a", "vectors": [_vector(dim=1e400)]}], "people[0].vectors[0].dim is not a dimension"),
        ([{"name": "a", "vectors": [_vector(dim="2")]}], "people[0].vectors[0].dim is not a dimension"),
        ([{"name": "a", "vectors": [_vector(dim=3)]}], "does not hold 3 numbers"),
        ([{"name": "a", "vectors": [_vector(vector="%%%")]}], "people[0].vectors[0].vector is not base64"),
        ([{"name": "a", "vectors": [_vector(vector=5)]}], "people[0].vectors[0].vector is not base64"),
        ([{"name": "a", "vectors": [_vector(vector="AADAfwAAgD8=")]}], "NaN or infinite"),
        ([{"name": "a", "vectors": [_vector(num_frames=10**30)]}], "num_frames is not a frame count"),
        ([{"name": "a", "vectors": [_vector(source={"x": 1})]}], "source is not a text"),
        ([{"name": "a", "metadata": [1], "vectors": [_vector()]}], "people[0].metadata is not an object"),
        ([{"name": "a", "vectors": [_vector()]}, {"name": "a", "vectors": [_vector()]}], "'a' appears twice"),
    ],
)
def test_a_damaged_export_says_what_is_wrong(env, capsys, people, message):
    _import_fails(env, capsys, _export(people), message)


def test_a_deeply_nested_export_is_not_json_to_us(env, capsys):
    _import_fails(env, capsys, b"[" * 100_000 + b"]" * 100_000, "not a gaitid gallery export")


def test_an_export_of_another_dimension_for_a_model_is_refused(env, capsys):
    with GalleryStore(env / "g.db") as store:
        store.enroll("alice", [NewVector(np.ones(4), "m")])
    _import_fails(env, capsys, _export([{"name": "bob", "vectors": [_vector()]}]), "dimension")


@posix_only
def test_import_of_something_that_is_not_a_file_is_refused(env, capsys):
    os.mkfifo(env / "fifo", 0o600)
    assert main(["gallery", "import", str(env / "fifo")]) == 2  # reading would wait for a writer forever
    assert "not a regular file" in capsys.readouterr().err


def _encrypted_export(env, monkeypatch) -> dict:
    import json

    monkeypatch.setenv("GAITID_GALLERY_KEY", "a long passphrase")
    _enrolled(env, key=b"a long passphrase")
    assert main(["gallery", "export", str(env / "e.json")]) == 0
    return json.loads((env / "e.json").read_text())


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"data": "!!notbase64!!"}, "not base64"),
        ({"data": 5}, "not base64"),
        ({"data": "AAAA"}, "wrong key for the encrypted export"),  # three bytes: shorter than a nonce
        ({"encryption": 12}, "key derivation"),
        ({"encryption": "scrypt:abc"}, "key derivation"),
        ({"encryption": "bcrypt:16384:8:1:" + "00" * 16}, "key derivation"),
        ({"encryption": "scrypt:16384:8:1:zz"}, "key derivation"),
        ({"encryption": "scrypt:16383:8:1:" + "00" * 16}, "key derivation"),  # not a power of two
        ({"encryption": "scrypt:4194304:8:1:" + "00" * 16}, "key derivation"),  # 4 GiB, minutes
        ({"encryption": "scrypt:16384:8:4096:" + "00" * 16}, "key derivation"),  # minutes
        ({"encryption": "scrypt:16384:-8:1:" + "00" * 16}, "key derivation"),
    ],
)
def test_a_crafted_encrypted_export_is_refused_quickly(env, capsys, monkeypatch, changes, message):
    import json
    import time

    document = {**_encrypted_export(env, monkeypatch), **changes}
    capsys.readouterr()
    started = time.monotonic()
    _import_fails(env, capsys, json.dumps(document).encode(), message, "--gallery", str(env / "other.db"))
    assert time.monotonic() - started < 5.0
    assert not (env / "other.db").exists()


def test_a_gallery_with_unsupported_key_derivation_is_refused(tmp_path):
    import sqlite3

    path = tmp_path / "g.db"
    with GalleryStore(path, key=b"k") as store:
        store.enroll("alice", _vectors(1))
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'encryption'", ("scrypt:4194304:8:1:" + "00" * 16,))
    db.commit()
    db.close()
    with pytest.raises(GalleryError, match="key derivation"):
        GalleryStore(path, key=b"k")


# -- the audit log --------------------------------------------------------------------------------------------


def _actions(path, key: bytes | None = None) -> list[tuple[str, dict | None]]:
    with GalleryStore(path, key=key) as store:
        return [(e["action"], e["detail"]) for e in reversed(store.audit())]


def test_exports_are_audited(env, monkeypatch):
    monkeypatch.setenv("GAITID_GALLERY_KEY", "k")
    _enrolled(env, key=b"k")
    assert main(["gallery", "export", str(env / "e.json")]) == 0
    assert main(["gallery", "export", str(env / "p.json"), "--plain"]) == 0
    exports = [detail for action, detail in _actions(env / "g.db", b"k") if action == "export"]
    assert exports == [
        {"people": 2, "vectors": 3, "encrypted": True},
        {"people": 2, "vectors": 3, "encrypted": False},
    ]


def _failing_log(action: str):
    original = GalleryStore._log

    def log(self, what, *args):
        if what == action:
            raise OSError(28, "No space left on device")
        return original(self, what, *args)

    return log


def test_an_export_that_cannot_be_audited_is_not_written(env, monkeypatch):
    from gaitid.gallery.transfer import export_gallery

    _enrolled(env)
    monkeypatch.setattr(GalleryStore, "_log", _failing_log("export"))
    with GalleryStore(env / "g.db") as store, pytest.raises(OSError):
        export_gallery(store, env / "e.json")
    assert not (env / "e.json").exists()


def test_an_import_and_its_audit_entry_are_one_transaction(env, monkeypatch):
    from gaitid.gallery.transfer import export_gallery, import_gallery

    _enrolled(env)
    with GalleryStore(env / "g.db") as store:
        export_gallery(store, env / "e.json")
    with GalleryStore(env / "other.db") as store:
        store.enroll("carol", _vectors(1))
    monkeypatch.setattr(GalleryStore, "_log", _failing_log("import"))
    with GalleryStore(env / "other.db") as store, pytest.raises(OSError):
        import_gallery(store, env / "e.json")
    with GalleryStore(env / "other.db") as store:
        assert [p.name for p in store.people()] == ["carol"]  # the rows went with the audit entry


# -- import --add ---------------------------------------------------------------------------------------------


def test_import_add_of_the_same_export_skips_the_vectors_already_there(env, capsys):
    _enrolled(env)
    assert main(["gallery", "export", str(env / "e.json")]) == 0
    other = ["--gallery", str(env / "other.db")]
    assert main(["gallery", "import", str(env / "e.json"), *other]) == 0
    capsys.readouterr()
    assert main(["gallery", "import", str(env / "e.json"), "--add", *other]) == 0
    out = capsys.readouterr().out
    assert "(0 vectors)" in out and "; skipped 3 vectors already enrolled" in out
    with GalleryStore(env / "g.db") as store:
        store.enroll("alice", [NewVector(np.full(8, 0.5), "m1")], add=True)
        store.enroll("dave", _vectors(1, seed=3))
    assert main(["gallery", "export", str(env / "e2.json")]) == 0
    assert main(["gallery", "import", str(env / "e2.json"), "--add", *other]) == 0
    assert "imported 3 people (2 vectors)" in capsys.readouterr().out.splitlines()[-1]
    with GalleryStore(env / "other.db") as store:
        assert {p.name: p.num_vectors for p in store.people()} == {"alice": 3, "bob": 1, "dave": 1}
        assert store.audit(1)[0]["detail"] == {"people": 3, "vectors": 2, "skipped": 3}


# -- no empty gallery file left behind ------------------------------------------------------------------------


def test_opening_a_missing_gallery_writes_nothing(tmp_path):
    path = tmp_path / "sub" / "g.db"
    with GalleryStore(path) as store:
        assert store.people() == [] and store.model_counts() == {} and store.counters() == (0, 0)
    assert not (tmp_path / "sub").exists()


@pytest.mark.parametrize("key", [None, b"k"])
def test_a_failed_first_enrolment_leaves_no_file(tmp_path, key):
    path = tmp_path / "g.db"
    with GalleryStore(path, key=key) as store:
        with pytest.raises(GalleryError, match="NaN"):
            store.enroll("alice", [NewVector(np.array([1.0, np.nan]), "m1")])
        assert os.listdir(tmp_path) == []
        store.enroll("alice", _vectors(1))  # the same store can still create it
        assert store.person("alice").num_vectors == 1
    with GalleryStore(path, key=key) as store:
        assert [p.name for p in store.people()] == ["alice"]
        assert [e["action"] for e in store.audit()] == ["enrol", "create"]


def test_a_failed_import_into_a_new_gallery_leaves_no_file(env, capsys):
    import base64

    three = base64.b64encode(np.ones(3, "<f4").tobytes()).decode()
    people = [
        {"name": "alice", "vectors": [_vector()]},
        {"name": "bob", "vectors": [_vector(dim=3, vector=three)]},  # the same model, another dimension
    ]
    _import_fails(env, capsys, _export(people), "dimension")
    assert sorted(os.listdir(env)) == ["bad.json"]


def test_a_store_opened_before_the_gallery_existed_sees_it(tmp_path):
    path = tmp_path / "g.db"
    with GalleryStore(path) as early:
        assert early.people() == []
        with GalleryStore(path) as other:
            other.enroll("bob", _vectors(1))
        assert [p.name for p in early.people()] == ["bob"]
        early.enroll("carol", _vectors(1, seed=2))
    with GalleryStore(path) as store:
        assert [p.name for p in store.people()] == ["bob", "carol"]


def test_a_writer_waiting_on_a_failed_creation_starts_again_on_a_new_file(tmp_path):
    import threading

    path = tmp_path / "g.db"
    started, release = threading.Event(), threading.Event()
    errors = []

    class FailingFirst(GalleryStore):
        def _enroll_locked(self, *args, **kwargs):
            started.set()
            release.wait(10)
            raise GalleryError("failed on purpose")

    def first():
        with FailingFirst(path) as store:
            try:
                store.enroll("alice", _vectors(1))
            except GalleryError as error:
                errors.append(error)

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(10)
    waiting = GalleryStore(path, busy_timeout_s=10)  # opens the file being created, then waits for its lock
    timer = threading.Timer(0.5, release.set)
    timer.start()
    waiting.enroll("bob", _vectors(1))
    thread.join(10)
    waiting.close()
    assert [str(e) for e in errors] == ["failed on purpose"]
    with GalleryStore(path) as store:
        assert [p.name for p in store.people()] == ["bob"]


def test_a_gallery_that_cannot_be_created_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    with GalleryStore(tmp_path / "a-file" / "g.db") as store:
        with pytest.raises(GalleryError, match="cannot create the gallery"):
            store.enroll("alice", _vectors(1))


# -- encrypted fields are bound to their rows -----------------------------------------------------------------


def _swap(path, table: str, column: str, a: int, b: int) -> None:
    """What someone with write access to the file can do without the key: exchange two rows' values."""
    import sqlite3

    db = sqlite3.connect(path)
    first, second = (db.execute(f"SELECT {column} FROM {table} WHERE id = ?", (i,)).fetchone()[0] for i in (a, b))
    if column == "name_key":  # unique: through a third value
        db.execute(f"UPDATE {table} SET {column} = 'x' WHERE id = ?", (a,))
    db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (first, b))
    db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (second, a))
    db.commit()
    db.close()


def _set(path, sql: str) -> None:
    import sqlite3

    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()


def _encrypted_people(path) -> dict[str, int]:
    with GalleryStore(path, key=b"k") as store:
        store.enroll("alice", _vectors(2), {"badge": 1})
        store.enroll("bob", _vectors(2, seed=1), {"badge": 2})
        store.add_cohort("w1", _vectors(1, seed=2))
        store.add_cohort("w2", _vectors(1, seed=3))
        store.log_identification("alice", 0.9, "m1")
        store.log_identification("bob", 0.8, "m1")
        return {p.name: p.id for p in store.people()}


TAMPERING = {
    "a vector's data swapped with another person's": (
        lambda path, ids: _swap(path, "vectors", "data", 1, 3),
        lambda store: store.person("alice"),
    ),
    "a vector moved to another person": (
        lambda path, ids: _set(path, f"UPDATE vectors SET person_id = {ids['bob']} WHERE id = 1"),
        lambda store: store.load_vectors("m1"),
    ),
    "a vector given to another model": (
        lambda path, ids: _set(path, "UPDATE vectors SET model = 'm2' WHERE id = 1"),
        lambda store: store.load_vectors("m2"),
    ),
    "sources swapped": (lambda path, ids: _swap(path, "vectors", "source", 1, 3), lambda store: store.person("bob")),
    "names swapped": (lambda path, ids: _swap(path, "people", "name", 1, 2), lambda store: store.people()),
    "look-up keys swapped": (
        lambda path, ids: _swap(path, "people", "name_key", 1, 2),
        lambda store: store.person("alice"),
    ),
    "metadata swapped": (lambda path, ids: _swap(path, "people", "metadata", 1, 2), lambda store: store.people()),
    "audit names swapped": (lambda path, ids: _swap(path, "audit", "subject", 6, 7), lambda store: store.audit()),
    "site-cohort vectors swapped": (
        lambda path, ids: _swap(path, "cohort", "data", 1, 2),
        lambda store: store.load_cohort("m1"),
    ),
}


@pytest.mark.parametrize("what", list(TAMPERING))
def test_moving_encrypted_values_between_rows_is_detected(tmp_path, what):
    path = tmp_path / "g.db"
    ids = _encrypted_people(path)
    tamper, use = TAMPERING[what]
    tamper(path, ids)
    with GalleryStore(path, key=b"k") as store:
        with pytest.raises(GalleryError, match="was altered"):
            use(store)


def test_an_encrypted_gallery_of_schema_2_is_read_then_bound_to_its_rows(tmp_path):
    import shutil
    import sqlite3
    from pathlib import Path

    from gaitid.gallery.store import SCHEMA_VERSION

    path = tmp_path / "g.db"
    shutil.copy(Path(__file__).parent.parent / "fixtures" / "gallery-v2-encrypted.db", path)
    rng = np.random.default_rng(2016)
    alice = [rng.normal(size=8).astype(np.float32) for _ in range(2)]
    bob, walker = rng.normal(size=8), rng.normal(size=8)
    with GalleryStore(path, key=b"fixture key") as store:
        person = store.person("alice")
        np.testing.assert_array_equal([v.vector for v in person.vectors], alice)
        assert [v.source for v in person.vectors] == ["alice-0.mp4", "alice-1.mp4"]
        assert person.metadata == {"badge": 1}
        np.testing.assert_array_equal(store.person("bob").vectors[0].vector, bob.astype(np.float32))
        np.testing.assert_array_equal(store.load_cohort("m1")[1][0], walker.astype(np.float32))
        audit = store.audit()
        assert (audit[0]["action"], audit[0]["detail"]) == ("migrate", {"from": 2, "to": SCHEMA_VERSION})
        assert [e["name"] for e in audit if e["action"] == "identify"] == ["alice"]
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    db.close()
    _swap(path, "vectors", "data", 1, 3)
    with GalleryStore(path, key=b"fixture key") as store, pytest.raises(GalleryError, match="was altered"):
        store.person("alice")
