"""The HTTP API and the web page: `create_app(settings)` builds the FastAPI application.

Every /api request needs the token (`Authorization: Bearer TOKEN`), else 401. The page itself (/, and
/static/...) holds no data and is served to anyone; it asks for the token and sends it with each call.
Errors are JSON `{"detail": "..."}` with a 4xx status; an unexpected failure is a 500 without traceback
(the traceback goes to the server's log).
"""


import asyncio
import json
import logging
import mimetypes
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Header, HTTPException, Path as PathParam, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, model_validator

from gaitid import __version__
from gaitid.errors import GaitidError, InputError
from gaitid.gallery.errors import UnknownPersonError
from gaitid.gallery.store import MAX_NAME_LENGTH
from gaitid.pipeline import parse_frame_range
from gaitid.server.archive import NoArchive, VideoNotFound
from gaitid.server.events import is_closing
from gaitid.server.jobs import DONE, Job, QueueFull
from gaitid.server.service import NotFound, Service
from gaitid.server.settings import ServerSettings
from gaitid.sources import UnsupportedContainer

log = logging.getLogger("gaitid.server")

WEB_DIR = Path(__file__).resolve().parent / "web"
VIDEO_TYPES = ("application/octet-stream", "application/mp4", "application/x-matroska", "application/ogg")
FORM_OVERHEAD = 1024 * 1024  # room for the multipart headers and the other form fields
CHUNK = 1024 * 1024
NAME_PATTERN = r"^\S(.*\S)?$"  # no spaces at either end (the gallery's rule)
MAX_NUMBER_DIGITS = 18  # a header's number: longer is out of range (and int() refuses over 4300 digits)
VIDEO_ID_PATTERN = r"^[0-9a-f]{20}$"  # gaitid.batch.video_id
MAX_QUERY_WINDOWS = 1000
MAX_TOP = 1000

# -- the API's shapes ---------------------------------------------------------------------------------------


class ErrorOut(BaseModel):
    detail: Any = Field(description="what went wrong, in one line (a list of field errors for 422 validation)")


class Enrolment(BaseModel):
    time: float
    source: str | None
    model: str
    vectors: int


class PersonOut(BaseModel):
    name: str
    vectors: int = Field(description="identification vectors enrolled, over all enrolments")
    enrolments: int = Field(description="how many times this person was enrolled (or had vectors added)")
    models: dict[str, int]
    created: float
    history: list[Enrolment]


class Removed(BaseModel):
    name: str
    vectors: int


class RenameIn(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN, description="the new name")


class CohortOut(BaseModel):
    models: dict[str, dict[str, int]] = Field(
        description="per gait model, the site cohort's walkers and vectors (people never enrolled, from local footage)"
    )


class JobOut(BaseModel):
    id: str
    kind: str = Field(description="identify, enroll, cohort or search")
    status: str = Field(description="queued, running, done, failed or cancelled")
    queue_position: int | None = Field(description="1: runs next; null when not waiting")
    progress: float = Field(description="fraction of the video's frames processed, 0 to 1")
    frames_done: int = Field(description="the video's frames gone through so far (analysed or, with --max-fps, left out)")
    frames_total: int | None
    filename: str
    name: str | None = Field(description="the name to enrol (enroll jobs)")
    created: float
    started: float | None
    finished: float | None
    error: str | None
    tracks: list[dict[str, Any]] | None = Field(
        description="an enrolment or a search that needs a track: the tracks found"
    )
    result: dict[str, Any] | None = Field(
        description="identify: the JSON of `gaitid identify --json`; enroll: who was enrolled from which track; "
        "cohort: how many walkers and vectors joined the site cohort; search: the appearances, as POST /api/search "
        "gives them"
    )
    video_url: str | None = Field(description="the annotated MP4 of an identification (needs the token too)")


