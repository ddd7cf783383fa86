import numpy as np

from gaitid.pose.geometry import Roi
from gaitid.pose.landmarks import BlazePoseLandmarker


def test_run_many_spreads_rois_over_workers_and_keeps_their_order():
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    rois = [Roi(80, 120, 150), Roi(160, 120, 200, 0.3), Roi(240, 100, 120)]
    parallel = BlazePoseLandmarker("lite", threads=1, workers=3).run_many(image, rois)
    one_by_one = [BlazePoseLandmarker("lite", threads=1, workers=1).run(image, roi) for roi in rois]
    for a, b in zip(parallel, one_by_one):
        np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-4)
        assert a.presence == b.presence
        assert a.mask.shape == b.mask.shape and a.heatmaps.shape == (33, 64, 64)


def test_mask_box_covers_the_roi_within_the_frame():
    image = np.zeros((100, 100, 3), np.uint8)
    landmarks = BlazePoseLandmarker("lite", workers=1).run(image, Roi(90, 50, 40))
    x1, y1, x2, y2 = landmarks.mask_box
    assert (x1, y1, x2, y2) == (70, 30, 100, 70)  # clipped at the right edge
    assert landmarks.mask.shape == (40, 30)
