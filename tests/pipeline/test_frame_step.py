"""Analysing every n-th frame of a fast source: which frames, how many, and what the run reports."""

from __future__ import annotations

import numpy as np
import pytest

from gaitid.pipeline.stream import EveryNth, StreamRun, analysis_step, run_stream
from gaitid.types import Frame, FramePeople


@pytest.mark.parametrize(
    ("fps", "max_fps", "step"),
    [(30, 15, 2), (29.97, 15, 2), (25, 15, 2), (60, 15, 4), (15, 15, 1), (10, 15, 1), (30, None, 1), (None, 15, 1)],
)
def test_analysis_step(fps: float | None, max_fps: float | None, step: int) -> None:
    assert analysis_step(fps, max_fps) == step


def frames(count: int, fps: float = 30.0) -> list[Frame]:
    return [Frame(np.zeros((8, 8, 3), np.uint8), i, i / fps) for i in range(count)]


def test_every_nth_keeps_the_first_and_counts_what_it_read() -> None:
    subset = EveryNth(frames(7), 3)
    assert [f.index for f in subset] == [0, 3, 6]
    assert subset.read == 7


class Recorder:
    def __init__(self) -> None:
        self.seen: list[int] = []

    def reset(self) -> None:
        self.seen = []

    def estimate(self, frame: Frame) -> FramePeople:
        self.seen.append(frame.index)
        return FramePeople(frame.index, frame.time, (), (frame.height, frame.width))


def test_run_stream_analyses_every_step_th_frame_and_reports_the_frames_read() -> None:
    estimator = Recorder()
    called: list[int] = []
    run = run_stream(frames(9), estimator, lambda frame, people: called.append(frame.index), progress=False, step=2)
    assert estimator.seen == called == [0, 2, 4, 6, 8]
    assert (run.frames, run.frames_read, run.step) == (5, 9, 2)
    assert "9 frames (5 analysed, 1 in 2)" in run.text()


def test_fps_counts_the_frames_read() -> None:
    assert StreamRun(5, 1.0, False, step=2, frames_read=10).fps == 10.0
    assert StreamRun(5, 1.0, False).fps == 5.0


def test_the_annotated_video_holds_the_analysed_frames_at_their_rate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gaitid.pipeline.run import run_source
    from gaitid.samples import WALK_VIDEO
    from gaitid.sources import VideoFile

    out = tmp_path / "annotated.mp4"
    run, _ = run_source(
        str(WALK_VIDEO), Recorder, lambda frame, people: None, frames=(0, 40), out=str(out),
        draw=lambda frame, people: frame.image, progress=False, max_fps=15,
    )
    assert (run.frames, run.frames_read, run.step) == (20, 40, 2)
    with VideoFile(out) as written:
        assert written.fps == 15 and len(list(written)) == 20
