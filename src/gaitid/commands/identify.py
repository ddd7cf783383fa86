"""The commands that run the whole pipeline: `gaitid track`, `identify`, `enroll`, `live`, `demo` and
`gallery cohort add`. They check their inputs and outputs before the work, run `gaitid.pipeline`, print
what happened and return the exit status; the pipeline itself prints nothing.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import NoReturn, TextIO

from gaitid.errors import GaitidError, InputError
from gaitid.gallery.gallery import SITE_COHORT_ALONE
from gaitid.outputs import atomic_path, check_folder, check_output, counted, write_json
from gaitid.pipeline import (
    LABEL_LEGEND,
    PipelineOptions,
    PoseEstimator,
    StreamRun,
    WalkRun,
    WalkerEvent,
    SeveralWalkers,
    add_to_cohort,
    analyse,
    answer_text,
    check_outputs,
    check_threads,
    choose_walker,
    cohort_walkers,
    default_estimator,
    encoder_for,
    enrol_walker,
    event_json,
    event_text,
    run_source,
    track_status,
    walk_run_json,
    walkers_for,
    windows_text,
)
from gaitid.sources import LiveOptions, check_source
from gaitid.sources.files import write_image
from gaitid.tracking import TrackCollector, tracks_to_json
from gaitid.tracking.drawing import draw_tracks


def _summary_lines(result: WalkRun) -> list[str]:
    lines = []
    for state in sorted(result.walkers.states.values(), key=lambda s: s.track_id):
        span = f"frames {state.first_frame}-{state.last_frame}"
        status = track_status(state)
        if status == "too_short":
            answer = f"too short ({state.usable} usable frames of {result.window.size} needed)"
        elif status == "vectors":
            answer = windows_text(state.windows)
        else:
            answer = f"{answer_text(state.identity)} after {windows_text(state.windows)}"
        lines.append(f"track {state.track_id:>3}  {span:<17} {answer}")
    return lines


# -- the commands --------------------------------------------------------------------------------------------


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


def _check_ready(gallery, model: str, footage_null: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Fail before the video is processed when the gallery cannot answer (empty, other model, no cohort
    and too few people); warn when it can, but with a threshold estimated from too few enrolled people."""
    gallery.threshold(model)
    people = len(gallery.people())
    calibration = gallery.calibration(model)
    site = int(calibration.get("site_walkers") or 0)
    if calibration["cohort"] == "shipped":
        footage = (" and on the other walkers of the same video (a walker alone is held up against the "
                   "laboratory's only)" if footage_null else "")
        print(
            f"gaitid: note: \"unknown\" is calibrated on the laboratory walkers shipped with the model{footage}; "
            f"on your own cameras, add {SITE_COHORT_ALONE} or more local walkers who will never be enrolled (gaitid "
            "gallery cohort add VIDEO): strangers on other footage can score higher (benchmarks/RESULTS-openset.md)",
            file=sys.stderr,
        )
    elif calibration["source"] == "cohort" and 0 < site < SITE_COHORT_ALONE:
        print(
            f"gaitid: note: the site's cohort has {counted(site, 'walker')}: a name must also score above them, "
            f"so about 1 stranger in {site + 1} filmed like them may still be named, whatever --fpir says; "
            f"from {SITE_COHORT_ALONE} on they replace the laboratory walkers (gaitid gallery cohort add VIDEO)",
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
    encoder = encoder_for(options)
    with _open_gallery(gallery_path, key_file, method, target_fpir) as gallery:
        _check_ready(gallery, encoder.model, options.footage_null)
        walkers = walkers_for(options, encoder, gallery)
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
        f"{result.source}: {run.text()}, "
        f"{counted(len(result.walkers.states), 'track')}{note}",
        file=sys.stderr,
    )
    if run.error is not None:
        _failed_partway(result.source, run, "the results above are up to there")
    return 130 if run.interrupted else 0


def _failed_partway(source: str, run: StreamRun, kept: str) -> NoReturn:
    """A live source that failed after some frames (a file that breaks off keeps nothing and never gets
    here): say what was kept, then end with the source's error."""
    assert run.error is not None
    if run.frames and kept:
        print(f"{source}: the source failed after {run.frames} frames; {kept}", file=sys.stderr)
    raise run.error


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
    encoder = encoder_for(options)
    walkers = walkers_for(options, encoder)
    result = analyse(source_spec, walkers, options, estimator=estimator)
    if result.run.error is not None:
        raise GaitidError(f"{result.run.error}; nothing was enrolled")
    if result.run.interrupted:
        raise GaitidError("interrupted: nothing was enrolled")
    try:
        state = choose_walker(result, track)
    except SeveralWalkers as several:
        same = "--frames and --max-fps" if options.max_fps != PipelineOptions().max_fps else "--frames"
        raise InputError(
            f"{several} with --track ID (gaitid track VIDEO --out tracked.mp4 shows the track numbers; use the "
            f"same {same})"
        ) from None
    with Gallery.open(gallery_path, key=key_from_environment(key_file)) as gallery:
        embeddings = state.embeddings(result.model, result.window.size)
        person = enrol_walker(gallery, name, state, embeddings, source_spec, add)
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
    encoder = encoder_for(options)
    result = analyse(source_spec, walkers_for(options, encoder), options, estimator=estimator)
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
    encoder = encoder_for(options)
    with _open_gallery(gallery_path, key_file, method, target_fpir) as gallery:
        _check_ready(gallery, encoder.model, options.footage_null)
        walkers = walkers_for(options, encoder, gallery)

        def emit(events: list[WalkerEvent]) -> None:
            for event in events:
                stream.write((json.dumps(event_json(event)) if json_lines else event_text(event)) + "\n")
            stream.flush()
            walkers.forget_ended()

        result = analyse(source_spec, walkers, options, out=out, on_events=emit, estimator=estimator)
    run = result.run
    if run.error is not None and not result.live:
        raise run.error  # a file that broke off: its error says how far it got
    print(f"{source_spec}: {run.text()}", file=sys.stderr)
    if run.error is not None:
        _failed_partway(source_spec, run, "the events above are up to there")
    return 0