class SourceIn(BaseModel):
    spec: str = Field(
        min_length=1,
        max_length=2000,
        description="a camera index (0), a stream URL (rtsp://, rtsps://, http(s):// MJPEG; HLS from hosts the "
        "operator lists with --allow-source-hosts), or a file on the server when it runs with --allow-file-sources",
    )


class TrackOut(BaseModel):
    id: int
    status: str = Field(description="identified, unknown, vectors (no gallery answer yet) or too_short")
    in_view: bool
    name: str | None
    score: float | None
    first_frame: int
    last_frame: int
    usable_frames: int
    windows: int


class SourceOut(BaseModel):
    id: str
    spec: str
    status: str = Field(description="running, stopped, ended (a file's end) or failed")
    error: str | None
    frames: int
    fps: float | None
    started: float
    identifying: bool = Field(description="false until the gallery can name people (2 enrolled)")
    tracks: list[TrackOut]


class TrackEnrolIn(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)
    add: bool = Field(default=False, description="add the vectors to a person already enrolled")


class SearchIn(BaseModel):
    person: str | None = Field(
        default=None, min_length=1, max_length=MAX_NAME_LENGTH, description="search for this enrolled person"
    )
    video_id: str | None = Field(
        default=None, pattern=VIDEO_ID_PATTERN, description="search for a walker of the index: their video's id..."
    )
    track: int | None = Field(
        default=None, ge=0, le=2**31 - 1,
        description="...and track (as a result gives them; default: the video's only walker with a gait window)",
    )
    vectors: list[list[float]] | None = Field(
        default=None, min_length=1, max_length=MAX_QUERY_WINDOWS,
        description="search for the walker of these gait vectors (windows of the index's model)",
    )
    top: int = Field(default=20, ge=1, le=MAX_TOP, description="appearances listed, best first")
    fpir: float | None = Field(
        default=None, ge=0.0, le=1.0, description="the false-positive identification rate to cut at (default: the server's)"
    )

    @model_validator(mode="after")
    def one_query(self) -> "SearchIn":
        if self.track is not None and self.video_id is None:
            raise ValueError("track goes with video_id: the track of that indexed video to search for")
        given = [name for name in ("person", "video_id", "vectors") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give one of person, video_id (and track) or vectors")
        return self


class AppearanceOut(BaseModel):
    rank: int
    camera: str
    video: str = Field(description="the video's path inside the archive folder")
    video_id: str
    track: int
    first_time: float = Field(description="seconds into the video when the walker is first seen")
    last_time: float
    start: str | None = Field(description="wall-clock time of first_time, when the index knows the video's start")
    end: str | None
    score: float = Field(description="1 - fpir: calibrated as identification's scores are")
    fpir: float
    similarity: float
    windows: int
    thumbnail: str | None = Field(description="a JPEG crop of the walker, as a data: URL")
    thumbnail_time: float | None
    video_url: str | None = Field(
        description="the video, playable (HTTP range requests), signed for a few hours; null when it is not in "
        "the archive folders the server plays from"
    )


class SearchOut(BaseModel):
    query: str
    model: str
    target_fpir: float
    calibration: dict[str, Any]
    tracks: int = Field(description="tracks of the index with a vector")
    checked: int = Field(description="candidate tracks decided")
    complete: bool = Field(description="false: the search stopped before its stopping rule, there may be more")
    patience: int
    more: int = Field(description="appearances found beyond top")
    expected_false_appearances: float = Field(description="strangers' tracks expected to pass by chance, at fpir")
    ending: str = Field(description="what the end of the list means, in one sentence")
    appearances: list[AppearanceOut]


class ArchiveOut(BaseModel):
    model: str
    videos: int = Field(description="videos indexed")
    failed_videos: int
    tracks: int = Field(description="tracks searchable")
    backend: str | None = Field(description="exact or faiss-hnsw; null before the first vector index")
    up_to_date: bool = Field(description="false while gaitid index has videos the vector index does not hold yet")
    playback: bool = Field(description="whether results can be played (the server was given archive folders)")


class Health(BaseModel):
    version: str
    gallery: str
    people: int
    ready: bool = Field(description="whether the gallery can identify (at least 2 people enrolled)")
    jobs_waiting: int
    live_sources: int


ERRORS = {
    401: {"model": ErrorOut, "description": "no token, or a wrong one"},
    422: {"model": ErrorOut, "description": "invalid input"},
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        404: "not found",
        409: "conflicts with the server's state",
        413: "the upload is larger than the limit",
        415: "the upload is not a video, or not in a container the server accepts (MP4/MOV, MKV/WebM, AVI, ...)",
        429: "too many jobs waiting",
    }
    out: dict[int | str, dict[str, Any]] = dict(ERRORS)
    for code in codes:
        out[code] = {"model": ErrorOut, "description": described[code]}
    return out


# -- the application ------------------------------------------------------------------------------------------


def create_app(settings: ServerSettings) -> FastAPI:
    """The server's application; its background work starts and stops with the app's lifespan."""
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            await asyncio.to_thread(service.close)

    app = FastAPI(
        title="gaitid",
        version=__version__,
        description="Identify people in video by their gait: the gallery, identification jobs, live sources and "
        "their events. Every /api request needs `Authorization: Bearer TOKEN`.",
        lifespan=lifespan,
        openapi_url=None,  # served under /api, with the token
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.add_middleware(_Guard, limit=settings.max_upload_bytes + FORM_OVERHEAD)
    _error_handlers(app)
    app.include_router(_api(service, settings, app))
    app.include_router(_media(service, settings))
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-store"})

    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GaitidError)
    async def gaitid_error(request: Request, error: GaitidError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=_status(error))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=error)
        return JSONResponse({"detail": "internal error (see the server's log)"}, status_code=500)


