import numpy as np

from gaitid.pose.drawing import color_for, draw_people
from gaitid.types import Person


def test_draw_people_draws_on_a_copy():
    image = np.zeros((120, 100, 3), np.uint8)
    keypoints = np.zeros((33, 3), np.float32)
    keypoints[:, 0] = np.linspace(30, 70, 33)
    keypoints[:, 1] = np.linspace(20, 100, 33)
    keypoints[:, 2] = 1.0
    person = Person(box=np.array([20, 10, 80, 110], np.float32), score=0.9, keypoints=keypoints, track_id=3)
    drawn = draw_people(image, [person], labels=["Ada 0.91"])
    assert not image.any()  # the input is untouched
    assert drawn.shape == image.shape and drawn.any()
    assert (drawn[60, 20] == color_for(3)).all()  # the box's left edge in the track's colour
