"""The `gaitid` command line. Thin: it parses arguments and calls the modules that do the work.

Every command reports problems with the user's input as one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from gaitid import __version__
from gaitid.errors import GaitidError

EXIT_USAGE = 2

Command = Callable[[argparse.Namespace], int]


def _add_pose(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pose", help="estimate 2-D poses of every person in an image or video")
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
    from gaitid.pose.app import run_pose

    return run_pose(args.input, out=args.out, json_path=args.json_path, model=args.model)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a gait model from a YAML or TOML config")
    p.add_argument("config", help="experiment config (.yaml, .yml or .toml): data, model, loss, sampler, ...")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if the out_dir has a checkpoint")
    p.add_argument("--stop-after", type=int, help="stop after this many steps (resume later)")
    p.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from gaitid.training.config import load_config

    cfg = load_config(args.config)
    from gaitid.training.trainer import train

    summary = train(cfg, resume=not args.no_resume, stop_after=args.stop_after)
    print(summary)
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="run a standard gait benchmark protocol (casia-b, kinect) and print its tables"
    )
    p.add_argument(
        "protocol",
        help="the protocol: casia-b (train 001-074, test 075-124) or kinect (skeletons: train Person001-100, "
        "test Person101-164, views 0/45/90)",
    )
    p.add_argument("--weights", help="shipped model name, .onnx file or training checkpoint .pt (default: shipped)")
    p.add_argument("--json", dest="json_path", help="also write the full result as JSON to this path")
    p.add_argument("--max-frames", type=int, help="embed only the central N consecutive frames of each sequence")
    p.add_argument("--subjects", help="a subset of the test subjects, e.g. 075-084 (quick checks)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for the network (default 1)")
    p.add_argument(
        "--noise", type=int, metavar="SEED",
        help="kinect: add 2-D pose-estimator noise with this seed (a robustness check, not the protocol)",
    )
    p.add_argument(
        "--baseline", action="store_true", help="kinect: also print the 3-D bone-length nearest-neighbour baseline"
    )
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    import json

    from gaitid.evaluation.crossview import evaluate_cross_view, format_report, make_embedder
    from gaitid.evaluation.protocols import PROTOCOLS

    if args.protocol == "kinect":
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
    embed, name = make_embedder(args.weights, threads=args.threads)
    result = evaluate_cross_view(
        PROTOCOLS[args.protocol], embed, name, subjects=subjects, max_frames=args.max_frames
    )
    print(format_report(result))
    if args.json_path:
        with open(args.json_path, "w") as f:
            json.dump(result, f, indent=1)
    return 0


def _run_evaluate_kinect(args: argparse.Namespace) -> int:
    import json

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
        from gaitid.training.kinect import check_people

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
        with open(args.json_path, "w") as f:
            json.dump(result, f, indent=1)
    return 0


def _add_train_skeleton(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-skeleton", help="train a skeleton gait model on the Kinect walks from a config")
    p.add_argument("config", help="config (.yaml, .yml or .toml) with SkeletonTrainConfig keys")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if the out_dir has a checkpoint")
    p.add_argument("--stop-after", type=int, help="stop after this many steps (resume later)")
    p.set_defaults(run=_run_train_skeleton)


def _run_train_skeleton(args: argparse.Namespace) -> int:
    from gaitid.training.skeleton import load_train_config, train_skeleton

    print(train_skeleton(load_train_config(args.config), resume=not args.no_resume, stop_after=args.stop_after))
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a training checkpoint to ONNX for inference without torch")
    p.add_argument("checkpoint", help="a checkpoint .pt written by gaitid train")
    p.add_argument("out", help="the .onnx file to write")
    p.add_argument("--version", default="1", help="model version recorded in the file and in every embedding")
    p.add_argument("--notes", default="", help="a short note stored in the file (how it was trained)")
    p.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    if not str(args.out).endswith(".onnx"):
        raise GaitidError(f"output must be an .onnx file, got {args.out}")
    from gaitid.training.skeleton import export_skeleton_onnx, is_skeleton_checkpoint

    if is_skeleton_checkpoint(args.checkpoint):
        print(export_skeleton_onnx(args.checkpoint, args.out, version=args.version, notes=args.notes))
        return 0
    from gaitid.gait.export import export_onnx

    print(export_onnx(args.checkpoint, args.out, version=args.version, notes=args.notes))
    return 0


_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_pose,
    _add_train,
    _add_train_skeleton,
    _add_evaluate,
    _add_export,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gaitid", description="Identify people in video by the way they walk.")
    parser.add_argument("--version", action="version", version=f"gaitid {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except GaitidError as error:
        print(f"gaitid: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gaitid: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
