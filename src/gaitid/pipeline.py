"""Wiring the stages together: a source's frames through pose estimation and tracking.

`track_frames` is the loop, for any iterable of frames and any estimator with `estimate(frame) ->
FramePeople`; `run_track` is what `gaitid track` does with it: open the source, write the annotated video
and the tracks as JSON, show progress, and end cleanly on Ctrl-C.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from gaitid.errors import GaitidError, InputError
from gaitid.sources import LiveOptions, VideoWriter, open_source
from gaitid.tracking import TrackCollector, Tracker, tracks_to_json
from gaitid.tracking.drawing import draw_tracks
from gaitid.types import Frame, FramePeople


class PoseEstimator(Protocol):
    def estimate(self, frame: Frame) -> FramePeople: ...

    def reset(self) -> None: ...


def default_estimator(model: str = "full", detect_interval: int = 4, threads: int | None = None) -> PoseEstimator:
    """HumanPoseNN set up for video, imported only when needed.

    BlazePose's close-up detector is left off: in video people are found as they walk in, and on vtest.avi
    it costs time without changing the tracks (IDF1 0.932 with and without it). `detect_interval`: run
    the person detector on every n-th frame (in between, people are followed by their poses). `threads`:
    inference threads per model (None: gaitid.pose.runtime's default).
    """
    from gaitid.pose.estimator import HumanPoseNN

    return HumanPoseNN(model=model, close_up=False, detect_interval=detect_interval, threads=threads)


def track_frames(frames: Iterable[Frame], estimator: PoseEstimator, tracker: Tracker) -> Iterator[tuple[Frame, FramePeople]]:
    """For each frame, everyone in it with their track identity."""
    for frame in frames:
        people = estimator.estimate(frame)
        if people.frame_size == (0, 0):
            people = replace(people, frame_size=(frame.height, frame.width))
        yield frame, tracker.update(people)


@dataclass(frozen=True)
class TrackRun:
    """What a run of `gaitid track` did."""

    frames: int
    seconds: float
    tracks: int
    interrupted: bool
    error: GaitidError | None = None  # a live source that gave up, or a file that broke off, partway

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def run_track(
    source_spec: str,
    out: str | None = None,
    json_path: str | None = None,
    model: str = "full",
    detect_interval: int = 4,
    threads: int | None = None,
    live_options: LiveOptions | None = None,
    estimator: PoseEstimator | None = None,
    progress: bool = True,
) -> int:
    """`gaitid track`: track everyone in a file or a live source. Returns the exit status.

    A live source runs until Ctrl-C; then, as at the end of a file, the annotated video is closed and the
    JSON written with everything so far.
    """
    if detect_interval < 1:
        raise InputError(f"--detect-every must be at least 1, got {detect_interval}")
    if threads is not None and threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}")
    if out is not None and Path(out).suffix.lower() != ".mp4":
        raise InputError(f"{out}: annotated video must be written as .mp4")
    source = open_source(source_spec, live_options)
    try:
        estimator = estimator or default_estimator(model, detect_interval, threads)
        estimator.reset()
        run, collector = _track_source(source, estimator, out, progress)
    finally:
        source.close()
    if json_path is not None and (run.error is None or run.frames > 0):
        _write_json(json_path, tracks_to_json(collector.tracks()))
    if run.error is not None:
        if run.frames == 0:
            raise run.error
        # What was tracked before the source failed is kept (written above); the failure is still an error.
        print(f"{source_spec}: {run.frames} frames, {run.tracks} tracks before the source failed", file=sys.stderr)
        raise run.error
    note = " (interrupted)" if run.interrupted else ""
    print(
        f"{source_spec}: {run.frames} frames in {run.seconds:.1f} s ({run.fps:.1f} fps), {run.tracks} tracks{note}",
        file=sys.stderr,
    )
    if run.interrupted and not source.is_live:
        return 130
    return 0


def _track_source(source, estimator: PoseEstimator, out: str | None, progress: bool) -> tuple[TrackRun, TrackCollector]:
    tracker = Tracker()
    collector = TrackCollector()
    writer = None
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=source.frame_count, unit="frame", file=sys.stderr, leave=False, dynamic_ncols=True)
    count = 0
    interrupted = False
    error: GaitidError | None = None
    start = time.perf_counter()
    try:
        for frame, people in track_frames(source, estimator, tracker):
            collector.add(people)
            if out is not None:
                if writer is None:
                    writer = VideoWriter(out, source.fps or 10.0, frame.width, frame.height)
                writer.write(draw_tracks(frame.image, people))
            count += 1
            if bar is not None:
                bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    except GaitidError as failure:
        error = failure
    finally:
        seconds = time.perf_counter() - start
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.close()
    run = TrackRun(frames=count, seconds=seconds, tracks=len(collector), interrupted=interrupted, error=error)
    return run, collector


def _write_json(path: str, data: dict) -> None:
    text = json.dumps(data, separators=(",", ":"))
    if path == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text + "\n")
