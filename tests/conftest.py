"""Shared test fixtures. Real data lives outside the repository (GAITID_DATA, default ../shared/data);
tests that need it skip with the reason when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GAITID_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def media_dir() -> Path:
    media = DATA / "media"
    if not (media / "vtest.avi").is_file():
        pytest.skip(f"real media not found at {media} (set GAITID_DATA to the shared data folder)")
    return media


@pytest.fixture(scope="session")
def casia_root() -> Path:
    from gaitid.datasets.paths import data_root

    root = data_root() / "casia-b"
    if not (root / "001.npz").is_file():
        pytest.skip(f"CASIA-B not found at {root} (set GAITID_DATA to the shared data folder)")
    return root


@pytest.fixture(scope="session")
def kinect_file() -> Path:
    from gaitid.datasets.kinect import kinect_path

    path = kinect_path()
    if not path.is_file():
        pytest.skip(f"Kinect gait data not found at {path} (set GAITID_DATA to the shared data folder)")
    return path
