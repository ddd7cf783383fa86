"""Test helpers for sources and tracking: where the real data lives, and a local MJPEG camera.

Imported by the test modules that need them (kept out of conftest.py so that it stays free for others)."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GAITID_DATA", ROOT.parent / "shared" / "data"))
VTEST = DATA / "media" / "vtest.avi"
SAMPLE = ROOT / "src" / "gaitid" / "samples" / "walk.mp4"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MjpegCamera:
    """tests/mjpeg_server.py run as its own process, so that it can be killed and started again."""

    def __init__(self, port: int, fps: float = 20.0, video: Path | None = None, loops: int = 1) -> None:
        self.port, self.fps, self.video, self.loops = port, fps, video, loops
        self.url = f"http://127.0.0.1:{port}/stream.mjpg"
        self.process: subprocess.Popen[str] | None = None
        self.clients = 0  # readers that have connected, as far as read from the server's output (`readers`)
        self._partial = b""

    def start(self) -> None:
        script = Path(__file__).with_name("mjpeg_server.py")
        deadline = time.monotonic() + 10
        while True:  # the port can take a moment to be free again after a kill
            self.process = subprocess.Popen(
                [sys.executable, str(script), str(self.port), str(self.fps)]
                + ([str(self.video), str(self.loops)] if self.video is not None else []),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            assert self.process.stdout is not None
            if self.process.stdout.readline().strip() == "ready":
                self._partial = b""
                return
            self.process.wait()
            if time.monotonic() > deadline:
                raise RuntimeError("the test MJPEG server did not start")
            time.sleep(0.2)

    def readers(self) -> int:
        """How many readers have connected so far."""
        while self._read(0.0):
            pass
        return self.clients

    def wait_for_reader(self, seen: int, timeout: float) -> bool:
        """Wait until more than `seen` readers have connected (False if none did within `timeout` s)."""
        deadline = time.monotonic() + timeout
        while self.clients <= seen:
            if not self._read(deadline - time.monotonic()):
                return False
        return True

    def _read(self, timeout: float) -> bool:
        """Read what the server printed, waiting up to `timeout` s; False when there was nothing."""
        assert self.process is not None and self.process.stdout is not None
        pipe = self.process.stdout.fileno()
        if not select.select([pipe], [], [], max(timeout, 0.0))[0]:
            return False
        chunk = os.read(pipe, 4096)
        lines = (self._partial + chunk).split(b"\n")  # a line can come in two reads
        self._partial = lines.pop()
        self.clients += lines.count(b"client")
        return bool(chunk)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def mjpeg_camera() -> Iterator[MjpegCamera]:
    camera = MjpegCamera(free_port())
    camera.start()
    try:
        yield camera
    finally:
        camera.kill()


@pytest.fixture
def walking_camera() -> Iterator[MjpegCamera]:
    """A camera filming the sample clip (a woman walks through every frame) at its own 30 fps, three times."""
    camera = MjpegCamera(free_port(), fps=30.0, video=SAMPLE, loops=3)
    camera.start()
    try:
        yield camera
    finally:
        camera.kill()
