"""Indexing on Ray: a local cluster of two worker processes (loopback only), one worker killed mid-run;
every video must still be indexed exactly once, with the same rows as the local run.

The archive: the sample clip cut in three parts (always), and where the shared data is found, vtest cut in
two parts (several walkers, most seen too briefly for a gait window) and four casia-b-rgb clips (three walks
and the empty scene)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from archive_helpers import cut_into_parts

from gaitid.batch import IndexFolder, index_archive, list_archive
from gaitid.datasets.paths import data_root
from gaitid.pipeline import PipelineOptions

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'gaitid[cluster]')")

def _task_processes() -> list[int]:
    """Ray worker processes running an index_video task now (Ray titles them ray::index_video)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if command.startswith(b"ray::index_video"):
                found.append(int(entry))
    return found


def _rows(index: Path) -> list[dict]:
    table = IndexFolder(index).all_tracks(["video", "track", "first_frame", "last_frame", "windows", "vector"])
    return sorted(table.to_pylist(), key=lambda r: (r["video"], r["track"]))


CASIA_CLIPS = ("001-nm-01-090", "001-bg-01-090", "002-nm-01-090", "001-bkgrd-090")
VTEST_PARTS = {"street/vtest-a.mp4": (0, 40), "street/vtest-b.mp4": (40, 80)}


def _real_clips(root: Path) -> list[str]:
    """vtest's parts and the casia-b-rgb clips under `root`, as far as the shared data has them."""
    made = []
    vtest = data_root() / "media" / "vtest.avi"
    if vtest.is_file():
        cut_into_parts(vtest, VTEST_PARTS, root, 10.0)
        made += [str(root / name) for name in VTEST_PARTS]
    clips = [data_root() / "casia-b-rgb" / f"{name}.avi" for name in CASIA_CLIPS]
    if all(clip.is_file() for clip in clips):
        (root / "casia").mkdir(parents=True)
        for clip in clips:
            shutil.copyfile(clip, root / "casia" / clip.name)
        made += [str(root / "casia" / clip.name) for clip in clips]
    return made


def test_a_killed_worker_leaves_every_video_indexed_exactly_once(sample_index: tuple[Path, Path, int], tmp_path: Path) -> None:
    archive, sample_local, _ = sample_index  # the sample parts indexed locally, by two worker processes
    options = PipelineOptions(threads=1)  # as each of the two local workers had
    real = _real_clips(tmp_path / "real")
    real_local = tmp_path / "real.idx"
    if real:
        index_archive(list_archive([str(tmp_path / "real")]), str(real_local), options, workers=2)
    videos = [v for v in list_archive([str(archive)]) if "part" in v.path]
    videos += list_archive([str(tmp_path / "real")]) if real else []
    assert len(videos) == 3 + len(real)

    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            running = _task_processes()
            if running:
                time.sleep(0.5)  # into its video
                os.kill(running[0], signal.SIGKILL)
                killed.append(running[0])
            time.sleep(0.05)

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
             _node_ip_address="127.0.0.1")
    try:
        killer = threading.Thread(target=kill_one, daemon=True)
        killer.start()
        run = index_archive(videos, str(tmp_path / "ray"), options, ray_address="auto")
        killer.join(timeout=1)
    finally:
        ray.shutdown()
    assert killed, "no index_video task was seen running: nothing was killed"
    assert sorted(s.status for s in run.ran) == ["done"] * len(videos)
    records = IndexFolder(tmp_path / "ray").records()
    assert len(records) == len(videos) and all(r.status == "done" for r in records.values())
    assert len(list((tmp_path / "ray" / "videos").iterdir())) == len(videos)  # no stray or doubled file
    local = _rows(sample_local) + (_rows(real_local) if real else [])
    local.sort(key=lambda r: (r["video"], r["track"]))
    remote = _rows(tmp_path / "ray")
    assert [(r["video"], r["track"], r["first_frame"], r["last_frame"], r["windows"]) for r in remote] == [
        (r["video"], r["track"], r["first_frame"], r["last_frame"], r["windows"]) for r in local
    ]
    assert sum(r["windows"] for r in local) >= 2  # the parts hold gait windows to compare
    for a, b in zip(local, remote):
        if a["vector"] is not None:
            np.testing.assert_allclose(a["vector"], b["vector"], atol=1e-4)
