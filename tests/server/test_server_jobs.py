"""The job queue (one worker, positions, cancellation, files deleted) and the event hub, without the pipeline."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from gaitid.errors import GaitidError
from gaitid.server.events import EventHub, is_closing
from gaitid.server.jobs import CANCELLED, DONE, FAILED, QUEUED, Job, JobQueue, QueueFull


def _job(tmp_path, name: str) -> Job:
    upload = tmp_path / f"{name}.mp4"
    upload.write_bytes(b"video")
    return Job(kind="identify", filename=f"{name}.mp4", upload=upload)


def _wait(job: Job, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while job.status not in (DONE, FAILED, CANCELLED):
        assert time.monotonic() < deadline, job.status
        time.sleep(0.01)


class _Gate:
    """A job runner that holds each job until released, and can fail or misbehave on demand."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.order: list[str] = []

    def __call__(self, job: Job) -> None:
        self.order.append(job.filename)
        while not self.release.wait(0.01):
            job.check_cancelled()
        if job.filename.startswith("bad"):
            raise GaitidError("bad.mp4: not a readable video")
        if job.filename.startswith("bug"):
            raise RuntimeError("secret internal detail")
        job.result = {"ok": True}


def test_jobs_run_one_at_a_time_in_order_and_report_their_position(tmp_path):
    gate = _Gate()
    changes: list[tuple[str, str]] = []
    queue = JobQueue(gate, max_queued=2, on_change=lambda j: changes.append((j.filename, j.status)))
    queue.start()
    try:
        first = queue.submit(_job(tmp_path, "a"))
        while first.status == QUEUED:
            time.sleep(0.01)
        second, third = queue.submit(_job(tmp_path, "b")), queue.submit(_job(tmp_path, "c"))
        assert (queue.position(first), queue.position(second), queue.position(third)) == (None, 1, 2)
        with pytest.raises(QueueFull):
            queue.submit(_job(tmp_path, "d"))
        gate.release.set()
        for job in (first, second, third):
            _wait(job)
            assert job.status == DONE and job.result == {"ok": True} and job.progress == 1.0
            assert not job.upload.exists()
        assert gate.order == ["a.mp4", "b.mp4", "c.mp4"]
        assert ("a.mp4", "running") in changes and ("c.mp4", "done") in changes
    finally:
        queue.close()


def test_failures_are_reported_without_internals_and_leave_no_files(tmp_path):
    gate = _Gate()
    gate.release.set()
    queue = JobQueue(gate)
    queue.start()
    try:
        bad, bug = queue.submit(_job(tmp_path, "bad")), queue.submit(_job(tmp_path, "bug"))
        _wait(bad)
        _wait(bug)
        assert bad.status == FAILED and bad.error == "bad.mp4: not a readable video"
        assert bug.status == FAILED and "secret" not in bug.error and "internal error" in bug.error
        assert not bad.upload.exists() and not bug.upload.exists()
    finally:
        queue.close()


def test_cancel_a_waiting_and_a_running_job(tmp_path):
    gate = _Gate()
    queue = JobQueue(gate)
    queue.start()
    try:
        running = queue.submit(_job(tmp_path, "a"))
        waiting = queue.submit(_job(tmp_path, "b"))
        while running.status == QUEUED:
            time.sleep(0.01)
        assert queue.cancel(waiting.id).status == CANCELLED and not waiting.upload.exists()
        queue.cancel(running.id)
        _wait(running)
        assert running.status == CANCELLED and not running.upload.exists()
        assert queue.cancel("nope") is None
    finally:
        queue.close()


def test_old_jobs_are_forgotten_with_their_videos(tmp_path):
    def run(job: Job) -> None:
        job.video = tmp_path / f"{job.filename}.out.mp4"
        job.video.write_bytes(b"annotated")

    queue = JobQueue(run, keep=2)
    queue.start()
    try:
        jobs = [queue.submit(_job(tmp_path, str(i))) for i in range(4)]
        for job in jobs:
            _wait(job)
        time.sleep(0.1)
        assert [j.id for j in queue.jobs()] == [jobs[2].id, jobs[3].id]
        assert not jobs[0].video.exists() and jobs[3].video.exists()
    finally:
        queue.close()
    assert not jobs[3].video.exists()  # closing the queue deletes every job's files


def test_event_hub_replays_missed_events_and_never_blocks_on_a_slow_client():
    async def scenario() -> None:
        hub = EventHub(backlog=10, per_client=3)
        loop = asyncio.get_running_loop()
        first = hub.publish({"type": "walker", "n": 1})
        hub.publish({"type": "walker", "n": 2})
        late = hub.subscribe(loop, after=first["id"])
        assert (await late.queue.get())["n"] == 2
        slow = hub.subscribe(loop)
        for n in range(3, 8):
            hub.publish({"type": "walker", "n": n})
        await asyncio.sleep(0.05)
        got = [slow.queue.get_nowait()["n"] for _ in range(slow.queue.qsize())]
        assert got == [5, 6, 7] and slow.dropped == 2
        hub.close()
        await asyncio.sleep(0.05)
        assert is_closing(await slow.queue.get())

    asyncio.run(scenario())
