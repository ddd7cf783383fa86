import numpy as np
import pytest

from gaitid.errors import GaitidError
from gaitid.gait.fusion import GaitSignature, fuse, signature_distance
from gaitid.types import Embedding


def emb(values, model):
    return Embedding(vector=np.asarray(values, np.float32), model=model, num_frames=10)


S1, S2 = emb([3, 4], "sil/1"), emb([4, 3], "sil/1")
K1, K2 = emb([1, 0, 0], "skel/1"), emb([0, 1, 0], "skel/1")


def test_fused_vector_distance_is_weighted_sum():
    a, b = GaitSignature(S1, K1), GaitSignature(S2, K2)
    fa, fb = fuse(a, (0.3, 0.7)), fuse(b, (0.3, 0.7))
    assert fa.vector.shape == (5,) and fa.model == fb.model and "sil/1" in fa.model and "skel/1" in fa.model
    d_sil = np.sum((np.array([0.6, 0.8]) - np.array([0.8, 0.6])) ** 2)
    d_skel = 2.0
    expected = np.sqrt(0.3 * d_sil + 0.7 * d_skel)
    assert np.linalg.norm(fa.vector - fb.vector) == pytest.approx(expected, rel=1e-5)
    assert signature_distance(a, b, (0.3, 0.7)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("sil, skel, expected", [(S1, None, S1), (None, K1, K1)])
def test_fallback_to_the_usable_modality(sil, skel, expected):
    assert fuse(GaitSignature(sil, skel)) is expected


def test_distance_over_shared_modalities():
    both, only_skel = GaitSignature(S1, K1), GaitSignature(None, K2)
    assert signature_distance(both, only_skel) == pytest.approx(np.sqrt(2.0))
    with pytest.raises(GaitidError, match="share no usable modality"):
        signature_distance(GaitSignature(S1, None), GaitSignature(None, K1))
    with pytest.raises(GaitidError, match="at least one"):
        GaitSignature(None, None)
    with pytest.raises(GaitidError, match="different models"):
        signature_distance(GaitSignature(S1, None), GaitSignature(emb([1, 1], "sil/2"), None))
    with pytest.raises(GaitidError, match="weights"):
        fuse(both, (0.0, 0.0))


class FakeSilhouette:
    def embed_masks(self, masks, keypoints=None):
        if not any(m.sum() > 0 for m in masks):
            raise GaitidError("no silhouette in any frame of the sequence")
        return S1


class FakeSkeleton:
    def embed_track(self, track):
        if max(p.keypoints[:, 2].max() for p in track.people) < 0.3:
            raise GaitidError("too few frames with a usable skeleton")
        return K1


def make_track(n=10, mask_value=1.0, confidence=0.9):
    from gaitid.types import Person, Track

    people = []
    for _ in range(n):
        kp = np.zeros((33, 3), np.float32)
        kp[:, 2] = confidence
        mask = None if mask_value is None else np.full((4, 3), mask_value, np.float32)
        box = None if mask is None else np.array([0, 0, 3, 4], np.int32)
        people.append(Person(box=np.zeros(4, np.float32), score=1.0, keypoints=kp, mask=mask, mask_box=box))
    return Track(1, tuple(range(n)), tuple(i / 10 for i in range(n)), tuple(people))


@pytest.mark.parametrize(
    "track_kwargs, modalities",
    [
        ({}, ("silhouette", "skeleton")),
        ({"mask_value": None}, ("skeleton",)),  # no masks: skeleton only
        ({"mask_value": 0.0}, ("skeleton",)),  # empty masks: skeleton only
        ({"confidence": 0.1}, ("silhouette",)),  # no confident keypoints: silhouette only
    ],
)
def test_track_signature_falls_back(track_kwargs, modalities):
    from gaitid.gait.fusion import track_signature

    sig = track_signature(make_track(**track_kwargs), FakeSilhouette(), FakeSkeleton())
    assert sig.modalities == modalities
    fused = fuse(sig)
    if len(modalities) == 1:
        assert fused is getattr(sig, modalities[0])


def test_track_signature_with_nothing_usable():
    from gaitid.gait.fusion import track_signature

    with pytest.raises(GaitidError, match="no usable gait modality"):
        track_signature(make_track(mask_value=None, confidence=0.1), FakeSilhouette(), FakeSkeleton())
    assert track_signature(make_track(), None, FakeSkeleton()).modalities == ("skeleton",)
