"""A walker's evidence: the scores of every window of their walk against the gallery, and the answer so far.

`Gallery.decide(evidence)` is the one decision; this module holds what it decides on and the rule that
keeps an answer from flipping:

- every window counts: the evidence for each enrolled person is the mean of their normalised scores over
  all the walk's windows so far (at most `max_windows`, the most recent), so the answer firms up as the
  walker keeps walking;
- a name, once given, is replaced (by another name or by unknown) only when the new answer has held for
  `confirm` windows in a row (default 2): one odd window (a turn, an occlusion) never changes who someone
  is. A first name, or a name after unknown, is given once it has held for `confirm_first` windows in a row
  (default 1: at once, the answer firming up); until then the walker is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gaitid.types import Identity

CONFIRM_WINDOWS = 2
CONFIRM_FIRST_WINDOWS = 1
MAX_WINDOWS = 240  # two minutes in view at 30 frames/s with the default windows


@dataclass
class TrackEvidence:
    """The windows of one walk (vectors of one model) and their scores; `Gallery.decide` keeps it current.

    model: the Embedding.model of the vectors. vectors: the last `max_windows` window vectors. scores: one
    normalised score row per window, against the people of `key` (recomputed when the gallery changes);
    `scored` of the `windows` seen so far have been scored. probe_stats: each window's statistics against
    the cohort (by window number; they depend on the window and the cohort only, so they survive changes
    of the gallery). answer: the current answer. pending: a different answer and for how many windows in a
    row it has held.
    """

    model: str
    max_windows: int = MAX_WINDOWS
    confirm: int = CONFIRM_WINDOWS
    confirm_first: int = CONFIRM_FIRST_WINDOWS
    vectors: list[np.ndarray] = field(default_factory=list)
    scores: list[np.ndarray] = field(default_factory=list)
    key: tuple | None = None
    answer: Identity | None = None
    pending: tuple[str | None, int] = (None, 0)
    windows: int = 0  # every window seen, including those no longer kept
    scored: int = 0
    probe_stats: dict[int, tuple[float, float]] = field(default_factory=dict)
    stats_key: tuple | None = None

    def add(self, vector: np.ndarray) -> None:
        """One more window of the walk."""
        vector = np.asarray(vector, np.float32)
        if vector.ndim != 1:
            raise ValueError(f"a window's vector must be 1-D, got shape {vector.shape}")
        self.vectors.append(vector)
        self.windows += 1
        del self.vectors[: -self.max_windows]
        for gone in [w for w in self.probe_stats if w < self.first_window]:
            del self.probe_stats[gone]

    @property
    def first_window(self) -> int:
        """The number of the oldest window kept (windows are numbered from 0 as they come)."""
        return self.windows - len(self.vectors)

    def again(self) -> TrackEvidence:
        """The same walk, to be decided afresh (against another gallery): the windows are kept, and the
        cohort statistics are shared (they depend on the windows and the cohort only, so what one copy
        computes, the others reuse); the scores and the answer are not."""
        copy = TrackEvidence(self.model, self.max_windows, self.confirm, self.confirm_first, list(self.vectors),
                             windows=self.windows)
        copy.probe_stats, copy.stats_key = self.probe_stats, self.stats_key
        return copy

    def settle(self, fresh: Identity) -> Identity:
        """Apply the no-flip rule to the answer of the evidence as it is now; returns the answer to give."""
        current = self.answer
        named = current is not None and current.name is not None
        if fresh.name == (current.name if named else None):
            self.pending = (None, 0)
            self.answer = fresh
            return fresh
        name, held = self.pending
        held = held + 1 if name == fresh.name else 1
        self.pending = (fresh.name, held)
        if held >= (self.confirm if named else self.confirm_first):
            self.pending = (None, 0)
            self.answer = fresh
            return fresh
        # Keep the current answer for now (a name, or unknown), with what the evidence says of it today.
        scores = dict(fresh.candidates)
        kept = Identity(
            name=current.name if named else None,
            score=scores.get(current.name, current.score) if named else fresh.score,
            candidates=fresh.candidates,
            fpir=fresh.fpir,
            margin=fresh.margin,
            windows=fresh.windows,
        )
        self.answer = kept
        return kept