def _status(error: GaitidError) -> int:
    if isinstance(error, (UnknownPersonError, NotFound, NoArchive, VideoNotFound)):
        return 404
    if isinstance(error, QueueFull):
        return 429
    if isinstance(error, UnsupportedContainer):
        return 415
    if isinstance(error, InputError):
        return 422
    return 409  # Conflict, and gallery errors (a name taken, too few people, another model)


def _api(service: Service, settings: ServerSettings, app: FastAPI) -> APIRouter:
    bearer = HTTPBearer(auto_error=False, description="the server's token (printed by `gaitid serve`)")
    expected = settings.token.encode("utf-8")

    def require_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        given = b"" if credentials is None else credentials.credentials.encode("utf-8", "replace")
        if not secrets.compare_digest(given, expected):
            raise HTTPException(
                401,
                "a valid token is required: send the header 'Authorization: Bearer TOKEN'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    api = APIRouter(prefix="/api", dependencies=[Depends(require_token)], responses=ERRORS)

    @api.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @api.get("/health", response_model=Health, tags=["server"])
    def health() -> dict[str, Any]:
        return {
            "version": __version__,
            "gallery": str(service.gallery.store.path),
            "people": len(service.gallery.people()),
            "ready": service.gallery_ready(),
            "jobs_waiting": service.jobs.waiting(),
            "live_sources": sum(1 for s in service.live_sessions() if s.running),
        }

    # -- people -------------------------------------------------------------------------------------------

    @api.get("/people", response_model=list[PersonOut], tags=["people"])
    def list_people() -> list[dict[str, Any]]:
        return service.people()

    @api.get("/people/{name:path}", response_model=PersonOut, responses=_errors(404), tags=["people"])
    def get_person(name: str) -> dict[str, Any]:
        return service.person_json(name)

    @api.post("/people", status_code=202, response_model=JobOut, responses=_errors(409, 413, 415, 429), tags=["people"])
    def enroll(
        video: Annotated[UploadFile, File(description="a video of the person walking")],
        name: Annotated[str, Form(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)],
        track: Annotated[int | None, Form(ge=0, description="the track to enrol when several people walk")] = None,
        frames: Annotated[str | None, Form(max_length=40, description="FIRST:END frames of the video to use")] = None,
        add: Annotated[bool, Form(description="add vectors to a person already enrolled")] = False,
    ) -> dict[str, Any]:
        """Enrol the walker of an uploaded video (or the chosen track): a job; its result names the track."""
        frame_range = parse_frame_range(frames or None, option="'frames'")
        service.check_can_enroll(name, add)
        job = _queue_upload(service, settings, video, "enroll", {"name": name, "track": track, "add": add, "frames": frame_range})
        return _job_json(service, job)

    @api.patch("/people/{name:path}", response_model=PersonOut, responses=_errors(404, 409), tags=["people"])
    def rename(name: str, body: RenameIn) -> dict[str, Any]:
        service.gallery.rename(name, body.name)
        return service.person_json(body.name)

    @api.delete("/people/{name:path}", response_model=Removed, responses=_errors(404), tags=["people"])
    def remove(name: str) -> dict[str, Any]:
        removal = service.gallery.remove(name)
        return {"name": removal.name, "vectors": removal.vectors}

    # -- the site cohort ----------------------------------------------------------------------------------

    @api.get("/cohort", response_model=CohortOut, tags=["people"])
    def get_cohort() -> dict[str, Any]:
        """The site cohort: walkers of local footage who are never enrolled, against whom scores are normalised."""
        return service.cohort_json()

    @api.post("/cohort", status_code=202, response_model=JobOut, responses=_errors(413, 415, 429), tags=["people"])
    def add_cohort(
        video: Annotated[UploadFile, File(description="a video of local people who will never be enrolled")],
        frames: Annotated[str | None, Form(max_length=40, description="FIRST:END frames of the video to use")] = None,
    ) -> dict[str, Any]:
        """Add every walker of an uploaded video to the site cohort: a job, like an enrolment."""
        frame_range = parse_frame_range(frames or None, option="'frames'")
        job = _queue_upload(service, settings, video, "cohort", {"frames": frame_range})
        return _job_json(service, job)

    @api.delete("/cohort", response_model=CohortOut, tags=["people"])
    def clear_cohort() -> dict[str, Any]:
        """Erase the site cohort (the cohort shipped with the model stays)."""
        service.gallery.clear_cohort()
        return service.cohort_json()

    # -- identification jobs ------------------------------------------------------------------------------

    @api.post("/identify", status_code=202, response_model=JobOut, responses=_errors(409, 413, 415, 429), tags=["jobs"])
    def identify(
        video: Annotated[UploadFile, File(description="a video of people walking")],
        frames: Annotated[str | None, Form(max_length=40, description="FIRST:END frames of the video to use")] = None,
    ) -> dict[str, Any]:
        """Identify the walkers of an uploaded video: a job; poll GET /api/jobs/{id} for its result."""
        frame_range = parse_frame_range(frames or None, option="'frames'")
        service.check_ready()
        job = _queue_upload(service, settings, video, "identify", {"frames": frame_range})
        return _job_json(service, job)

    @api.get("/jobs", response_model=list[JobOut], tags=["jobs"])
    def list_jobs() -> list[dict[str, Any]]:
        return [_job_json(service, job, with_result=False) for job in service.jobs.jobs()]

    @api.get("/jobs/{job_id}", response_model=JobOut, responses=_errors(404), tags=["jobs"])
    def get_job(job_id: str) -> dict[str, Any]:
        return _job_json(service, _job(service, job_id))

    @api.delete("/jobs/{job_id}", response_model=JobOut, responses=_errors(404), tags=["jobs"])
    def cancel_job(job_id: str) -> dict[str, Any]:
        """Cancel a waiting or running job (a finished one is left as it is)."""
        job = service.jobs.cancel(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r}")
        return _job_json(service, job)

    @api.get(
        "/jobs/{job_id}/video",
        response_class=FileResponse,
        responses={**_errors(404), 200: {"content": {"video/mp4": {}}, "description": "the annotated video"}},
        tags=["jobs"],
    )
    def job_video(job_id: str) -> FileResponse:
        job = _job(service, job_id)
        path = service.video_path(job) if job.status == DONE else None
        if path is None:
            raise NotFound(f"job {job_id} has no annotated video ({job.status})")
        return FileResponse(path, media_type="video/mp4", filename=f"{Path(job.filename).stem}-identified.mp4")

    # -- live sources -------------------------------------------------------------------------------------

    @api.get("/sources", response_model=list[SourceOut], tags=["live"])
    def list_sources() -> list[dict[str, Any]]:
        return [_source_json(s) for s in service.live_sessions()]

    @api.post("/sources", status_code=201, response_model=SourceOut, responses=_errors(409), tags=["live"])
    def start_source(body: SourceIn) -> dict[str, Any]:
        """Start identifying walkers on a camera or stream; events go to GET /api/events."""
        return _source_json(service.start_live(body.spec))

    @api.get("/sources/{source_id}", response_model=SourceOut, responses=_errors(404), tags=["live"])
    def get_source(source_id: str) -> dict[str, Any]:
        return _source_json(service.live(source_id))

    @api.delete("/sources/{source_id}", response_model=SourceOut, responses=_errors(404), tags=["live"])
    def stop_source(source_id: str) -> dict[str, Any]:
        return _source_json(service.stop_live(source_id))

    @api.get(
        "/sources/{source_id}/frame.jpg",
        response_class=Response,
        responses={
            **_errors(404),
            200: {"content": {"image/jpeg": {}}, "description": "the latest annotated frame"},
            204: {"description": "no frame yet"},
        },
        tags=["live"],
    )
    def source_frame(source_id: str) -> Response:
        sequence, jpeg = service.live(source_id).latest_jpeg()
        if jpeg is None:
            return Response(status_code=204)
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store", "X-Frame": str(sequence)})

    @api.get(
        "/sources/{source_id}/stream.mjpg",
        response_class=StreamingResponse,
        responses={**_errors(404), 200: {"content": {"multipart/x-mixed-replace": {}}, "description": "MJPEG"}},
        tags=["live"],
    )
    async def source_stream(source_id: str) -> StreamingResponse:
        """The annotated frames as an MJPEG stream (for an <img> or a video player), until the source stops."""
        session = service.live(source_id)

        async def frames() -> AsyncIterator[bytes]:
            sequence = 0
            while True:
                sequence, jpeg = await asyncio.to_thread(session.wait_jpeg, sequence, 1.0)
                if jpeg is not None:
                    yield b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n" % (len(jpeg), jpeg)
                if not session.running or service.hub.closed:
                    return

        return StreamingResponse(frames(), media_type="multipart/x-mixed-replace; boundary=frame")

    @api.post(
        "/sources/{source_id}/tracks/{track_id}/enroll",
        status_code=201,
        response_model=PersonOut,
        responses=_errors(404, 409),
        tags=["live", "people"],
    )
    def enroll_track(source_id: str, track_id: int, body: TrackEnrolIn) -> dict[str, Any]:
        """Enrol a walker of a live source by their track (in view, or one of the last to have left)."""
        return service.enroll_track(source_id, track_id, body.name, body.add)

    # -- the archive index --------------------------------------------------------------------------------

    @api.get("/archive", response_model=ArchiveOut, responses=_errors(404), tags=["archive"])
    def archive_summary() -> dict[str, Any]:
        """The archive index the server was started with (`gaitid serve --index PATH`)."""
        return service.indexed().summary()

    @api.post("/search", response_model=SearchOut, responses=_errors(404, 409), tags=["archive"])
    def search(body: SearchIn) -> dict[str, Any]:
        """Where does this walker appear in the archive? The appearances, best first, decided and calibrated as
        identification is (`gaitid search`); `ending` says whether there are more."""
        archive = service.indexed()
        return archive.search(
            service.gallery, person=body.person, video_id=body.video_id, track=body.track, vectors=body.vectors,
            top=body.top, target_fpir=body.fpir if body.fpir is not None else settings.target_fpir,
        )

    @api.post(
        "/search/video", status_code=202, response_model=JobOut, responses=_errors(404, 409, 413, 415, 429), tags=["archive"]
    )
    def search_video(
        video: Annotated[UploadFile, File(description="a clip of the walker to look for (it is not added to the index)")],
        track: Annotated[int | None, Form(ge=0, description="the walker's track when several people walk")] = None,
        top: Annotated[int, Form(ge=1, le=MAX_TOP, description="appearances listed, best first")] = 20,
        fpir: Annotated[float | None, Form(ge=0.0, le=1.0, description="the false-positive identification rate to cut at")] = None,
        frames: Annotated[str | None, Form(max_length=40, description="FIRST:END frames of the video to use")] = None,
    ) -> dict[str, Any]:
        """Where else does the walker of this clip appear? A job: the clip is analysed with the index's settings,
        then searched for as POST /api/search does; poll GET /api/jobs/{id} for the appearances."""
        frame_range = parse_frame_range(frames or None, option="'frames'")
        service.indexed()
        params = {
            "track": track, "top": top, "fpir": fpir if fpir is not None else settings.target_fpir, "frames": frame_range,
        }
        job = _queue_upload(service, settings, video, "search", params)
        return _job_json(service, job)

    # -- events -------------------------------------------------------------------------------------------

    @api.get(
        "/events",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}},
        tags=["live"],
    )
    async def events(last_event_id: Annotated[str | None, Header()] = None) -> StreamingResponse:
        """Server-sent events: `walker` (identified, left), `source` and `job` status changes. Each has an id;
        reconnecting with Last-Event-ID replays the recent ones missed."""
        after = _event_id(last_event_id)
        subscription = service.hub.subscribe(asyncio.get_running_loop(), after)

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                while True:
                    try:
                        event = await asyncio.wait_for(subscription.queue.get(), timeout=15.0)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    if is_closing(event):
                        return
                    yield f"id: {event['id']}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n"
            finally:
                service.hub.unsubscribe(subscription)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    return api


