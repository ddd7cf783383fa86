"""Batch sampling for metric learning: P identities x K sequences, and frame selection within a sequence.

Everything takes an explicit `numpy.random.Generator`; nothing touches global random state.
"""

from __future__ import annotations

import numpy as np

from gaitid.errors import GaitidError


class PKSampler:
    """Draws batches of P distinct identities with K sequences each (with replacement when an identity
    has fewer than K sequences). `labels` holds the identity of every sequence."""

    def __init__(self, labels: np.ndarray, p: int, k: int) -> None:
        labels = np.asarray(labels)
        self.by_label = {int(c): np.flatnonzero(labels == c) for c in np.unique(labels)}
        if p < 1 or k < 1:
            raise GaitidError(f"config [sampler]: p and k must be positive, got p={p}, k={k}")
        if p > len(self.by_label):
            raise GaitidError(
                f"config [sampler]: p={p} people per batch, but the training data holds only "
                f"{len(self.by_label)}: lower sampler.p or train on more subjects"
            )
        self.p, self.k = p, k

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Indices of one batch, (P * K,), grouped by identity."""
        ids = rng.choice(sorted(self.by_label), size=self.p, replace=False)
        out = []
        for c in ids:
            pool = self.by_label[int(c)]
            out.append(rng.choice(pool, size=self.k, replace=len(pool) < self.k))
        return np.concatenate(out)


def sample_frames(num_frames: int, n: int, mode: str, rng: np.random.Generator, step: int = 1) -> np.ndarray:
    """Indices of n frames of a sequence of num_frames.

    mode "random": an unordered random subset (sorted), repeating frames only when the sequence is shorter
    than n (for set models). "contiguous": n frames in order, every `step`-th from a random start, looping
    round a sequence shorter than their span (for models that read the order).
    """
    if num_frames < 1:
        raise ValueError("empty sequence")
    if mode == "random":
        return np.sort(rng.choice(num_frames, size=n, replace=num_frames < n))
    if mode == "contiguous":
        span = (n - 1) * step + 1
        start = int(rng.integers(0, max(num_frames - span, 0) + 1))
        return (start + step * np.arange(n)) % num_frames
    raise ValueError(f"frame sampling must be 'random' or 'contiguous', got {mode!r}")
