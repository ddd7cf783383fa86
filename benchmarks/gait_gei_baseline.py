"""A classic, learning-free reference: the gait energy image (mean silhouette) with nearest neighbour,
on the same CASIA-B protocol as the networks.

    PYTHONPATH=src python benchmarks/gait_gei_baseline.py [--max-frames 30] [--json OUT]
"""

from __future__ import annotations

import argparse
import json

from gaitid.evaluation.crossview import evaluate_cross_view, format_report
from gaitid.evaluation.protocols import CASIA_B


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-frames", type=int)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = evaluate_cross_view(
        CASIA_B, lambda frames: frames.mean(axis=0).ravel(), "GEI+NN", max_frames=args.max_frames, progress=False
    )
    print(format_report(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
