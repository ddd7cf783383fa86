"""The index task's rows: every track of a video becomes a row, also one seen too briefly for a gait window
(vtest's passers-by: without this, one such walker failed the whole run)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from gaitid.batch.task import Thumbnails, _track_rows


def _state(track: int, windows: int) -> SimpleNamespace:
    vectors = [np.full(4, track, np.float32) for _ in range(windows)]
    return SimpleNamespace(
        track_id=track, vectors=vectors, first_frame=0, last_frame=9, first_time=0.0, last_time=0.3,
        frames=10, usable=windows * 5,
    )


def test_a_track_without_a_gait_window_is_a_row_without_vectors() -> None:
    walkers = SimpleNamespace(states={2: _state(2, 0), 1: _state(1, 3)})
    rows = _track_rows(walkers, Thumbnails(walkers))
    assert [r.track for r in rows] == [1, 2]
    assert rows[0].window_vectors.shape == (3, 4) and rows[0].vector is not None
    assert len(rows[1].window_vectors) == 0 and rows[1].vector is None and rows[1].thumbnail is None