def run_demo(out_dir: str, options: PipelineOptions, out: TextIO | None = None) -> int:
    """`gaitid demo OUT_DIR`: the whole job on the shipped sample clip, in a gallery of its own.

    Everyone who walks long enough in the first 80 frames is enrolled (as person-<track>), then the rest
    of the clip is identified: OUT_DIR gets the gallery, a contact sheet of who was enrolled, the annotated
    video, the JSON result and a legend of the video's labels.
    """
    from gaitid.gallery import Gallery
    from gaitid.pipeline.sheet import CropSampler, contact_sheet
    from gaitid.samples import WALK_VIDEO

    out = out if out is not None else sys.stdout
    folder = Path(out_dir)
    if folder.exists() and not (folder.is_dir() and not any(folder.iterdir())):
        raise InputError(f"{folder}: give a new or empty folder for the demo's outputs")
    check_folder(folder)
    check_threads(options.detect_interval, options.threads)
    encoder = encoder_for(options)  # a bad --weights: refused before the folder is made
    folder.mkdir(parents=True, exist_ok=True)
    gallery_path, sheet_path = folder / "gallery.db", folder / "enrolled.jpg"
    split = 80
    print(f"1. tracking everyone in frames 0-{split - 1} of {WALK_VIDEO.name} and computing gait vectors ...", file=out)
    first = PipelineOptions(**{**options.__dict__, "frames": (0, split)})
    sampler = CropSampler()
    enrolment = analyse(str(WALK_VIDEO), walkers_for(options, encoder), first, on_frame=sampler.add)
    enrolled = []
    with Gallery.open(gallery_path) as gallery:
        for state in sorted(enrolment.walkers.states.values(), key=lambda s: s.track_id):
            if state.vectors:
                name = f"person-{state.track_id}"
                gallery.enroll(name, state.embeddings(encoder.model, enrolment.window.size), source=str(WALK_VIDEO))
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
        _check_ready(gallery, encoder.model, options.footage_null)
        result = analyse(str(WALK_VIDEO), walkers_for(options, encoder, gallery), rest, out=str(video))
    write_json(walk_run_json(result), js)
    with atomic_path(legend) as tmp:
        tmp.write_text("\n".join(LABEL_LEGEND) + "\n")
    for line in _summary_lines(result):
        print("   " + line, file=out)
    print("   a score is 1 - the share of strangers who score as high; a name is given from 0.99 (1 in 100)", file=out)
    print(f"4. wrote {video} (boxes, skeletons, names and scores: {legend.name} says what the labels mean), {js}", file=out)
    print(f"   and the gallery {gallery_path}", file=out)
    return 0


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
    frames: tuple[int, int | None] = (0, None),
    max_fps: float | None = None,
) -> int:
    """`gaitid track`: track everyone in a file (or its `frames` [first, end)) or a live source, every
    frame or at most `max_fps` a second (as `gaitid enroll --max-fps`, whose track numbers are then these).
    Returns the exit status.

    A live source runs until Ctrl-C; then, as at the end of a file, the annotated video is closed and the
    JSON written with everything so far.
    """
    check_threads(detect_interval, threads)
    check_source(source_spec)
    check_outputs(source_spec, out, json_path)
    collector = TrackCollector()

    def make_estimator() -> PoseEstimator:
        return estimator or default_estimator(model, detect_interval, threads)

    run, live = run_source(
        source_spec, make_estimator, lambda frame, people: collector.add(people), frames=frames,
        live=live_options, out=out, draw=lambda frame, people: draw_tracks(frame.image, people), progress=progress,
        max_fps=max_fps,
    )
    # A file that breaks off leaves no output (a partial result is not the video's); a live source that
    # fails keeps what was tracked up to then.
    keep = run.error is None or (live and run.frames > 0)
    if run.frames == 0 and frames != (0, None) and run.error is None and not run.interrupted:
        raise InputError(f"{source_spec}: no frame in --frames {frames[0]}:{'' if frames[1] is None else frames[1]}")
    if json_path is not None and keep:
        write_json({"max_fps": max_fps, **tracks_to_json(collector.tracks())}, json_path)
    tracks = counted(len(collector), "track")
    if run.error is not None:
        _failed_partway(source_spec, run, f"{tracks} written up to there" if keep else "")
    note = " (interrupted)" if run.interrupted else ""
    summary = f"{source_spec}: {run.text()}, {tracks}{note}"
    print(summary, file=sys.stderr)
    if run.interrupted and not live:
        return 130
    return 0
