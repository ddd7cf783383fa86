"""The gallery under hostile input (issue #16): no crash, no traceback, no file read or written that should not be.

Every error is a GalleryError (one line, exit status 2 from the CLI); nothing is lost or half-written.
"""

from __future__ import annotations

import os
import stat
import sys

import numpy as np
import pytest

from gaitid.cli import main
from gaitid.gallery.crypto import key_from_environment
from gaitid.gallery.errors import GalleryError, GalleryKeyError
from gaitid.gallery.store import GalleryStore, NewVector

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes and links")


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("GAITID_GALLERY", str(tmp_path / "g.db"))
    monkeypatch.delenv("GAITID_GALLERY_KEY", raising=False)
    monkeypatch.delenv("GAITID_GALLERY_KEY_FILE", raising=False)
    return tmp_path


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
    from gaitid.identify import app

    def never(*args, **kwargs):
        raise AssertionError("the video was processed before the name was checked")

    monkeypatch.setattr(app, "_encoder", never)
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
