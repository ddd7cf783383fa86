"""Identification jobs cancelled at random moments, against a running server: the driver of
test_server_cancel.py and benchmarks/server_cancel.py.

Each job's plan is drawn from a seeded RNG: cancel it at once (it is usually still queued), as soon as it
starts running, midway (after a drawn number of frames), or never. A few clients submit and cancel in
parallel (a 429, the queue full, is waited out and counted); a health client polls /api/health meanwhile.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from server_helpers import AUTH, write_clip

FINISHED = ("done", "failed", "cancelled")
MOMENTS = ("at once", "when started", "midway", "never")


@dataclass
class CancelReport:
    jobs: int
    seconds: float = 0.0
    final: Counter[str] = field(default_factory=Counter)  # how the jobs ended
    cancelled_while: Counter[str] = field(default_factory=Counter)  # the job's state when DELETE arrived
    planned: Counter[str] = field(default_factory=Counter)
    refused: int = 0  # 429 answers (queue full), retried
    health: list[float] = field(default_factory=list)  # seconds per /api/health while the jobs ran
    health_failures: int = 0
    leftovers: list[str] = field(default_factory=list)

    def summary(self) -> str:
        health = sorted(self.health) or [0.0]
        return (
            f"{self.jobs} jobs in {self.seconds:.1f} s; planned {dict(self.planned)}; cancel arrived while "
            f"{dict(self.cancelled_while)}; ended {dict(self.final)}; 429s {self.refused}; health checks "
            f"{len(self.health)} (failed {self.health_failures}), median {1000 * health[len(health) // 2]:.0f} ms, "
            f"max {1000 * health[-1]:.0f} ms; files left {len(self.leftovers)}"
        )


def run_cancel_load(
    url: str, work_dir: Path, scratch: Path, jobs: int = 50, seed: int = 16, clients: int = 4, frames: int = 30
) -> CancelReport:
    """Submit `jobs` small identifications (`frames` frames of the sample clip at 320 px) to the server at
    `url` and cancel them as planned; returns what happened, and the files left in `work_dir` that should
    not be (any upload; any video but the annotated videos of jobs that finished)."""
    clip = write_clip(scratch / "cancel-clip.mp4", 80, 80 + frames, 320).read_bytes()
    rng = random.Random(seed)
    plans: queue.Queue = queue.Queue()
    report = CancelReport(jobs)
    for _ in range(jobs):
        moment = rng.choices(MOMENTS, weights=(3, 3, 3, 1))[0]
        plans.put((moment, rng.randint(1, frames - 2)))
        report.planned[moment] += 1
    lock = threading.Lock()
    kept_videos: list[str] = []
    stop = threading.Event()
    health = threading.Thread(target=_watch_health, args=(url, report, stop), daemon=True)
    started = time.monotonic()
    health.start()
    workers = [
        threading.Thread(target=_client, args=(url, clip, plans, report, lock, kept_videos), daemon=True)
        for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    report.seconds = time.monotonic() - started
    stop.set()
    health.join()
    report.leftovers = _leftovers(work_dir, kept_videos)
    return report


def _client(url, clip, plans, report, lock, kept_videos) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=url, headers=AUTH, timeout=60) as http:
        while True:
            try:
                moment, frames_at = plans.get_nowait()
            except queue.Empty:
                return
            job = _submit(http, clip, report, lock)
            state = _cancel(http, job, moment, frames_at) if moment != "never" else None
            final = _wait(http, job["id"])
            with lock:
                if state is not None:
                    report.cancelled_while[state] += 1
                report.final[final["status"]] += 1
                if final["video_url"]:
                    kept_videos.append(f"{job['id']}.mp4")


def _submit(http: httpx.Client, clip: bytes, report: CancelReport, lock: threading.Lock) -> dict:
    while True:
        response = http.post("/api/identify", files={"video": ("clip.mp4", clip, "video/mp4")})
        if response.status_code != 429:
            assert response.status_code == 202, response.text
            return response.json()
        with lock:
            report.refused += 1
        time.sleep(0.2)


def _cancel(http: httpx.Client, job: dict, moment: str, frames_at: int) -> str:
    """Waits for the planned moment, cancels, and says what the job was doing when the cancel arrived."""
    deadline = time.monotonic() + 60
    while moment != "at once" and time.monotonic() < deadline:
        state = http.get(f"/api/jobs/{job['id']}").json()
        if state["status"] in FINISHED:
            break
        if state["status"] == "running" and (moment == "when started" or state["frames_done"] >= frames_at):
            break
        time.sleep(0.005)
    answer = http.delete(f"/api/jobs/{job['id']}")
    assert answer.status_code == 200, answer.text
    state = answer.json()
    if state["status"] == "running":
        return "running, no frame done" if state["frames_done"] == 0 else "running, midway"
    return "queued" if state["status"] == "cancelled" else f"already {state['status']}"


def _wait(http: httpx.Client, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while True:
        state = http.get(f"/api/jobs/{job_id}").json()
        if state["status"] in FINISHED:
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.05)


def _watch_health(url: str, report: CancelReport, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, headers=AUTH, timeout=10) as http:
        while not stop.wait(0.25):
            start = time.monotonic()
            try:
                ok = http.get("/api/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            report.health.append(time.monotonic() - start)
            report.health_failures += not ok


def _leftovers(work_dir: Path, kept_videos: list[str]) -> list[str]:
    files = [p for p in work_dir.rglob("*") if p.is_file()]
    return sorted(str(p.relative_to(work_dir)) for p in files if p.parent.name != "videos" or p.name not in kept_videos)