def _media(service: Service, settings: ServerSettings) -> APIRouter:
    """The archive's videos, for the page's <video> element, which cannot send the token in a header: each
    request carries the token, or the signature of a search result's video_url."""
    bearer = HTTPBearer(auto_error=False, description="the server's token, unless the link is signed")
    expected = settings.token.encode("utf-8")
    media = APIRouter(prefix="/api", responses=ERRORS)

    def require_token_or_signature(
        video_id: str,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        expires: Annotated[str | None, Query(max_length=20)] = None,
        signature: Annotated[str | None, Query(max_length=128)] = None,
    ) -> None:
        """Checked before anything else of the request (a request without either learns nothing more)."""
        given = b"" if credentials is None else credentials.credentials.encode("utf-8", "replace")
        if secrets.compare_digest(given, expected):
            return
        if service.archive is not None and service.archive.signature_valid(video_id, expires, signature):
            return
        raise HTTPException(
            401, "a valid token, or a signed link from a search result, is required", headers={"WWW-Authenticate": "Bearer"}
        )

    @media.get(
        "/archive/videos/{video_id}",
        response_class=FileResponse,
        responses={
            **_errors(404),
            200: {"content": {"video/mp4": {}}, "description": "the video (206 and a part of it for a Range request)"},
        },
        dependencies=[Depends(require_token_or_signature)],
        tags=["archive"],
    )
    def archive_video(video_id: Annotated[str, PathParam(pattern=VIDEO_ID_PATTERN)]) -> FileResponse:
        """An indexed video, with HTTP range requests (a browser seeks in it); only videos inside the archive
        folders the server was given. Authorised by the token, or by the `expires` and `signature` of a link
        that a search returned (bound to that video, valid for a few hours)."""
        archive = service.indexed()
        path = archive.video_file(video_id)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, no-store"})

    return media


