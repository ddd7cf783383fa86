"""Fusion of the silhouette and skeleton identification vectors of one walk, with fallback.

A track from HumanPoseNN has both modalities: masks (-> silhouette GaitNN) and keypoints (-> skeleton
GaitNN). `GaitSignature` keeps both single-modality Embeddings (either may be None when that modality was
not usable, e.g. a poor mask or too few confident keypoints), and the fused vector is derived from them:

    fused = concat( sqrt(w_sil) * s / |s| ,  sqrt(w_skel) * k / |k| )

with s and k the two vectors and (w_sil, w_skel) the weights, default (0.5, 0.5). Because each block is
unit length, the squared Euclidean distance between two fused vectors is

    w_sil * |s1/|s1| - s2/|s2||^2  +  w_skel * |k1/|k1| - k2/|k2||^2,

a weighted sum of the two modalities' (normalised) squared distances, each in [0, 4]; so the weights say
directly how much each modality counts, whatever the vector sizes of the two models.

`track_signature(track, GaitEncoder(), SkeletonEncoder())` builds the signature of a tracked walker,
leaving out a modality that is not usable (no or too few masks, too few confident keypoints).

Fallback: when a walk has only one usable modality, `fuse` returns that modality's Embedding unchanged
(its model name says which model made it), so it is compared only with the gallery's vectors of that same
model; `signature_distance` compares two signatures on the modalities both have, weighting them as above
and renormalising the weights over what is present. The equal default weights are a prior, not a fit:
no dataset here has silhouettes and skeletons of the same walks (CASIA-B has silhouettes only, the Kinect
data skeletons only), so they could not be tuned; adjust them with `weights` where paired data exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gaitid.errors import GaitidError
from gaitid.types import Embedding, Track, Walk

DEFAULT_WEIGHTS: tuple[float, float] = (0.5, 0.5)  # (silhouette, skeleton)
#: Fewer frames with a mask than this: the silhouette modality is not usable.
MIN_SILHOUETTE_FRAMES = 8


@dataclass(frozen=True)
class GaitSignature:
    """Both single-modality vectors of one walk; either may be None (that modality was not usable)."""

    silhouette: Embedding | None = None
    skeleton: Embedding | None = None

    def __post_init__(self) -> None:
        if self.silhouette is None and self.skeleton is None:
            raise GaitidError("a gait signature needs at least one usable modality (silhouette or skeleton)")

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m in ("silhouette", "skeleton") if getattr(self, m) is not None)


def _check_weights(weights: tuple[float, float]) -> tuple[float, float]:
    w_sil, w_skel = (float(w) for w in weights)
    if w_sil < 0 or w_skel < 0 or w_sil + w_skel <= 0:
        raise GaitidError(f"fusion weights must be non-negative and not both zero, got {weights}")
    total = w_sil + w_skel
    return w_sil / total, w_skel / total


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def fuse(signature: GaitSignature, weights: tuple[float, float] = DEFAULT_WEIGHTS) -> Embedding:
    """The walk's identification vector: both modalities fused (see the module doc), or the one usable
    modality's Embedding unchanged when only one is there."""
    w_sil, w_skel = _check_weights(weights)
    sil, skel = signature.silhouette, signature.skeleton
    if sil is None or w_sil == 0:
        if skel is None:
            raise GaitidError("silhouette weight is 0 and the walk has no skeleton vector")
        return skel
    if skel is None or w_skel == 0:
        return sil
    vector = np.concatenate([np.sqrt(w_sil) * _unit(sil.vector), np.sqrt(w_skel) * _unit(skel.vector)])
    model = f"fused[{sil.model}|{skel.model}]@{w_sil:.3g},{w_skel:.3g}"
    return Embedding(
        vector=vector.astype(np.float32), model=model, num_frames=max(sil.num_frames, skel.num_frames)
    )


def signature_distance(
    a: GaitSignature, b: GaitSignature, weights: tuple[float, float] = DEFAULT_WEIGHTS
) -> float:
    """Distance between two walks over the modalities both have (same model per modality), weights
    renormalised over those; sqrt of the weighted sum of squared distances of the unit vectors."""
    w = dict(zip(("silhouette", "skeleton"), _check_weights(weights)))
    total, used = 0.0, 0.0
    for name in ("silhouette", "skeleton"):
        ea, eb = getattr(a, name), getattr(b, name)
        if ea is None or eb is None or w[name] == 0:
            continue
        if ea.model != eb.model:
            raise GaitidError(
                f"{name} vectors of different models cannot be compared: {ea.model} vs {eb.model}"
            )
        total += w[name] * float(np.sum((_unit(ea.vector) - _unit(eb.vector)) ** 2))
        used += w[name]
    if used == 0:
        raise GaitidError(f"the two walks share no usable modality ({a.modalities} vs {b.modalities})")
    return float(np.sqrt(total / used))


def track_signature(
    track: Track, silhouette: Any | None = None, skeleton: Any | None = None
) -> GaitSignature:
    """Both modalities of one tracked walker, each only where usable.

    silhouette: a `GaitEncoder` (masks -> vector), or None to skip the modality; skeleton: a
    `SkeletonEncoder` (keypoints -> vector), or None. A modality is not usable when its encoder is None,
    when the track has no masks (or no mask frame holds a silhouette), or too few frames with a confident
    skeleton; the encoders raise GaitidError for those and this function leaves that modality out.
    Raises GaitidError when neither modality is usable.
    """
    sil = skel = None
    problems = []
    if silhouette is not None:
        seen = [p for p in track.people if p.mask is not None]
        if len(seen) < MIN_SILHOUETTE_FRAMES:
            problems.append(f"silhouette: {len(seen)} frames with a mask (< {MIN_SILHOUETTE_FRAMES})")
        else:
            try:
                sil = silhouette.embed_masks([p.mask for p in seen], np.stack([p.keypoints for p in seen]))
            except GaitidError as error:
                problems.append(f"silhouette: {error}")
    if skeleton is not None:
        try:
            skel = skeleton.embed_track(track)
        except GaitidError as error:
            problems.append(f"skeleton: {error}")
    if sil is None and skel is None:
        raise GaitidError(
            "no usable gait modality for this track (" + "; ".join(problems or ["no encoder"]) + ")"
        )
    return GaitSignature(sil, skel)


class FusedEncoder:
    """Both modalities of a walk fused into one vector (`fuse`), through the encoders' one face.

    A walk is embedded only when both modalities are usable: a vector of one modality alone is another
    model's vector, which the gallery must not mix with fused ones (GaitidError then, and the window is
    skipped)."""

    def __init__(self, silhouette: Any, skeleton: Any, weights: tuple[float, float] = DEFAULT_WEIGHTS) -> None:
        self.silhouette, self.skeleton = silhouette, skeleton
        self.weights = _check_weights(weights)
        w_sil, w_skel = self.weights
        self.model = f"fused[{silhouette.model}|{skeleton.model}]@{w_sil:.3g},{w_skel:.3g}"
        self.dim = silhouette.dim + skeleton.dim
        self.silhouette_size = silhouette.silhouette_size

    def embed(self, walk: Walk) -> Embedding:
        signature = GaitSignature(self.silhouette.embed(walk), self.skeleton.embed(walk))
        return fuse(signature, self.weights)
