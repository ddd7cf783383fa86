"""The person detector: CenterNet's graph ends at its heads and the boxes are decoded here; the detections
must stay those of the whole converted graph, which decoded them inside itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitid.pose.detector import CenterNetDetector, centernet_peaks
from gaitid.samples import WALK_VIDEO
from gaitid.sources.files import VideoFile

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "centernet_detections.json"


def test_peaks_are_local_maxima_above_the_threshold_with_their_boxes() -> None:
    heat = np.zeros((8, 10), np.float32)
    heat[2, 3], heat[2, 4] = 0.9, 0.8  # a peak and its weaker neighbour: one box
    heat[6, 8] = 0.5
    heat[5, 1] = 0.2  # below the threshold
    sides = np.zeros((8, 10, 4), np.float32)
    sides[2, 3] = (4, 8, 12, 16)
    sides[6, 8] = (1, 2, 3, 4)
    boxes, scores = centernet_peaks(heat, sides, threshold=0.25)
    np.testing.assert_allclose(scores, [0.9, 0.5])
    np.testing.assert_allclose(boxes, [[12 - 4, 8 - 8, 12 + 12, 8 + 16], [32 - 1, 24 - 2, 32 + 3, 24 + 4]])
    assert len(centernet_peaks(heat, sides, threshold=0.25, top=1)[0]) == 1


def _check(detector: CenterNetDetector, recorded: list[dict], path: Path) -> int:
    frames = {item["frame"]: item for item in recorded}
    checked = 0
    with VideoFile(path) as video:
        for frame in video:
            if frame.index not in frames:
                continue
            want = frames[frame.index]
            found = detector.detect(frame.image)
            assert len(found) == len(want["boxes"]), frame.index
            for detection, box, score in zip(found, want["boxes"], want["scores"]):
                np.testing.assert_allclose(detection.box, box, atol=2e-3)
                assert detection.score == pytest.approx(score, abs=2e-5)
            checked += len(found)
    return checked


def test_the_detections_of_the_whole_graph_on_the_sample_clip() -> None:
    recorded = json.loads(RECORDED.read_text())
    assert _check(CenterNetDetector(), recorded["walk.mp4"], WALK_VIDEO) == 12


def test_the_detections_of_the_whole_graph_on_vtest(media_dir: Path) -> None:
    recorded = json.loads(RECORDED.read_text())
    assert _check(CenterNetDetector(), recorded["vtest.avi"], media_dir / "vtest.avi") == 178
