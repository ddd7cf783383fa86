"""Output files: written atomically, and with the modes a user expects of them."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gaitid.cli import main
from gaitid.outputs import atomic_path, current_umask, write_json
from gaitid.samples import WALK_VIDEO


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_umask_is_read_without_changing_it(umask_022: None) -> None:
    assert current_umask() == 0o022
    assert current_umask() == 0o022


def test_ordinary_outputs_follow_the_umask(tmp_path: Path, umask_022: None) -> None:
    write_json({"a": 1}, tmp_path / "result.json")
    with atomic_path(tmp_path / "video.mp4") as tmp:
        tmp.write_bytes(b"x")
    assert _mode(tmp_path / "result.json") == 0o644 and _mode(tmp_path / "video.mp4") == 0o644
    os.umask(0o077)
    write_json({"a": 2}, tmp_path / "strict.json")
    assert _mode(tmp_path / "strict.json") == 0o600


def test_private_outputs_stay_owner_only(tmp_path: Path, umask_022: None) -> None:
    with atomic_path(tmp_path / "export.json", private=True) as tmp:
        tmp.write_bytes(b"{}")
    assert _mode(tmp_path / "export.json") == 0o600


def test_the_cli_outputs_follow_the_umask_and_a_gallery_export_does_not(tmp_path: Path, umask_022: None) -> None:
    """The annotated image and the JSON of `gaitid pose` follow the umask; a gallery and its export hold
    biometric templates and are owner-only whatever the umask."""
    import cv2
    import numpy as np

    from gaitid.gallery import Gallery
    from gaitid.types import Embedding

    photo, annotated, js = tmp_path / "photo.png", tmp_path / "annotated.png", tmp_path / "poses.json"
    capture = cv2.VideoCapture(str(WALK_VIDEO))
    ok, image = capture.read()
    capture.release()
    assert ok and cv2.imwrite(str(photo), image)
    assert main(["pose", str(photo), "--out", str(annotated), "--json", str(js), "--model", "lite"]) == 0
    assert _mode(js) == 0o644 and _mode(annotated) == 0o644
    gallery = tmp_path / "g.db"
    with Gallery.open(gallery) as g:
        g.enroll("ada", [Embedding(vector=np.ones(8, np.float32), model="m/1", num_frames=30)])
    assert _mode(gallery) == 0o600
    assert main(["gallery", "export", str(tmp_path / "people.json"), "--gallery", str(gallery), "--plain"]) == 0
    assert _mode(tmp_path / "people.json") == 0o600
    assert json.loads((tmp_path / "people.json").read_text())["people"][0]["name"] == "ada"
