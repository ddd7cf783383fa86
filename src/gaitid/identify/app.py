"""`gaitid identify`, `gaitid enroll` and `gaitid live`: the whole pipeline on a file or a live source.

source -> HumanPoseNN -> Tracker -> Walkers (silhouette windows -> GaitNN vectors -> gallery evidence).
Enrolment runs exactly the same stages as identification, so what is enrolled is what is later compared.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from gaitid.errors import GaitidError, InputError
from gaitid.gallery.gallery import SITE_COHORT_ALONE
from gaitid.identify.walkers import WalkerEvent, Walkers, WalkerState, WindowSpec
from gaitid.outputs import atomic_path, check_folder, check_output, counted, write_json
from gaitid.pipeline import (
    AnnotatedVideo,
    PoseEstimator,
    StreamRun,
    check_outputs,
    check_threads,
    default_estimator,
    frame_range,
    parse_frame_range,
    run_stream,
)
from gaitid.pose.drawing import draw_people
from gaitid.sources import LiveOptions, check_source, open_source
from gaitid.sources.files import write_image
from gaitid.tracking import TrackerConfig
from gaitid.types import Frame, FramePeople, Identity


@dataclass
class PipelineOptions:
    """Settings shared by identify, enroll and live.

    pose_model: the BlazePose landmark model (lite, full, heavy). detect_interval: run the person detector
    every n-th frame. threads: inference threads per pose model (None: the default). weights: the gait
    model (None: the shipped default). frames: (first, end) frame range of a file to use (end exclusive,
    None: to its end). live: timeouts of live sources.
    """

    pose_model: str = "full"
    detect_interval: int = 4
    threads: int | None = None
    weights: str | None = None
    window: WindowSpec = field(default_factory=WindowSpec)
    frames: tuple[int, int | None] = (0, None)
    live: LiveOptions | None = None
    progress: bool = True


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
    video = AnnotatedVideo(out, None)
    first, end = options.frames
    source = open_source(source_spec, options.live)
    if source.is_live and options.frames != (0, None):
        source.close()
        raise InputError("--frames applies to video files only")
    video.fps = source.fps or 10.0

    def each_frame(frame: Frame, people: FramePeople) -> None:
        events = walkers.update(people)
        if out is not None:
            video.write(annotate(frame, people, walkers))
        if on_events is not None and events:
            on_events(events)
        if on_frame is not None:
            on_frame(frame, people)

    keep_video = False
    try:
        estimator = estimator or default_estimator(options.pose_model, options.detect_interval, options.threads)
        run = run_stream(frame_range(source, first, end), estimator, each_frame, options.progress)
        final = walkers.finish()
        if on_events is not None and final:
            on_events(final)
        # a file that broke off gives no video (a partial result is not the file's); a live source does
        keep_video = run.frames > 0 and (run.error is None or source.is_live)
    finally:
        source.close()
        video.close(keep=keep_video)
    if run.frames == 0 and run.error is None and not run.interrupted:
        raise InputError(f"{source_spec}: no frame in --frames {first}:{'' if end is None else end}")
    calibration = _calibration(walkers)
    model, window = walkers.encoder.model, walkers.window
    return WalkRun(source_spec, model, window, walkers, run, calibration, source.is_live)


def annotate(frame: Frame, people: FramePeople, walkers: Walkers) -> np.ndarray:
    """The frame with each tracked person's box, skeleton, and current answer drawn above them."""
    shown = [p for p in people.people if p.track_id is not None]
    labels = [walker_label(walkers.states.get(p.track_id), walkers.window) for p in shown]
    return draw_people(frame.image, shown, labels)


def answer_text(identity: Identity) -> str:
    """An answer in words: the name (or unknown), its score, and what the score means."""
    fpir = identity.fpir if identity.fpir is not None else 1.0 - identity.score
    odds = "under 0.1 %" if fpir < 0.001 else f"{100 * fpir:.1f} %"
    return f"{identity.name or 'unknown'} (score {identity.score:.3f}: {odds} of strangers score as high)"


LABEL_LEGEND = (
    "What the labels on the boxes of an annotated video mean:",
    "#3             track 3: a number for each walker, new in each run (not a person's identity)",
    "#3 12/30       gathering silhouettes: 12 of the 30 usable frames a first gait vector needs",
    "#3 ada 0.99    the answer so far and its score: 1 - the share of strangers who score as high (0.99: 1 in 100)",
    "#3 unknown 0.42  nobody enrolled walks like this more than a stranger might",
    "#3 2 windows   enrolling: the gait vectors made so far (one per window of 30 usable frames)",
)


