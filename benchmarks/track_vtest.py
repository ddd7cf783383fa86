"""Tracking accuracy on the hand-checked stretch of vtest.avi (tests/fixtures/vtest_tracks.json), and
throughput of the whole `gaitid track` loop on the full video.

    PYTHONPATH=src python benchmarks/track_vtest.py            # accuracy on frames 400-500, and speed
    PYTHONPATH=src python benchmarks/track_vtest.py --no-speed # accuracy only

Detections come from HumanPoseNN (gaitid.pose), tracks from gaitid.tracking.Tracker; scores are CLEAR MOT
and IDF1 at IoU 0.5 (gaitid.tracking.metrics). Results are recorded in benchmarks/RESULTS-tracking.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from gaitid.pipeline import default_estimator, track_frames
from gaitid.sources import VideoFile
from gaitid.tracking import Tracker, TrackerConfig
from gaitid.tracking.metrics import evaluate

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GAITID_DATA", ROOT.parent / "shared" / "data"))
FIXTURE = ROOT / "tests" / "fixtures" / "vtest_tracks.json"


def load_ground_truth(path: Path = FIXTURE) -> tuple[dict, int, int]:
    spec = json.loads(path.read_text())
    frames = {
        int(k): ([r[0] for r in rows], np.array([r[1:] for r in rows], float).reshape(-1, 4))
        for k, rows in spec["frames"].items()
    }
    return frames, spec["first_frame"], spec["last_frame"]


def score_stretch(estimator, config: TrackerConfig | None = None, video: Path | None = None):
    """Run detection and tracking over the labelled stretch and score it. Returns (scores, seconds)."""
    truth, first, last = load_ground_truth()
    video = video or DATA / "media" / "vtest.avi"
    predicted = {}
    estimator.reset()
    with VideoFile(video) as source:
        frames = (f for f in source if first <= f.index <= last)
        start = time.perf_counter()
        for frame, people in track_frames(_until(frames, last), estimator, Tracker(config)):
            tracked = [p for p in people.people if p.track_id is not None]
            predicted[frame.index] = ([p.track_id for p in tracked], np.array([p.box for p in tracked]).reshape(-1, 4))
        seconds = time.perf_counter() - start
    return evaluate(truth, predicted), seconds


def _until(frames, last):
    for frame in frames:
        yield frame
        if frame.index >= last:
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="full")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    estimator = default_estimator(args.model)
    cpu_start = time.process_time()
    scores, seconds = score_stretch(estimator)
    cpu = time.process_time() - cpu_start
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in scores.as_dict().items()}, indent=1))
    print(f"stretch: {scores.num_frames} frames detected and tracked in {seconds:.1f} s (CPU {cpu:.1f} s)")
    if not args.no_speed:
        from gaitid.commands.identify import run_track

        load_before = os.getloadavg()[0]
        start, cpu_start = time.perf_counter(), time.process_time()
        run_track(str(DATA / "media" / "vtest.avi"), json_path=os.devnull, model=args.model, progress=False)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        print(
            f"full video: 795 frames in {seconds:.1f} s = {795 / seconds:.1f} fps ({79.5 / seconds:.2f}x real time); "
            f"CPU {cpu / 795 * 1000:.0f} ms/frame; load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} cores"
        )


if __name__ == "__main__":
    main()
