"""The `gaitid` command line. Thin: it parses arguments and calls the modules that do the work.

Every command reports problems with the user's input as one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from gaitid import __version__, stopping
from gaitid.errors import GaitidError

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # as the shell reports a process ended by SIGPIPE

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error, with where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"gaitid: error: {printable(message)} (see {self.prog} --help)\n")


def _add_pose(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pose",
        help="estimate 2-D poses of every person in an image or video",
        description="Find every person in an image or a video and estimate their 33 BlazePose keypoints; "
        "write them as JSON and draw them on a copy of the input. Outputs are written only when the whole "
        "input was read.",
    )
    p.add_argument("input", help="an image (PNG, JPEG, ...) or a video file")
    p.add_argument("--out", help="write the input annotated with boxes and skeletons (image, or MP4 for video)")
    p.add_argument("--json", dest="json_path", help="write poses as JSON to this path, or - for stdout")
    p.add_argument(
        "--model",
        choices=["lite", "full", "heavy"],
        help="landmark model (default: heavy for images, full for video; lite is fastest)",
    )
    p.set_defaults(run=_run_pose)


def _run_pose(args: argparse.Namespace) -> int:
    from gaitid.commands.pose import run_pose

    return run_pose(args.input, out=args.out, json_path=args.json_path, model=args.model)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a gait model (silhouette or skeleton) from a YAML or TOML config",
        description="Train a gait model as the config says: a silhouette model on CASIA-B or a skeleton model "
        "on the Kinect walks, writing checkpoints (last.pt, stepNNNNNN.pt) and log.jsonl to its out_dir; a "
        "run that stops resumes from last.pt. gaitid export turns the result into the ONNX model that "
        "identification uses.",
    )
    p.add_argument("config", help="experiment config (.yaml, .yml or .toml): data, model, loss, sampler, ...")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if the out_dir has a checkpoint")
    p.add_argument("--stop-after", type=int, help="stop after this many steps (resume later)")
    p.add_argument("--out-dir", help="write the run here instead of the config's trainer.out_dir")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config setting, the value read as YAML (repeatable): --set data.subjects=001-060 "
        "--set sampler.p=4 --set seed=1",
    )
    p.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from gaitid.training.config import load_config, parse_overrides

    overrides = parse_overrides(args.overrides)
    if args.out_dir:
        _check_out_dir(args.out_dir)
        overrides["trainer.out_dir"] = args.out_dir
    cfg = load_config(args.config, overrides)
    from gaitid.training.trainer import train

    print(train(cfg, resume=not args.no_resume, stop_after=args.stop_after))
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="run a standard gait benchmark protocol (casia-b, kinect) and print its tables",
        description="Score a gait model on a standard cross-view protocol (CASIA-B or the Kinect walks) and "
        "print the rank-1 tables; the data sets are read from the shared data folder.",
    )
    p.add_argument(
        "protocol",
        help="the protocol: casia-b (train 001-074, test 075-124), casia-b-val (the same on the validation "
        "subjects 001-012, for choosing between models trained on 013-074), casia-b-val-1 (the same with one "
        "gallery walk a view, nm-01: further from its ceiling), casia-b-val24 (the validation subjects 001-024, "
        "for models trained on 025-074) or kinect (skeletons: train "
        "Person001-100, test Person101-164, views 0/45/90)",
    )
    p.add_argument("--weights", help="shipped model name, .onnx file or training checkpoint .pt (default: shipped)")
    p.add_argument("--json", dest="json_path", help="also write the full result as JSON to this path")
    p.add_argument("--max-frames", type=int, help="embed only the central N consecutive frames of each sequence")
    p.add_argument("--subjects", help="a subset of the protocol's subjects, e.g. 075-084 (quick checks)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for the network (default 1)")
    p.add_argument(
        "--device", choices=["cpu", "cuda", "auto"], default="cpu",
        help="where a training checkpoint (.pt) runs: cpu (default), cuda, or auto (a GPU when torch sees one)",
    )
    p.add_argument(
        "--noise", type=int, metavar="SEED",
        help="kinect: add 2-D pose-estimator noise with this seed (a robustness check, not the protocol)",
    )
    p.add_argument(
        "--baseline", action="store_true", help="kinect: also print the 3-D bone-length nearest-neighbour baseline"
    )
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from gaitid.evaluation.crossview import (
        evaluate_cross_view,
        format_report,
        make_embedder,
        refuse_seen_subjects,
    )
    from gaitid.evaluation.protocols import PROTOCOLS

    _check_evaluate_options(args)
    if args.protocol == "kinect":
        if args.device != "cpu":
            raise GaitidError("--device applies to the casia-b protocols; kinect runs on the CPU")
        return _run_evaluate_kinect(args)
    if args.noise is not None:
        raise GaitidError("--noise applies to the kinect protocol only")
    if args.protocol not in PROTOCOLS:
        raise GaitidError(f"unknown protocol {args.protocol!r}; known: {', '.join(sorted(PROTOCOLS))}")
    if args.max_frames is not None and args.max_frames < 1:
        raise GaitidError("--max-frames must be at least 1")
    subjects = None
    if args.subjects:
        from gaitid.training.config import parse_subjects

        subjects = tuple(parse_subjects(args.subjects))
    protocol = PROTOCOLS[args.protocol]
    refuse_seen_subjects(args.weights, [s for s in subjects or protocol.subjects if s in protocol.subjects])
    embed, name = make_embedder(args.weights, threads=args.threads, device=args.device)
    result = evaluate_cross_view(
        protocol, embed, name, subjects=subjects, max_frames=args.max_frames
    )
    print(format_report(result))
    if args.json_path:
        _write_report(result, args.json_path)
    return 0


def _write_report(result: dict[str, Any], path: str) -> None:
    import json

    from gaitid.outputs import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(result, f, indent=1)


def _check_evaluate_options(args: argparse.Namespace) -> None:
    from gaitid.outputs import check_output
    from gaitid.pipeline import MAX_THREADS

    if args.json_path:
        check_output(args.json_path, suffixes=(".json",))
    if not 1 <= args.threads <= MAX_THREADS:
        raise GaitidError(f"--threads must be between 1 and {MAX_THREADS}, got {args.threads}")
    if args.noise is not None and args.noise < 0:
        raise GaitidError(f"--noise is a seed: 0 or more, got {args.noise}")


def _run_evaluate_kinect(args: argparse.Namespace) -> int:
    from gaitid.evaluation.kinect import (
        bone_length_loo,
        bone_length_protocol,
        evaluate_kinect,
        format_kinect_report,
        make_skeleton_embedder,
    )

    if args.max_frames is not None:
        raise GaitidError("--max-frames is not used by the kinect protocol (whole walks are embedded)")
    people = None
    if args.subjects:
        from gaitid.training.config import parse_subjects
        from gaitid.datasets.kinect import check_people

        people = tuple(check_people(parse_subjects(args.subjects), "test"))
    embed, spec, name = make_skeleton_embedder(args.weights, threads=args.threads)
    result = evaluate_kinect(embed, spec, name, people=people, noise_seed=args.noise)
    print(format_kinect_report(result))
    if args.baseline:
        result["bone_length_loo"] = bone_length_loo()
        result["bone_length_protocol"] = bone_length_protocol()
        print(
            f"baseline, nearest neighbour on 3-D bone lengths: {result['bone_length_protocol']['rank1']:.2f} "
            f"(this protocol, any view), {result['bone_length_loo']['rank1']:.2f} (leave-one-out, all 164 people; "
            f"{result['bone_length_loo']['rank1_raw']:.2f} on unstandardised lengths)"
        )
    if args.json_path:
        _write_report(result, args.json_path)
    return 0


def _check_out_dir(path: str) -> None:
    from gaitid.outputs import check_folder

    if Path(path).exists() and not Path(path).is_dir():
        raise GaitidError(f"{path}: not a folder")
    check_folder(path)


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a training checkpoint to ONNX for inference without torch",
        description="Write the embedding part of a training checkpoint as an ONNX model with gaitid's "
        "metadata, usable with --weights. Several skeleton checkpoints make one ensemble; so do several "
        "silhouette models, checkpoints or models already exported (.onnx).",
    )
    p.add_argument(
        "checkpoint",
        nargs="+",
        help="a checkpoint .pt written by gaitid train; several skeleton checkpoints, or several silhouette "
        "checkpoints or exported .onnx models, make one ensemble model",
    )
    p.add_argument("out", help="the .onnx file to write")
    p.add_argument("--version", help="model version recorded in the file and in every embedding (default 1; with "
                   "--int8, the float model's with -int8 appended)")
    p.add_argument("--notes", default="", help="a short note stored in the file (how it was trained)")
    p.add_argument(
        "--member-weights",
        type=_weights,
        metavar="W1,W2,...",
        help="a silhouette ensemble's relative member weights, one per member, in order: each member's share of "
        "the squared distance (default: equal)",
    )
    p.add_argument(
        "--int8",
        action="store_true",
        help="a silhouette model's convolutions in int8 (about twice as fast on a CPU), calibrated on "
        "silhouettes of the model's own recorded CASIA-B training subjects; one exported .onnx model may be given",
    )
    p.set_defaults(run=_run_export)


def _weights(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _run_export(args: argparse.Namespace) -> int:
    from gaitid.outputs import atomic_path, check_output

    if not str(args.out).endswith(".onnx"):
        raise GaitidError(f"output must be an .onnx file, got {args.out}")
    for checkpoint in args.checkpoint:
        if not Path(checkpoint).is_file():
            raise GaitidError(f"checkpoint not found: {checkpoint}")
        if str(checkpoint).endswith(".onnx") and len(args.checkpoint) == 1 and not args.int8:
            raise GaitidError(f"{checkpoint} is exported already: an .onnx model is taken only as an ensemble's member "
                              "(or with --int8)")
    check_output(args.out, args.checkpoint)
    with atomic_path(args.out) as tmp:  # a failed export leaves no half-made model
        if args.int8:
            _export_int8(args, tmp)
        else:
            _export_float(args, tmp)
    print(args.out)
    return 0


def _export_float(args: argparse.Namespace, out: Path) -> Path:
    from gaitid.training.export import export_checkpoints

    return export_checkpoints(args.checkpoint, out, version=args.version or "1", notes=args.notes,
                              weights=args.member_weights)


def _export_int8(args: argparse.Namespace, out: Path) -> None:
    import tempfile

    from gaitid.training.quantize import quantize_model

    single = len(args.checkpoint) == 1 and str(args.checkpoint[0]).endswith(".onnx")
    if single and (args.notes or args.member_weights):
        raise GaitidError("--notes and --member-weights apply to an export, not to --int8 of one exported model")
    with tempfile.TemporaryDirectory(prefix="gaitid-export-") as tmp:
        model = Path(args.checkpoint[0]) if single else _export_float(args, Path(tmp) / "float.onnx")
        quantize_model(model, out, version=args.version)  # a new version: int8 vectors are not the float ones


def _add_track(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "track",
        help="follow every person through a video file or a live source",
        description="Track every person in a video file, a webcam (an index such as 0) or an IP camera "
        "(rtsp://, http(s):// MJPEG or HLS). A live source runs until Ctrl-C, which ends it cleanly.",
    )
    p.add_argument("input", help="a video file, a camera index (0) or a stream URL")
    p.add_argument("--out", help="write the video annotated with boxes and track identities (.mp4)")
    p.add_argument("--json", dest="json_path", help="write the tracks as JSON to this path, or - for stdout")
    p.add_argument("--model", choices=["lite", "full", "heavy"], default="full", help="landmark model")
    p.add_argument(
        "--detect-every",
        type=int,
        default=4,
        metavar="N",
        help="run the person detector on every N-th frame, and no more often than every 0.3 s while the "
        "scene is settled (default 4; larger is faster, finds newcomers later)",
    )
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="inference threads per model (default: the cores, at most 4; 1 uses the CPU best on a busy machine)",
    )
    p.add_argument("--open-timeout", type=float, default=5.0, metavar="S", help="seconds to open a live source (default 5)")
    p.add_argument(
        "--give-up-after",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds without frames, while reconnecting, before a live source is given up (default 30)",
    )
    p.add_argument("--frames", metavar="FIRST:END", help="only these frames of a video file, e.g. 0:300 (as enroll)")
    _max_fps_argument(p)  # enroll's rate, for its track numbers
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.set_defaults(run=_run_track)


def _run_track(args: argparse.Namespace) -> int:
    from gaitid.errors import InputError
    from gaitid.commands.identify import run_track
    from gaitid.pipeline import parse_frame_range
    from gaitid.sources import LiveOptions

    try:
        options = LiveOptions(open_timeout=args.open_timeout, give_up_after=args.give_up_after)
    except ValueError as error:
        raise InputError(str(error)) from None
    return run_track(
        args.input,
        out=args.out,
        json_path=args.json_path,
        model=args.model,
        detect_interval=args.detect_every,
        threads=args.threads,
        live_options=options,
        frames=parse_frame_range(args.frames),
        progress=not args.no_progress,
        max_fps=_max_fps(args),
    )


def _gallery_arguments() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--gallery",
        metavar="PATH",
        help="the gallery file (default: $GAITID_GALLERY, else $XDG_DATA_HOME/gaitid/gallery.db)",
    )
    common.add_argument(
        "--key-file",
        metavar="PATH",
        help="file holding the encryption key (default: $GAITID_GALLERY_KEY_FILE, else $GAITID_GALLERY_KEY)",
    )
    return common


def _pipeline_arguments(files_only: bool = True) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", choices=["lite", "full", "heavy"], default="full", help="pose landmark model")
    common.add_argument(
        "--detect-every",
        type=int,
        default=4,
        metavar="N",
        help="run the person detector on every N-th frame (default 4; no more often than every 0.3 s "
        "while the scene is settled)",
    )
    common.add_argument("--threads", type=int, metavar="N", help="inference threads per pose model")
    common.add_argument("--weights", help="gait model: a shipped model's name or an .onnx file (default: shipped)")
    common.add_argument(
        "--modality", choices=["silhouette", "skeleton", "fused"], default="silhouette",
        help="gait vectors from silhouettes (default: the most accurate on real video), keypoints, or both fused",
    )
    common.add_argument(
        "--window", type=int, default=20, metavar="N",
        help="usable frames per gait window, counted at 15 frames a second (default 20: 1.3 s; the same time span "
        "at any --max-fps)",
    )
    common.add_argument(
        "--stride", type=int, default=10, metavar="N", help="usable frames between windows, counted as --window (default 10)"
    )
    _max_fps_argument(common)
    if files_only:
        common.add_argument("--frames", metavar="FIRST:END", help="use only these frames of a video file, e.g. 0:300")
    common.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    return common


def _max_fps_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-fps", type=float, metavar="F",
        help="analyse at most F frames a second: every n-th frame of a faster source, gait windows keeping their "
        "time span (default 15: every 2nd frame of a 25-30 fps camera; 0: every frame)",
    )


def _max_fps(args: argparse.Namespace) -> float | None:
    """--max-fps as the pipeline takes it: the default rate when not given, None (every frame) for 0."""
    from gaitid.errors import InputError
    from gaitid.pipeline.walkers import WINDOW_RATE

    if args.max_fps is None:
        return WINDOW_RATE
    if not args.max_fps >= 0:
        raise InputError(f"--max-fps must be 0 (every frame) or above, got {args.max_fps}")
    return args.max_fps or None


def _live_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--open-timeout", type=float, default=5.0, metavar="S", help="seconds to open a live source (default 5)")
    parser.add_argument(
        "--give-up-after", type=float, default=30.0, metavar="S",
        help="seconds without frames, while reconnecting, before a live source is given up (default 30)",
    )


def _identification_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--method", choices=["cosine", "svm"], default="cosine", help="classifier over the gallery (default cosine)"
    )
    parser.add_argument(
        "--fpir", type=_rate, default=0.01, metavar="RATE",
        help="target rate of strangers wrongly given a name, whatever the number of people enrolled (estimated "
        "on a cohort of people never enrolled; see gaitid gallery cohort); sets the unknown threshold (default 0.01)",
    )
    parser.add_argument(
        "--footage-null", choices=["on", "off"], default="on",
        help="a walker must also outscore the other walkers of the same video (or in view of the camera) against "
        "the person they would be named as (default on)",
    )


def _pipeline_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from gaitid.errors import InputError
    from gaitid.pipeline import PipelineOptions
    from gaitid.pipeline import parse_frame_range
    from gaitid.pipeline.walkers import WindowSpec
    from gaitid.sources import LiveOptions

    try:
        window = WindowSpec(size=args.window, stride=args.stride)
        live = LiveOptions(open_timeout=args.open_timeout, give_up_after=args.give_up_after) if hasattr(
            args, "open_timeout"
        ) else None
    except ValueError as error:
        raise InputError(str(error)) from None
    return PipelineOptions(
        pose_model=args.model,
        detect_interval=args.detect_every,
        threads=args.threads,
        weights=args.weights,
        modality=args.modality,
        window=window,
        frames=parse_frame_range(getattr(args, "frames", None)),
        live=live,
        progress=not args.no_progress,
        max_fps=_max_fps(args),
        footage_null=getattr(args, "footage_null", "on") == "on",  # enroll has no gallery decision
    )


def _add_identify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "identify",
        parents=[_gallery_arguments(), _pipeline_arguments()],
        help="identify the walkers in a video against the gallery",
        description="Track every walker in a video, compute gait vectors over sliding windows of each track, "
        "and name each walker from the gallery, or report them unknown (or too short to tell).",
    )
    p.add_argument("input", help="a video file, a camera index or a stream URL")
    p.add_argument("--out", help="write the video annotated with boxes, skeletons, names and scores (.mp4)")
    p.add_argument("--json", dest="json_path", help="write the result as JSON to this path, or - for stdout")
    _identification_arguments(p)
    _live_arguments(p)
    p.set_defaults(run=_run_identify)


def _run_identify(args: argparse.Namespace) -> int:
    from gaitid.commands.identify import run_identify

    return run_identify(
        args.input, _pipeline_options(args), gallery_path=args.gallery, key_file=args.key_file,
        method=args.method, target_fpir=args.fpir, out=args.out, json_path=args.json_path,
    )


def _add_enroll(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "enroll",
        parents=[_gallery_arguments(), _pipeline_arguments()],
        help="enrol a person from a video of them walking",
        description="Run the identification pipeline on a video and enrol the walker (or the track chosen with "
        "--track when several people walk) under NAME.",
    )
    p.add_argument("name", help="the person's name")
    p.add_argument("input", help="a video file of the person walking")
    p.add_argument("--track", type=int, metavar="ID", help="the track to enrol when the video has several walkers")
    p.add_argument("--add", action="store_true", help="add these vectors to a person already enrolled")
    p.set_defaults(run=_run_enroll)


def _run_enroll(args: argparse.Namespace) -> int:
    from gaitid.commands.identify import run_enroll

    return run_enroll(
        args.name, args.input, _pipeline_options(args), track=args.track, add=args.add,
        gallery_path=args.gallery, key_file=args.key_file,
    )


def _add_live(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "live",
        parents=[_gallery_arguments(), _pipeline_arguments(files_only=False)],
        help="identify walkers on a webcam or IP camera as they pass",
        description="Identify walkers on a live source in real time, printing an event each time a walker is "
        "identified or leaves. Frames are dropped rather than falling behind. Ctrl-C ends the run.",
    )
    p.add_argument("input", help="a camera index (0), an rtsp:// or http(s):// stream, or a video file")
    p.add_argument("--json", dest="json_lines", action="store_true", help="print events as JSON lines")
    p.add_argument("--out", help="also record the annotated video (.mp4)")
    _identification_arguments(p)
    _live_arguments(p)
    p.set_defaults(run=_run_live)


def _run_live(args: argparse.Namespace) -> int:
    from gaitid.commands.identify import run_live

    return run_live(
        args.input, _pipeline_options(args), gallery_path=args.gallery, key_file=args.key_file,
        method=args.method, target_fpir=args.fpir, json_lines=args.json_lines, out=args.out,
    )


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        parents=[_pipeline_arguments(files_only=False)],
        help="enrol and identify the walkers of the shipped sample clip (a first look, no data needed)",
        description="A first look with no data of your own: everyone who walks in the first 80 frames of the "
        "shipped sample clip is enrolled (as person-TRACK) in a gallery of the demo's own, then the rest of "
        "the clip is identified. OUT_DIR (new or empty) gets the gallery, the annotated video and the JSON.",
    )
    p.add_argument("out_dir", help="a new folder for the demo's gallery, annotated video and JSON")
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from gaitid.commands.identify import run_demo

    return run_demo(args.out_dir, _pipeline_options(args))


def _add_gallery(sub: argparse._SubParsersAction) -> None:
    common = _gallery_arguments()
    p = sub.add_parser(
        "gallery",
        help="list, show, remove, export or import enrolled people",
        description="Look after the gallery of enrolled people: list them, show or remove one, export "
        "everyone to a file or import them from one, read the audit log, and manage the site cohort.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    verbs.add_parser("list", parents=[common], help="everyone enrolled").set_defaults(run=_run_gallery)
    show = verbs.add_parser("show", parents=[common], help="one person and their vectors")
    show.add_argument("name")
    show.set_defaults(run=_run_gallery)
    remove = verbs.add_parser("remove", parents=[common], help="erase a person and their vectors")
    remove.add_argument("name")
    remove.set_defaults(run=_run_gallery)
    export = verbs.add_parser("export", parents=[common], help="write everyone to a file (a new file)")
    export.add_argument("path")
    export.add_argument("--plain", action="store_true", help="do not encrypt the export of an encrypted gallery")
    export.set_defaults(run=_run_gallery)
    import_ = verbs.add_parser("import", parents=[common], help="enrol everyone from an exported file")
    import_.add_argument("path")
    import_.add_argument("--add", action="store_true", help="add vectors to people already enrolled")
    import_.set_defaults(run=_run_gallery)
    audit = verbs.add_parser("audit", parents=[common], help="recent enrolments, removals, identifications")
    audit.add_argument("--limit", type=int, default=50, help="how many entries, the latest (default 50)")
    audit.set_defaults(run=_run_gallery)
    cohort = verbs.add_parser(
        "cohort",
        help="the site's cohort: local walkers who will never be enrolled, against whom scores are normalised",
        description="Scores are normalised against a cohort of people who are never enrolled: the one shipped "
        "with the model (CASIA-B training subjects), plus, optionally, walkers of your own footage. Add footage "
        "of local people who will NOT be enrolled (same cameras, same conditions): the threshold for unknown "
        "then reflects how strangers look on your cameras.",
    )
    cohort_verbs = cohort.add_subparsers(dest="cohort_verb", metavar="ACTION", required=True)
    add = cohort_verbs.add_parser(
        "add", parents=[common, _pipeline_arguments()], help="add every walker of a video to the cohort"
    )
    add.add_argument("video", help="a video of people who will not be enrolled")
    add.add_argument("--track", type=int, action="append", metavar="ID", help="only this track (repeatable)")
    add.set_defaults(run=_run_gallery_cohort)
    cohort_verbs.add_parser("show", parents=[common], help="how many site-cohort walkers and vectors").set_defaults(
        run=_run_gallery_cohort
    )
    cohort_verbs.add_parser("clear", parents=[common], help="erase the site cohort").set_defaults(
        run=_run_gallery_cohort
    )


def _run_gallery(args: argparse.Namespace) -> int:
    from gaitid.commands import gallery as app

    where = (args.gallery, args.key_file)
    if args.verb == "list":
        return app.run_list(*where)
    if args.verb == "show":
        return app.run_show(*where, args.name)
    if args.verb == "remove":
        return app.run_remove(*where, args.name)
    if args.verb == "export":
        _check_export_target(args.path)
        return app.run_export(*where, args.path, args.plain)
    if args.verb == "import":
        return app.run_import(*where, args.path, args.add)
    if args.limit < 1:
        raise GaitidError(f"--limit must be at least 1, got {args.limit}")
    return app.run_audit(*where, min(args.limit, 2**62))  # more than there can be: all of them


def _check_export_target(path: str) -> None:
    from gaitid.outputs import check_output

    if Path(path).exists() and Path(path).is_file():
        raise GaitidError(f"{path} already exists; export to a new file")
    check_output(path)


def _run_gallery_cohort(args: argparse.Namespace) -> int:
    from gaitid.commands import gallery as app

    if args.cohort_verb == "add":
        from gaitid.commands.identify import run_cohort_add

        return run_cohort_add(
            args.video, _pipeline_options(args), tracks=args.track, gallery_path=args.gallery, key_file=args.key_file
        )
    if args.cohort_verb == "show":
        return app.run_cohort_show(args.gallery, args.key_file)
    return app.run_cohort_clear(args.gallery, args.key_file)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        parents=[_gallery_arguments()],
        help="run the HTTP API and web page: enrol, identify, watch live sources and search an archive from a browser",
        description="Serve the HTTP API (OpenAPI at /api/openapi.json) and the web page. Every API request needs "
        "the token (created on first start, mode 0600, next to the default gallery; or $GAITID_TOKEN, or "
        "--token-file). Binds to 127.0.0.1 unless --host says otherwise.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--token-file", metavar="PATH", help="read the token from this file (owner-only permissions)")
    p.add_argument("--work-dir", metavar="PATH", help="keep uploads and annotated videos here (default: a temporary folder)")
    p.add_argument(
        "--modality", choices=["silhouette", "skeleton", "fused"], default="silhouette",
        help="gait vectors from silhouettes (default), keypoints, or both fused (as gaitid identify --modality)",
    )
    p.add_argument(
        "--max-upload-mb", type=_finite, default=500.0, metavar="MB",
        help="largest upload accepted (default 500)",
    )
    p.add_argument(
        "--allow-file-sources", action="store_true", help="let a live source be a video file on this machine (demos, tests)"
    )
    p.add_argument(
        "--allow-source-hosts",
        metavar="HOST[,HOST...]",
        default="",
        help="the only hosts live sources may connect to: names, addresses or networks (192.168.1.0/24); by default "
        "any host but loopback, link-local and other local addresses",
    )
    p.add_argument("--index", metavar="PATH", help="an archive index (gaitid index) to search from the API and the page")
    p.add_argument(
        "--archive", metavar="DIR", action="append", default=[],
        help="a folder the index's videos may be played from (again for more); results outside them show no video",
    )
    _max_fps_argument(p)
    _identification_arguments(p)
    p.set_defaults(run=_run_serve)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


_finite.__name__ = "finite number"  # what argparse calls the value it could not read


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:  # NaN too
        raise ValueError(text)
    return value


_rate.__name__ = "rate (a number from 0 to 1)"


def _run_serve(args: argparse.Namespace) -> int:
    from gaitid.pipeline import PipelineOptions
    from gaitid.server import serve

    return serve(
        args.host, args.port, token_file=args.token_file, gallery=args.gallery, key_file=args.key_file,
        method=args.method, target_fpir=args.fpir, work_dir=args.work_dir, max_upload_mb=args.max_upload_mb,
        allow_file_sources=args.allow_file_sources,
        allow_source_hosts=tuple(h.strip() for h in args.allow_source_hosts.split(",") if h.strip()),
        pipeline=PipelineOptions(progress=False, modality=args.modality, max_fps=_max_fps(args),
                                 footage_null=args.footage_null == "on"),
        index=args.index, archive=tuple(args.archive),
    )


def _add_index(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "index",
        parents=[_pipeline_arguments(files_only=False)],
        help="index an archive of videos: every walker tracked and embedded once, for gaitid search",
        description="Track every walker of every video and store, per track, its camera, times, a thumbnail "
        "and its gait vectors in an index folder (Parquet files and a vector index). A rerun skips the videos "
        "already indexed; a video that fails is recorded with its error and the others go on.",
    )
    p.add_argument("inputs", nargs="+", metavar="VIDEO|DIR", help="video files, and folders searched for videos")
    p.add_argument("--index", required=True, metavar="PATH", help="the index folder (created if missing)")
    p.add_argument(
        "--manifest", metavar="CSV",
        help="camera and start time of each video: a CSV with columns video, camera, start_time (ISO 8601); "
        "without it, a video's camera is its folder's name",
    )
    p.add_argument("--workers", type=int, metavar="N", help="videos indexed at once, one process each (default: the cores)")
    p.add_argument(
        "--ray", metavar="auto|ADDRESS",
        help="run one task per video on a Ray cluster (auto: the running one) instead of local processes; "
        "needs pip install 'gaitid[cluster]'",
    )
    p.add_argument("--retry-failed", action="store_true", help="index again the videos that failed before")
    p.set_defaults(run=_run_index)


def _run_index(args: argparse.Namespace) -> int:
    from gaitid.commands.archive import run_index

    return run_index(
        args.inputs, args.index, _index_options(args), manifest=args.manifest, workers=args.workers,
        ray=args.ray, retry_failed=args.retry_failed,
    )


def _index_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The pipeline options of `gaitid index`: an index keeps one analysis rate, so without --max-fps an
    existing index goes on at the rate it was made at."""
    from gaitid.batch import IndexFolder

    options = _pipeline_options(args)
    folder = IndexFolder(args.index)
    if args.max_fps is None and folder.exists():
        options = dataclasses.replace(options, max_fps=folder.settings().extra.get("max_fps"))
    return options


