"""Stopping a run on request: a flag that loops over frames check, so that Ctrl-C and SIGTERM never land as
an exception inside a lock's or a thread's wait (gaitid.stopping)."""

from __future__ import annotations

import threading
import time

import numpy as np
from streams import MjpegCamera, mjpeg_camera  # noqa: F401 (fixture)

from gaitid import stopping
from gaitid.pipeline import run_stream
from gaitid.types import Frame, FramePeople


class _Frames:
    """Frames of a file-like source; a stop is requested while frame `stop_at` is processed."""

    is_live = False

    def __init__(self, count: int) -> None:
        self.frame_count = count

    def __iter__(self):  # type: ignore[no-untyped-def]
        for index in range(self.frame_count):
            yield Frame(image=np.zeros((8, 8, 3), np.uint8), index=index, time=index / 10)


class _Nobody:
    def __init__(self, stop_at: int | None) -> None:
        self.stop_at, self.seen = stop_at, 0

    def reset(self) -> None:
        self.seen = 0

    def estimate(self, frame: Frame) -> FramePeople:
        self.seen += 1
        if frame.index == self.stop_at:
            assert stopping.request()  # a loop checks the flag: no exception is needed
        return FramePeople(frame.index, frame.time, (), (frame.height, frame.width))


def test_without_a_loop_that_checks_the_caller_must_interrupt() -> None:
    assert stopping.request() is False and stopping.requested() is False


def test_a_request_ends_the_run_at_that_frame_and_is_forgotten_after() -> None:
    seen: list[int] = []
    run = run_stream(_Frames(50), _Nobody(stop_at=7), lambda frame, people: seen.append(frame.index), progress=False)
    assert run.interrupted and run.error is None and run.frames == 8 and seen == list(range(8))
    assert not stopping.requested()  # the next run starts afresh
    again = run_stream(_Frames(20), _Nobody(stop_at=None), lambda frame, people: None, progress=False)
    assert not again.interrupted and again.frames == 20


def test_a_live_source_waiting_for_a_frame_ends_on_a_request(mjpeg_camera: MjpegCamera) -> None:
    from gaitid.sources import LiveOptions, open_source

    source = open_source(mjpeg_camera.url, LiveOptions(open_timeout=5.0, give_up_after=60.0))
    try:
        frames = iter(source)
        next(frames)
        mjpeg_camera.kill()  # the camera goes dark: the source waits, reconnecting, for up to a minute
        with stopping.checked():
            threading.Timer(0.5, stopping.request).start()
            started = time.monotonic()
            for _ in frames:  # frames it had already received, then only the request ends the wait
                pass
            assert time.monotonic() - started < 5
    finally:
        source.close()

