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