def walker_label(state: WalkerState | None, window: WindowSpec) -> str:
    if state is None:
        return ""
    head = f"#{state.track_id}"
    identity = state.identity
    if identity is not None:
        return f"{head} {identity.name or 'unknown'} {identity.score:.2f}"
    if state.vectors:  # enrolment: vectors, no gallery
        return f"{head} {_windows(state.windows)}"
    return f"{head} {min(len(state.recent), window.size)}/{window.size}"


# -- JSON ----------------------------------------------------------------------------------------------------


def _identity_json(identity: Identity | None) -> dict[str, Any]:
    if identity is None:
        return {"name": None, "score": None, "fpir": None, "margin": None, "candidates": []}
    margin = identity.margin
    return {
        "name": identity.name,
        "score": round(identity.score, 4),
        "fpir": None if identity.fpir is None else round(identity.fpir, 4),
        "margin": None if margin is None or not np.isfinite(margin) else round(margin, 3),
        "candidates": [[name, round(score, 4)] for name, score in identity.candidates],
    }


def track_status(state: WalkerState) -> str:
    if state.identity is not None:
        return "identified" if state.identity.name is not None else "unknown"
    return "vectors" if state.vectors else "too_short"


def _calibration(walkers: Walkers) -> dict[str, Any] | None:
    """What the scores mean: the gallery's target FPIR and what it is estimated from (None without one)."""
    if walkers.gallery is None:
        return None
    try:
        return walkers.gallery.calibration(walkers.encoder.model)
    except GaitidError:  # the gallery could not answer (emptied during a long run): the tracks say so
        return None


def walk_run_json(result: WalkRun) -> dict[str, Any]:
    """The JSON of `gaitid identify`: per track, its answer, the frames it covers and how it evolved."""
    window = result.window
    tracks = []
    for state in sorted(result.walkers.states.values(), key=lambda s: s.track_id):
        entry = {
            "id": state.track_id,
            "status": track_status(state),
            **_identity_json(state.identity),
            "first_frame": state.first_frame,
            "last_frame": state.last_frame,
            "first_time": round(state.first_time, 3),
            "first_box": list(state.first_box) if state.first_box else None,
            "last_time": round(state.last_time, 3),
            "frames": state.frames,
            "usable_frames": state.usable,
            "windows": state.windows,
            "history": [
                {"frame": a.frame_index, "time": round(a.time, 3), "windows": a.windows, **_identity_json(a.identity)}
                for a in state.history
            ],
        }
        if entry["status"] == "too_short":
            entry["reason"] = (
                f"{state.usable} usable frames; a window needs {window.size} (frames where the whole walker is "
                f"in view and at least {window.min_height:g} px tall)"
            )
        tracks.append(entry)
    return {
        "source": result.source,
        "model": result.model,
        "window": {"size": window.size, "stride": window.stride, "min_height": window.min_height},
        "calibration": result.calibration,
        "frames": result.run.frames,
        "seconds": round(result.run.seconds, 3),
        "interrupted": result.run.interrupted,
        "error": None if result.run.error is None else str(result.run.error),
        "tracks": tracks,
    }


def _windows(count: int) -> str:
    return f"{count} window" if count == 1 else f"{count} windows"


def _summary_lines(result: WalkRun) -> list[str]:
    lines = []
    for state in sorted(result.walkers.states.values(), key=lambda s: s.track_id):
        span = f"frames {state.first_frame}-{state.last_frame}"
        status = track_status(state)
        if status == "too_short":
            answer = f"too short ({state.usable} usable frames of {result.window.size} needed)"
        elif status == "vectors":
            answer = _windows(state.windows)
        else:
            answer = f"{answer_text(state.identity)} after {_windows(state.windows)}"
        lines.append(f"track {state.track_id:>3}  {span:<17} {answer}")
    return lines


# -- the commands --------------------------------------------------------------------------------------------


def _encoder(options: PipelineOptions):  # type: ignore[no-untyped-def]
    from gaitid.gait.encoder import GaitEncoder

    return GaitEncoder(options.weights)


def _leave_after() -> float:
    return TrackerConfig().max_lost_seconds  # a track the tracker has dropped cannot come back


