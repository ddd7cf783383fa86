"""What the HTTP routes call: the gallery, the job queue, the live sources and the event hub of one server.

Threads: requests run on the server's thread pool, jobs on one worker thread, each live source on its
own. The gallery is one `Gallery` shared by all of them: its SQLite connection and its in-memory index are
each guarded by a lock (gaitid.gallery), so they are safe to share. Pose estimators are not shared: the
job worker has one, each live source its own. The gait encoder (an ONNX session) is shared.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from gaitid.batch.search import check_model, clip_options, walker_query
from gaitid.batch.task import MAX_WINDOWS
from gaitid.errors import GaitidError, InputError
from gaitid.gallery import Gallery, GalleryError
from gaitid.gallery.store import default_gallery_path
from gaitid.pipeline import (
    PipelineOptions,
    PoseEstimator,
    SeveralWalkers,
    Walkers,
    add_to_cohort,
    analyse,
    choose_walker,
    cohort_walkers,
    default_estimator,
    encoder_for,
    enrol_walker,
    walk_run_json,
    walkers_for,
)
from gaitid.server.addresses import SCHEME_LIST, SourcePolicy, SourceRefused
from gaitid.server.archive import Archive, NoArchive
from gaitid.server.events import EventHub
from gaitid.server.jobs import Cancelled, Job, JobQueue
from gaitid.server.live import LiveSession
from gaitid.server.settings import ServerSettings
from gaitid.sources import (
    CONTAINERS,
    LiveSource,
    Source,
    VideoFile,
    camera_index,
    open_camera,
    open_stream,
    redact_url,
)
from gaitid.types import Frame, FramePeople

log = logging.getLogger("gaitid.server")


class Conflict(GaitidError):
    """The request cannot be done in the server's current state (HTTP 409)."""


class NotFound(GaitidError):
    """No such job, source or track (HTTP 404)."""


class _Counting:
    """A pose estimator that counts frames for a job's progress and stops the run when it is cancelled. The
    count is of the video's frames gone through (analysed or left out between two analysed), as the
    job's total is."""

    def __init__(self, inner: PoseEstimator, job: Job) -> None:
        self.inner, self.job = inner, job
        self.first: int | None = None  # the index of the first frame analysed: the start of the job's range

    def estimate(self, frame: Frame) -> FramePeople:
        self.job.check_cancelled()
        people = self.inner.estimate(frame)
        self.first = frame.index if self.first is None else self.first
        self.job.frames_done = max(self.job.frames_done, frame.index - self.first + 1)
        return people

    def reset(self) -> None:
        self.inner.reset()


