"""The tracker on real video: vtest.avi frames 400-500 against hand-checked tracks (IDF1 >= 0.7)."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from streams import ROOT, VTEST



def _has_pose() -> bool:
    try:
        return importlib.util.find_spec("gaitid.pose.estimator") is not None
    except ModuleNotFoundError:
        return False


pytestmark = [
    pytest.mark.skipif(not VTEST.exists(), reason=f"real data missing: {VTEST} (set GAITID_DATA)"),
    pytest.mark.skipif(
        not _has_pose(),
        reason="HumanPoseNN (gaitid.pose.estimator) is not available in this checkout",
    ),
]


def test_vtest_tracks_match_the_hand_checked_identities() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from track_vtest import score_stretch
    finally:
        sys.path.pop(0)
    from gaitid.pipeline import default_estimator

    scores, _ = score_stretch(default_estimator("full"), video=VTEST)
    assert scores.num_frames == 101
    assert scores.idf1 >= 0.7, scores
    assert scores.mota >= 0.5, scores
