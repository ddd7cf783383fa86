"""Open-set rates and rank-1 as pure functions, on cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gaitid.evaluation.openset import (
    eer_value,
    equal_error_rate,
    fnir,
    fnir_at_fpir,
    fpir,
    rank1_accuracy,
    rank1_from_scores,
)

MATED = np.array([0.9, 0.8, 0.7, 0.6, 0.3])
CORRECT = np.array([True, True, False, True, True])
NONMATED = np.array([0.1, 0.2, 0.35, 0.5, 0.65, 0.05, 0.15, 0.25, 0.32, 0.4])


def test_rates_at_a_threshold():
    assert fpir(NONMATED, 0.5) == 0.2
    assert fnir(MATED, CORRECT, 0.5) == pytest.approx(0.4)  # the wrong best (0.7) and the low 0.3 miss
    assert fnir(MATED, CORRECT, -np.inf) == pytest.approx(0.2)  # closed-set error remains


@pytest.mark.parametrize(
    "target, expected_fpir, expected_fnir",
    [(0.0, 0.0, 0.6), (0.1, 0.1, 0.4), (0.2, 0.2, 0.4), (0.3, 0.3, 0.4), (0.45, 0.4, 0.4), (1.0, 1.0, 0.2)],
)
def test_fnir_at_fpir(target, expected_fpir, expected_fnir):
    point = fnir_at_fpir(MATED, CORRECT, NONMATED, target)
    assert point.fpir == pytest.approx(expected_fpir)
    assert point.fnir == pytest.approx(expected_fnir)
    assert point.fpir <= target


def test_equal_error_rate():
    point = equal_error_rate(MATED, CORRECT, NONMATED)
    assert point.fnir == point.fpir == pytest.approx(0.4)  # at 0.35: 4 of 10 strangers pass, 2 of 5 missed
    assert eer_value(point) == pytest.approx(0.4)
    perfect = equal_error_rate(np.array([0.9, 0.8]), np.array([True, True]), np.array([0.1, 0.2]))
    assert eer_value(perfect) == 0.0


def test_rank1():
    assert rank1_accuracy(np.array([1, 2, 3]), np.array([1, 2, 4])) == pytest.approx(2 / 3)
    scores = np.array([[0.9, 0.1], [0.2, 0.3], [0.6, 0.5]])
    assert rank1_from_scores(scores, np.array(["a", "b"]), np.array(["a", "b", "b"])) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "args, message",
    [
        ((MATED, CORRECT[:2], NONMATED), "parallel"),
        ((MATED, CORRECT, np.array([])), "at least one"),
        ((MATED[:0], CORRECT[:0], NONMATED), "at least one"),
    ],
)
def test_bad_inputs(args, message):
    with pytest.raises(ValueError, match=message):
        equal_error_rate(*args)
