"""HumanPoseNN's model calls and their cost on the single-walker video, at every frame and at every 2nd
(what `--max-fps 15` gives a 30 frames/s file): landmark calls, detector calls, ms per call, and wall and
CPU ms per frame analysed. The frames are decoded beforehand, so decoding is not in the figures.

    PYTHONPATH=src python experiments/pose_calls_by_step.py [--steps 1 2 1 2]

Issue 19, fourth pass (benchmarks/RESULTS-pipeline.md): on an AVX2-only machine, 161 landmark calls and 25
detector calls over the 161 frames at every frame, 85 and 21 at every 2nd (the detector runs by time).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from pipeline_speed import single_walker_video  # noqa: E402

from gaitid.pipeline.stream import default_estimator  # noqa: E402
from gaitid.sources import VideoFile  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with VideoFile(single_walker_video(Path(tmp) / "walker.mp4")) as video:
            frames = list(video)
    for step in args.steps:
        estimator = default_estimator()
        calls: collections.Counter = collections.Counter()
        seconds: collections.Counter = collections.Counter()

        def timed(name: str, call, count):  # type: ignore[no-untyped-def]
            def wrapper(*a):  # type: ignore[no-untyped-def]
                start = time.perf_counter()
                result = call(*a)
                seconds[name] += time.perf_counter() - start
                calls[name] += count(*a)
                return result
            return wrapper

        estimator.landmarker.run_many = timed("landmark", estimator.landmarker.run_many, lambda image, rois: len(rois))
        estimator.detector.detect = timed("detector", estimator.detector.detect, lambda image: 1)
        estimator.reset()
        wall, cpu = time.perf_counter(), time.process_time()
        analysed = frames[::step]
        for frame in analysed:
            estimator.estimate(frame)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        per_call = {k: round(1000 * seconds[k] / max(calls[k], 1), 1) for k in calls}
        print(f"every {step}: {len(analysed)} frames analysed, {1000 * wall / len(analysed):.1f} ms wall and "
              f"{1000 * cpu / len(analysed):.1f} ms CPU a frame; calls {dict(calls)}; ms a call {per_call}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
