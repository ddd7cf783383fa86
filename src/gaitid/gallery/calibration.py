"""Scores whose threshold means something: the open-set calibration of the gallery.

A score (a cosine similarity normalised against the cohort, an SVM margin) says nothing by itself about
how often a stranger would pass. So every score r is mapped through the distribution of *non-mated top
scores*: the best score that searches by people who are not enrolled obtain against the gallery as it is.
With N such searches,

    calibrated(r) = #{non-mated top scores < r} / N = 1 - FPIR(r)

where FPIR(r) is the estimated false-positive identification rate at threshold r (the fraction of strangers
whose best match reaches r). A probe is then accepted as its best candidate when

    calibrated(best score) >= 1 - target_fpir,

so "target_fpir = 0.01" means: about 1 % of people who are not enrolled are wrongly given a name. Because
the strangers are searched against this very gallery, the estimate follows its size: one person enrolled
or ten thousand. The score of every candidate in an Identity is this calibrated value, in [0, 1].

Where the non-mated searches come from (see Gallery):
- the cohort (the normal case): windows of people never enrolled, shipped with the model or recorded on
  the site (gaitid.gallery.cohort), searched against the gallery; with cosine, the windows of half the
  cohort's people (the other half set the normalisation, gaitid.gallery.normalisation); with the SVM,
  the half of the cohort's people its SVMs were not trained against;
- without a cohort, the gallery itself: for nearest neighbour, each enrolled vector (up to a sample)
  searched against everyone but its own person (leave one person out); for the SVM, cross-fitting over
  people (folds of people searched by SVMs fitted on the others). Both say little with few people.
The estimate holds for strangers who look like the cohort: on footage unlike it, calibrate with a site
cohort (benchmarks/RESULTS-openset.md). The resolution is 1/N.

A site cohort too small to be used alone is joined to the shipped one, where its few windows hardly move
the estimate; its windows are then also searched on their own (`site`), and a score must pass both. A
gallery of 5 people or more (`Gallery(enrolled_null=True)`, the default) also holds the enrolled people's own
windows up against each other (`enrolled`, leave one person out), filmed by the site's cameras like the
strangers to come. The calibrated score is the lowest of the nulls', its FPIR the highest.

A walk decided with its footage (`Gallery.decide(evidence, footage=...)`, what `gaitid identify` does) must
also outscore the other walkers of the same run against each candidate: for candidate p, the fraction of
their windows that score below the walk's evidence for p. That null is per candidate (another enrolled
person's walk is only an impostor of p), so it lives in the decision, not in this class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScoreCalibration:
    """nonmated: (N,) sorted raw top scores of non-mated searches. source: where they came from.
    site: (M,) sorted top scores of a small site cohort's own searches, which a score must pass too (or None).
    enrolled: (E,) sorted top scores of the enrolled people's windows searched against each other, which a
    score must pass too (or None)."""

    nonmated: np.ndarray
    source: str = "gallery"
    site: np.ndarray | None = None
    enrolled: np.ndarray | None = None

    def __post_init__(self) -> None:
        for scores in (self.nonmated, self.site, self.enrolled):
            if scores is not None and (scores.ndim != 1 or len(scores) == 0):
                raise ValueError("a calibration needs at least one non-mated score")

    @staticmethod
    def from_scores(
        scores: np.ndarray, source: str = "gallery", site: np.ndarray | None = None,
        enrolled: np.ndarray | None = None,
    ) -> ScoreCalibration:
        def ordered(null: np.ndarray | None) -> np.ndarray | None:
            return None if null is None else np.sort(np.asarray(null, np.float64))

        return ScoreCalibration(ordered(scores), source, ordered(site), ordered(enrolled))

    def _nulls(self) -> list[np.ndarray]:
        return [null for null in (self.nonmated, self.site, self.enrolled) if null is not None]

    def __call__(self, raw: np.ndarray | float) -> np.ndarray:
        """Calibrated scores in [0, 1]: the fraction of non-mated top scores strictly below `raw` (the lowest
        fraction over the nulls when there is more than one)."""
        raw = np.asarray(raw, np.float64)
        return np.min([np.searchsorted(null, raw, side="left") / len(null) for null in self._nulls()], axis=0)

    def raw_threshold(self, target_fpir: float) -> float:
        """The smallest raw score accepted at `target_fpir` (calibrated score >= 1 - target_fpir)."""
        return max(_threshold(null, target_fpir) for null in self._nulls())


def _threshold(null: np.ndarray, target_fpir: float) -> float:
    n = len(null)
    index = int(np.ceil(n * (1.0 - target_fpir) - 1e-9))
    if index >= n:
        return float(np.nextafter(null[-1], np.inf))
    return float(np.nextafter(null[index - 1], np.inf)) if index > 0 else -np.inf
