import numpy as np
import pytest

from gaitid.errors import GaitidError
from gaitid.gait.normalize import normalize_silhouette
from gaitid.training.batches import SilhouetteBatches
from gaitid.training.config import DataConfig, config_from_dict
from gaitid.training.silhouette_augment import Degradation, SilhouetteAugment, degrade_clip, degrade_frame, erase_band

NEUTRAL = Degradation(height=64, blur=0.0, threshold=0.5, cut_top=0.0, cut_bottom=0.0, stretch=1.0)


def _walker() -> np.ndarray:
    """A 64 x 44 figure of 0/1: head, torso, a one-pixel arm beside it, and wide feet in the last 6 rows."""
    f = np.zeros((64, 44), np.uint8)
    f[0:10, 18:26] = 1  # head
    f[10:58, 17:27] = 1  # body and legs
    f[14:40, 29] = 1  # a thin arm, one pixel wide
    f[58:64, 7:37] = 1  # feet, 30 columns wide
    return f


def _widest_row(frame: np.ndarray) -> int:
    return int(frame.sum(axis=1).max())


def test_neutral_degradation_is_the_normalisation_of_the_frame():
    f = _walker()
    out = degrade_frame(f, NEUTRAL)
    assert out.dtype == f.dtype and out.shape == f.shape
    assert np.array_equal(out, normalize_silhouette(f).astype(np.uint8))


def test_cut_feet_are_gone_and_the_rest_fills_the_height():
    f = _walker()
    out = degrade_frame(f, Degradation(64, 0.0, 0.5, 0.0, 0.12, 1.0))
    assert _widest_row(f) == 30
    assert _widest_row(out) < 20  # no wide feet left
    rows = np.flatnonzero(out.any(axis=1))
    assert rows[0] == 0 and rows[-1] == 63  # renormalised to the full height, as inference does


def test_a_small_walker_loses_its_thin_limbs():
    f = _walker()
    arm_columns = slice(28, 31)
    assert f[14:40, arm_columns].sum() > 0
    out = degrade_frame(f, Degradation(16, 0.0, 0.5, 0.0, 0.0, 1.0))
    assert out[14:40, arm_columns].sum() == 0
    assert out.sum() > 0.5 * f.sum()


def test_the_cut_level_of_a_blurred_edge_grows_or_shrinks_the_silhouette():
    f = _walker()
    low = degrade_frame(f, Degradation(64, 1.0, 0.3, 0.0, 0.0, 1.0))
    high = degrade_frame(f, Degradation(64, 1.0, 0.7, 0.0, 0.0, 1.0))
    assert low.sum() > f.sum() > high.sum()


def test_stretch_widens():
    f = _walker()
    wide = degrade_frame(f, Degradation(64, 0.0, 0.5, 0.0, 0.0, 1.15))
    narrow = degrade_frame(f, Degradation(64, 0.0, 0.5, 0.0, 0.0, 0.85))
    assert _widest_row(wide) > _widest_row(f) > _widest_row(narrow)


def test_off_by_default_draws_nothing_and_changes_nothing():
    rng = np.random.default_rng(0)
    clip = np.stack([_walker()] * 3)
    assert degrade_clip(clip, SilhouetteAugment(), rng) is clip
    assert rng.random() == np.random.default_rng(0).random()


def test_a_clip_is_degraded_alike_in_every_frame():
    clip = np.stack([_walker()] * 4)
    out = degrade_clip(clip, SilhouetteAugment(probability=1.0, cut=1.0), np.random.default_rng(5))
    assert not np.array_equal(out[0], clip[0])
    assert all(np.array_equal(out[0], o) for o in out[1:])


def test_an_erased_band_is_the_same_rows_of_every_frame_and_nothing_else():
    clip = np.stack([_walker(), np.roll(_walker(), 3, axis=1), _walker()])
    augment = SilhouetteAugment(erase=1.0, erase_height=(0.2, 0.2))
    out = degrade_clip(clip, augment, np.random.default_rng(2))
    changed = np.flatnonzero((out != clip).any(axis=(0, 2)))
    assert changed.size > 0
    erased = np.flatnonzero((out == 0).all(axis=(0, 2)) & clip.any(axis=(0, 2)))
    band = np.arange(erased.min(), erased.max() + 1)
    assert band.size == round(0.2 * 64) and set(changed) <= set(band)
    assert not out[:, band].any()
    outside = np.setdiff1d(np.arange(64), band)
    assert np.array_equal(out[:, outside], clip[:, outside])


def test_erasing_off_leaves_the_clip_and_the_random_numbers_alone():
    rng = np.random.default_rng(0)
    clip = np.stack([_walker()] * 2)
    assert erase_band(clip, SilhouetteAugment(erase=0.0), rng) is clip
    assert rng.random() == np.random.default_rng(0).random()


def test_erasing_share_of_clips():
    rng = np.random.default_rng(3)
    clip = np.stack([_walker()] * 2)
    erased = sum(erase_band(clip, SilhouetteAugment(erase=0.3), rng) is not clip for _ in range(400))
    assert 80 <= erased <= 160


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"probability": 1.5}, "between 0 and 1"),
        ({"erase": -0.1}, "between 0 and 1"),
        ({"erase_height": [0.1, 0.6]}, "erase_height"),
        ({"height": [40, 20]}, "range"),
        ({"threshold": [0.0, 0.5]}, "threshold inside"),
        ({"cut_bottom": [0.0, 0.5]}, "under half"),
        ({"erode": 1}, "unknown silhouette setting"),
        ({"height": 30}, "height must be a range"),
        ({"probability": [0.1, 0.2]}, "probability must be a number"),
        ({"blur": ["a", 1]}, "must hold numbers"),
    ],
)
def test_bad_settings_are_config_errors(overrides, message):
    with pytest.raises(GaitidError, match=message):
        config_from_dict({"model": {"name": "gaitset_strips_s"}, "data": {"augment": overrides}})


def test_batches_are_degraded_as_the_config_says(casia_root):
    from gaitid.datasets.casia_b import load_casia_b

    data = load_casia_b([1, 2], "train", casia_root, conditions=["nm-01"], views=["090"])
    indices = np.array([0, 1, 0, 1])
    plain = SilhouetteBatches(data, DataConfig(frames=5)).make(indices, np.random.default_rng(1))
    same = SilhouetteBatches(data, DataConfig(frames=5, augment={"probability": 0.0})).make(
        indices, np.random.default_rng(1))
    degraded = SilhouetteBatches(data, DataConfig(frames=5, augment={"probability": 1.0})).make(
        indices, np.random.default_rng(1))
    assert np.array_equal(plain.x.numpy(), same.x.numpy())
    assert degraded.x.shape == plain.x.shape
    assert not np.array_equal(degraded.x.numpy(), plain.x.numpy())
    assert set(np.unique(degraded.x.numpy())) <= {0.0, 1.0}
    erased = SilhouetteBatches(data, DataConfig(frames=5, augment={"erase": 1.0})).make(indices, np.random.default_rng(1))

    def empty_rows(batch):  # per clip, rows with nothing in any frame
        return [int((~clip.numpy().any(axis=(0, 1, 3))).sum()) for clip in batch.x]

    assert all(n == 0 for n in empty_rows(plain))  # normalised walkers fill the height
    assert all(n >= round(0.1 * 64) for n in empty_rows(erased))
