import numpy as np
import pytest

from gaitid.evaluation.metrics import (
    cross_view_rank1,
    euclidean_distances,
    mean_over_gallery_views,
    rank_k_accuracy,
)

# 3 probes x 4 gallery entries, worked by hand:
# probe 0 (label a): nearest is gallery 1 (a) -> hit
# probe 1 (label b): nearest is gallery 0 (a), second gallery 2 (b) -> miss at rank 1, hit at rank 2
# probe 2 (label c): nearest is gallery 3 (c) -> hit
DIST = np.array([[0.9, 0.1, 0.5, 0.7], [0.2, 0.8, 0.3, 0.9], [0.6, 0.5, 0.4, 0.05]])
PROBE = np.array(["a", "b", "c"])
GALLERY = np.array(["a", "a", "b", "c"])


@pytest.mark.parametrize("k, expected", [(1, 2 / 3), (2, 1.0), (4, 1.0)])
def test_rank_k(k, expected):
    assert rank_k_accuracy(DIST, PROBE, GALLERY, k) == pytest.approx(expected)


def test_rank_k_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        rank_k_accuracy(DIST[:, :3], PROBE, GALLERY)


def test_euclidean():
    a = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert np.allclose(euclidean_distances(a, a), [[0, 5], [5, 0]])


def test_cross_view_excludes_identical_views():
    # two views; gallery: subjects 1, 2 in views A and B; probes: subject 1 in A, subject 2 in B
    probe_labels, probe_views = np.array([1, 2]), np.array(["A", "B"])
    gallery_labels, gallery_views = np.array([1, 2, 1, 2]), np.array(["A", "A", "B", "B"])
    dist = np.array(
        [
            [0.0, 1.0, 0.9, 0.2],  # probe 1 (view A): in gallery view B it wrongly matches subject 2
            [0.3, 0.4, 1.0, 0.0],  # probe 2 (view B): in gallery view A it wrongly matches subject 1
        ]
    )
    table = cross_view_rank1(dist, probe_labels, probe_views, gallery_labels, gallery_views, ("A", "B"))
    assert np.isnan(table[0, 0]) and np.isnan(table[1, 1])
    assert table[0, 1] == 0.0 and table[1, 0] == 0.0
    kept = cross_view_rank1(dist, probe_labels, probe_views, gallery_labels, gallery_views, ("A", "B"), False)
    assert kept[0, 0] == 1.0 and kept[1, 1] == 1.0
    assert np.allclose(mean_over_gallery_views(kept), [0.5, 0.5])
