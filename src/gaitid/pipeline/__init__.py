"""The Python API of the whole flow: sources -> HumanPoseNN -> tracker -> walkers -> the gallery's decision
-> sinks (annotated video, JSON report, events). The command line, the server and the benchmarks call it;
nothing here prints or returns exit codes.

    from gaitid.pipeline import PipelineOptions, analyse, encoder_for, walkers_for

    options = PipelineOptions()
    result = analyse("corridor.mp4", walkers_for(options, encoder_for(options), gallery), options, out="named.mp4")

- `stream`: frames through pose estimation and tracking (`run_stream`, `track_frames`, `frame_range`);
- `walkers`: each track's windows of silhouettes, gait vectors and evidence (`Walkers`);
- `run`: the one run over a source (`run_source`; `analyse` adds the walkers) and its one options object
  (`PipelineOptions`);
- `enrol`: the one enrolment routine, and the site cohort;
- `video`, `report`, `sheet`: the sinks (annotated video and labels, JSON and events, contact sheet).
"""

from gaitid.pipeline.enrol import (
    SeveralWalkers,
    add_to_cohort,
    choose_walker,
    cohort_walkers,
    enrol_walker,
)
from gaitid.pipeline.report import answer_text, event_json, event_text, identity_json, track_status, walk_run_json
from gaitid.pipeline.run import (
    PipelineOptions,
    WalkRun,
    analyse,
    calibration_of,
    encoder_for,
    leave_after,
    run_source,
    walkers_for,
)
from gaitid.pipeline.stream import (
    MAX_THREADS,
    FrameRange,
    PoseEstimator,
    StreamRun,
    check_threads,
    default_estimator,
    frame_range,
    parse_frame_range,
    prefetched,
    run_stream,
    track_frames,
)
from gaitid.pipeline.video import LABEL_LEGEND, AnnotatedVideo, annotate, check_outputs, walker_label
from gaitid.pipeline.walkers import Answer, WalkerEvent, Walkers, WalkerState, WindowSpec, windows_text

__all__ = [
    "LABEL_LEGEND",
    "MAX_THREADS",
    "AnnotatedVideo",
    "Answer",
    "FrameRange",
    "PipelineOptions",
    "PoseEstimator",
    "SeveralWalkers",
    "StreamRun",
    "WalkRun",
    "WalkerEvent",
    "WalkerState",
    "Walkers",
    "WindowSpec",
    "add_to_cohort",
    "analyse",
    "annotate",
    "answer_text",
    "calibration_of",
    "check_outputs",
    "check_threads",
    "choose_walker",
    "cohort_walkers",
    "default_estimator",
    "encoder_for",
    "enrol_walker",
    "event_json",
    "event_text",
    "frame_range",
    "identity_json",
    "leave_after",
    "parse_frame_range",
    "prefetched",
    "run_source",
    "run_stream",
    "track_frames",
    "track_status",
    "walk_run_json",
    "walker_label",
    "walkers_for",
    "windows_text",
]
