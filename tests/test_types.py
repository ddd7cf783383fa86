import numpy as np
import pytest

from gaitid.types import Embedding, Frame, Person, Track


def _person(**overrides):
    fields = dict(box=np.array([10, 20, 30, 60], np.float32), score=0.9, keypoints=np.zeros((33, 3), np.float32))
    fields.update(overrides)
    return Person(**fields)


def test_frame_requires_rgb_uint8():
    Frame(np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(ValueError, match=r"expected shape \(\*, \*, 3\), got \(4, 5\)"):
        Frame(np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError, match="dtype uint8"):
        Frame(np.zeros((4, 5, 3), np.float32))


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(box=np.zeros(3)), "Person.box"),
        (dict(keypoints=np.zeros((17, 3))), "Person.keypoints"),
        (dict(heatmaps=np.zeros((33, 8, 8))), "without heatmap_to_frame"),
        (dict(mask=np.zeros((4, 4))), "without mask_box"),
        (dict(mask=np.zeros((4, 4)), mask_box=np.array([0, 0, 5, 4])), "does not match mask_box"),
    ],
)
def test_person_validates_shapes(overrides, message):
    with pytest.raises(ValueError, match=message):
        _person(**overrides)


def test_full_mask_places_the_crop_and_clips_at_the_frame_edge():
    mask = np.ones((4, 6), np.float32)
    person = _person(mask=mask, mask_box=np.array([-2, 1, 4, 5], np.int32))
    full = person.full_mask(3, 5)
    assert full.shape == (3, 5)
    assert full[1:, :4].all() and not full[0].any() and not full[:, 4].any()


def test_coco17_view_of_a_person():
    from gaitid.pose.layouts import to_coco17

    keypoints = np.zeros((33, 3), np.float32)
    keypoints[28] = (1, 2, 0.5)
    assert to_coco17(_person(keypoints=keypoints).keypoints)[16].tolist() == [1, 2, 0.5]


def test_track_lengths_must_agree():
    with pytest.raises(ValueError, match="same length"):
        Track(track_id=1, frame_indices=(0, 1), times=(0.0,), people=(_person(),))
    track = Track(track_id=1, frame_indices=(0,), times=(0.0,), people=(_person(),))
    assert len(track) == 1 and track.boxes.shape == (1, 4)


def test_embedding_is_a_vector():
    with pytest.raises(ValueError):
        Embedding(np.zeros((2, 2)), model="m")
