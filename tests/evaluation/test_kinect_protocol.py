from dataclasses import replace

import numpy as np
import pytest

from gaitid.errors import GaitidError
from gaitid.evaluation.kinect import (
    PROTOCOL_CAMERA,
    evaluate_kinect,
    format_kinect_report,
    protocol_keypoints,
)
from gaitid.gait.skeleton import SkeletonSpec
from gaitid.datasets.kinect import KinectWalk


def test_protocol_runs_on_a_few_test_people(kinect_file):
    spec = SkeletonSpec()
    result = evaluate_kinect(lambda f: f.mean(0), spec, "mean-pose", people=(101, 102, 103))
    assert result["people"] == [101, 102, 103] and result["views"] == [0, 45, 90]
    assert np.array(result["table"]).shape == (3, 3)
    assert 0 <= result["cross_view_mean"] <= 100 and 0 <= result["same_view_mean"] <= 100
    # every walk is seen from every view; walks 1-2 are the gallery
    assert result["sequences"] == 3 * (result["probes_per_view"] + result["gallery_per_view"])
    assert result["gallery_per_view"] == 6
    report = format_kinect_report(result)
    assert "same-view mean" in report and "cross-view mean" in report


def test_protocol_refuses_training_people(kinect_file):
    with pytest.raises(GaitidError, match="training set"):
        evaluate_kinect(lambda f: f.mean(0), SkeletonSpec(), people=(100, 101))


def test_protocol_views_differ_and_resample():
    joints = np.zeros((60, 20, 3), np.float32)
    joints[..., 1] = np.linspace(0.8, -0.8, 20)[None, :]  # a vertical line of joints, y up
    joints[:, 3, 0] += 0.2  # Shoulder-Left to the sensor's left
    joints[:, 13, 0] += 0.1  # Hip-Left
    joints[..., 2] = 3.0
    walk = KinectWalk(101, 1, joints)
    front = protocol_keypoints(walk, 0, 15.0)
    side = protocol_keypoints(walk, 90, 15.0)
    assert front.shape == (30, 33, 3) and side.shape == (30, 33, 3)
    assert not np.allclose(front[..., :2], side[..., :2])
    # filmed at 10 fps and resampled to 15 by timestamps: every 15-fps frame is one of the 10-fps frames
    rising = joints.copy()
    rising[..., 1] += (np.arange(60) * 0.002)[:, None]  # the walker moves up a little every frame
    moving = KinectWalk(101, 1, rising)
    slow = protocol_keypoints(moving, 90, 15.0, source_fps=10.0)
    filmed = protocol_keypoints(moving, 90, 10.0)
    assert len({frame.tobytes() for frame in filmed}) == len(filmed)
    assert abs(len(slow) - 30) <= 1 and len(filmed) == 20
    assert all(any(np.array_equal(frame, f) for f in filmed) for frame in slow)
    high = protocol_keypoints(walk, 90, 15.0, camera=replace(PROTOCOL_CAMERA, height=4.0))
    assert not np.allclose(high[..., :2], side[..., :2])
