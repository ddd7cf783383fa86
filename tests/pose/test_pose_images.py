"""HumanPoseNN on real still images (skips where ../shared/data is missing)."""

import numpy as np
import pytest

from gaitid.pose.estimator import HumanPoseNN
from gaitid.pose.geometry import box_iou
from gaitid.pose.layouts import to_coco17
from gaitid.sources.files import read_image
from gaitid.types import Frame

HEAD, SHOULDERS, HIPS, KNEES, ANKLES = [0, 2, 5], [11, 12], [23, 24], [25, 26], [27, 28]
FULL_BODY = SHOULDERS + HIPS + KNEES + ANKLES

# The four pedestrians of bus.jpg, boxed by hand; the outer two are cut by the image edges.
BUS_PEDESTRIANS = np.array([[50, 397, 245, 905], [215, 403, 350, 865], [0, 550, 70, 885], [668, 380, 810, 880]])


@pytest.fixture(scope="module")
def heavy() -> HumanPoseNN:
    return HumanPoseNN(model="heavy")


def _plausible(keypoints: np.ndarray) -> bool:
    """Head above shoulders above hips above knees above ankles (y grows downwards)."""
    heights = [keypoints[rows, 1].mean() for rows in (HEAD, SHOULDERS, HIPS, KNEES, ANKLES)]
    return all(a < b for a, b in zip(heights, heights[1:]))


def _on_person(keypoints: np.ndarray, box: np.ndarray, margin: float = 0.15) -> bool:
    """Every confident keypoint lies within the person's box, widened by a margin of its height."""
    pad = margin * (box[3] - box[1])
    confident = keypoints[keypoints[:, 2] >= 0.5, :2]
    inside = (confident >= box[:2] - pad) & (confident <= box[2:] + pad)
    return bool(inside.all())


def test_bus_finds_all_four_pedestrians_with_plausible_poses(media_dir, heavy):
    people = heavy.estimate_image(read_image(media_dir / "bus.jpg")).people
    boxes = np.array([p.box for p in people])
    overlap = box_iou(BUS_PEDESTRIANS, boxes)
    for labelled, row in zip(BUS_PEDESTRIANS, overlap):
        best = int(row.argmax())
        assert row[best] >= 0.5, f"pedestrian {labelled.tolist()} not found (best IoU {row[best]:.2f})"
        keypoints = people[best].keypoints
        assert _plausible(keypoints), f"implausible pose for {labelled.tolist()}"
        assert _on_person(keypoints, labelled), f"keypoints off the person {labelled.tolist()}"


def test_messi_has_one_full_body_pose(media_dir, heavy):
    people = heavy.estimate_image(read_image(media_dir / "messi5.jpg")).people
    full_body = [p for p in people if (p.keypoints[FULL_BODY, 2] >= 0.5).all()]
    assert len(full_body) == 1
    keypoints = full_body[0].keypoints
    # A kick: the ankles need not stay below the knees, but the head is above the shoulders and the hips.
    assert keypoints[HEAD, 1].mean() < keypoints[SHOULDERS, 1].mean() < keypoints[HIPS, 1].mean()
    assert full_body[0].box[3] - full_body[0].box[1] > 200  # the player, not a spectator


def test_zidane_has_two_people(media_dir, heavy):
    people = heavy.estimate_image(read_image(media_dir / "zidane.jpg")).people
    assert len(people) == 2
    centres = sorted((p.box[0] + p.box[2]) / 2 for p in people)
    assert centres[0] < 640 < centres[1]  # one on each side of the frame


def test_outputs_per_person(media_dir):
    frame = read_image(media_dir / "messi5.jpg")
    people = HumanPoseNN(model="lite").estimate_image(frame)
    assert people.frame_size == (frame.height, frame.width)
    player = max(people.people, key=lambda p: p.box[3] - p.box[1])
    assert player.keypoints.shape == (33, 3) and to_coco17(player.keypoints).shape == (17, 3)
    assert player.heatmaps is not None and player.heatmaps.shape == (33, 64, 64)
    # The heatmap peak of the nose maps back near the nose keypoint.
    row, col = np.unravel_index(player.heatmaps[0].argmax(), (64, 64))
    nose = player.heatmap_to_frame @ np.array([col, row, 1.0])
    assert np.linalg.norm(nose - player.keypoints[0, :2]) < 0.05 * (player.box[3] - player.box[1])
    # The silhouette covers the hips and not the far corner of its box.
    mask = player.full_mask(frame.height, frame.width)
    hip = player.keypoints[23, :2].round().astype(int)
    assert mask[hip[1], hip[0]] > 0.5
    assert 0.05 < (mask > 0.5).mean() < 0.5


def test_an_image_with_nobody_gives_no_people():
    blank = Frame(np.full((480, 640, 3), 90, np.uint8))
    assert HumanPoseNN(model="lite").estimate_image(blank).people == ()
