"""Score normalisation against a cohort of people who are not enrolled (cohort z-, t- and s-norm).

A raw cosine score means different things for different people and different probes: someone with an
ordinary walk, or a probe with noisy silhouettes, looks like many people. Normalisation puts every score on
the scale of how strangers score:

- z-norm (the enrolled side): the cohort's windows are scored against enrolled person p; their mean and
  standard deviation (mu_p, sd_p) say how high strangers go against p;
- t-norm (the probe side): probe x is scored against each cohort person; (mu_x, sd_x) say how high x goes
  against strangers;
- s-norm: the mean of both, (s - mu_p) / sd_p and (s - mu_x) / sd_x.

`top` (adaptive s-norm) takes the statistics from the `top` fraction of highest cohort scores only: the
part of the cohort that resembles p or x, where a false match would come from.

The cohort's people are dealt in two halves: the windows of one half give the enrolled side's statistics
(`stat_rows`), the windows of the other half are searched as strangers against the gallery to calibrate
(`probe_rows`, at most `max_probes`; their own probe-side statistics leave their own person out). A window
that set a person's statistics would score low against that person; kept apart, the calibration probes
are strangers like any other (a cohort of fewer than `2 * MIN_SPLIT_PEOPLE` people is not split).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from gaitid.gallery.classifiers import CosineNN
from gaitid.gallery.cohort import Cohort

MODES = ("none", "z", "t", "s")
_MIN_SD = 1e-3
MIN_TOP = 10  # the statistics always rest on at least this many cohort scores (or all, when fewer)
MIN_SPLIT_PEOPLE = 5


def top_stats(scores: np.ndarray, top: float, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the highest `top` fraction of `scores` along `axis` (-inf ignored)."""
    scores = np.moveaxis(scores, axis, -1)
    finite = np.isfinite(scores).sum(axis=-1)
    n = np.maximum(np.minimum(finite, MIN_TOP), np.ceil(top * finite).astype(int))
    ordered = -np.sort(-scores, axis=-1)
    cols = np.arange(scores.shape[-1])
    mask = cols < n[..., None]
    mask &= np.isfinite(ordered)
    count = np.maximum(mask.sum(axis=-1), 1)
    values = np.where(mask, ordered, 0.0)
    mean = values.sum(axis=-1) / count
    var = (np.where(mask, (ordered - mean[..., None]) ** 2, 0.0)).sum(axis=-1) / count
    return mean.astype(np.float32), np.maximum(np.sqrt(var), _MIN_SD).astype(np.float32)


@dataclass
class CohortNorm:
    """Normalises raw cosine scores against `cohort` (mode "none", "z", "t" or "s"; see the module doc)."""

    cohort: Cohort
    mode: str = "s"
    top: float = 1.0
    max_probes: int = 2000

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown normalisation {self.mode!r}; choose one of {', '.join(MODES)}")
        if not 0.0 < self.top <= 1.0:
            raise ValueError(f"top must be in (0, 1], got {self.top}")
        self._people = CosineNN().fit(self.cohort.vectors, self.cohort.labels)
        digest = hashlib.sha256(np.ascontiguousarray(self.cohort.vectors).tobytes())
        digest.update("\0".join(self.cohort.labels).encode())
        self.key = (digest.hexdigest(), self.top)  # what a probe's statistics depend on
        rng = np.random.default_rng(0)
        people = np.unique(self.cohort.labels)
        everyone = np.arange(len(self.cohort.labels))
        if len(people) >= 2 * MIN_SPLIT_PEOPLE:
            probing = np.isin(self.cohort.labels, rng.permutation(people)[: len(people) // 2])
            self.stat_rows, candidates = everyone[~probing], everyone[probing]
        else:
            self.stat_rows, candidates = everyone, everyone
        self.probe_rows = np.sort(rng.permutation(candidates)[: self.max_probes])

    def probe_stats(self, X: np.ndarray, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(mu, sd) of each probe's scores against the cohort's people; `exclude`: each probe's own cohort
        label, left out (for cohort windows searched as strangers)."""
        scores = self._people.decision_function(X)
        if exclude is not None:
            scores = np.where(self._people.classes_[None, :] == np.asarray(exclude)[:, None], -np.inf, scores)
        return top_stats(scores, self.top, axis=1)

    def person_stats(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mu, sd) per enrolled person from `columns`, the (cohort windows, people) raw scores of every
        cohort window against them: how strangers score on each person."""
        return top_stats(columns[self.stat_rows], self.top, axis=0)

    def calibration_probe_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """The probe-side statistics of the calibration probes, each leaving its own person out (stored in
        a shipped cohort's file for the settings in use; computed otherwise)."""
        stored = self.cohort.probe_stats
        if (stored is not None and stored.top == self.top and stored.max_probes == self.max_probes
                and len(stored.mu) == len(self.probe_rows)):
            return stored.mu, stored.sd
        rows = self.probe_rows
        return self.probe_stats(self.cohort.vectors[rows], exclude=self.cohort.labels[rows])

    def normalise(
        self,
        raw: np.ndarray,
        probe: tuple[np.ndarray, np.ndarray] | None,
        person: tuple[np.ndarray, np.ndarray] | None,
    ) -> np.ndarray:
        """raw (n, people) -> normalised scores; probe: (mu, sd) of each row; person: (mu, sd) per column."""
        raw = np.asarray(raw, np.float32)
        if self.mode == "none":
            return raw
        parts = []
        if self.mode in ("z", "s"):
            parts.append((raw - person[0][None, :]) / person[1][None, :])
        if self.mode in ("t", "s"):
            parts.append((raw - probe[0][:, None]) / probe[1][:, None])
        return sum(parts) / len(parts)

    def needs_probe_stats(self) -> bool:
        return self.mode in ("t", "s")

    def needs_person_stats(self) -> bool:
        return self.mode in ("z", "s")
