"""`gaitid gallery list | show | remove | export | import | audit`: messages and exit statuses."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gallery_helpers import MODEL, People, env, name  # noqa: F401 (env: a fixture)

from gaitid.cli import main
from gaitid.gallery import Gallery


def _enrol(n: int = 3, **options) -> None:
    people = People(n=n, dim=16)
    with Gallery.open(**options) as gallery:
        for p in range(n):
            gallery.enroll(name(p), people.embeddings(p, 2), source=f"walk-{p}.mp4", metadata={"team": p})


def test_list_empty_and_missing(env, capsys):
    assert main(["gallery", "list"]) == 0
    assert "is empty (not created yet)" in capsys.readouterr().out
    Gallery.open().close()  # opening writes nothing: still not created
    assert main(["gallery", "list"]) == 0
    assert "is empty (not created yet)" in capsys.readouterr().out
    _enrol(1)
    assert main(["gallery", "remove", name(0)]) == 0
    capsys.readouterr()
    assert main(["gallery", "list"]) == 0
    assert "is empty: enrol people" in capsys.readouterr().out


def test_list_show_remove(env, capsys):
    _enrol()
    assert main(["gallery", "list"]) == 0
    out = capsys.readouterr().out
    assert "person-000" in out and "2 vectors" in out and "3 people in" in out
    assert main(["gallery", "show", "person-001"]) == 0
    out = capsys.readouterr().out
    assert '{"team": 1}' in out and "walk-1.mp4" in out and "16-d" in out
    assert main(["gallery", "remove", "person-001"]) == 0
    assert "removed person-001: 2 vectors erased" in capsys.readouterr().out
    for verb in ("show", "remove"):
        assert main(["gallery", verb, "person-001"]) == 2
        assert "nobody called 'person-001' is enrolled" in capsys.readouterr().err
    assert main(["gallery", "audit"]) == 0
    assert [line.split()[2] for line in capsys.readouterr().out.splitlines()] == ["create"] + [
        "enrol"
    ] * 3 + ["remove"]


def test_export_import_round_trip(env, capsys):
    _enrol()
    target = env / "backup.json"
    assert main(["gallery", "export", str(target)]) == 0
    assert "NOT encrypted" in capsys.readouterr().out
    assert json.loads(target.read_text())["format"] == "gaitid-gallery-export"
    assert (target.stat().st_mode & 0o077) == 0
    assert main(["gallery", "export", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["gallery", "import", str(target)]) == 2  # everyone is already there: nothing imported
    assert "already enrolled" in capsys.readouterr().err
    other = env / "other.db"
    assert main(["gallery", "import", str(target), "--gallery", str(other)]) == 0
    assert "imported 3 people (6 vectors)" in capsys.readouterr().out
    with Gallery.open(env / "g.db") as a, Gallery.open(other) as b:
        for p in range(3):
            va = [v.vector for v in a.person(name(p)).vectors]
            vb = [v.vector for v in b.person(name(p)).vectors]
            np.testing.assert_array_equal(va, vb)
            assert b.person(name(p)).metadata == {"team": p}
    assert main(["gallery", "import", str(target), "--gallery", str(other), "--add"]) == 0
    assert "skipped 6 vectors already enrolled" in capsys.readouterr().out
    with Gallery.open(other) as b:
        assert b.person(name(0)).num_vectors == 2  # the same vectors again: nothing doubled


def test_encrypted_export(env, capsys, monkeypatch):
    key_file = env / "key"
    key_file.write_text("a long passphrase\n")
    key_file.chmod(0o600)
    _enrol(key_file=key_file)
    target = env / "backup.json"
    assert main(["gallery", "export", str(target), "--key-file", str(key_file)]) == 0
    assert "encrypted with the gallery's key" in capsys.readouterr().out
    assert b"person-000" not in target.read_bytes()
    other = env / "other.db"
    assert main(["gallery", "import", str(target), "--gallery", str(other)]) == 2
    assert "is encrypted" in capsys.readouterr().err
    assert main(["gallery", "import", str(target), "--gallery", str(other), "--key-file", str(key_file)]) == 0
    plain = env / "plain.json"
    assert main(["gallery", "export", str(plain), "--plain", "--key-file", str(key_file)]) == 0
    assert b"person-000" in plain.read_bytes()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not json", "not a gaitid gallery export"),
        (b'{"format": "other"}', "not a gaitid gallery export"),
        (b'{"format": "gaitid-gallery-export", "version": 1, "people": [{"name": "x"}]}', "damaged"),
    ],
)
def test_import_of_a_bad_file(env, capsys, content, message):
    bad = env / "bad.json"
    bad.write_bytes(content)
    assert main(["gallery", "import", str(bad)]) == 2
    assert message in capsys.readouterr().err


def test_identify_says_what_a_small_site_cohort_promises(env, capsys):
    """Below ten site walkers, the FPIR target cannot be resolved on the site's own strangers: the command
    says how far it holds, and stops saying so once the site's walkers replace the laboratory ones."""
    from gaitid.commands.identify import _check_ready
    from gaitid.gallery.cohort import Cohort

    people = People(n=60, dim=16, seed=4)
    lab = Cohort.from_vectors(np.concatenate([people.vectors(p, 3) for p in range(20, 60)]),
                              np.repeat([f"lab{p}" for p in range(20, 60)], 3), MODEL)
    with Gallery.open(cohort=lab) as gallery:
        gallery.enroll(name(0), people.embeddings(0, 2))
        for w in range(1, 4):
            gallery.add_cohort(f"street-{w}", people.embeddings(w, 2))
        _check_ready(gallery, MODEL)
        err = capsys.readouterr().err
        assert "the site's cohort has 3 walkers" in err and "about 1 stranger in 4" in err
        for w in range(4, 11):
            gallery.add_cohort(f"street-{w}", people.embeddings(w, 2))
        _check_ready(gallery, MODEL)
        assert "site's cohort has" not in capsys.readouterr().err