def _add_search(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        parents=[_gallery_arguments()],
        help="where else does this walker appear? search an index made by gaitid index",
        description="Rank the tracks of an index where a person of the gallery, a walker of a video or a vector "
        "walks, with calibrated scores: a track is listed when the estimated rate of strangers scoring as "
        "high is at most --fpir, so the end of the list means no more appearances.",
    )
    p.add_argument("--index", required=True, metavar="PATH", help="the index folder made by gaitid index")
    p.add_argument("--person", metavar="NAME", help="a person enrolled in the gallery")
    p.add_argument(
        "--video", metavar="FILE",
        help="search for a walker of this video: an indexed one, or a new clip (run through the pipeline here)",
    )
    p.add_argument(
        "--track", type=int, metavar="ID",
        help="the walker's track in --video (gaitid search and gaitid track list them; default: its only walker)",
    )
    p.add_argument("--vector", metavar="FILE", help="a .npy file of one (d,) or several (n, d) vectors of one walker")
    p.add_argument("--top", type=int, default=20, metavar="N", help="appearances to show (default 20)")
    p.add_argument(
        "--fpir", type=_rate, default=0.01, metavar="RATE",
        help="list a track when at most this rate of strangers would score as high (default 0.01)",
    )
    p.add_argument("--json", dest="json_path", metavar="PATH", help="write the appearances as JSON (- for stdout)")
    p.add_argument("--html", dest="html_path", metavar="PATH", help="write a grid of the appearances' thumbnails")
    p.set_defaults(run=_run_search)


