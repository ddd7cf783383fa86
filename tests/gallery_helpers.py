"""Shared helpers for the gallery tests: reproducible random identification vectors, and `env`, a fixture
that points the default gallery at a fresh folder with no key of the user's."""

from __future__ import annotations

import numpy as np
import pytest

from gaitid.types import Embedding

MODEL = "test-model-v1"


class People:
    """`n` people, each a random direction in `dim` dimensions; samples scatter around it."""

    def __init__(self, n: int = 12, dim: int = 32, noise: float = 0.35, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.centres = self.rng.normal(size=(n, dim)).astype(np.float32)
        self.centres /= np.linalg.norm(self.centres, axis=1, keepdims=True)
        self.noise = noise / np.sqrt(dim)
        self.dim = dim

    def vectors(self, person: int, count: int) -> np.ndarray:
        return (self.centres[person] + self.noise * self.rng.normal(size=(count, self.dim))).astype(
            np.float32
        )

    def embeddings(self, person: int, count: int, model: str = MODEL) -> list[Embedding]:
        return [Embedding(v, model, 30) for v in self.vectors(person, count)]


def name(i: int) -> str:
    return f"person-{i:03d}"


@pytest.fixture
def env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GAITID_GALLERY", str(tmp_path / "g.db"))
    monkeypatch.delenv("GAITID_GALLERY_KEY", raising=False)
    monkeypatch.delenv("GAITID_GALLERY_KEY_FILE", raising=False)
    return tmp_path
