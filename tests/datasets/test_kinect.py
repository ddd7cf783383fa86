import dataclasses

import numpy as np
import pytest

from gaitid.errors import GaitidError
from gaitid.gait.skeleton import GAIT_KEYPOINT_NAMES, GAIT_KEYPOINTS
from gaitid.pose.layouts import BLAZEPOSE_33, KEYPOINT
from gaitid.datasets.kinect import (
    KINECT_GALLERY_WALKS,
    KINECT_JOINTS,
    KINECT_TEST_PEOPLE,
    KINECT_TO_BLAZEPOSE,
    KINECT_TRAIN_PEOPLE,
    AugmentConfig,
    VirtualCamera,
    add_estimator_noise,
    check_people,
    kinect_to_blazepose,
    load_kinect,
    project,
    random_view,
    random_view_with_truth,
    walker_frame,
)


# ------------------------------------------------------------------------------------- projection geometry

FRONT = VirtualCamera(
    view=0, distance=4.0, height=1.5, aim_height=1.5, focal=1000, image_width=1280, image_height=720
)


@pytest.mark.parametrize(
    "camera, point, expected",
    [
        (FRONT, (0, 0, 1.5), (640, 360)),  # the aim point lands on the principal point
        (FRONT, (0, 0.5, 1.5), (765, 360)),  # the walker's left is on the image right when facing the camera
        (FRONT, (0, 0, 2.0), (640, 235)),  # 0.5 m up at 4 m: 125 px up
        (FRONT, (2.0, 0, 1.5), (640, 360)),  # on the optical axis, nearer
        (FRONT, (2.0, 0.5, 1.5), (890, 360)),  # nearer means larger: 0.5 m at 2 m is 250 px
        (dataclasses.replace(FRONT, view=90), (0.5, 0, 1.5), (515, 360)),  # side view: walking to the left
        (dataclasses.replace(FRONT, view=180), (0, 0.5, 1.5), (515, 360)),  # from behind: the left is left
    ],
)
def test_projection_of_known_points(camera, point, expected):
    np.testing.assert_allclose(project(np.array(point, float), camera), expected, atol=1e-6)


def test_projection_aims_down_and_rejects_points_behind():
    high = VirtualCamera(view=45, distance=3.0, height=4.0, aim_height=0.9)
    np.testing.assert_allclose(project(np.array([0, 0, 0.9]), high), (640, 360), atol=1e-6)
    # straight below the aim point is lower in the image
    assert project(np.array([0, 0, 0.0]), high)[1] > 360
    assert np.isnan(project(np.array([8.0, 0, 1.5]), FRONT)).all()  # behind the camera


# ------------------------------------------------------------------------------------- joint mapping


def test_joint_mapping():
    assert set(KINECT_TO_BLAZEPOSE) <= set(KINECT_JOINTS)
    assert set(KINECT_TO_BLAZEPOSE.values()) == set(GAIT_KEYPOINT_NAMES)
    left_out = set(KINECT_JOINTS) - set(KINECT_TO_BLAZEPOSE)
    assert left_out == {"Shoulder-Center", "Spine", "Hip-centro", "Hand-Right", "Hand-Left"}
    for kin, bp in KINECT_TO_BLAZEPOSE.items():  # sides agree
        assert ("Left" in kin) == bp.startswith("left_") and ("Right" in kin) == bp.startswith("right_")
    joints = np.arange(20 * 2, dtype=np.float32).reshape(20, 2)  # row r holds (2r, 2r+1)
    bp = kinect_to_blazepose(joints)
    assert bp.shape == (33, 3)
    r = KINECT_JOINTS.index("Knee-Left")
    np.testing.assert_array_equal(bp[KEYPOINT["left_knee"]], [2 * r, 2 * r + 1, 1])
    assert bp[KEYPOINT["nose"], 2] == 1 and bp[KEYPOINT["left_heel"], 2] == 0
    assert int(bp[:, 2].sum()) == 15 and sorted(np.flatnonzero(bp[:, 2])) == sorted(GAIT_KEYPOINTS)
    assert (bp[bp[:, 2] == 0] == 0).all()
    assert all(BLAZEPOSE_33[i] in KINECT_TO_BLAZEPOSE.values() for i in np.flatnonzero(bp[:, 2]))


# ------------------------------------------------------------------------------------- walker frame


