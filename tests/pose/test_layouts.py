import numpy as np
import pytest

from gaitid.pose.layouts import BLAZEPOSE_33, BLAZEPOSE_EDGES, BLAZEPOSE_TO_COCO17, COCO_17, to_coco17


def test_every_coco_keypoint_maps_to_the_blazepose_keypoint_of_the_same_name():
    assert len(BLAZEPOSE_33) == 33 and len(COCO_17) == 17
    for coco_index, blaze_index in enumerate(BLAZEPOSE_TO_COCO17):
        assert BLAZEPOSE_33[blaze_index] == COCO_17[coco_index]


@pytest.mark.parametrize(
    "coco_name, blaze_index",
    [("nose", 0), ("left_eye", 2), ("right_ear", 8), ("left_shoulder", 11), ("right_hip", 24), ("right_ankle", 28)],
)
def test_known_rows_of_the_mapping(coco_name, blaze_index):
    assert BLAZEPOSE_TO_COCO17[COCO_17.index(coco_name)] == blaze_index


def test_to_coco17_selects_rows_and_keeps_leading_axes():
    keypoints = np.arange(2 * 33 * 3, dtype=np.float32).reshape(2, 33, 3)
    coco = to_coco17(keypoints)
    assert coco.shape == (2, 17, 3)
    np.testing.assert_array_equal(coco[1, 5], keypoints[1, 11])


def test_to_coco17_rejects_other_layouts():
    with pytest.raises(ValueError, match="33 BlazePose keypoints"):
        to_coco17(np.zeros((17, 3)))


def test_edges_join_distinct_valid_keypoints():
    for a, b in BLAZEPOSE_EDGES:
        assert 0 <= a < 33 and 0 <= b < 33 and a != b