def _run_search(args: argparse.Namespace) -> int:
    from gaitid.commands.archive import run_search

    return run_search(
        args.index, person=args.person, video=args.video, track=args.track, vector=args.vector, top=args.top,
        target_fpir=args.fpir, json_path=args.json_path, html_path=args.html_path, gallery_path=args.gallery,
        key_file=args.key_file,
    )


_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_pose,
    _add_track,
    _add_identify,
    _add_enroll,
    _add_live,
    _add_demo,
    _add_gallery,
    _add_train,
    _add_evaluate,
    _add_export,
    _add_serve,
    _add_index,
    _add_search,
]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gaitid", description="Identify people in video by the way they walk.")
    parser.add_argument("--version", action="version", version=f"gaitid {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """A command without a description of its own is described by its one-line help in --help."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, command in action.choices.items():
                if not command.description and helps.get(name):
                    command.description = helps[name][0].upper() + helps[name][1:] + "."
                _describe(command)


class Terminated(KeyboardInterrupt):
    """SIGTERM (systemd, `docker stop`, `timeout`), raised where Ctrl-C would be, so that it is handled alike:
    reading stops, and what was tracked or identified so far is written and closed properly."""


def _terminate(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough: let the outputs be written undisturbed
    if not stopping.request():  # a run over frames stops at its next frame; anything else is interrupted
        raise Terminated()


def _interrupt(signum: int, frame: object) -> None:
    if stopping.requested() or not stopping.request():  # a second Ctrl-C does not wait for the next frame
        raise KeyboardInterrupt()


@contextlib.contextmanager
def _signals_stop_runs() -> Iterator[None]:
    """Ctrl-C and SIGTERM stop a run over frames at its next frame (gaitid.stopping), and interrupt anything
    else as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, _terminate)
    if previous[signal.SIGINT] is signal.default_int_handler:  # not where the caller chose to ignore it
        signal.signal(signal.SIGINT, _interrupt)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not hasattr(args, "run"):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        with _signals_stop_runs():
            return int(args.run(args))
    except GaitidError as error:
        print(f"gaitid: error: {printable(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader of our output went away (| head): nothing to say, no one to say it to
        with contextlib.suppress(OSError, ValueError):  # and no complaint when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as error:  # the last line of defence: what could not be read or written, in one line
        print(f"gaitid: error: {printable(_os_error_text(error))}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.Error as error:  # the gallery's database refused (locked by another writer, a full disk)
        print(f"gaitid: error: the gallery database: {printable(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gaitid: interrupted", file=sys.stderr)
        return 130


def printable(text: str) -> str:
    """`text` on one line that a terminal shows as it is: control characters (a newline, an escape
    sequence in a file name) escaped, and the bytes of a name that is not UTF-8 as \\xNN."""
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


def _escaped(char: str) -> str:
    if 0xDC80 <= ord(char) <= 0xDCFF:  # a byte that was not UTF-8, as Python decodes command lines
        return f"\\x{ord(char) - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


def _os_error_text(error: OSError) -> str:
    reason = error.strerror or str(error) or type(error).__name__
    names = [str(n) for n in (error.filename, error.filename2) if n is not None]
    return " ".join(f"{' -> '.join(names)}: {reason}".split()) if names else " ".join(reason.split())


if __name__ == "__main__":
    sys.exit(main())