def _event_id(header: str | None) -> int | None:
    """The id of a Last-Event-ID header; None (replay nothing) for anything but a plain ASCII number."""
    text = (header or "").strip()
    if 0 < len(text) <= MAX_NUMBER_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


def _job(service: Service, job_id: str) -> Job:
    job = service.jobs.get(job_id)
    if job is None:
        raise NotFound(f"no job {job_id!r} (finished jobs are forgotten after a while)")
    return job


def _job_json(service: Service, job: Job, with_result: bool = True) -> dict[str, Any]:
    has_video = job.status == DONE and service.video_path(job) is not None
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "queue_position": service.jobs.position(job),
        "progress": round(job.progress, 4),
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
        "filename": job.filename,
        "name": job.params.get("name"),
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "error": job.error,
        "tracks": job.tracks,
        "result": job.result if with_result else None,
        "video_url": f"/api/jobs/{job.id}/video" if has_video else None,
    }


def _source_json(session: Any) -> dict[str, Any]:
    return {
        "id": session.id,
        "spec": session.spec,
        "status": session.status,
        "error": session.error,
        "frames": session.frames,
        "fps": None if session.fps is None else round(session.fps, 2),
        "started": session.started,
        "identifying": session.identifying,
        "tracks": session.tracks(),
    }