class Service:
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        # first: an index that cannot be read is an error before anything is created
        self.archive = Archive(settings.index, settings.archive) if settings.index is not None else None
        self._own_work_dir = settings.work_dir is None
        self.work_dir = Path(tempfile.mkdtemp(prefix="gaitid-server-")) if settings.work_dir is None else settings.work_dir
        self.uploads = self.work_dir / "uploads"
        self.videos = self.work_dir / "videos"
        for folder in (self.uploads, self.videos):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # footage and results of others: owner only
        gallery_path = settings.gallery if settings.gallery is not None else default_gallery_path()
        self.gallery = Gallery.open(
            gallery_path, key_file=settings.key_file, method=settings.method, target_fpir=settings.target_fpir
        )
        self.policy = SourcePolicy(settings.allow_source_hosts)
        self.hub = EventHub()
        self.jobs = JobQueue(self._run_job, settings.max_queued_jobs, settings.keep_jobs, self._job_changed)
        self._encoder = None
        self._encoder_lock = threading.Lock()
        self._estimator: PoseEstimator | None = None  # the job worker's
        self._live: dict[str, LiveSession] = {}
        self._live_lock = threading.Lock()
        self.started = time.time()

    # -- life ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.jobs.start()

    def close(self) -> None:
        self.hub.close()
        with self._live_lock:
            sessions = list(self._live.values())
        for session in sessions:
            session.stop()
        self.jobs.close()
        self.gallery.close()
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    @property
    def options(self) -> PipelineOptions:
        return self.settings.pipeline

    def encoder(self):  # type: ignore[no-untyped-def]
        with self._encoder_lock:
            if self._encoder is None:
                self._encoder = encoder_for(self.options)
            return self._encoder

    def _new_estimator(self) -> PoseEstimator:
        return default_estimator(self.options.pose_model, self.options.detect_interval, self.options.threads)

    def _walkers(self, gallery: Gallery | None) -> Walkers:
        return walkers_for(self.options, self.encoder(), gallery)

    # -- the gallery --------------------------------------------------------------------------------------

    def check_ready(self) -> None:
        """Conflict unless the gallery can name walkers (someone enrolled with the current model, and a cohort or
        at least 2 people to calibrate "unknown" with)."""
        try:
            self.gallery.threshold(self.encoder().model)
        except GalleryError as error:
            raise Conflict(f"the gallery cannot identify anyone yet: {error}") from None

    def gallery_ready(self) -> bool:
        try:
            self.check_ready()
        except Conflict:
            return False
        return True

    def people(self) -> list[dict[str, Any]]:
        return [self.person_json(p.name) for p in self.gallery.people()]

    def person_json(self, name: str) -> dict[str, Any]:
        person = self.gallery.person(name)
        enrolments: dict[float, dict[str, Any]] = {}
        for vector in person.vectors:  # the vectors of one enrolment share its time
            entry = enrolments.setdefault(
                vector.created, {"time": vector.created, "source": vector.source, "model": vector.model, "vectors": 0}
            )
            entry["vectors"] += 1
        return {
            "name": person.name,
            "vectors": person.num_vectors,
            "enrolments": len(enrolments),
            "models": person.models,
            "created": person.created,
            "history": sorted(enrolments.values(), key=lambda e: e["time"]),
        }

    def check_can_enroll(self, name: str, add: bool) -> None:
        if add:
            return
        if any(p.name == name for p in self.gallery.people()):
            raise Conflict(f"{name!r} is already enrolled: add vectors to them (add=true), or choose another name")

    # -- the archive index --------------------------------------------------------------------------------

    def indexed(self) -> Archive:
        if self.archive is None:
            raise NoArchive("this server has no archive index: start it with gaitid serve --index PATH")
        return self.archive

    # -- jobs ---------------------------------------------------------------------------------------------

    def new_upload_path(self, filename: str) -> Path:
        """A new file for an upload. Its suffix is fixed, whatever the upload's name: the container is told
        from the content (`sniff_container`), never from a name the uploader chose (.m3u8, .ffconcat...)."""
        return self.uploads / f"{uuid.uuid4().hex}.upload"

    def probe_video(self, path: Path, frames: tuple[int, int | None]) -> int | None:
        """Check that the upload is a video file in one of the accepted containers (UnsupportedContainer
        otherwise, before FFmpeg reads it) and decodes (its first frame); returns the frames a run will see."""
        with VideoFile(path, containers=CONTAINERS) as video:
            first = next(iter(video), None)
            if first is None:
                raise InputError("not a readable video (no frame could be decoded)")
            count = video.frame_count
        start, end = frames
        if count is None:
            return None
        if start >= count:
            raise InputError(f"frames {start}: is past the end of the video ({count} frames)")
        return min(count, end or count) - start

    def _job_changed(self, job: Job) -> None:
        self.hub.publish({"type": "job", "job": job.id, "kind": job.kind, "status": job.status, "error": job.error})

    def _run_job(self, job: Job) -> None:
        """Run a job; its error names the upload as it was uploaded, never a path of the server."""
        try:
            self._dispatch(job)
        except Cancelled:
            raise
        except GaitidError as error:
            public = self._public(str(error), job)
            if public != str(error):
                raise GaitidError(public) from None
            raise

    def _public(self, text: str, job: Job) -> str:
        text = text.replace(str(job.upload), job.filename)
        if job.video is not None:
            text = text.replace(str(job.video), "the annotated video")
        return text.replace(str(self.work_dir), "the server's work folder")

    def _dispatch(self, job: Job) -> None:
        if self._estimator is None:
            self._estimator = self._new_estimator()
        options = replace(self.options, frames=job.params.get("frames", (0, None)))
        estimator = _Counting(self._estimator, job)
        if job.kind == "identify":
            self._identify(job, options, estimator)
        elif job.kind == "search":
            self._search(job, options, estimator)
        elif job.kind == "cohort":
            self._add_cohort(job, options, estimator)
        else:
            self._enroll(job, options, estimator)

    def _identify(self, job: Job, options: PipelineOptions, estimator: _Counting) -> None:
        self.check_ready()  # people may have been removed while the job waited
        video = self.videos / f"{job.id}.mp4"
        job.video = video
        result = analyse(str(job.upload), self._walkers(self.gallery), options, out=str(video), estimator=estimator)
        if result.run.error is not None:
            raise result.run.error
        answer = walk_run_json(result)
        answer["source"] = job.filename
        job.result = answer
        if not video.exists():
            job.video = None

    def _search(self, job: Job, options: PipelineOptions, estimator: _Counting) -> None:
        """Where else does the walker of the uploaded clip appear? The clip is analysed with the index's
        windows and model (never added to the index), then searched for as `gaitid search --video` does."""
        archive = self.indexed()
        settings = archive.folder.settings()
        check_model(self.encoder().model, settings, job.filename)
        clip = replace(clip_options(settings), frames=options.frames, progress=options.progress)
        walkers = walkers_for(clip, self.encoder(), None, max_windows=MAX_WINDOWS)
        result = analyse(str(job.upload), walkers, clip, estimator=estimator)
        if result.run.error is not None:
            raise result.run.error
        with self._listing_tracks(job, result):
            query = walker_query(result, job.params.get("track"), job.filename)
        job.result = archive.search_for(self.gallery, query, top=job.params["top"], target_fpir=job.params["fpir"])

    @contextlib.contextmanager
    def _listing_tracks(self, job: Job, result) -> Iterator[None]:  # type: ignore[no-untyped-def]
        """When no walker can be chosen, the job lists the video's tracks and says how to choose one."""
        try:
            yield
        except InputError as error:
            job.tracks = [
                {
                    "id": s.track_id,
                    "first_frame": s.first_frame,
                    "last_frame": s.last_frame,
                    "first_box": list(s.first_box) if s.first_box else None,
                    "windows": s.windows,
                    "usable_frames": s.usable,
                }
                for s in sorted(result.walkers.states.values(), key=lambda s: s.track_id)
            ]
            if isinstance(error, SeveralWalkers):
                raise InputError(f"{error} with the form's track field (the job's tracks list them)") from None
            raise

    def _enroll(self, job: Job, options: PipelineOptions, estimator: _Counting) -> None:
        name, track, add = job.params["name"], job.params.get("track"), job.params.get("add", False)
        result = analyse(str(job.upload), self._walkers(None), options, estimator=estimator)
        if result.run.error is not None:
            raise GaitidError(f"{result.run.error}; nothing was enrolled")
        with self._listing_tracks(job, result):
            state = choose_walker(result, track)
        embeddings = state.embeddings(result.model, result.window.size)
        person = enrol_walker(self.gallery, name, state, embeddings, job.filename, add)
        job.result = {
            "name": person.name,
            "track": state.track_id,
            "frames": [state.first_frame, state.last_frame],
            "vectors_added": len(embeddings),
            "vectors": person.num_vectors,
            "model": result.model,
        }

    def _add_cohort(self, job: Job, options: PipelineOptions, estimator: _Counting) -> None:
        result = analyse(str(job.upload), self._walkers(None), options, estimator=estimator)
        if result.run.error is not None:
            raise GaitidError(f"{result.run.error}; nothing was added to the cohort")
        states = cohort_walkers(result)
        job.result = {
            "walkers": len(states),
            "vectors_added": sum(len(s.vectors) for s in states),
            "cohort_vectors": add_to_cohort(self.gallery, result, states, job.filename, job.id),
            "model": result.model,
        }

    def cohort_json(self) -> dict[str, Any]:
        counts = self.gallery.store.cohort_counts()
        return {"models": {m: {"walkers": people, "vectors": n} for m, (people, n) in sorted(counts.items())}}

    def video_path(self, job: Job) -> Path | None:
        return job.video if job.video is not None and job.video.exists() else None

    # -- live sources -------------------------------------------------------------------------------------

    def start_live(self, spec: str) -> LiveSession:
        spec = spec.strip()
        with self._live_lock:
            running = [s for s in self._live.values() if s.running]
            if len(running) >= self.settings.max_live_sources:
                raise Conflict(
                    f"{len(running)} live sources are running, the most this server runs at once "
                    f"({self.settings.max_live_sources}); stop one first"
                )
        source = self._open_live(spec)
        walkers = self._walkers(self.gallery if self.gallery_ready() else None)
        shown = str(getattr(source, "name", None) or getattr(source, "path", spec))  # a URL's password hidden
        session = LiveSession(
            shown, source, self._new_estimator, walkers, self.gallery_ready, self.gallery, self.hub.publish,
            max_fps=self.options.max_fps,
        )
        with self._live_lock:
            self._live = {k: s for k, s in self._live.items() if s.running or s.started > time.time() - 3600}
            self._live[session.id] = session
        session.start()
        self.hub.publish({"type": "source", "source": session.id, "status": session.status, "error": None})
        return session

    def _open_live(self, spec: str) -> Source:
        """A camera by index, a stream the policy allows, or a file when the server allows files."""
        index = camera_index(spec)
        if index is not None:
            return open_camera(index, self.settings.live)
        if "://" in spec:
            return self._open_stream(spec)
        if not self.settings.allow_file_sources:
            raise InputError(
                f"{spec[:200]!r} is neither a camera index nor a stream URL ({SCHEME_LIST}); files on the server "
                "are live sources only when the server runs with --allow-file-sources"
            )
        return VideoFile(spec, containers=CONTAINERS)  # a playlist could name any file or address

    def _open_stream(self, url: str) -> LiveSource:
        """The stream at `url` if the policy allows it. A failure to open it says the same, after the same
        time (the open timeout), whatever answered or did not: the endpoint is no port scanner."""
        self.policy.host(url)  # a refusal that depends on the text only, at once
        started = time.monotonic()
        try:
            self.policy.check(url)
            return open_stream(url, self.settings.live, formats=self.policy.formats, follow_redirects=False)
        except SourceRefused:
            raise
        except InputError as error:
            log.info("live source not opened: %s", error)
            time.sleep(max(0.0, started + self.settings.live.open_timeout - time.monotonic()))
            raise InputError(
                f"{redact_url(url)}: could not open the source (nothing answered, or not with a video stream "
                "this server reads: RTSP, MJPEG over HTTP, or MPEG-TS, MP4 or MKV)"
            ) from None

    def live(self, source_id: str) -> LiveSession:
        with self._live_lock:
            session = self._live.get(source_id)
        if session is None:
            raise NotFound(f"no live source {source_id!r}")
        return session

    def live_sessions(self) -> list[LiveSession]:
        with self._live_lock:
            return list(self._live.values())

    def stop_live(self, source_id: str) -> LiveSession:
        session = self.live(source_id)
        session.stop()
        with self._live_lock:
            self._live.pop(source_id, None)
        return session

    def enroll_track(self, source_id: str, track_id: int, name: str, add: bool) -> dict[str, Any]:
        session = self.live(source_id)
        try:
            state, embeddings = session.embeddings(track_id)
        except LookupError as error:
            raise NotFound(str(error)) from None
        self.check_can_enroll(name, add)
        enrol_walker(self.gallery, name, state, embeddings, f"live {session.spec}", add)
        return self.person_json(name)