def _open_gallery(path: str | None, key_file: str | None, method: str, target_fpir: float):  # type: ignore[no-untyped-def]
    from gaitid.gallery import Gallery
    from gaitid.gallery.crypto import key_from_environment
    from gaitid.gallery.store import default_gallery_path

    target = Path(path) if path is not None else default_gallery_path()
    if not target.exists():
        raise GaitidError(f"no gallery at {target} yet: enrol people first (gaitid enroll NAME VIDEO)")
    if not target.is_file():
        raise GaitidError(f"{target}: not a gallery file")
    return Gallery.open(target, key=key_from_environment(key_file), create=False, method=method, target_fpir=target_fpir)


RELIABLE_PEOPLE = 10  # without a cohort, the self-estimated threshold is unreliable below this (RESULTS-pipeline.md)


def _check_ready(gallery, model: str) -> None:  # type: ignore[no-untyped-def]
    """Fail before the video is processed when the gallery cannot answer (empty, other model, no cohort
    and too few people); warn when it can, but with a threshold estimated from too few enrolled people."""
    gallery.threshold(model)
    people = len(gallery.people())
    calibration = gallery.calibration(model)
    if calibration["cohort"] == "shipped":
        print(
            "gaitid: note: \"unknown\" is calibrated on the laboratory walkers shipped with the model; on your own "
            f"cameras, add {SITE_COHORT_ALONE} or more local walkers who will never be enrolled (gaitid gallery cohort "
            "add VIDEO): strangers on other footage can score higher (benchmarks/RESULTS-openset.md)",
            file=sys.stderr,
        )
    if calibration["source"] == "gallery" and people < RELIABLE_PEOPLE:
        print(
            f"gaitid: note: {model} has no cohort of people never enrolled, so the threshold for \"unknown\" is "
            f"estimated from the {people} people enrolled, which is unreliable with fewer than {RELIABLE_PEOPLE}: "
            "strangers may be named (add local walkers who will not be enrolled: gaitid gallery cohort add VIDEO)",
            file=sys.stderr,
        )


def run_identify(
    source_spec: str,
    options: PipelineOptions,
    *,
    gallery_path: str | None = None,
    key_file: str | None = None,
    method: str = "cosine",
    target_fpir: float = 0.01,
    out: str | None = None,
    json_path: str | None = None,
    estimator: PoseEstimator | None = None,
) -> int:
    """`gaitid identify`: who walks in the video. Prints one line per track; writes JSON and video if asked."""
    _check_before_work(source_spec, options, out=out, json_path=json_path)
    encoder = _encoder(options)
    with _open_gallery(gallery_path, key_file, method, target_fpir) as gallery:
        _check_ready(gallery, encoder.model)
        walkers = Walkers(encoder, gallery, options.window, _leave_after())
        result = analyse(source_spec, walkers, options, out=out, estimator=estimator)
    return _report(result, json_path)


def _check_before_work(
    source_spec: str, options: PipelineOptions, out: str | None = None, json_path: str | None = None
) -> None:
    """What can be found wrong without processing the video, found first: the input, then the options and
    the outputs (so that no time goes into a run whose result could not be written)."""
    check_source(source_spec)
    check_threads(options.detect_interval, options.threads)
    check_outputs(source_spec, out, json_path)


def _report(result: WalkRun, json_path: str | None) -> int:
    run = result.run
    if run.error is not None and not result.live:
        raise run.error  # a file that broke off: no result, as if it were not read at all
    if json_path is not None:
        write_json(walk_run_json(result), json_path)
    stream = sys.stderr if json_path == "-" else sys.stdout
    for line in _summary_lines(result):
        print(line, file=stream)
    note = " (interrupted)" if run.interrupted else ""
    print(
        f"{result.source}: {run.frames} frames in {run.seconds:.1f} s ({run.fps:.1f} fps), "
        f"{counted(len(result.walkers.states), 'track')}{note}",
        file=sys.stderr,
    )
    if run.error is not None:
        if run.frames == 0:
            raise run.error
        print(f"{result.source}: the source failed after {run.frames} frames; the results above are up to there", file=sys.stderr)
        raise run.error
    return 130 if run.interrupted else 0


