"""Score skeleton checkpoints on a validation split of the Kinect training people, for design choices that
must not look at the test people (101-164).

The protocol of `gaitid evaluate kinect` (views 0/45/90, walks 1-2 gallery, the rest probes), run on
people held out of the training run (default 081-100, which the `configs/skeleton/val_*.yaml` runs never
see). One JSON line per checkpoint is appended to --out.

    GAITID_DATA=../shared/data PYTHONPATH=src python experiments/kinect_validation.py \\
        /work/runs-skel/val_tcn/last.pt /work/runs-skel/val_lift/last.pt \\
        --out experiments/results/kinect_validation.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gaitid.evaluation.kinect import evaluate_kinect, format_kinect_report, make_skeleton_embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--people", default="81-100", help="held-out training people, FIRST-LAST")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="append one JSON line per checkpoint here")
    args = parser.parse_args()
    first, last = (int(p) for p in args.people.split("-"))
    for checkpoint in args.checkpoints:
        embed, spec, name = make_skeleton_embedder(checkpoint, threads=args.threads)
        result = evaluate_kinect(embed, spec, name, people=tuple(range(first, last + 1)), validation=True)
        result["checkpoint"] = str(checkpoint)
        print(format_kinect_report(result), flush=True)
        if args.out:
            with Path(args.out).open("a") as f:
                f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
