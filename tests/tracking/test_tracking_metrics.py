"""CLEAR MOT and IDF1 on small cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gaitid.tracking.metrics import evaluate

A = [0, 0, 10, 20]
B = [100, 0, 110, 20]


def seq(*frames):
    return {i: (list(ids), np.array(boxes, float).reshape(-1, 4)) for i, (ids, boxes) in enumerate(frames)}


GT = seq(*[([1, 2], [A, B])] * 4)


def test_perfect_tracking() -> None:
    s = evaluate(GT, seq(*[([7, 8], [A, B])] * 4))
    assert (s.mota, s.idf1, s.id_switches, s.fragmentations, s.motp) == (1.0, 1.0, 0, 0, 1.0)


def test_an_identity_swap() -> None:
    hyp = seq(([7, 8], [A, B]), ([7, 8], [A, B]), ([8, 7], [A, B]), ([8, 7], [A, B]))
    s = evaluate(GT, hyp)
    assert s.id_switches == 2
    assert s.mota == pytest.approx(1 - 2 / 8)
    assert s.idf1 == pytest.approx(0.5)  # each identity matches its best partner in 2 of 4 frames


def test_a_gap_is_a_fragmentation_and_misses() -> None:
    hyp = seq(([7, 8], [A, B]), ([8], [B]), ([7, 8], [A, B]), ([7, 8], [A, B]))
    s = evaluate(GT, hyp)
    assert (s.fragmentations, s.misses, s.id_switches) == (1, 1, 0)
    assert s.mota == pytest.approx(1 - 1 / 8)
    assert s.idf1 == pytest.approx(2 * 7 / (8 + 7))


def test_false_positives_and_frames_outside_the_ground_truth() -> None:
    hyp = seq(*[([7, 8, 9], [A, B, [50, 50, 60, 70]])] * 4)
    hyp[10] = ([7], np.array([A], float))  # not in the ground truth: ignored
    s = evaluate(GT, hyp)
    assert s.false_positives == 4 and s.num_predictions == 12
    assert s.mota == pytest.approx(0.5)
    assert s.idf1 == pytest.approx(2 * 8 / 20)


def test_a_new_track_after_a_break_is_a_switch() -> None:
    hyp = seq(([7, 8], [A, B]), ([7, 8], [A, B]), ([9, 8], [A, B]), ([9, 8], [A, B]))
    assert evaluate(GT, hyp).id_switches == 1