def run_enroll(
    name: str,
    source_spec: str,
    options: PipelineOptions,
    *,
    track: int | None = None,
    add: bool = False,
    gallery_path: str | None = None,
    key_file: str | None = None,
    estimator: PoseEstimator | None = None,
    out: TextIO | None = None,
) -> int:
    """`gaitid enroll NAME VIDEO [--track ID]`: enrol the walker of a video (or the chosen track) by the
    vectors of all their windows."""
    from gaitid.gallery import Gallery
    from gaitid.gallery.crypto import key_from_environment
    from gaitid.gallery.store import check_name

    out = out if out is not None else sys.stdout
    check_name(name)  # before the video is processed
    _check_before_work(source_spec, options)
    check_gallery(gallery_path, key_file, source_spec, name, add)
    encoder = _encoder(options)
    walkers = Walkers(encoder, None, options.window, _leave_after())
    result = analyse(source_spec, walkers, options, estimator=estimator)
    if result.run.error is not None:
        raise GaitidError(f"{result.run.error}; nothing was enrolled")
    if result.run.interrupted:
        raise GaitidError("interrupted: nothing was enrolled")
    state = choose_walker(result, track)
    embeddings = state.embeddings(encoder.model, options.window.size)
    with Gallery.open(gallery_path, key=key_from_environment(key_file)) as gallery:
        person = gallery.enroll(
            name,
            embeddings,
            source=source_spec,
            metadata={"track": state.track_id, "frames": [state.first_frame, state.last_frame]},
            add=add,
        )
        where = gallery.store.path
    print(
        f"enrolled {person.name} from track {state.track_id} (frames {state.first_frame}-{state.last_frame}): "
        f"{counted(len(embeddings), 'vector')} of {encoder.model}; {person.num_vectors} in all, in {where}",
        file=out,
    )
    return 0


def run_cohort_add(
    source_spec: str,
    options: PipelineOptions,
    *,
    tracks: list[int] | None = None,
    gallery_path: str | None = None,
    key_file: str | None = None,
    estimator: PoseEstimator | None = None,
    out: TextIO | None = None,
) -> int:
    """`gaitid gallery cohort add VIDEO [--track ID ...]`: every walker of a video of local people who will
    not be enrolled (or the chosen tracks) joins the gallery's cohort, one cohort person per track."""
    from gaitid.gallery import Gallery
    from gaitid.gallery.crypto import key_from_environment

    out = out if out is not None else sys.stdout
    _check_before_work(source_spec, options)
    check_gallery(gallery_path, key_file, source_spec)
    encoder = _encoder(options)
    result = analyse(source_spec, Walkers(encoder, None, options.window, _leave_after()), options, estimator=estimator)
    if result.run.error is not None:
        raise GaitidError(f"{result.run.error}; nothing was added to the cohort")
    if result.run.interrupted:
        raise GaitidError("interrupted: nothing was added to the cohort")
    states = cohort_walkers(result, tracks)
    with Gallery.open(gallery_path, key=key_from_environment(key_file)) as gallery:
        count = add_to_cohort(gallery, result, states, source_spec, time.strftime("%Y%m%dT%H%M%S"))
        where = gallery.store.path
    print(
        f"added {counted(len(states), 'walker')} ({counted(sum(len(s.vectors) for s in states), 'vector')}) "
        f"of {result.source} to the cohort of {encoder.model}: "
        f"{counted(count, 'site-cohort vector')} in all, in {where}",
        file=out,
    )
    return 0


def check_gallery(
    path: str | None, key_file: str | None, source_spec: str, name: str | None = None, add: bool = True
) -> None:
    """The gallery a run will write to, checked before the video is processed: one that exists must open
    (a gallery, with the right key) and, unless `add`, not have `name` enrolled already; a new one must be
    creatable where it is asked for."""
    from gaitid.gallery import Gallery
    from gaitid.gallery.crypto import key_from_environment
    from gaitid.gallery.errors import UnknownPersonError
    from gaitid.gallery.store import default_gallery_path

    key = key_from_environment(key_file)
    target = Path(path) if path is not None else default_gallery_path()
    check_output(target, [source_spec])
    if not target.exists():
        return
    with Gallery.open(target, key=key, create=False) as gallery:
        if name is None or add:
            return
        try:
            gallery.person(name)
        except UnknownPersonError:
            return
    raise InputError(f"{name!r} is already enrolled (add vectors to them with --add, or remove them first)")