# -- uploads --------------------------------------------------------------------------------------------------


def _queue_upload(service: Service, settings: ServerSettings, upload: UploadFile, kind: str, params: dict) -> Job:
    """Save the upload (within the size limit), check that it is a video, and queue the job. On any failure
    the saved file is deleted and the error raised."""
    if not service.jobs.has_room():
        raise QueueFull(f"{service.jobs.waiting()} jobs are already waiting; try again in a little while")
    filename = Path(upload.filename or "upload").name[:200] or "upload"
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    if content_type and not (content_type.startswith("video/") or content_type in VIDEO_TYPES):
        raise HTTPException(415, f"{filename}: {content_type} is not a video type; upload a video file (MP4, AVI, ...)")
    path = service.new_upload_path(filename)
    try:
        _save(upload, path, settings.max_upload_bytes, filename)
        try:
            total = service.probe_video(path, params["frames"])
        except InputError as error:
            raise type(error)(str(error).replace(str(path), filename)) from None
        job = Job(kind=kind, filename=filename, upload=path, params=params, frames_total=total)
        return service.jobs.submit(job)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _save(upload: UploadFile, path: Path, limit: int, filename: str) -> None:
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"{filename}: larger than the upload limit of {_megabytes(limit)}")
            out.write(chunk)
    if size == 0:
        raise InputError(f"{filename}: the uploaded file is empty")


def _over(declared: bytes, limit: int) -> bool:
    return len(declared) > MAX_NUMBER_DIGITS or int(declared) > limit


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


class _Guard:
    """ASGI middleware: refuses request bodies over `limit` bytes (413, as they arrive, so that a huge upload
    is not read to its end) and adds security headers to every response."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; object-src 'none'; "
            b"frame-ancestors 'none'",
        ),
    ]

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + self.HEADERS}
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and _over(declared, self.limit):
            response = JSONResponse(
                {"detail": f"the request is larger than the upload limit of {_megabytes(self.limit - FORM_OVERHEAD)}"},
                status_code=413,
            )
            await response(scope, receive, send_with_headers)
            return
        received = 0

        async def limited() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(
                        413, f"the request is larger than the upload limit of {_megabytes(self.limit - FORM_OVERHEAD)}"
                    )
            return message

        await self.app(scope, limited, send_with_headers)
