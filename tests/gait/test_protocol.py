"""One face for every gait encoder: `embed(walk) -> Embedding`, for silhouettes, skeletons and their fusion."""

from __future__ import annotations

import numpy as np
import pytest

from gaitid.errors import GaitidError
from gaitid.gait import Encoder
from gaitid.gait.encoder import GaitEncoder
from gaitid.gait.fusion import FusedEncoder, GaitSignature, fuse
from gaitid.gait.skeleton_encoder import SkeletonEncoder
from gaitid.types import Walk


def _walk(frames: int = 30) -> Walk:
    """A plausible walker: an upright figure 300 px tall whose legs swing, seen at 30 frames/s."""
    rng = np.random.default_rng(0)
    t = np.arange(frames) / 30.0
    keypoints = np.zeros((frames, 33, 3), np.float32)
    keypoints[..., 2] = 0.9
    heights = np.linspace(100, 400, 33)
    keypoints[..., 1] = heights
    keypoints[..., 0] = 300 + 20 * np.sin(2 * np.pi * t)[:, None] * (heights > 300) + rng.normal(0, 1, (frames, 33))
    silhouettes = np.zeros((frames, 64, 44), np.float32)
    silhouettes[:, 4:60, 16:28] = 1.0
    return Walk(silhouettes=silhouettes, keypoints=keypoints, times=t)


@pytest.fixture(scope="module")
def encoders() -> dict[str, Encoder]:
    silhouette, skeleton = GaitEncoder(), SkeletonEncoder()
    return {"silhouette": silhouette, "skeleton": skeleton, "fused": FusedEncoder(silhouette, skeleton)}


@pytest.mark.parametrize("modality", ["silhouette", "skeleton", "fused"])
def test_every_encoder_embeds_a_walk(encoders: dict[str, Encoder], modality: str) -> None:
    encoder = encoders[modality]
    embedding = encoder.embed(_walk())
    assert embedding.model == encoder.model and embedding.vector.shape == (encoder.dim,)
    assert np.isfinite(embedding.vector).all()


def test_the_fused_vector_is_fuse_of_the_two(encoders: dict[str, Encoder]) -> None:
    walk = _walk()
    expected = fuse(GaitSignature(encoders["silhouette"].embed(walk), encoders["skeleton"].embed(walk)))
    fused = encoders["fused"].embed(walk)
    assert fused.model == expected.model and np.allclose(fused.vector, expected.vector)


def test_what_an_encoder_needs_is_in_the_walk(encoders: dict[str, Encoder]) -> None:
    walk = _walk()
    with pytest.raises(GaitidError, match="no keypoints"):
        encoders["skeleton"].embed(Walk(silhouettes=walk.silhouettes))
    with pytest.raises(GaitidError, match="no silhouettes"):
        encoders["silhouette"].embed(Walk(keypoints=walk.keypoints, times=walk.times))
    with pytest.raises(GaitidError):  # fused: both or nothing, never one modality's vector under its name
        encoders["fused"].embed(Walk(silhouettes=walk.silhouettes))
    assert encoders["skeleton"].silhouette_size is None and encoders["fused"].silhouette_size == (64, 44)


def test_a_walk_has_one_length() -> None:
    walk = _walk(30)
    with pytest.raises(ValueError, match="one length"):
        Walk(silhouettes=walk.silhouettes, keypoints=walk.keypoints[:20])
