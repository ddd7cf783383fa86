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
    p.add_argument("--model", choices=["lite", "full", "heavy"], default="full", help="landmark model")
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


_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_pose, _add_train]


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
