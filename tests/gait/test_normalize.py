import numpy as np
import pytest

from gaitid.errors import GaitidError
from gaitid.gait.normalize import (
    MIN_DRIFT,
    MIN_FACING,
    TRAINING_DRIFT,
    as_training_direction,
    facing,
    mirror_silhouettes,
    normalize_sequence,
    normalize_silhouette,
    sideways_drift,
)


def _person(h=300, w=200, top=40, left=60, body_h=200, body_w=50):
    m = np.zeros((h, w), np.float32)
    m[top : top + body_h, left : left + body_w] = 1.0
    return m


def test_output_shape_values_and_vertical_fill():
    out = normalize_silhouette(_person())
    assert out.shape == (64, 44) and out.dtype == np.float32
    assert set(np.unique(out)) <= {0.0, 1.0}
    assert out[0].any() and out[-1].any()  # cropped to the body's height: head at top, feet at bottom


def test_centred_on_horizontal_mass():
    out = normalize_silhouette(_person(body_w=40))
    cols = np.flatnonzero(out.any(axis=0))
    assert abs((cols[0] + cols[-1]) / 2 - 21.5) <= 1.0


def test_position_and_scale_invariant():
    a = normalize_silhouette(_person(top=10, left=20, body_h=120, body_w=30))
    b = normalize_silhouette(_person(h=600, w=500, top=200, left=300, body_h=240, body_w=60))
    assert np.array_equal(a, b)


@pytest.mark.parametrize(
    "convert",
    [lambda m: m, lambda m: (m * 255).astype(np.uint8), lambda m: m.astype(np.uint8), lambda m: m > 0.5],
)
def test_dtypes_agree(convert):
    m = _person()
    assert np.array_equal(normalize_silhouette(convert(m)), normalize_silhouette(m))


def test_does_not_mutate_input():
    m = _person()
    before = m.copy()
    normalize_silhouette(m)
    assert np.array_equal(m, before)


def test_empty_mask_gives_none_and_sequence_drops_it():
    assert normalize_silhouette(np.zeros((50, 50), np.float32)) is None
    seq = normalize_sequence([_person(), np.zeros((300, 200), np.float32), _person()])
    assert seq.shape == (2, 64, 44)
    with pytest.raises(GaitidError, match="no silhouette"):
        normalize_sequence([np.zeros((5, 5))])


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 4)), np.zeros((5, 5), np.int32)])
def test_bad_masks(bad):
    with pytest.raises(GaitidError):
        normalize_silhouette(bad)


def test_matches_training_data(casia_root):
    """A CASIA-B frame shown large at another place in a frame normalises back to the training input."""
    import cv2

    with np.load(casia_root / "001.npz") as data:
        frames = np.unpackbits(data["nm-01_090"], axis=-1)
    for f in frames[::10]:
        if f.sum() < 100:
            continue
        big = np.zeros((480, 640), np.uint8)
        big[100:292, 200:392] = cv2.resize(f * 255, (192, 192), interpolation=cv2.INTER_LINEAR)
        out = normalize_silhouette(big)
        ref = f[:, 10:54].astype(bool)
        iou = (out.astype(bool) & ref).sum() / (out.astype(bool) | ref).sum()
        assert iou > 0.95


def _walking(frames: int, step: float, height: float = 170.0, confidence: float = 0.9) -> np.ndarray:
    """Keypoints of a walker whose whole body moves `step` pixels to the right a frame (BlazePose layout)."""
    k = np.zeros((frames, 33, 3), np.float32)
    x = 300.0 + step * np.arange(frames)
    k[:, :, 0] = x[:, None]
    k[:, :, 1] = np.linspace(100.0, 100.0 + height, 33)[None, :]
    k[:, :, 2] = confidence
    return k


def test_sideways_drift_in_body_heights():
    assert sideways_drift(_walking(31, 3.4)) == pytest.approx(30 * 3.4 / 170.0)
    assert sideways_drift(_walking(31, -3.4)) == pytest.approx(-30 * 3.4 / 170.0)
    assert sideways_drift(_walking(31, 0.0)) == pytest.approx(0.0, abs=1e-9)
    assert sideways_drift(_walking(31, 3.4, confidence=0.1)) == 0.0  # nothing seen: no direction
    assert sideways_drift(_walking(1, 3.4)) == 0.0


