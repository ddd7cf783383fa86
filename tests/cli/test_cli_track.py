"""`gaitid track`: bad inputs from the real command line, and whole runs with a stand-in pose estimator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from streams import ROOT, MjpegCamera, free_port, walking_camera  # noqa: F401 (fixture)

from gaitid import pipeline
from gaitid.commands import identify as track_app
from gaitid.cli import main
from gaitid.sources import LiveOptions, VideoFile, VideoWriter
from gaitid.types import Frame, FramePeople, Person


class BrightBlobs:
    """A stand-in for HumanPoseNN: every bright blob is a person (so that runs need no model)."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.calls = 0

    def reset(self) -> None:
        self.calls = 0

    def estimate(self, frame: Frame) -> FramePeople:
        self.calls += 1
        if self.stop_after is not None and self.calls > self.stop_after:
            raise KeyboardInterrupt  # as if Ctrl-C arrived while a frame was being processed
        grey = frame.image.max(axis=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats((grey > 128).astype(np.uint8))
        people = tuple(
            Person(box=np.array([x, y, x + w, y + h], np.float32), score=0.9, keypoints=np.zeros((33, 3), np.float32))
            for x, y, w, h, area in stats[1:]
            if area > 50
        )
        return FramePeople(frame.index, frame.time, people, (frame.height, frame.width))


def _walkers_video(path: Path, frames: int = 30) -> None:
    with VideoWriter(path, 10, 160, 120) as writer:
        for i in range(frames):
            image = np.zeros((120, 160, 3), np.uint8)
            image[20:60, 10 + 3 * i : 22 + 3 * i] = 255  # walks right
            image[66:106, 140 - 3 * i : 152 - 3 * i] = 255  # walks left, below the first
            writer.write(image)


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run(
        [sys.executable, "-m", "gaitid", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda tmp: str(tmp / "missing.mp4"), "no such file"),
        (lambda tmp: _corrupt(tmp / "corrupt.mp4"), "not a readable video"),
        (lambda tmp: "57", "camera 57: no such camera"),
        (lambda tmp: f"http://127.0.0.1:{free_port()}/video.mjpg", "cannot open stream"),
        (lambda tmp: f"rtsp://127.0.0.1:{free_port()}/live", "cannot open stream"),
    ],
    ids=["missing-file", "corrupt-file", "no-camera", "unreachable-http", "unreachable-rtsp"],
)
def test_bad_input_is_one_line_and_exit_2_in_bounded_time(tmp_path: Path, make_input, message: str) -> None:
    start = time.monotonic()
    result = _cli("track", make_input(tmp_path), "--open-timeout", "2")
    assert time.monotonic() - start < 20
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gaitid: error:") and message in lines[0], result.stderr


def _corrupt(path: Path) -> str:
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    return str(path)


