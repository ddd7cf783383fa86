"""When HumanPoseNN runs its person detector in video, with stand-ins for both networks."""

from __future__ import annotations

import numpy as np
import pytest

from gaitid.pose.detector import Detection
from gaitid.pose.estimator import HumanPoseNN
from gaitid.pose.geometry import Roi
from gaitid.pose.landmarks import Landmarks
from gaitid.types import Frame

PERSON = Roi(100.0, 100.0, 120.0)


class OnePersonScene:
    """A detector that always boxes one person at PERSON, and a landmark model that sees that person with
    `presence` in every region it is given, until `gone_from` (a frame index) on."""

    def __init__(self, presence: float = 1.0, gone_from: int | None = None) -> None:
        self.presence = presence
        self.gone_from = gone_from
        self.frame_index = 0
        self.detector_frames: list[int] = []

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.detector_frames.append(self.frame_index)
        box = np.array([70.0, 40.0, 130.0, 160.0], np.float32)
        return [Detection(box=box, score=0.9, roi=PERSON)]

    def run_many(self, image: np.ndarray, rois: list[Roi]) -> list[Landmarks]:
        gone = self.gone_from is not None and self.frame_index >= self.gone_from
        return [self._landmarks(0.0 if gone else self.presence) for _ in rois]

    @staticmethod
    def _landmarks(presence: float) -> Landmarks:
        keypoints = np.zeros((33, 3), np.float32)
        keypoints[:, 0] = np.linspace(80, 120, 33)
        keypoints[:, 1] = np.linspace(50, 150, 33)
        keypoints[:, 2] = 1.0
        return Landmarks(
            keypoints=keypoints,
            presence=presence,
            heatmaps=np.zeros((33, 4, 4), np.float32),
            heatmap_to_frame=np.eye(2, 3, dtype=np.float32),
            mask=np.zeros((0, 0), np.float32),
            mask_box=np.zeros(4, np.int32),
            next_roi=PERSON,
        )


def detector_frames(scene: OnePersonScene, fps: float | None, frames: int = 40, **options) -> list[int]:
    """The frames the detector ran on over `frames` frames at `fps` (None: frames without timestamps)."""
    estimator = HumanPoseNN(detector=scene, close_up=False, **options)
    estimator.landmarker = scene  # type: ignore[assignment]
    image = np.zeros((200, 200, 3), np.uint8)
    for index in range(frames):
        scene.frame_index = index
        estimator.estimate(Frame(image, index, index / fps if fps else 0.0))
    return scene.detector_frames


def test_a_settled_scene_is_searched_every_0_3_seconds_at_30_fps() -> None:
    # frame 0 finds the person (a newcomer), frame 4 finds nobody new: from then on, every 9 frames
    assert detector_frames(OnePersonScene(), fps=30) == [0, 4, 13, 22, 31]


def test_at_25_fps_every_8th_frame() -> None:
    assert detector_frames(OnePersonScene(), fps=25) == [0, 4, 12, 20, 28, 36]


def test_at_10_fps_the_settled_interval_is_the_detect_interval() -> None:
    assert detector_frames(OnePersonScene(), fps=10) == list(range(0, 40, 4))


@pytest.mark.parametrize(
    ("scene", "fps", "options"),
    [
        (OnePersonScene(), None, {}),  # no timestamps: frames only
        (OnePersonScene(presence=0.8), 30, {}),  # followed, but not confidently
        (OnePersonScene(), 30, {"settled_seconds": None}),  # switched off
    ],
)
def test_otherwise_every_detect_interval_frames(scene: OnePersonScene, fps: float | None, options: dict) -> None:
    assert detector_frames(scene, fps, **options) == list(range(0, 40, 4))


def test_a_lost_person_is_looked_for_two_frames_later() -> None:
    # settled from frame 4, due at 13; the person is lost at 8: the detector runs on 8, then every 2nd
    assert detector_frames(OnePersonScene(gone_from=8), fps=30, frames=14) == [0, 4, 8, 10, 12]
