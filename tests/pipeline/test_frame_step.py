"""Analysing every n-th frame of a fast source: which frames, how many, and what the run reports."""

from __future__ import annotations

import numpy as np
import pytest

from gaitid.pipeline.stream import AtMostPerSecond, EveryNth, StreamRun, analysis_step, run_stream
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


def arrivals(times_ms: list[float]) -> list[Frame]:
    return [Frame(np.zeros((8, 8, 3), np.uint8), i, t / 1000) for i, t in enumerate(times_ms)]


@pytest.mark.parametrize(
    ("times_ms", "kept"),
    [
        ([0, 33, 67, 100, 133, 167, 200], [0, 2, 4, 6]),  # a 30 frames/s camera: every 2nd
        ([0, 36, 64, 104, 131, 169, 197], [0, 2, 4, 6]),  # the same with the jitter of arrival times
        ([0, 40, 80, 120, 160], [0, 2, 4]),  # 25 frames/s: every 2nd, 12.5 a second
        ([0, 70, 140, 210, 280], [0, 1, 2, 3, 4]),  # a pipeline behind, handed every 2nd-3rd frame: all due
        ([0, 200, 233, 266], [0, 1, 3]),  # after a long gap, the rate resumes from the frame taken
        ([0, 50, 100, 150, 200], [0, 2, 4]),  # 20 frames/s: every 2nd (10 a second), never 20
    ],
)
def test_a_live_source_is_thinned_by_the_frames_times_not_their_count(times_ms: list[float], kept: list[int]) -> None:
    """At most 15 a second: counting every 2nd frame handed over would halve a pipeline that is already
    behind (the live source hands over only its newest frame) a second time."""
    subset = AtMostPerSecond(arrivals(times_ms), 15)
    assert [f.index for f in subset] == kept
    assert subset.read == len(times_ms)


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


class LiveFrames:
    """A live source's frames, as seen by the pipeline: some already dropped by its reader."""

    is_live = True

    def __init__(self, times_ms: list[float], dropped: int) -> None:
        self.frames, self.frames_dropped = arrivals(times_ms), dropped

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.frames)


def test_a_live_run_reports_the_frames_its_source_dropped_and_its_rate() -> None:
    source = LiveFrames([0, 33, 67, 100, 133], dropped=4)
    run = run_stream(source, Recorder(), lambda frame, people: None, progress=False, rate=15)
    assert (run.frames, run.frames_read, run.dropped) == (3, 5, 4)
    assert run.text().startswith("5 frames (3 analysed, at most 15 a second)")
    assert run.text().endswith("; 4 more dropped while the pipeline was busy")


@pytest.mark.parametrize(("step", "size", "stride"), [(1, 30, 15), (2, 15, 8), (3, 10, 5), (4, 8, 4)])
def test_a_window_keeps_its_time_span_at_any_analysed_rate(step: int, size: int, stride: int) -> None:
    """30 / 15 frames of a 30 frames/s camera (counted in the source's frames: no rate) is one second every
    half second, at every frame or every 2nd."""
    from gaitid.pipeline.walkers import WindowSpec

    thinned = WindowSpec(30, 15, min_height=55.0, rate=None).analysed(step, 30.0)
    assert (thinned.size, thinned.stride, thinned.min_height) == (size, stride, 55.0)


@pytest.mark.parametrize(
    ("fps", "every", "size", "stride"),
    [(25, 2, 20, 10), (30, 2, 20, 10), (25, 1, 40, 20), (60, 1, 80, 40), (60, 4, 20, 10), (10, 1, 20, 10),
     (None, 1, 20, 10), (25, 3, 14, 7)],
)
def test_a_window_counted_at_a_rate_spans_the_same_time_whatever_is_analysed(
    fps: float | None, every: int, size: int, stride: int
) -> None:
    """20 / 10 frames at 15 a second: 1.6 s of a 25 frames/s camera analysed at every 2nd frame or every
    frame, 2 s of a 10 frames/s one (never thinned), 20 frames when the source's rate is unknown."""
    from gaitid.pipeline.walkers import WindowSpec

    analysed = WindowSpec(20, 10, rate=15.0).analysed(every, fps)
    assert (analysed.size, analysed.stride) == (size, stride)


class NoEncoder:
    model = "none"
    silhouette_size = None


@pytest.mark.parametrize(("max_fps", "size", "stride"), [(15.0, 20, 10), (None, 40, 20)])
def test_the_run_cuts_windows_of_the_same_time_span(max_fps: float | None, size: int, stride: int) -> None:
    """The sample clip (30 frames/s) analysed at most 15 a second, as by default: the default windows, 20
    analysed frames every 10; at every frame, 40 every 20, the same 1.3 s."""
    from gaitid.pipeline import PipelineOptions, analyse
    from gaitid.pipeline.walkers import Walkers
    from gaitid.samples import WALK_VIDEO

    walkers = Walkers(NoEncoder())
    options = PipelineOptions(frames=(0, 12), progress=False, max_fps=max_fps)
    result = analyse(str(WALK_VIDEO), walkers, options, estimator=Recorder())
    assert (result.window.size, result.window.stride) == (size, stride)
    assert result.run.step == (2 if max_fps else 1) and walkers.spec.size == 20


def test_gaitid_analyses_at_most_15_frames_a_second_unless_told() -> None:
    """The command line's defaults are the pipeline's: 15 frames a second, windows of 20 every 10 at that rate."""
    from gaitid.cli import _pipeline_options, build_parser
    from gaitid.pipeline import PipelineOptions
    from gaitid.pipeline.walkers import WindowSpec

    def options(*extra: str):  # type: ignore[no-untyped-def]
        return _pipeline_options(build_parser().parse_args(["identify", "clip.mp4", *extra]))

    assert options().max_fps == PipelineOptions().max_fps == 15.0
    assert options().window == PipelineOptions().window == WindowSpec(20, 10, rate=15.0)
    assert options("--max-fps", "0").max_fps is None
    assert options("--max-fps", "10").max_fps == 10.0


def test_a_file_is_thinned_by_count_and_a_live_source_by_arrival_times() -> None:
    from types import SimpleNamespace

    from gaitid.pipeline.stream import Thinning, thinning

    assert thinning(SimpleNamespace(fps=30.0, is_live=False), 15) == Thinning(2, 2, None)
    assert thinning(SimpleNamespace(fps=30.0, is_live=True), 15) == Thinning(2, 1, 15)
    assert thinning(SimpleNamespace(fps=None, is_live=True), 15) == Thinning(1, 1, 15)  # rate unknown
    assert thinning(SimpleNamespace(fps=30.0, is_live=True), None) == Thinning(1, 1, None)