def synthetic_walker(t=60, heading=0.7):
    """A stiff figure walking along `heading` (radians) in Kinect coordinates (x, y up, z), metres."""
    k = {n: i for i, n in enumerate(KINECT_JOINTS)}
    fwd = np.array([np.cos(heading), 0, np.sin(heading)])
    left = np.cross([0, 1.0, 0], fwd)  # Kinect is right-handed with y up: up x forward = left
    j = np.zeros((t, 20, 3))
    base = np.array([0.1, -0.8, 2.5])  # floor 0.8 m below the sensor
    for name, (f, lft, up) in {
        "Head": (0, 0, 1.6),
        "Shoulder-Center": (0, 0, 1.45),
        "Shoulder-Left": (0, 0.18, 1.3),
        "Shoulder-Right": (0, -0.18, 1.3),
        "Elbow-Left": (0, 0.2, 1.05),
        "Elbow-Right": (0, -0.2, 1.05),
        "Wrist-Left": (0, 0.2, 0.85),
        "Wrist-Right": (0, -0.2, 0.85),
        "Hand-Left": (0, 0.2, 0.78),
        "Hand-Right": (0, -0.2, 0.78),
        "Spine": (0, 0, 1.05),
        "Hip-centro": (0, 0, 0.95),
        "Hip-Left": (0, 0.07, 0.9),
        "Hip-Right": (0, -0.07, 0.9),
        "Knee-Left": (0, 0.08, 0.5),
        "Knee-Right": (0, -0.08, 0.5),
        "Ankle-Left": (0, 0.08, 0.1),
        "Ankle-Right": (0, -0.08, 0.1),
        "Foot-Left": (0.12, 0.08, 0.03),
        "Foot-Right": (0.12, -0.08, 0.03),
    }.items():
        j[:, k[name]] = base + f * fwd + lft * left + up * np.array([0, 1.0, 0])
    j += np.linspace(0, 1, t)[:, None, None] * fwd  # moving forward
    return j


def test_walker_frame_axes():
    w = walker_frame(synthetic_walker())
    k = {n: i for i, n in enumerate(KINECT_JOINTS)}
    np.testing.assert_allclose(w[:, k["Hip-centro"], :2], 0, atol=1e-5)  # hip centre on the origin
    np.testing.assert_allclose(w[:, k["Hip-centro"], 2], 0.95 - 0.03, atol=1e-5)  # floor under the feet
    np.testing.assert_allclose(w[:, k["Foot-Left"], 0], 0.12, atol=1e-5)  # the feet point forward (+X)
    np.testing.assert_allclose(w[:, k["Shoulder-Left"], 1], 0.18, atol=1e-5)  # left is +Y


def test_real_walks_face_forward(kinect_file):
    walks = load_kinect(range(1, 11), "train")
    k = {n: i for i, n in enumerate(KINECT_JOINTS)}
    for walk in walks:
        w = walker_frame(walk.joints)
        foot = (
            w[:, k["Foot-Left"], 0]
            - w[:, k["Ankle-Left"], 0]
            + w[:, k["Foot-Right"], 0]
            - w[:, k["Ankle-Right"], 0]
        )
        assert (foot > 0).mean() > 0.6, (walk.person, walk.walk)
        assert 0.6 < np.median(w[:, k["Hip-centro"], 2]) < 1.3


# ------------------------------------------------------------------------------------- protocol split


def test_protocol_people_are_disjoint():
    assert set(KINECT_TRAIN_PEOPLE).isdisjoint(KINECT_TEST_PEOPLE)
    assert set(KINECT_TRAIN_PEOPLE) | set(KINECT_TEST_PEOPLE) == set(range(1, 165))
    assert KINECT_GALLERY_WALKS == (1, 2)


@pytest.mark.parametrize(
    "people, purpose, message",
    [([99, 100, 101], "train", "test set"), ([100, 120], "test", "training set"), ([1], "tune", None)],
)
def test_split_is_enforced(people, purpose, message):
    if message is None:
        with pytest.raises(ValueError):
            check_people(people, purpose)
    else:
        with pytest.raises(GaitidError, match=message):
            check_people(people, purpose)


def test_training_loader_never_yields_test_people(kinect_file):
    walks = load_kinect(KINECT_TRAIN_PEOPLE, "train")
    assert {w.person for w in walks} == set(KINECT_TRAIN_PEOPLE)
    assert all(w.joints.shape[1:] == (20, 3) for w in walks)
    test = load_kinect((101, 164), "test")
    assert {w.person for w in test} == {101, 164}


def test_trainer_refuses_test_people():
    from gaitid.training.config import config_from_dict

    kinect = {"model": {"name": "skelnn_keypoints"}, "data": {"dataset": "kinect"}}
    with pytest.raises(GaitidError, match="101 is not a training subject of kinect"):
        config_from_dict({**kinect, "data": {"dataset": "kinect", "subjects": "090-110"}})
    with pytest.raises(GaitidError, match="101 is not a training subject"):
        config_from_dict({"people": [90, 110], "steps": 1})  # a config of the former train-skeleton


# ------------------------------------------------------------------------------------- augmentation


