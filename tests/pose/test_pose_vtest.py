"""HumanPoseNN's recall on hand-labelled pedestrians of vtest.avi (tests/fixtures/vtest_pedestrians.json).

benchmarks/pose_detection.py measures the same and more (detectors alone, tracking mode); this test holds
the floor: at least 80 % of the labelled pedestrians found.
"""

from pathlib import Path

from gaitid.evaluation.detection import DetectionCounts, load_labelled_frames, match_detections
from gaitid.commands.pose import DEFAULT_VIDEO_MODEL
from gaitid.pose.estimator import HumanPoseNN
from gaitid.sources.files import VideoFile

FIXTURE = Path(__file__).parent.parent / "fixtures" / "vtest_pedestrians.json"


def test_recall_on_labelled_vtest_frames(media_dir):
    labels = {frame.index: frame for frame in load_labelled_frames(FIXTURE)}
    estimator = HumanPoseNN(model=DEFAULT_VIDEO_MODEL)
    total = DetectionCounts()
    with VideoFile(media_dir / "vtest.avi") as video:
        for frame in video:
            label = labels.get(frame.index)
            if label is None:
                continue
            boxes = [p.box for p in estimator.estimate_image(frame).people]
            total = total + match_detections(boxes, label.pedestrians, label.partly_hidden)
            if frame.index == max(labels):
                break
    assert total.true_positives + total.false_negatives == 114
    assert total.recall >= 0.8, f"recall {total.recall:.1%}"
    assert total.false_positives <= 0.25 * total.true_positives, f"{total.false_positives} false positives"
