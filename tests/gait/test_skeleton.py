import numpy as np
import pytest

from gaitid.gait.skeleton import (
    GAIT_FLIP,
    GAIT_KEYPOINT_NAMES,
    GAIT_KEYPOINTS,
    GAIT_LIMBS,
    SkeletonSpec,
    embed_in_windows,
    normalize_keypoints,
    render_heatmaps,
    resample_times,
    skeleton_features,
    window_starts,
)
from gaitid.pose.layouts import BLAZEPOSE_33

G = {n: i for i, n in enumerate(GAIT_KEYPOINT_NAMES)}


def standing(t: int = 5) -> np.ndarray:
    """A front-facing stick figure in BlazePose rows: hips at y=300, shoulders at y=200 (torso 100 px)."""
    kp = np.zeros((t, 33, 3), np.float32)
    place = {
        "nose": (100, 160),
        "left_shoulder": (120, 200),
        "right_shoulder": (80, 200),
        "left_elbow": (125, 250),
        "right_elbow": (75, 250),
        "left_wrist": (127, 295),
        "right_wrist": (73, 295),
        "left_hip": (110, 300),
        "right_hip": (90, 300),
        "left_knee": (111, 380),
        "right_knee": (89, 380),
        "left_ankle": (112, 460),
        "right_ankle": (88, 460),
        "left_foot_index": (115, 470),
        "right_foot_index": (85, 470),
    }
    for name, (x, y) in place.items():
        kp[:, BLAZEPOSE_33.index(name)] = (x, y, 0.9)
    return kp


def test_gait_layout():
    assert len(GAIT_KEYPOINTS) == 15 == len(set(GAIT_KEYPOINTS))
    assert [BLAZEPOSE_33[i] for i in GAIT_KEYPOINTS] == list(GAIT_KEYPOINT_NAMES)
    for a, b in GAIT_LIMBS:
        assert 0 <= a < 15 and 0 <= b < 15 and a != b
    assert GAIT_FLIP[G["left_knee"]] == G["right_knee"] and GAIT_FLIP[G["nose"]] == G["nose"]


def test_normalize_origin_scale_and_invariance():
    kp = standing()
    out = normalize_keypoints(kp)
    assert out.shape == (5, 15, 3)
    np.testing.assert_allclose((out[:, G["left_hip"], :2] + out[:, G["right_hip"], :2]) / 2, 0, atol=1e-6)
    mid_sh = (out[:, G["left_shoulder"], :2] + out[:, G["right_shoulder"], :2]) / 2
    np.testing.assert_allclose(np.linalg.norm(mid_sh, axis=1), 1.0, atol=1e-6)
    moved = kp.copy()
    moved[..., :2] = kp[..., :2] * 2.5 + np.array([40.0, -70.0])
    np.testing.assert_allclose(normalize_keypoints(moved), out, atol=1e-5)
    # the 15-row input gives the same as the 33-row one
    np.testing.assert_allclose(normalize_keypoints(kp[:, list(GAIT_KEYPOINTS)]), out)


def test_normalize_invalid_and_missing_hips():
    kp = standing(3)
    kp[1, BLAZEPOSE_33.index("left_wrist"), 2] = 0.1  # below min confidence
    kp[2, [BLAZEPOSE_33.index("left_hip"), BLAZEPOSE_33.index("right_hip")], 2] = 0.0
    out = normalize_keypoints(kp)
    assert (out[1, G["left_wrist"]] == 0).all()
    # frame 2 has no hips: it borrows frame 1's origin, so its other keypoints keep their place
    np.testing.assert_allclose(out[2, G["nose"]], out[1, G["nose"]], atol=1e-6)
    assert (out[2, G["left_hip"]] == 0).all()
    assert normalize_keypoints(np.zeros((4, 33, 3))).sum() == 0
    with pytest.raises(ValueError, match="expected keypoints"):
        normalize_keypoints(np.zeros((4, 17, 3)))


def test_heatmap_joint_and_limb_positions():
    spec = SkeletonSpec(features="heatmaps", height=32, width=24)
    kp = np.zeros((1, 15, 3), np.float32)
    kp[0, G["left_hip"]] = (0.0, 0.0, 1.0)
    kp[0, G["left_knee"]] = (0.0, 2.0, 1.0)
    maps = render_heatmaps(kp, spec)
    assert maps.shape == (1, 2, 32, 24) and maps.dtype == np.float32
    assert 0 <= maps.min() and maps.max() <= 1
    joints, limbs = maps[0]
    # the hip is at column width/2 and row origin_row (pixel centres: (c + 0.5, r + 0.5))
    r, c = np.unravel_index(np.argmax(joints[: int(spec.row0) + 3]), joints.shape)
    assert abs(c + 0.5 - 12) <= 0.5 and abs(r + 0.5 - spec.row0) <= 0.5
    # the limb hip-knee is lit along the segment, not beside it
    mid_row = int(spec.row0 + spec.unit)
    assert limbs[mid_row, 11] > 0.5 and limbs[mid_row, 11 + 4] < 0.01
    # a keypoint with confidence 0 draws nothing
    kp[0, G["left_knee"], 2] = 0
    maps = render_heatmaps(kp, spec)
    assert maps[0, 1].max() == 0 and maps[0, 0].max() > 0.7  # the hip peak lies between pixel centres


def test_features_shapes():
    kp = standing(6)
    assert skeleton_features(kp, SkeletonSpec()).shape == (6, 45)
    assert skeleton_features(kp, SkeletonSpec(features="heatmaps")).shape == (6, 2, 32, 24)
    spec = SkeletonSpec(features="heatmaps")
    assert SkeletonSpec.from_json(spec.to_json()) == spec
    with pytest.raises(ValueError):
        SkeletonSpec(features="depth")


def test_resample_times():
    times = np.arange(30) / 30.0
    idx = resample_times(times, 15.0)
    np.testing.assert_array_equal(idx, np.arange(0, 30, 2))
    idx = resample_times(np.arange(10) / 10.0, 15.0)  # 10 fps up to 15: frames repeat, in order
    assert len(idx) == 14 and (np.diff(idx) >= 0).all() and idx[-1] == 9


@pytest.mark.parametrize(
    "frames, window, starts",
    [(100, 0, [0]), (30, 40, [0]), (40, 40, [0]), (100, 40, [0, 20, 40, 60]), (90, 40, [0, 20, 40, 50])],
)
def test_window_starts(frames, window, starts):
    assert window_starts(frames, window) == starts


def test_embed_in_windows_averages():
    feats = np.arange(100, dtype=np.float32)[:, None]
    out = embed_in_windows(lambda f: f.mean(0), feats, 40)
    np.testing.assert_allclose(out, np.mean([19.5, 39.5, 59.5, 79.5]))
    np.testing.assert_allclose(embed_in_windows(lambda f: f.mean(0), feats, 0), 49.5)
