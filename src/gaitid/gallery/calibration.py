"""Scores whose threshold means something: the open-set calibration of the gallery.

A classifier's raw score (a cosine similarity, an SVM margin) says nothing by itself about how often a
stranger would pass. So every raw score r is mapped through the distribution of *non-mated top scores*:
the best raw score that searches by people who are not enrolled obtain against the gallery. With
N such searches,

    calibrated(r) = #{non-mated top scores < r} / N = 1 - FPIR(r)

where FPIR(r) is the estimated false-positive identification rate at threshold r (the fraction of strangers
whose best match reaches r). A probe is then accepted as its best candidate when

    calibrated(best raw score) >= 1 - target_fpir,

so "target_fpir = 0.01" means: about 1 % of people who are not enrolled are wrongly given a name. The score
of every candidate in an Identity is this calibrated value, in [0, 1].

Where the non-mated searches come from (see Gallery):
- background vectors, when given: vectors of people known not to be enrolled, searched against the
  gallery as it is (the most faithful estimate);
- otherwise the gallery itself: for nearest neighbour, each enrolled vector (up to a sample) searched
  against everyone but its own person (leave one person out: a gallery one person smaller); for the
  SVM, cross-fitting over people: the people are dealt into up to 5 folds and the vectors of one fold are
  searched by SVMs fitted on the others (a gallery up to 20 % smaller, so the estimate is slightly
  optimistic: top impostor scores grow with the number of people).
Enrolment vectors are cleaner than real probes (the same walk conditions), so the FPIR measured on real
probes can differ from the target; benchmarks/RESULTS-gallery.md reports how far it did on CASIA-B.
The resolution is 1/N: with few enrolled people, thresholds are coarse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScoreCalibration:
    """nonmated: (N,) sorted raw top scores of non-mated searches. source: where they came from."""

    nonmated: np.ndarray
    source: str = "gallery"

    def __post_init__(self) -> None:
        if self.nonmated.ndim != 1 or len(self.nonmated) == 0:
            raise ValueError("a calibration needs at least one non-mated score")

    @staticmethod
    def from_scores(scores: np.ndarray, source: str = "gallery") -> ScoreCalibration:
        return ScoreCalibration(np.sort(np.asarray(scores, np.float64)), source)

    def __call__(self, raw: np.ndarray | float) -> np.ndarray:
        """Calibrated scores in [0, 1]: the fraction of non-mated top scores strictly below `raw`."""
        return np.searchsorted(self.nonmated, np.asarray(raw, np.float64), side="left") / len(self.nonmated)

    def raw_threshold(self, target_fpir: float) -> float:
        """The smallest raw score accepted at `target_fpir` (calibrated score >= 1 - target_fpir)."""
        n = len(self.nonmated)
        index = int(np.ceil(n * (1.0 - target_fpir) - 1e-9))
        if index >= n:
            return float(np.nextafter(self.nonmated[-1], np.inf))
        return float(np.nextafter(self.nonmated[index - 1], np.inf)) if index > 0 else -np.inf