def cohort_walkers(result: WalkRun, tracks: list[int] | None = None) -> list[WalkerState]:
    """The walkers of a run to add to the site cohort: the tracks asked for, else every walker with a window."""
    states = [choose_walker(result, t) for t in tracks] if tracks else [
        s for s in sorted(result.walkers.states.values(), key=lambda s: s.track_id) if s.vectors
    ]
    if not states:
        raise InputError(
            f"{result.source}: no walker was seen long enough to add to the cohort ({result.window.size} usable "
            f"frames are needed: the whole walker in view, at least {result.window.min_height:g} px tall)"
        )
    return states


def add_to_cohort(  # type: ignore[no-untyped-def]
    gallery, result: WalkRun, states: list[WalkerState], source: str, run: str
) -> int:
    """Add each walker as one site-cohort person (labelled video#track@run: a track number names one walker
    within one run only); returns how many site-cohort vectors the model now has."""
    video = Path(source).name
    for state in states:
        count = gallery.add_cohort(
            f"{video}#{state.track_id}@{run}", state.embeddings(result.model, result.window.size), source=source
        )
    return count


def choose_walker(result: WalkRun, track: int | None) -> WalkerState:
    """The track to enrol: the one asked for, else the only walker with enough frames; clear errors else."""
    states = sorted(result.walkers.states.values(), key=lambda s: s.track_id)
    size = result.window.size
    if track is not None:
        chosen = result.walkers.states.get(track)
        if chosen is None:
            known = ", ".join(str(s.track_id) for s in states) or "none"
            raise InputError(f"{result.source}: no track {track} (tracks: {known})")
        if not chosen.vectors:
            raise InputError(
                f"{result.source}: track {track} has {chosen.usable} usable frames; enrolment needs at least "
                f"{size} (frames where the whole walker is in view, at least {result.window.min_height:g} px tall)"
            )
        return chosen
    walkers = [s for s in states if s.vectors]
    if len(walkers) == 1:
        return walkers[0]
    if not walkers:
        if not states:
            raise InputError(f"{result.source}: no walker found in the video")
        best = max(states, key=lambda s: s.usable)
        raise InputError(
            f"{result.source}: no walker was seen long enough to enrol: the longest track ({best.track_id}) has "
            f"{best.usable} usable frames, {size} are needed (frames where the whole walker is in view, at least "
            f"{result.window.min_height:g} px tall)"
        )
    listing = "; ".join(
        f"track {s.track_id}: frames {s.first_frame}-{s.last_frame}, first seen at x={s.first_box[0]:.0f}-"
        f"{s.first_box[2]:.0f} y={s.first_box[1]:.0f}-{s.first_box[3]:.0f}, {_windows(s.windows)}"
        for s in walkers
    )
    raise InputError(
        f"{result.source}: {len(walkers)} walkers could be enrolled ({listing}); choose one with --track ID "
        "(gaitid track VIDEO --out tracked.mp4 shows the track numbers; use the same --frames)"
    )


def run_live(
    source_spec: str,
    options: PipelineOptions,
    *,
    gallery_path: str | None = None,
    key_file: str | None = None,
    method: str = "cosine",
    target_fpir: float = 0.01,
    json_lines: bool = False,
    out: str | None = None,
    estimator: PoseEstimator | None = None,
    stream: TextIO | None = None,
) -> int:
    """`gaitid live SOURCE`: identify walkers on a camera as they pass; one event per identification or
    departure, as text or JSON lines, until Ctrl-C (or the source gives up)."""
    stream = stream if stream is not None else sys.stdout
    _check_before_work(source_spec, options, out=out)
    encoder = _encoder(options)
    with _open_gallery(gallery_path, key_file, method, target_fpir) as gallery:
        _check_ready(gallery, encoder.model)
        walkers = Walkers(encoder, gallery, options.window, _leave_after())

        def emit(events: list[WalkerEvent]) -> None:
            for event in events:
                stream.write((json.dumps(event_json(event)) if json_lines else event_text(event)) + "\n")
            stream.flush()
            walkers.forget_ended()

        result = analyse(source_spec, walkers, options, out=out, on_events=emit, estimator=estimator)
    run = result.run
    if run.error is not None and not result.live:
        raise run.error  # a file that broke off: its error says how far it got
    print(f"{source_spec}: {run.frames} frames in {run.seconds:.1f} s ({run.fps:.1f} fps)", file=sys.stderr)
    if run.error is not None:
        if run.frames == 0:
            raise run.error
        print(f"{source_spec}: the source failed after {run.frames} frames; the events above are up to there", file=sys.stderr)
        raise run.error
    return 0


