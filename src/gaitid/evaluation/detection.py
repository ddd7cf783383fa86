"""Detection recall and false positives against hand-labelled boxes (pure functions of boxes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from gaitid.pose.geometry import box_iou


@dataclass(frozen=True)
class DetectionCounts:
    """Totals over a set of frames: labelled pedestrians found and missed, and detections on nobody."""

    true_positives: int = 0
    false_negatives: int = 0
    false_positives: int = 0

    @property
    def recall(self) -> float:
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else 1.0

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    def __add__(self, other: DetectionCounts) -> DetectionCounts:
        return DetectionCounts(
            self.true_positives + other.true_positives,
            self.false_negatives + other.false_negatives,
            self.false_positives + other.false_positives,
        )


def match_detections(
    detected: np.ndarray, labelled: np.ndarray, ignored: np.ndarray | None = None, iou_threshold: float = 0.5
) -> DetectionCounts:
    """Match (n, 4) detected boxes one-to-one to (m, 4) labelled boxes at IoU >= iou_threshold.

    Unmatched detections that overlap an ignored box (a partly hidden person) by the same IoU count as
    neither true nor false.
    """
    detected = np.asarray(detected, np.float64).reshape(-1, 4)
    labelled = np.asarray(labelled, np.float64).reshape(-1, 4)
    matched_detections: set[int] = set()
    true_positives = 0
    if len(detected) and len(labelled):
        iou = box_iou(detected, labelled)
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols):
            if iou[r, c] >= iou_threshold:
                matched_detections.add(int(r))
                true_positives += 1
    unmatched = [i for i in range(len(detected)) if i not in matched_detections]
    if ignored is not None and len(ignored) and unmatched:
        overlap = box_iou(detected[unmatched], np.asarray(ignored, np.float64).reshape(-1, 4)).max(axis=1)
        unmatched = [i for i, o in zip(unmatched, overlap) if o < iou_threshold]
    return DetectionCounts(true_positives, len(labelled) - true_positives, len(unmatched))


@dataclass(frozen=True)
class LabelledFrame:
    index: int
    pedestrians: np.ndarray  # (m, 4)
    partly_hidden: np.ndarray  # (k, 4)


def load_labelled_frames(path: str | Path) -> list[LabelledFrame]:
    """Read a fixture like tests/fixtures/vtest_pedestrians.json."""
    document = json.loads(Path(path).read_text())
    return [
        LabelledFrame(
            index=int(frame["index"]),
            pedestrians=np.asarray(frame["pedestrians"], np.float64).reshape(-1, 4),
            partly_hidden=np.asarray(frame.get("partly_hidden", []), np.float64).reshape(-1, 4),
        )
        for frame in document["frames"]
    ]
