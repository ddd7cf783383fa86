"""Background jobs: uploads identified or enrolled one at a time, with a queue position and progress.

The pipeline already uses both cores of a small machine, so jobs run on one worker thread, in the order
they came; `JobQueue.submit` refuses a job (QueueFull, HTTP 429) when `max_queued` are already waiting.
A job's uploaded file is deleted when it ends, however it ends; its annotated video when it is forgotten
(the `keep` most recent finished jobs are remembered) or when the queue closes.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaitid.errors import GaitidError

log = logging.getLogger("gaitid.server")

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)


class QueueFull(GaitidError):
    """Too many jobs are waiting; try again later."""


class Cancelled(GaitidError):
    """Raised inside a running job's pipeline when the job is cancelled."""


@dataclass
class Job:
    """One identification or enrolment of an uploaded video.

    kind: "identify" or "enroll". params: what the request asked (name, track, frames, add).
    upload: the uploaded file (deleted when the job ends). video: the annotated MP4 (identify).
    """

    kind: str
    filename: str
    upload: Path
    params: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    status: str = QUEUED
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    frames_done: int = 0
    frames_total: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    tracks: list[dict[str, Any]] | None = None  # an enrolment that needs a track chosen: the candidates
    video: Path | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def progress(self) -> float:
        if self.status == DONE:
            return 1.0
        if not self.frames_total:
            return 0.0
        return min(1.0, self.frames_done / self.frames_total)

    def check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("the job was cancelled")


class JobQueue:
    """Jobs run one at a time by `run(job)` on a worker thread.

    `run` fills in the job's result (or raises: a GaitidError's message becomes the job's error, anything
    else is logged and reported as an internal error). `on_change(job)` is called when a job's status changes.
    """

    def __init__(
        self,
        run: Callable[[Job], None],
        max_queued: int = 16,
        keep: int = 50,
        on_change: Callable[[Job], None] | None = None,
    ) -> None:
        self._run = run
        self.max_queued = max_queued
        self.keep = keep
        self._on_change = on_change
        self._cond = threading.Condition()
        self._pending: deque[Job] = deque()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="gaitid-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def has_room(self) -> bool:
        with self._cond:
            return len(self._pending) < self.max_queued and not self._closed

    def submit(self, job: Job) -> Job:
        with self._cond:
            if self._closed:
                raise QueueFull("the server is shutting down")
            if len(self._pending) >= self.max_queued:
                raise QueueFull(f"{len(self._pending)} jobs are already waiting; try again in a little while")
            self._pending.append(job)
            self._jobs[job.id] = job
            self._cond.notify_all()
        self._changed(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        with self._cond:
            return list(self._jobs.values())

    def position(self, job: Job) -> int | None:
        """1 for the next job to run, 2 after it, ...; None when the job is not waiting."""
        with self._cond:
            for i, waiting in enumerate(self._pending):
                if waiting is job:
                    return i + 1
        return None

    def waiting(self) -> int:
        with self._cond:
            return len(self._pending)

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a waiting job at once, or ask a running one to stop; finished jobs are left as they are."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            job.cancel.set()
            if job.status != QUEUED:
                return job
            self._pending.remove(job)
            job.status, job.finished, job.error = CANCELLED, time.time(), "cancelled before it started"
        _delete(job.upload)
        self._changed(job)
        return job

    def close(self, timeout: float = 30.0) -> None:
        """Cancel everything, wait for the running job to stop, delete every job's files."""
        with self._cond:
            self._closed = True
            for job in self._jobs.values():
                job.cancel.set()
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        with self._cond:
            for job in self._jobs.values():
                _delete(job.upload)
                if job.video is not None:
                    _delete(job.video)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._pending.popleft()
                job.status, job.started = RUNNING, time.time()
            self._changed(job)
            self._execute(job)
            self._changed(job)
            self._forget_old()

    def _execute(self, job: Job) -> None:
        status, error = DONE, None
        try:
            self._run(job)
        except Cancelled:
            status, error = CANCELLED, "cancelled while running"
        except GaitidError as failure:
            status, error = FAILED, str(failure)
        except Exception:  # a bug: logged in full here, reported without the traceback
            log.exception("job %s failed", job.id)
            status, error = FAILED, "internal error while processing the video (see the server's log)"
        finally:
            _delete(job.upload)
        with self._cond:
            if status != DONE and job.video is not None:
                _delete(job.video)
                job.video = None
            job.status, job.error, job.finished = status, error, time.time()

    def _forget_old(self) -> None:
        with self._cond:
            finished = [j for j in self._jobs.values() if j.status in FINISHED]
            for job in finished[: max(0, len(finished) - self.keep)]:
                del self._jobs[job.id]
                if job.video is not None:
                    _delete(job.video)

    def _changed(self, job: Job) -> None:
        if self._on_change is not None:
            try:
                self._on_change(job)
            except Exception:
                log.exception("job listener failed")


def _delete(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.warning("could not delete %s", path)