def event_json(event: WalkerEvent) -> dict[str, Any]:
    return {
        "event": event.kind,
        "track": event.track_id,
        "frame": event.frame_index,
        "time": round(event.time, 3),
        "wall_time": round(time.time(), 3),
        **_identity_json(event.identity),
    }


def event_text(event: WalkerEvent) -> str:
    identity = event.identity
    who = "no answer (too short)" if identity is None else answer_text(identity)
    verb = "identified as" if event.kind == "identified" else "left:"
    return f"{time.strftime('%H:%M:%S')} t={event.time:.1f}s track {event.track_id} {verb} {who}"


def run_demo(out_dir: str, options: PipelineOptions, out: TextIO | None = None) -> int:
    """`gaitid demo OUT_DIR`: the whole job on the shipped sample clip, in a gallery of its own.

    Everyone who walks long enough in the first 80 frames is enrolled (as person-<track>), then the rest
    of the clip is identified: OUT_DIR gets the gallery, a contact sheet of who was enrolled, the annotated
    video, the JSON result and a legend of the video's labels.
    """
    from gaitid.gallery import Gallery
    from gaitid.identify.sheet import CropSampler, contact_sheet
    from gaitid.samples import WALK_VIDEO

    out = out if out is not None else sys.stdout
    folder = Path(out_dir)
    if folder.exists() and not (folder.is_dir() and not any(folder.iterdir())):
        raise InputError(f"{folder}: give a new or empty folder for the demo's outputs")
    check_folder(folder)
    check_threads(options.detect_interval, options.threads)
    encoder = _encoder(options)  # a bad --weights: refused before the folder is made
    folder.mkdir(parents=True, exist_ok=True)
    gallery_path, sheet_path = folder / "gallery.db", folder / "enrolled.jpg"
    split = 80
    print(f"1. tracking everyone in frames 0-{split - 1} of {WALK_VIDEO.name} and computing gait vectors ...", file=out)
    first = PipelineOptions(**{**options.__dict__, "frames": (0, split)})
    sampler = CropSampler()
    enrolment = analyse(str(WALK_VIDEO), Walkers(encoder, None, options.window, _leave_after()), first, on_frame=sampler.add)
    enrolled = []
    with Gallery.open(gallery_path) as gallery:
        for state in sorted(enrolment.walkers.states.values(), key=lambda s: s.track_id):
            if state.vectors:
                name = f"person-{state.track_id}"
                gallery.enroll(name, state.embeddings(encoder.model, options.window.size), source=str(WALK_VIDEO))
                enrolled.append((name, sampler.crops(state.track_id)))
                vectors = counted(len(state.vectors), "vector")
                print(f"2. enrolled {name}: track {state.track_id}, {vectors}", file=out)
            else:
                print(f"   track {state.track_id}: {state.usable} usable frames, too short to enrol", file=out)
    if enrolled:
        with atomic_path(sheet_path) as tmp:
            write_image(tmp, contact_sheet(enrolled, [f"enrolled from frames 0-{split - 1} of {WALK_VIDEO.name}"]))
        print(f"   who they are: {sheet_path}", file=out)
    print(f"3. identifying everyone in frames {split}- (track numbers start again with each run) ...", file=out)
    rest = PipelineOptions(**{**options.__dict__, "frames": (split, None)})
    video, js, legend = folder / "identified.mp4", folder / "identified.json", folder / "legend.txt"
    with _open_gallery(str(gallery_path), None, "cosine", 0.01) as gallery:
        _check_ready(gallery, encoder.model)
        result = analyse(str(WALK_VIDEO), Walkers(encoder, gallery, options.window, _leave_after()), rest, out=str(video))
    write_json(walk_run_json(result), js)
    with atomic_path(legend) as tmp:
        tmp.write_text("\n".join(LABEL_LEGEND) + "\n")
    for line in _summary_lines(result):
        print("   " + line, file=out)
    print("   a score is 1 - the share of strangers who score as high; a name is given from 0.99 (1 in 100)", file=out)
    print(f"4. wrote {video} (boxes, skeletons, names and scores: {legend.name} says what the labels mean), {js}", file=out)
    print(f"   and the gallery {gallery_path}", file=out)
    return 0
