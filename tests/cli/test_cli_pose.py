"""`gaitid pose` end to end, as a user runs it (a subprocess), on real media and on bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gaitid.sources.files import VideoFile, VideoWriter, write_image


def gaitid(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gaitid", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def short_clip(media_dir, tmp_path_factory) -> Path:
    """The first 12 frames of vtest.avi as an H.264 MP4."""
    path = tmp_path_factory.mktemp("clip") / "walkers.mp4"
    with VideoFile(media_dir / "vtest.avi") as video, VideoWriter(path, video.fps, video.width, video.height) as out:
        for frame in video:
            out.write(frame.image)
            if frame.index == 11:
                break
    return path


def test_image_json_and_annotated_copy(media_dir, tmp_path):
    annotated, poses = tmp_path / "zidane.png", tmp_path / "zidane.json"
    result = gaitid("pose", str(media_dir / "zidane.jpg"), "--out", str(annotated), "--json", str(poses), "--model", "full")
    assert result.returncode == 0, result.stderr
    assert "2 people found" in result.stderr
    document = json.loads(poses.read_text())
    (frame,) = document["frames"]
    assert frame["index"] == 0 and frame["time"] == 0.0 and len(frame["people"]) == 2
    for person in frame["people"]:
        x1, y1, x2, y2 = person["box"]
        assert 0 <= x1 < x2 <= 1280 and 0 <= y1 < y2 <= 720 and 0 < person["score"] <= 1
        assert len(person["keypoints"]) == 33 and all(len(row) == 3 for row in person["keypoints"])
    assert annotated.stat().st_size > 10_000


def test_video_json_to_stdout_and_annotated_mp4(short_clip, tmp_path):
    annotated = tmp_path / "out.mp4"
    result = gaitid("pose", str(short_clip), "--json", "-", "--out", str(annotated), "--model", "lite")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    frames = document["frames"]
    assert [f["index"] for f in frames] == list(range(12))
    assert frames[1]["time"] == pytest.approx(0.1, abs=0.01)
    assert all(len(f["people"]) >= 2 for f in frames)  # vtest opens with several walkers in view
    assert "12 frames" in result.stderr.splitlines()[-1]
    with VideoFile(annotated) as video:
        assert (video.width, video.height) == (768, 576)
        assert sum(1 for _ in video) == 12


def test_an_image_with_nobody(tmp_path):
    empty = tmp_path / "empty.png"
    write_image(empty, np.full((240, 320, 3), 128, np.uint8))
    result = gaitid("pose", str(empty), "--json", "-", "--model", "lite")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["frames"][0]["people"] == []


def _truncated(media_dir: Path, tmp_path: Path) -> Path:
    path = tmp_path / "cut.avi"
    path.write_bytes((media_dir / "vtest.avi").read_bytes()[:400_000])
    return path


@pytest.mark.parametrize(
    "make_input, message",
    [
        (lambda media, tmp: tmp / "missing.mp4", "no such file"),
        (lambda media, tmp: (tmp / "notes.mp4").write_text("not a video") and tmp / "notes.mp4", "not a readable video"),
        (lambda media, tmp: (tmp / "photo.jpg").write_bytes(b"\xff\xd8garbage") and tmp / "photo.jpg", "not a readable image"),
        (lambda media, tmp: (tmp / "empty.avi").write_bytes(b"") or tmp / "empty.avi", "file is empty"),
        (lambda media, tmp: tmp, "is a directory"),
        (_truncated, "truncated"),
    ],
)
def test_bad_input_is_one_line_and_status_2(media_dir, tmp_path, make_input, message):
    result = gaitid("pose", str(make_input(media_dir, tmp_path)), "--json", str(tmp_path / "out.json"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip() and "frame/s" not in line and "%|" not in line]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "out.json").exists()  # nothing half-written


def test_wrong_output_suffix(media_dir, tmp_path):
    result = gaitid("pose", str(media_dir / "bus.jpg"), "--out", str(tmp_path / "bus.mp4"))
    assert result.returncode == 2 and "must end in" in result.stderr
