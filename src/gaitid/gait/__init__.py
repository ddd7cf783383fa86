"""Gait encoders: a walk in, one identification vector out, through one face whatever the modality.

    encoder.embed(walk: gaitid.types.Walk) -> gaitid.types.Embedding

`GaitEncoder` reads the walk's silhouettes, `SkeletonEncoder` its keypoints and times, `FusedEncoder` both.
Each has `model` (name/version, recorded in every Embedding), `dim`, and `silhouette_size` (the (height,
width) its silhouettes must be normalised to, or None when it reads none). Inference runs the shipped ONNX
models with onnxruntime; torch is needed only to train.
"""

from __future__ import annotations

from typing import Protocol

from gaitid.types import Embedding, Walk


class Encoder(Protocol):
    @property
    def model(self) -> str: ...

    dim: int
    silhouette_size: tuple[int, int] | None

    def embed(self, walk: Walk) -> Embedding: ...


__all__ = ["Encoder"]
