"""Open-set identification rates and closed-set rank-1, as pure functions of scores and labels.

Vocabulary (ISO/IEC 19795-1, NIST FRVT 1:N):
- a *mated* search is a probe whose person is enrolled; a *non-mated* search one whose person is not;
- FPIR(t), the false-positive identification rate: the fraction of non-mated searches whose best score is
  at least t (a stranger is given a name);
- FNIR(t), the false-negative identification rate: the fraction of mated searches that do not return the
  right person with a score of at least t (the right person is missed, either because the best candidate is
  someone else or because the score is below the threshold);
- the equal error rate (EER): the rate where FNIR and FPIR meet as t moves.

Scores are "higher = more alike"; any monotone calibration leaves these rates unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OpenSetPoint:
    threshold: float
    fpir: float
    fnir: float


def _check_open_set(
    mated_scores: np.ndarray, mated_correct: np.ndarray, nonmated_scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mated_scores = np.asarray(mated_scores, np.float64)
    mated_correct = np.asarray(mated_correct, bool)
    nonmated_scores = np.asarray(nonmated_scores, np.float64)
    if mated_scores.ndim != 1 or mated_correct.shape != mated_scores.shape:
        raise ValueError(
            f"mated_scores and mated_correct must be 1-D and parallel, got {mated_scores.shape} and {mated_correct.shape}"
        )
    if nonmated_scores.ndim != 1:
        raise ValueError(f"nonmated_scores must be 1-D, got {nonmated_scores.shape}")
    if len(mated_scores) == 0 or len(nonmated_scores) == 0:
        raise ValueError("open-set rates need at least one mated and one non-mated search")
    return mated_scores, mated_correct, nonmated_scores


def fpir(nonmated_scores: np.ndarray, threshold: float) -> float:
    """Fraction of non-mated searches whose best score reaches `threshold`."""
    return float(np.mean(np.asarray(nonmated_scores, np.float64) >= threshold))


def fnir(mated_scores: np.ndarray, mated_correct: np.ndarray, threshold: float) -> float:
    """Fraction of mated searches not answered by the right person at a score of at least `threshold`.

    mated_scores: (n,) the best score of each mated search; mated_correct: (n,) whether that best candidate
    is the right person.
    """
    hits = np.asarray(mated_correct, bool) & (np.asarray(mated_scores, np.float64) >= threshold)
    return float(1.0 - np.mean(hits))


def fnir_at_fpir(
    mated_scores: np.ndarray, mated_correct: np.ndarray, nonmated_scores: np.ndarray, target_fpir: float
) -> OpenSetPoint:
    """FNIR at the lowest threshold whose FPIR does not exceed `target_fpir`.

    The threshold is just above the k-th highest non-mated score, k = floor(target_fpir * N), so that at
    most k of N non-mated searches pass. With N non-mated searches, FPIRs below 1/N cannot be resolved:
    the threshold then rises above every non-mated score (FPIR 0).
    """
    mated_scores, mated_correct, nonmated_scores = _check_open_set(
        mated_scores, mated_correct, nonmated_scores
    )
    if not 0.0 <= target_fpir <= 1.0:
        raise ValueError(f"target_fpir must be in [0, 1], got {target_fpir}")
    ordered = np.sort(nonmated_scores)[::-1]
    k = int(np.floor(target_fpir * len(ordered) + 1e-9))
    threshold = -np.inf if k >= len(ordered) else float(np.nextafter(ordered[k], np.inf))
    return OpenSetPoint(
        threshold, fpir(nonmated_scores, threshold), fnir(mated_scores, mated_correct, threshold)
    )


def equal_error_rate(
    mated_scores: np.ndarray, mated_correct: np.ndarray, nonmated_scores: np.ndarray
) -> OpenSetPoint:
    """The threshold where FNIR and FPIR are closest, and the rate there (their mean).

    Every observed score is tried as a threshold (FNIR rises and FPIR falls with it, in steps).
    """
    mated_scores, mated_correct, nonmated_scores = _check_open_set(
        mated_scores, mated_correct, nonmated_scores
    )
    thresholds = np.unique(np.concatenate([mated_scores, nonmated_scores, [np.inf]]))
    nonmated_sorted = np.sort(nonmated_scores)
    fpirs = 1.0 - np.searchsorted(nonmated_sorted, thresholds, side="left") / len(nonmated_sorted)
    hit_scores = np.sort(mated_scores[mated_correct])
    fnirs = 1.0 - (len(hit_scores) - np.searchsorted(hit_scores, thresholds, side="left")) / len(mated_scores)
    best = int(np.argmin(np.abs(fnirs - fpirs)))
    return OpenSetPoint(float(thresholds[best]), float(fpirs[best]), float(fnirs[best]))


def eer_value(point: OpenSetPoint) -> float:
    """The equal error rate of an `equal_error_rate` point: the mean of its FPIR and FNIR."""
    return 0.5 * (point.fpir + point.fnir)


def rank1_accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Closed-set rank-1: the fraction of probes whose best candidate is their person."""
    predicted = np.asarray(predicted)
    truth = np.asarray(truth)
    if predicted.shape != truth.shape or predicted.ndim != 1 or len(truth) == 0:
        raise ValueError(
            f"expected two parallel non-empty 1-D label arrays, got {predicted.shape} and {truth.shape}"
        )
    return float(np.mean(predicted == truth))


def rank1_from_scores(scores: np.ndarray, gallery_labels: np.ndarray, probe_labels: np.ndarray) -> float:
    """Closed-set rank-1 from a (probes, gallery entries) score matrix (higher = more alike)."""
    scores = np.asarray(scores)
    gallery_labels = np.asarray(gallery_labels)
    if scores.shape != (len(probe_labels), len(gallery_labels)):
        raise ValueError(
            f"scores must be (probes, gallery) = ({len(probe_labels)}, {len(gallery_labels)}), got {scores.shape}"
        )
    return rank1_accuracy(gallery_labels[np.argmax(scores, axis=1)], np.asarray(probe_labels))
