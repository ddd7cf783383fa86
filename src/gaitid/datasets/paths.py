"""Where the data sets live: $GAITID_DATA, else ../shared/data beside the repository."""

from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path:
    """The shared data folder: $GAITID_DATA, else ../shared/data relative to the repository root."""
    env = os.environ.get("GAITID_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"
