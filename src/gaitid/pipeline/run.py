"""The whole flow over one source: frames -> HumanPoseNN -> tracker -> walkers (windows of silhouettes ->
gait vectors -> the gallery's decision), with the annotated video and callbacks as it goes.

`analyse(source, walkers, options)` is the one run that identification, enrolment, the live view, the
server's jobs and the benchmarks share; `PipelineOptions` is its one options object.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gaitid.errors import GaitidError, InputError
from gaitid.pipeline.video import AnnotatedVideo, annotate
from gaitid.pipeline.stream import (
    PoseEstimator,
    StreamRun,
    check_threads,
    default_estimator,
    frame_range,
    run_stream,
    thinning,
)
from gaitid.pipeline.walkers import WINDOW_RATE, WalkerEvent, Walkers, WindowSpec
from gaitid.sources import LiveOptions, open_source
from gaitid.tracking import TrackerConfig
from gaitid.types import Frame, FramePeople


@dataclass
class PipelineOptions:
    """Settings shared by identify, enroll and live.

    pose_model: the BlazePose landmark model (lite, full, heavy). detect_interval: run the person detector
    every n-th frame. threads: inference threads per pose model (None: the default). weights: the gait
    model (None: the shipped default). modality: what the gait vectors are made of, "silhouette" (the
    default, chosen by measurement: benchmarks/results/fusion_vtest.json), "skeleton" or "fused" (both).
    frames: (first, end) frame range of a file to use (end exclusive, None: to its end). live: timeouts
    of live sources. max_fps: analyse at most this many frames a second, every n-th frame of a faster
    source (`analysis_step`; default 15, every 2nd frame of a 25-30 frames/s camera; None or 0: every
    frame). `window` counts frames at its `rate` (or the source's frames), so a window spans the same time
    at any analysed rate (`WindowSpec.analysed`); the annotated video holds the analysed frames, at the
    analysed rate. footage_null: a walker must also outscore the run's other walkers against the person
    they would be named as (`Walkers`; on by default: benchmarks/RESULTS-openset.md).
    """

    pose_model: str = "full"
    detect_interval: int = 4
    threads: int | None = None
    weights: str | None = None
    modality: str = "silhouette"
    window: WindowSpec = field(default_factory=WindowSpec)
    frames: tuple[int, int | None] = (0, None)
    live: LiveOptions | None = None
    progress: bool = True
    max_fps: float | None = WINDOW_RATE
    footage_null: bool = True


@dataclass
class WalkRun:
    """What a pipeline run saw: the walkers (one per track), and how the run itself went."""

    source: str
    model: str
    window: WindowSpec
    walkers: Walkers
    run: StreamRun
    calibration: dict[str, Any] | None = None  # what the scores mean (None without a gallery)
    live: bool = False  # a camera or stream (which keeps its results when it fails partway)


def analyse(
    source_spec: str,
    walkers: Walkers,
    options: PipelineOptions,
    out: str | None = None,
    on_events: Callable[[list[WalkerEvent]], None] | None = None,
    estimator: PoseEstimator | None = None,
    on_frame: Callable[[Frame, FramePeople], None] | None = None,
) -> WalkRun:
    """Run the pipeline over a source, feeding `walkers`; optionally write the annotated video, and call
    `on_frame(frame, people)` with every frame's tracked people."""
    check_threads(options.detect_interval, options.threads)

    def each_frame(frame: Frame, people: FramePeople) -> None:
        events = walkers.update(people)
        if on_events is not None and events:
            on_events(events)
        if on_frame is not None:
            on_frame(frame, people)

    def make_estimator() -> PoseEstimator:
        return estimator or default_estimator(options.pose_model, options.detect_interval, options.threads)

    run, live = run_source(
        source_spec, make_estimator, each_frame, frames=options.frames, live=options.live, out=out,
        draw=lambda frame, people: annotate(frame, people, walkers), progress=options.progress,
        max_fps=options.max_fps, on_step=walkers.analysing_every,
    )
    final = walkers.finish()
    if on_events is not None and final:
        on_events(final)
    first, end = options.frames
    if run.frames == 0 and run.error is None and not run.interrupted:
        raise InputError(f"{source_spec}: no frame in the range {first}:{'' if end is None else end}")
    calibration = calibration_of(walkers)
    model, window = walkers.encoder.model, walkers.window
    return WalkRun(source_spec, model, window, walkers, run, calibration, live)


def run_source(
    source_spec: str,
    make_estimator: Callable[[], PoseEstimator],
    on_frame: Callable[[Frame, FramePeople], None],
    *,
    frames: tuple[int, int | None] = (0, None),
    live: LiveOptions | None = None,
    out: str | None = None,
    draw: Callable[[Frame, FramePeople], np.ndarray] | None = None,
    progress: bool = True,
    max_fps: float | None = None,
    on_step: Callable[[int, float | None], None] | None = None,
) -> tuple[StreamRun, bool]:
    """Open a source and run pose estimation and tracking over its frames (`frames` [first, end) of a file),
    calling `on_frame(frame, people)` after each; with `out`, write `draw(frame, people)` as the annotated
    video. `max_fps`: analyse only every n-th frame of a faster file (`analysis_step`), or of a live source
    at most that many frames a second by their arrival times; the video then holds the analysed frames, at
    the analysed rate. `on_step(n, fps)` is told, before the first frame, that about one frame in n of the
    source (of `fps` frames/s, None when unknown) will be analysed (1 for a live source of unknown rate).
    Returns the run and whether the source was live. A file that broke off leaves no video (a partial
    result is not the file's); a live source that failed partway keeps what it showed."""
    video = AnnotatedVideo(out, None)
    source = open_source(source_spec, live)
    if source.is_live and frames != (0, None):
        source.close()
        raise InputError("a frame range applies to video files only, not to a camera or a stream")
    # A file: every n-th frame. A live source: by the frames' arrival times (it may be handing over only
    # some of its frames already, and its nominal rate is often unknown or wrong).
    every, step, rate = thinning(source, max_fps)
    video.fps = min(source.fps or 10.0, rate or math.inf) / step
    if on_step is not None:
        on_step(every, getattr(source, "fps", None))

    def each_frame(frame: Frame, people: FramePeople) -> None:
        on_frame(frame, people)
        if out is not None and draw is not None:
            video.write(draw(frame, people))

    keep_video = False
    try:
        run = run_stream(frame_range(source, *frames), make_estimator(), each_frame, progress, step, rate)
        keep_video = run.frames > 0 and (run.error is None or source.is_live)
    finally:
        source.close()
        video.close(keep=keep_video)
    return run, source.is_live


MODALITIES = ("silhouette", "skeleton", "fused")


def encoder_for(options: PipelineOptions):  # type: ignore[no-untyped-def]
    """The gait encoder of the options' modality. `weights` names the silhouette model (the shipped default
    when None); the skeleton model is the shipped one."""
    from gaitid.gait.encoder import GaitEncoder
    from gaitid.gait.fusion import FusedEncoder
    from gaitid.gait.skeleton_encoder import SkeletonEncoder

    if options.modality not in MODALITIES:
        raise InputError(f"--modality must be one of {', '.join(MODALITIES)}, got {options.modality!r}")
    if options.modality == "skeleton":
        return SkeletonEncoder()
    if options.modality == "fused":
        return FusedEncoder(GaitEncoder(options.weights), SkeletonEncoder())
    return GaitEncoder(options.weights)


def walkers_for(options: PipelineOptions, encoder, gallery=None, max_windows: int | None = None) -> Walkers:  # type: ignore[no-untyped-def]
    """The walkers of a run with these options: `encoder`'s vectors over the options' windows, decided by
    `gallery` (None: vectors only, for enrolment), ended when the tracker drops their track. `max_windows`:
    the windows kept per track (None: Walkers' default, two minutes in view; an archive keeps them all)."""
    if max_windows is None:
        return Walkers(encoder, gallery, options.window, leave_after(), footage_null=options.footage_null)
    return Walkers(encoder, gallery, options.window, leave_after(), max_windows=max_windows,
                   footage_null=options.footage_null)


def leave_after() -> float:
    """Seconds unseen after which a walker has left: when the tracker drops a track, it cannot come back."""
    return TrackerConfig().max_lost_seconds


def calibration_of(walkers: Walkers) -> dict[str, Any] | None:
    """What the scores mean: the gallery's target FPIR and what it is estimated from (None without one)."""
    if walkers.gallery is None:
        return None
    try:
        return {**walkers.gallery.calibration(walkers.encoder.model), "footage_null": walkers.footage_null}
    except GaitidError:  # the gallery could not answer (emptied during a long run): the tracks say so
        return None
