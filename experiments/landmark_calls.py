"""How many landmark-model calls HumanPoseNN makes per frame of a video, and why: for the people it follows,
for the detector's candidates, and for second looks at candidates the first look missed.

    PYTHONPATH=src python experiments/landmark_calls.py ../shared/data/media/vtest.avi 200 400 [--fps 10]

Issue 19, third pass (benchmarks/RESULTS-pipeline.md): 5.89 + 0.56 + 0.38 calls a frame for 5.9 people a
frame on vtest's frames 200-400.
"""

from __future__ import annotations

import argparse
import collections

import cv2

from gaitid.pose.estimator import HumanPoseNN
from gaitid.types import Frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video")
    parser.add_argument("first", type=int)
    parser.add_argument("end", type=int)
    parser.add_argument("--fps", type=float, default=10.0, help="the video's frame rate (for the timestamps)")
    args = parser.parse_args()
    estimator = HumanPoseNN()
    counts: collections.Counter[str] = collections.Counter()
    phase = ["followed"]

    run_many = estimator.landmarker.run_many
    estimator.landmarker.run_many = lambda image, rois: (counts.update({phase[0]: len(rois)}), run_many(image, rois))[1]

    def during(name: str, fn):  # type: ignore[no-untyped-def]
        def wrapped(*a, **k):  # type: ignore[no-untyped-def]
            before, phase[0] = phase[0], name
            try:
                return fn(*a, **k)
            finally:
                phase[0] = before
        return wrapped

    estimator._look_for_newcomers = during("detector candidates", estimator._look_for_newcomers)
    estimator._refine = during("second looks", estimator._refine)
    capture = cv2.VideoCapture(args.video)
    people = frames = index = 0
    while index < args.end:
        ok, image = capture.read()
        if not ok:
            break
        if index >= args.first:
            found = estimator.estimate(Frame(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), index, index / args.fps))
            people += len(found.people)
            frames += 1
        index += 1
    print(f"{frames} frames, {people / frames:.2f} people a frame; landmark calls a frame: "
          + ", ".join(f"{k} {v / frames:.2f}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
