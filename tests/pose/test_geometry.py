import math

import numpy as np
import pytest

from gaitid.pose.geometry import Roi, apply_affine, box_iou, nms, roi_from_alignment, roi_from_box


def test_upright_roi_maps_crop_corners_and_centre():
    roi = Roi(center_x=100, center_y=50, size=40)
    matrix = roi.crop_to_frame(256)
    points = apply_affine(matrix, np.array([[128.0, 128.0], [0.0, 0.0], [256.0, 256.0]]))
    np.testing.assert_allclose(points, [[100, 50], [80, 30], [120, 70]], atol=1e-9)


def test_rotated_roi_turns_crop_up_towards_the_alignment_direction():
    # The body leans right: its top is up and to the right of its centre.
    roi = roi_from_alignment(np.array([0.0, 0.0]), np.array([10.0, -10.0]), scale=1.0)
    assert roi.rotation == pytest.approx(math.pi / 4)
    assert roi.size == pytest.approx(2 * math.hypot(10, 10))
    top_of_crop = apply_affine(roi.crop_to_frame(256), np.array([[128.0, 0.0]]))[0]
    direction = top_of_crop / np.linalg.norm(top_of_crop)
    np.testing.assert_allclose(direction, [math.sqrt(0.5), -math.sqrt(0.5)], atol=1e-9)


def test_roi_from_box_is_a_square_on_the_longer_side():
    roi = roi_from_box(np.array([10, 20, 30, 100]), scale=1.25)
    assert (roi.center_x, roi.center_y, roi.size, roi.rotation) == (20, 60, 100, 0)
    assert roi.frame_bounds() == (-30, 10, 70, 110)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
        ([0, 0, 10, 10], [5, 0, 15, 10], 50 / 150),
        ([0, 0, 10, 10], [20, 20, 30, 30], 0.0),
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),
    ],
)
def test_box_iou(a, b, expected):
    assert box_iou(np.array(a), np.array(b))[0, 0] == pytest.approx(expected)


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    assert nms(boxes, np.array([0.5, 0.9, 0.4]), iou_threshold=0.5) == [1, 2]