@pytest.mark.parametrize(
    "extra",
    [
        ["--out", "annotated.avi"],
        ["--detect-every", "0"],
        ["--threads", "0"],
        ["--open-timeout", "0"],
        ["--give-up-after", "-1"],
    ],
)
def test_bad_options_are_refused(tmp_path: Path, extra: list[str], capsys) -> None:
    assert main(["track", str(tmp_path / "x.mp4"), *extra]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_track_a_file_writes_json_and_an_annotated_video(tmp_path: Path, monkeypatch, capsys) -> None:
    video = tmp_path / "walkers.mp4"
    _walkers_video(video)
    monkeypatch.setattr(track_app, "default_estimator", lambda model="full", detect_interval=4, threads=None: BrightBlobs())
    out, js = tmp_path / "annotated.mp4", tmp_path / "tracks.json"
    assert main(["track", str(video), "--out", str(out), "--json", str(js), "--no-progress"]) == 0
    data = json.loads(js.read_text())
    assert [t["id"] for t in data["tracks"]] == [1, 2]
    for track in data["tracks"]:
        assert track["frames"] == list(range(30))
        assert len(track["boxes"]) == 30 and len(track["boxes"][0]) == 4
    first = np.array(data["tracks"][0]["boxes"])
    assert first[-1, 0] > first[0, 0]  # track 1 kept walking right: no identity swap at the crossing
    with VideoFile(out) as annotated:
        assert annotated.frame_count == 30 and (annotated.width, annotated.height) == (160, 120)
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert "30 frames" in summary and "2 tracks" in summary


def test_json_to_stdout(tmp_path: Path, monkeypatch, capsys) -> None:
    video = tmp_path / "walkers.mp4"
    _walkers_video(video, frames=5)
    monkeypatch.setattr(track_app, "default_estimator", lambda model="full", detect_interval=4, threads=None: BrightBlobs())
    assert main(["track", str(video), "--json", "-", "--no-progress"]) == 0
    assert len(json.loads(capsys.readouterr().out)["tracks"]) == 2


class StopsAfter:
    """The real HumanPoseNN (lite), with Ctrl-C, or `then()`, arriving after `count` frames."""

    def __init__(self, count: int, then: Callable[[], None] | None = None) -> None:
        self.estimator = pipeline.default_estimator("lite", 4, None)
        self.count, self.then, self.calls = count, then, 0
        self.seen: list[int] = []  # the indices of the frames it estimated (a live source may skip some)

    def reset(self) -> None:
        self.estimator.reset()

    def estimate(self, frame: Frame) -> FramePeople:
        self.calls += 1
        if self.calls > self.count:
            if self.then is None:
                raise KeyboardInterrupt  # as if Ctrl-C arrived while a frame was being processed
            self.then()
        self.seen.append(frame.index)
        return self.estimator.estimate(frame)


def _assert_keeps_the_walkers_seen(js: Path, frames_seen: int) -> None:
    """The woman walks through every frame of the sample clip: what was tracked of her before the run was
    stopped must be in the JSON (an empty or truncated track list fails)."""
    tracks = json.loads(js.read_text())["tracks"]
    assert tracks, "no track was kept"
    covered = {f for track in tracks for f in track["frames"]}
    assert 0.7 * frames_seen <= len(covered) <= frames_seen, (len(covered), frames_seen)


def test_a_live_source_interrupted_by_ctrl_c_writes_what_it_has(walking_camera: MjpegCamera, tmp_path: Path) -> None:
    js, out = tmp_path / "live.json", tmp_path / "live.mp4"
    options = LiveOptions(open_timeout=5.0, give_up_after=5.0)
    status = track_app.run_track(
        walking_camera.url, out=str(out), json_path=str(js), live_options=options, estimator=StopsAfter(20),
        progress=False,
    )
    assert status == 0
    with VideoFile(out) as annotated:
        assert annotated.frame_count == 20
    _assert_keeps_the_walkers_seen(js, 20)


def _signals_as_from_a_terminal() -> None:
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_a_live_run_cleanly(walking_camera: MjpegCamera, tmp_path: Path, stop: int) -> None:
    """A real Ctrl-C, or the SIGTERM of systemd, `docker stop` and `timeout`, to a `gaitid track` process
    reading a live stream of walkers: exit 0, the annotated video closed and the tracks so far written."""
    js, out = tmp_path / "live.json", tmp_path / "live.mp4"
    # faulthandler: should the run hang after the signal, SIGABRT makes it print every thread's stack
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PYTHONFAULTHANDLER="1")
    command = ["track", walking_camera.url, "--json", str(js), "--out", str(out), "--no-progress", "--model", "lite"]
    # As from a terminal: a suite started in the background (`pytest &` in a script) has SIGINT ignored, and a
    # child inherits that (gaitid, like any program, then keeps ignoring it): that once made this test hang.
    process = subprocess.Popen(
        [sys.executable, "-m", "gaitid", *command], env=env, stderr=subprocess.PIPE, text=True,
        preexec_fn=_signals_as_from_a_terminal,
    )
    try:
        deadline = time.monotonic() + 60  # generous: a loaded machine can take long to start Python
        # The writer opens on the first frame, under a temporary name that becomes `out` at the end.
        while not list(tmp_path.glob(".live.*.mp4")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(tmp_path.glob(".live.*.mp4")), "the live run wrote no frame within 60 s"
        time.sleep(2.0)
        process.send_signal(stop)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            _, stacks = process.communicate(timeout=30)
            pytest.fail(f"the run did not end within 30 s of the signal; its threads:\n{stacks[-6000:]}")
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "(interrupted)" in stderr.strip().splitlines()[-1]
    with VideoFile(out) as annotated:
        written = len(list(annotated))
    assert written >= 1  # how many depends on the machine's load (3 in 2 s on a busy one)
    _assert_keeps_the_walkers_seen(js, written)


def test_a_live_source_that_gives_up_keeps_what_was_tracked(walking_camera: MjpegCamera, tmp_path: Path) -> None:
    """The camera dies for good: the run ends with the source's error, after writing the tracks so far."""
    from gaitid.errors import InputError

    js = tmp_path / "live.json"
    options = LiveOptions(open_timeout=5.0, give_up_after=1.5, backoff_start=0.1, backoff_max=0.3)
    estimator = StopsAfter(20, then=walking_camera.kill)
    start = time.monotonic()
    with pytest.raises(InputError, match="giving up"):
        track_app.run_track(walking_camera.url, json_path=str(js), live_options=options, estimator=estimator, progress=False)
    assert time.monotonic() - start < 30
    # Frames read ahead before the camera died are still processed: count what the estimator saw.
    _assert_keeps_the_walkers_seen(js, len(estimator.seen))