def test_noise_is_reproducible_and_does_not_mutate():
    rng_walk = synthetic_walker(30)
    w = walker_frame(rng_walk)
    kp = random_view(w, np.random.default_rng(3))
    assert kp.shape == (30, 33, 3)
    np.testing.assert_array_equal(kp, random_view(w, np.random.default_rng(3)))
    clean = kp.copy()
    noisy = add_estimator_noise(kp, np.random.default_rng(0), AugmentConfig(missing=(0.5, 0.5)))
    np.testing.assert_array_equal(kp, clean)
    unused = [i for i in range(33) if i not in GAIT_KEYPOINTS]
    assert (noisy[:, unused] == 0).all()
    low = (noisy[:, list(GAIT_KEYPOINTS), 2] < 0.3).mean()
    assert 0.3 < low < 0.7


def test_limb_swaps_exchange_the_two_legs_or_arms_only():
    kp = random_view(walker_frame(synthetic_walker(20)), np.random.default_rng(4))
    quiet = {"jitter": (0.0, 0.0), "drift": (0.0, 0.0), "missing": (0.0, 0.0), "occlusion": 0.0, "swap": 0.0}
    always = add_estimator_noise(kp, np.random.default_rng(0), AugmentConfig(**quiet, limb_swap=1.0))
    never = add_estimator_noise(kp, np.random.default_rng(0), AugmentConfig(**quiet))
    names = ["knee", "ankle", "foot_index", "elbow", "wrist"]
    for name in names:
        left, right = KEYPOINT[f"left_{name}"], KEYPOINT[f"right_{name}"]
        np.testing.assert_array_equal(always[:, left, :2], never[:, right, :2])
        np.testing.assert_array_equal(always[:, right, :2], never[:, left, :2])
    for name in ["nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip"]:
        np.testing.assert_array_equal(always[:, KEYPOINT[name], :2], never[:, KEYPOINT[name], :2])
    some = add_estimator_noise(kp, np.random.default_rng(1), AugmentConfig(**quiet, limb_swap=0.3))
    swapped = (some[:, KEYPOINT["left_knee"], :2] != never[:, KEYPOINT["left_knee"], :2]).any(1)
    assert 0 < swapped.sum() < len(kp)


def test_truth_behind_a_random_view():
    """The 3-D truth is the walker's own gait keypoints (camera-free), and asking for it changes nothing
    in the keypoints drawn."""
    w = walker_frame(synthetic_walker(30))
    kp, truth = random_view_with_truth(w, np.random.default_rng(5))
    np.testing.assert_array_equal(kp, random_view(w, np.random.default_rng(5)))
    assert truth.shape == (30, 15, 3)
    for name in ("left_knee", "right_ankle", "nose", "left_wrist"):
        kinect = {v: k for k, v in KINECT_TO_BLAZEPOSE.items()}[name]
        np.testing.assert_allclose(
            truth[:, GAIT_KEYPOINT_NAMES.index(name)], w[:, KINECT_JOINTS.index(kinect)], atol=1e-6
        )
    _, other_camera = random_view_with_truth(w, np.random.default_rng(6))
    knees = [GAIT_KEYPOINT_NAMES.index("left_knee"), GAIT_KEYPOINT_NAMES.index("right_knee")]
    np.testing.assert_allclose(other_camera[:, knees], truth[:, knees], atol=1e-6)


def test_lift_target_units():
    from gaitid.training.batches import lift_target

    w = walker_frame(synthetic_walker(20))
    _, truth = random_view_with_truth(w, np.random.default_rng(0))
    target = lift_target(truth)
    hips = [GAIT_KEYPOINT_NAMES.index("left_hip"), GAIT_KEYPOINT_NAMES.index("right_hip")]
    shoulders = [GAIT_KEYPOINT_NAMES.index("left_shoulder"), GAIT_KEYPOINT_NAMES.index("right_shoulder")]
    np.testing.assert_allclose(target[:, hips].mean(1), 0, atol=1e-6)
    torso = np.linalg.norm(target[:, shoulders].mean(1), axis=1)
    assert np.median(torso) == pytest.approx(1.0, abs=1e-5)
    moved = truth * 1.7 + np.array([3.0, -1.0, 0.2], np.float32)
    np.testing.assert_allclose(lift_target(moved), target, atol=1e-5)


def test_validation_runs_name_training_people_only():
    from gaitid.evaluation.kinect import evaluate_kinect
    from gaitid.gait.skeleton import SkeletonSpec

    with pytest.raises(GaitidError, match="names its held-out"):
        evaluate_kinect(lambda f: f.mean(0), SkeletonSpec(), validation=True)
    with pytest.raises(GaitidError, match="test set"):
        evaluate_kinect(lambda f: f.mean(0), SkeletonSpec(), people=(99, 101), validation=True)
