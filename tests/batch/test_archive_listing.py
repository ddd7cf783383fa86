"""The archive listing (gaitid.sources.archive): which files are videos, cameras, manifests and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaitid.errors import InputError
from gaitid.sources.archive import list_archive, moment, read_manifest


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_folders_are_searched_for_videos_and_the_camera_is_the_folder(tmp_path: Path) -> None:
    a = _touch(tmp_path / "cam1" / "b.mp4")
    b = _touch(tmp_path / "cam1" / "a.AVI")
    c = _touch(tmp_path / "cam2" / "deep" / "c.mkv")
    _touch(tmp_path / "cam2" / "notes.txt")
    videos = list_archive([str(tmp_path), str(a)])  # a named twice: listed once
    assert [v.path for v in videos] == sorted(str(p.resolve()) for p in (a, b, c))
    assert {Path(v.path).name: v.camera for v in videos} == {"a.AVI": "cam1", "b.mp4": "cam1", "c.mkv": "deep"}
    assert all(v.start_time is None for v in videos)


def test_a_manifest_gives_cameras_and_start_times_relative_to_itself(tmp_path: Path) -> None:
    _touch(tmp_path / "v" / "one.mp4")
    _touch(tmp_path / "v" / "two.mp4")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("video,camera,start_time\nv/one.mp4,gate,2024-05-01T08:00:00+02:00\n")
    videos = {Path(v.path).name: v for v in list_archive([str(tmp_path / "v")], str(manifest))}
    assert videos["one.mp4"].camera == "gate" and videos["one.mp4"].start_time == "2024-05-01T08:00:00+02:00"
    assert videos["two.mp4"].camera == "v" and videos["two.mp4"].start_time is None
    assert moment("2024-05-01T08:00:00+02:00", 61.5) == "2024-05-01T08:01:01.500+02:00"
    assert moment(None, 3.0) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,camera\nx.mp4,a\n", "needs a header with the columns video and camera"),
        ("video,camera\nx.mp4,\n", "line 2: video and camera must not be empty"),
        ("video,camera,start_time\nx.mp4,a,yesterday\n", "line 2: start_time 'yesterday' is not an ISO 8601 time"),
    ],
)
def test_a_bad_manifest_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    with pytest.raises(InputError, match=message):
        read_manifest(str(manifest))


def test_missing_inputs_and_an_archive_without_videos_are_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        list_archive([str(tmp_path / "gone")])
    _touch(tmp_path / "readme.txt")
    with pytest.raises(InputError, match="no video files"):
        list_archive([str(tmp_path)])
    with pytest.raises(InputError, match="no such manifest"):
        list_archive([str(tmp_path)], str(tmp_path / "m.csv"))
    (tmp_path / "bad.csv").write_bytes(b"video,camera\n\xff\xfe,a\n")
    with pytest.raises(InputError, match="not a UTF-8 CSV"):
        read_manifest(str(tmp_path / "bad.csv"))
