import numpy as np
import pytest

from gaitid.evaluation.detection import DetectionCounts, match_detections

LABELLED = np.array([[0, 0, 10, 20], [30, 0, 40, 20]])


@pytest.mark.parametrize(
    "detected, ignored, expected",
    [
        ([[0, 0, 10, 20], [30, 0, 40, 20]], None, (2, 0, 0)),
        ([[0, 0, 10, 20]], None, (1, 1, 0)),
        ([[0, 0, 10, 20], [1, 0, 11, 20]], None, (1, 1, 1)),  # a duplicate is a false positive
        ([[100, 100, 110, 120]], None, (0, 2, 1)),
        ([[100, 100, 110, 120]], [[100, 100, 110, 120]], (0, 2, 0)),  # on a partly hidden person
        ([[0, 0, 10, 9]], None, (0, 2, 1)),  # IoU 0.45 is not a match
    ],
)
def test_match_detections(detected, ignored, expected):
    counts = match_detections(np.array(detected), LABELLED, None if ignored is None else np.array(ignored))
    assert (counts.true_positives, counts.false_negatives, counts.false_positives) == expected


def test_counts_add_up_to_recall_and_precision():
    total = DetectionCounts(3, 1, 0) + DetectionCounts(1, 0, 4)
    assert total.recall == pytest.approx(0.8) and total.precision == pytest.approx(0.5)
    assert DetectionCounts().recall == 1.0
