"""Person-detection recall and false positives on hand-labelled frames of vtest.avi, and speed.

    python benchmarks/pose_detection.py [--data ../shared/data] [--out benchmarks/results/pose_detection.md]
        [--models lite full] [--no-detectors]      # only some of HumanPoseNN's rows

Compares the detectors alone (CenterNet at several thresholds, BlazePose's own detector) with the whole of
HumanPoseNN (detector + landmark model), on single frames and in tracking mode over the whole video.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from gaitid.evaluation.detection import DetectionCounts, load_labelled_frames, match_detections
from gaitid.pose.detector import BlazePoseDetector, CenterNetDetector
from gaitid.pose.estimator import HumanPoseNN
from gaitid.sources.files import VideoFile
from gaitid.types import Frame

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "vtest_pedestrians.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("GAITID_DATA", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--out", help="also write the markdown table here")
    parser.add_argument("--models", nargs="*", default=["lite", "full"], help="landmark models for HumanPoseNN's rows")
    parser.add_argument("--no-detectors", action="store_true", help="only HumanPoseNN's rows")
    args = parser.parse_args()

    labels = load_labelled_frames(FIXTURE)
    wanted = {f.index for f in labels}
    frames: dict[int, Frame] = {}
    video = Path(args.data) / "media" / "vtest.avi"
    with VideoFile(video) as source:
        all_frames = list(source)
    frames = {f.index: f for f in all_frames if f.index in wanted}

    rows: list[tuple[str, DetectionCounts, float]] = []

    def evaluate(name: str, boxes_for) -> None:  # type: ignore[no-untyped-def]
        total, seconds = DetectionCounts(), 0.0
        for label in labels:
            start = time.perf_counter()
            boxes = boxes_for(frames[label.index])
            seconds += time.perf_counter() - start
            total = total + match_detections(boxes, label.pedestrians, label.partly_hidden)
        rows.append((name, total, 1000 * seconds / len(labels)))

    for threshold in () if args.no_detectors else (0.2, 0.3, 0.4, 0.5):
        detector = CenterNetDetector(score_threshold=threshold)
        evaluate(f"CenterNet detector alone, score >= {threshold}", lambda f: _boxes(detector.detect(f.image)))
    blazepose = BlazePoseDetector()
    if not args.no_detectors:
        evaluate("BlazePose detector alone, score >= 0.5", lambda f: _boxes(blazepose.detect(f.image)))
    for model in args.models:
        estimator = HumanPoseNN(model=model)
        evaluate(f"HumanPoseNN ({model}), each frame on its own", lambda f: _people_boxes(estimator.estimate_image(f)))

    # Tracking mode: the whole video in order, scored on the labelled frames.
    for model in args.models:
        estimator = HumanPoseNN(model=model, close_up=False)
        found: dict[int, np.ndarray] = {}
        start = time.perf_counter()
        for frame in all_frames:
            people = estimator.estimate(frame)
            if frame.index in wanted:
                found[frame.index] = _people_boxes(people)
        per_frame = 1000 * (time.perf_counter() - start) / len(all_frames)
        total = DetectionCounts()
        for label in labels:
            total = total + match_detections(found[label.index], label.pedestrians, label.partly_hidden)
        rows.append((f"HumanPoseNN ({model}), tracking mode over all {len(all_frames)} frames", total, per_frame))

    table = _markdown(rows, len(labels), sum(len(f.pedestrians) for f in labels))
    print(table)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table + "\n")


def _boxes(detections) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([d.box for d in detections]).reshape(-1, 4)


def _people_boxes(frame_people) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([p.box for p in frame_people.people]).reshape(-1, 4)


def _markdown(rows: list[tuple[str, DetectionCounts, float]], frames: int, pedestrians: int) -> str:
    lines = [
        f"Hand-labelled frames: {frames}, pedestrians: {pedestrians} (tests/fixtures/vtest_pedestrians.json); "
        f"a match needs IoU >= 0.5; {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at the end "
        "(times are only comparable at a similar load).",
        "",
        "| method | recall | false positives | precision | ms per frame |",
        "|---|---|---|---|---|",
    ]
    for name, counts, ms in rows:
        lines.append(
            f"| {name} | {counts.recall:.1%} ({counts.true_positives}/{counts.true_positives + counts.false_negatives}) "
            f"| {counts.false_positives} | {counts.precision:.1%} | {ms:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
