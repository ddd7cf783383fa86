"""The cohort's window vectors remember which windows made them, so a cache of other windows is refused
rather than calibrating the gallery on windows the pipeline does not cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitid.training import cohort
from gaitid.training.cohort import WindowVectors, window_starts


def _vectors(frames: tuple[int, int, int] | None = None) -> WindowVectors:
    n = 4
    extra = {} if frames is None else {"frames": frames}
    return WindowVectors(
        np.arange(n * 3, dtype=np.float32).reshape(n, 3), np.array([1, 1, 2, 2]), np.array(["nm-01"] * n),
        np.array(["090"] * n), np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), "m", **extra,
    )


def test_saved_windows_come_back_with_what_made_them(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    _vectors((20, 10, 2)).save(path)
    back = WindowVectors.load(path, (20, 10, 2))
    assert (back.model, back.frames) == ("m", (20, 10, 2))
    np.testing.assert_array_equal(back.vectors, _vectors().vectors)
    assert back.rows(back.subjects == 2).frames == (20, 10, 2)


def test_a_file_saved_before_windows_were_recorded_holds_the_old_defaults(tmp_path: Path) -> None:
    path = tmp_path / "old.npz"
    w = _vectors()
    np.savez(path, vectors=w.vectors, subjects=w.subjects, conditions=w.conditions, views=w.views,
             walk=w.walk, window=w.window, model="m")
    assert WindowVectors.load(path).frames == (30, 15, 1)


def test_a_cache_of_other_windows_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cache.npz"
    _vectors((30, 15, 1)).save(path)

    class Encoder:
        model, path = "m", tmp_path / "m.onnx"

        def __init__(self, weights: str | None = None) -> None:
            pass

    monkeypatch.setattr("gaitid.gait.encoder.GaitEncoder", Encoder)
    with pytest.raises(SystemExit, match="holds windows of 30/15/1 .* not 20/10/2"):
        cohort.main(["--cache", str(path), "--window", "20", "10", "--every", "2", "--out", str(tmp_path / "c.npz")])


@pytest.mark.parametrize(("frames", "size", "stride", "starts"), [(82, 30, 15, [0, 15, 30, 45]), (41, 20, 10, [0, 10, 20]), (12, 20, 10, [0])])
def test_window_starts(frames: int, size: int, stride: int, starts: list[int]) -> None:
    assert window_starts(frames, size, stride) == starts
