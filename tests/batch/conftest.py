"""A small archive of real video for the archive tests: the sample clip that ships in the package (one
walker) cut in three parts at half size under two cameras, and a broken file; indexed once by gaitid index
with two local workers, for the command tests and as the local run the Ray test compares with."""

from __future__ import annotations

from pathlib import Path

import pytest
from archive_helpers import cut_into_parts

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "gaitid" / "samples" / "walk.mp4"
PARTS = {"gate/part0.mp4": (0, 55), "hall/part1.mp4": (55, 110), "hall/part2.mp4": (110, 161)}


@pytest.fixture(scope="session")
def sample_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    cut_into_parts(SAMPLE, PARTS, root, 30.0, step=2)
    (root / "hall" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    return root


@pytest.fixture(scope="session")
def sample_index(sample_archive: Path) -> tuple[Path, Path, int]:
    """(archive, index, exit status of gaitid index)."""
    from gaitid.cli import main

    index = sample_archive.parent / (sample_archive.name + ".idx")
    code = main(["index", str(sample_archive), "--index", str(index), "--workers", "2", "--no-progress"])
    return sample_archive, index, code