def test_a_walker_crossing_the_other_way_is_mirrored():
    silhouettes = np.zeros((31, 64, 44), np.float32)
    silhouettes[:, 10:60, 5:20] = 1.0  # leaning to one side, so a mirror image differs
    left = as_training_direction(silhouettes, _walking(31, -3.4))
    right = as_training_direction(silhouettes, _walking(31, 3.4))
    np.testing.assert_array_equal(left, silhouettes)  # CASIA-B's direction: as it is
    np.testing.assert_array_equal(right, mirror_silhouettes(silhouettes))
    # Too little sideways drift (toward the camera), or no keypoints: as it is.
    np.testing.assert_array_equal(as_training_direction(silhouettes, _walking(31, 0.4)), silhouettes)
    np.testing.assert_array_equal(as_training_direction(silhouettes, None), silhouettes)
    assert TRAINING_DRIFT == -1 and MIN_DRIFT * 170.0 > 30 * 0.4


def _feet_pointing(keypoints: np.ndarray, toes_ahead: float) -> np.ndarray:
    """The keypoints with both toes `toes_ahead` pixels to the right of their heels."""
    from gaitid.pose.layouts import KEYPOINT

    k = keypoints.copy()
    for side in ("left", "right"):
        k[:, KEYPOINT[f"{side}_foot_index"], 0] = k[:, KEYPOINT[f"{side}_heel"], 0] + toes_ahead
    return k


def test_facing_in_body_heights():
    assert facing(_feet_pointing(_walking(31, 0.0), 17.0)) == pytest.approx(0.1)
    assert facing(_feet_pointing(_walking(31, 0.0), -17.0)) == pytest.approx(-0.1)
    assert facing(_walking(31, 0.0)) == 0.0
    assert facing(_feet_pointing(_walking(31, 0.0, confidence=0.1), 17.0)) == 0.0  # no foot seen


def test_a_walker_who_does_not_cross_is_turned_by_the_way_the_feet_point():
    """On a treadmill, on the spot or turning, a walker does not drift across the image; the feet then say
    which way the walker faces, and one facing right is mirrored as one crossing to the right is."""
    silhouettes = np.zeros((31, 64, 44), np.float32)
    silhouettes[:, 10:60, 5:20] = 1.0
    on_the_spot = _walking(31, 0.0)
    right, left = _feet_pointing(on_the_spot, 17.0), _feet_pointing(on_the_spot, -17.0)
    np.testing.assert_array_equal(as_training_direction(silhouettes, right), mirror_silhouettes(silhouettes))
    np.testing.assert_array_equal(as_training_direction(silhouettes, left), silhouettes)
    # Feet pointing less than MIN_FACING body heights (toward the camera): as it is.
    barely = _feet_pointing(on_the_spot, 0.5 * MIN_FACING * 170.0)
    np.testing.assert_array_equal(as_training_direction(silhouettes, barely), silhouettes)
    # Clear drift decides, whichever way the feet seem to point.
    np.testing.assert_array_equal(as_training_direction(silhouettes, _feet_pointing(_walking(31, -3.4), 17.0)),
                                  silhouettes)
    np.testing.assert_array_equal(as_training_direction(silhouettes, _feet_pointing(_walking(31, 3.4), -17.0)),
                                  mirror_silhouettes(silhouettes))


def test_drift_needs_keypoints_in_the_blazepose_layout():
    with pytest.raises(GaitidError, match="keypoints must be"):
        sideways_drift(np.zeros((5, 17, 3)))


def test_a_mirrored_silhouette_is_the_normalised_mirror_image():
    """Mirroring normalised silhouettes gives what normalising the mirrored mask gives (the mass-centre column
    stays where normalisation puts it), for masks of odd and even widths."""
    rng = np.random.default_rng(0)
    for width, size in ((51, (64, 44)), (60, (64, 44)), (77, (64, 44)), (60, (64, 45))):
        mask = np.zeros((220, 200), np.float32)
        mask[20:200, 40 : 40 + width] = 1.0
        mask[60:100, 40 + width : 70 + width] = rng.random((40, 30)) > 0.3  # an arm held out on one side
        normalised, theirs = normalize_silhouette(mask, *size), normalize_silhouette(mask[:, ::-1], *size)
        assert (mirror_silhouettes(normalised) != theirs).mean() < 0.01
        if size[1] % 2 == 0:
            assert (normalised[:, ::-1] != theirs).mean() > 0.04  # a plain flip is a column off
