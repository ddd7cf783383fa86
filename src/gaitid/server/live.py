"""Live sources run by the server: each on its own thread, through the whole pipeline, until stopped.

A session keeps the latest annotated frame as JPEG (boxes, skeletons, names) for the live view, publishes
walker events ("identified", "left") to the event hub, and keeps the walkers that left recently so that
a track can still be enrolled by name after the person walked out of view. Until at least two people are
enrolled the session only computes vectors; it starts naming walkers as soon as the gallery can answer.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import cv2

from gaitid.errors import GaitidError, InputError
from gaitid.pipeline import annotate, event_json, track_status
from gaitid.pipeline.walkers import WalkerEvent, Walkers, WalkerState
from gaitid.pipeline import PoseEstimator, run_stream
from gaitid.pipeline.stream import thinning
from gaitid.types import Embedding, Frame, FramePeople

log = logging.getLogger("gaitid.server")

RUNNING, STOPPED, ENDED, FAILED = "running", "stopped", "ended", "failed"
KEEP_LEFT = 20  # walkers that left, kept for enrolment by track
JPEG_QUALITY = 80


class _Stoppable:
    """A source's frames until `stop` is set (a live source is also closed, which ends its wait)."""

    def __init__(self, source, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
        self.source, self.stop = source, stop
        self.is_live = source.is_live
        self.frame_count = source.frame_count

    def __iter__(self) -> Iterator[Frame]:
        for frame in self.source:
            if self.stop.is_set():
                return
            yield frame


class LiveSession:
    """One running source. `spec` is shown to clients (a URL's password is not)."""

    def __init__(
        self,
        spec: str,
        source,  # type: ignore[no-untyped-def]
        estimator_factory: Callable[[], PoseEstimator],
        walkers: Walkers,
        gallery_ready: Callable[[], bool],
        gallery,  # type: ignore[no-untyped-def]
        publish: Callable[[dict[str, Any]], Any],
        max_fps: float | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self._max_fps = max_fps  # frames analysed a second at most, by their arrival times (None: all)
        self.spec = spec
        self.started = time.time()
        self.status = RUNNING
        self.error: str | None = None
        self.frames = 0
        self._source = source
        self._estimator_factory = estimator_factory
        self._walkers = walkers
        self._gallery_ready = gallery_ready
        self._gallery = gallery
        self._publish = publish
        self._lock = threading.Lock()
        self._frame_ready = threading.Condition(self._lock)
        self._jpeg: bytes | None = None
        self._jpeg_seq = 0
        self._left: deque[WalkerState] = deque(maxlen=KEEP_LEFT)
        self._stop = threading.Event()
        self._last_ready_check = 0.0
        self._fps_window: deque[float] = deque(maxlen=30)
        self._thread = threading.Thread(target=self._run, name=f"gaitid-live {self.id}", daemon=True)

    # -- running ------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            estimator = self._estimator_factory()
            every, step, rate = thinning(self._source, self._max_fps)  # as `run_source` does
            self._walkers.analysing_every(every, getattr(self._source, "fps", None))
            frames = _Stoppable(self._source, self._stop)
            run = run_stream(frames, estimator, self._on_frame, progress=False, step=step, rate=rate)
            final = self._walkers.finish()
            self._emit(final)
            if run.error is not None:
                self._finish(FAILED, str(run.error))
            else:
                self._finish(STOPPED if self._stop.is_set() else ENDED, None)
        except GaitidError as error:
            self._finish(FAILED, str(error))
        except Exception:
            log.exception("live source %s failed", self.id)
            self._finish(FAILED, "internal error in the live pipeline (see the server's log)")
        finally:
            try:
                self._source.close()
            except Exception:
                log.exception("closing live source %s", self.id)

    def _finish(self, status: str, error: str | None) -> None:
        with self._lock:
            self.status, self.error = status, error
            self._frame_ready.notify_all()
        self._publish({"type": "source", "source": self.id, "status": status, "error": error})

    def _on_frame(self, frame: Frame, people: FramePeople) -> None:
        self._maybe_start_identifying()
        with self._lock:
            events = self._walkers.update(people)
            image = annotate(frame, people, self._walkers)
            self._keep_left()
        self._emit(events)
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        with self._lock:
            self.frames += 1
            self._fps_window.append(time.monotonic())
            if ok:
                self._jpeg = jpeg.tobytes()
                self._jpeg_seq += 1
                self._frame_ready.notify_all()

    def _maybe_start_identifying(self) -> None:
        """Attach the gallery once it can answer (checked every couple of seconds while it cannot)."""
        if self._walkers.gallery is not None:
            return
        now = time.monotonic()
        if now - self._last_ready_check < 2.0:
            return
        self._last_ready_check = now
        if self._gallery_ready():
            with self._lock:
                self._walkers.gallery = self._gallery

    def _keep_left(self) -> None:
        ended = [s for s in self._walkers.states.values() if s.ended]
        if ended:
            self._left.extend(ended)
            self._walkers.forget_ended()

    def _emit(self, events: list[WalkerEvent]) -> None:
        for event in events:
            self._publish({"type": "walker", "source": self.id, **event_json(event)})

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._source.is_live:
            self._source.close()  # ends a wait for the next frame
        self._thread.join(timeout)

    # -- reading (from the server's threads) --------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    @property
    def identifying(self) -> bool:
        return self._walkers.gallery is not None

    @property
    def fps(self) -> float | None:
        with self._lock:
            times = list(self._fps_window)
        if len(times) < 2 or times[-1] == times[0]:
            return None
        return (len(times) - 1) / (times[-1] - times[0])

    def latest_jpeg(self) -> tuple[int, bytes | None]:
        with self._lock:
            return self._jpeg_seq, self._jpeg

    def wait_jpeg(self, after: int, timeout: float) -> tuple[int, bytes | None]:
        """The next annotated frame after sequence number `after` (or the latest on timeout or at the end)."""
        with self._frame_ready:
            self._frame_ready.wait_for(lambda: self._jpeg_seq > after or self.status != RUNNING, timeout)
            return self._jpeg_seq, self._jpeg

    def tracks(self) -> list[dict[str, Any]]:
        """The walkers in view and those that left recently, newest first."""
        with self._lock:
            states = list(self._walkers.states.values()) + list(self._left)
            return [_track_json(s) for s in sorted(states, key=lambda s: (-s.last_frame, s.track_id))]

    def embeddings(self, track_id: int) -> tuple[WalkerState, list[Embedding]]:
        """A track's vectors for enrolment; InputError when the track is unknown or too short."""
        with self._lock:
            states = {s.track_id: s for s in self._left}
            states.update(self._walkers.states)
            state = states.get(track_id)
            if state is None:
                known = ", ".join(str(t) for t in sorted(states)) or "none"
                raise LookupError(f"source {self.id} has no track {track_id} (tracks: {known})")
            if not state.vectors:
                window = self._walkers.window
                raise InputError(
                    f"track {track_id} has {state.usable} usable frames; enrolment needs at least {window.size} "
                    f"(frames where the whole walker is in view, at least {window.min_height:g} px tall)"
                )
            return state, state.embeddings(self._walkers.encoder.model, self._walkers.window.size)


def _track_json(state: WalkerState) -> dict[str, Any]:
    identity = state.identity
    return {
        "id": state.track_id,
        "status": track_status(state),
        "in_view": not state.ended,
        "name": None if identity is None else identity.name,
        "score": None if identity is None else round(identity.score, 4),
        "fpir": None if identity is None or identity.fpir is None else round(identity.fpir, 4),
        "first_frame": state.first_frame,
        "last_frame": state.last_frame,
        "usable_frames": state.usable,
        "windows": state.windows,
    }
