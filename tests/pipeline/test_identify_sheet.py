"""The demo's contact sheet: crops spread over each track, and one row per person."""

import numpy as np
import pytest

from gaitid.pipeline.sheet import CROP_HEIGHT, CropSampler, contact_sheet
from gaitid.types import Frame, FramePeople, Person


def _frame(index: int) -> tuple[Frame, FramePeople]:
    """A frame whose colour is its index (so a crop tells when it was taken), with track 7 boxed."""
    image = np.zeros((120, 160, 3), np.uint8)
    image[..., 0], image[..., 1] = index // 256, index % 256
    person = Person(box=np.array([40, 20, 80, 100], np.float32), score=1.0, keypoints=np.zeros((33, 3)), track_id=7)
    return Frame(image=image, index=index, time=index / 30), FramePeople(index, index / 30, (person,), (120, 160))


@pytest.mark.parametrize("length", [10, 200, 1000])
def test_crops_span_the_whole_track_with_bounded_memory(length: int) -> None:
    sampler = CropSampler(every=4, keep=32)
    for index in range(length):
        sampler.add(*_frame(index))
    taken = [256 * int(crop[0, 0, 0]) + int(crop[0, 0, 1]) for crop in sampler.crops(7, count=6)]
    assert len(sampler._crops[7]) < 32
    assert taken == sorted(taken) and len(taken) == min(6, len(range(0, length, 4)))
    assert taken[0] == 0 and taken[-1] >= 0.75 * (length - 1), taken
    assert all(crop.shape[0] == CROP_HEIGHT for crop in sampler.crops(7))
    assert sampler.crops(8) == []


def test_a_sheet_has_a_row_per_person_and_its_legend() -> None:
    crop = np.zeros((CROP_HEIGHT, 50, 3), np.uint8)
    sheet = contact_sheet([("ada", [crop] * 3), ("bob", [crop])], ["a line of legend"])
    assert sheet.shape[0] > 2 * CROP_HEIGHT and sheet.dtype == np.uint8
    assert (sheet[8 : 8 + CROP_HEIGHT, 220:270] == 0).all()  # ada's first crop
    with pytest.raises(ValueError):
        contact_sheet([])
