"""Live sources: webcams and IP cameras (RTSP, HTTP MJPEG, HLS) as timestamped frames.

A live source never lets its consumer fall behind. A reader thread pulls frames from the camera as fast as
they come and keeps only the newest; the consumer always gets the latest frame, and the ones it was too slow
for are dropped (counted in `frames_dropped`), never queued. When the stream breaks, the reader reconnects
with exponential backoff; when no frame has arrived for `give_up_after` seconds, iteration ends with an
InputError that says so. Opening a source that cannot be reached fails within `open_timeout` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np

from gaitid import stopping
from gaitid.errors import InputError
from gaitid.sources.files import as_displayed, square_pixel_width
from gaitid.types import Frame

URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")
# What FFmpeg may open for a network stream, an HLS playlist's segments included: network protocols only,
# never a file, a pipe or a compound protocol (concat:, subfile:).
NETWORK_PROTOCOLS = (
    "http,https,tcp,tls,udp,rtp,srtp,crypto,httpproxy,rtmp,rtmps,rtmpt,rtmpe,rtmpte,rtmpts,ffrtmpcrypt,ffrtmphttp,srt"
)


@dataclass(frozen=True)
class LiveOptions:
    """How a live source connects and reconnects.

    open_timeout: seconds allowed to open the source (and, for network streams, for each read).
    give_up_after: seconds without a single new frame (the stream down and every reconnection failing)
        after which iteration ends with an InputError.
    backoff_start, backoff_max: the first wait between reconnection attempts, doubled after each failure up
        to the maximum.
    """

    open_timeout: float = 5.0
    give_up_after: float = 30.0
    backoff_start: float = 0.25
    backoff_max: float = 4.0

    def __post_init__(self) -> None:
        for name in ("open_timeout", "give_up_after", "backoff_start", "backoff_max"):
            if not getattr(self, name) > 0:
                raise ValueError(f"LiveOptions.{name} must be > 0, got {getattr(self, name)}")


class _Connection(Protocol):
    """One open connection to a camera: read the next image, or raise when the stream is broken or ended."""

    fps: float | None
    width: int
    height: int

    def read(self) -> Callable[[], np.ndarray]:
        """Block for the next frame; return a function that makes its (H, W, 3) RGB image (decoding is
        left to the consumer, so frames that are dropped cost no conversion)."""
        ...

    def close(self) -> None: ...


class _StreamEnded(Exception):
    """The connection ended or broke; the reader will reconnect."""


class _PyAVConnection:
    """A network stream opened with PyAV (FFmpeg): RTSP, HTTP(S) MJPEG, HLS and whatever else FFmpeg reads.
    `formats`: the demuxers allowed (None: any); `follow_redirects`: whether an HTTP redirect is followed."""

    def __init__(
        self, url: str, timeout: float, formats: tuple[str, ...] | None = None, follow_redirects: bool = True
    ) -> None:
        options = {"protocol_whitelist": NETWORK_PROTOCOLS}
        if url.lower().startswith(("rtsp://", "rtsps://")):
            options["rtsp_transport"] = "tcp"
        if formats is not None:
            options["format_whitelist"] = ",".join(formats)
        if not follow_redirects and url.lower().startswith(("http://", "https://")):
            options["max_redirects"] = "0"
        try:
            # The timeout pair bounds both the open and every read, so a dead server never hangs the reader.
            self._container = av.open(url, mode="r", timeout=(timeout, timeout), options=options)
        except av.error.FFmpegError as error:
            raise InputError(f"{redact_url(url)}: cannot open stream ({_reason(error)})") from None
        if not self._container.streams.video:
            self._container.close()
            raise InputError(f"{redact_url(url)}: the stream has no video")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else None
        self.height = int(stream.codec_context.height)
        self._square_width = square_pixel_width(int(stream.codec_context.width), stream)
        self.width = self._square_width or int(stream.codec_context.width)
        self._frames = self._container.decode(stream)

    def read(self) -> Callable[[], np.ndarray]:
        try:
            frame = next(self._frames)
        except StopIteration:
            raise _StreamEnded("the stream ended") from None
        except (av.error.FFmpegError, OSError) as error:
            raise _StreamEnded(_reason(error)) from None
        return lambda: as_displayed(frame, self._square_width)

    def close(self) -> None:
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError):
            pass


class _CameraConnection:
    """A local camera by index, through OpenCV (V4L2 on Linux)."""

    def __init__(self, index: int, timeout: float) -> None:
        device = Path(f"/dev/video{index}")
        if Path("/dev").is_dir() and not device.exists():
            raise InputError(f"camera {index}: no such camera ({device} does not exist)")
        self._capture = cv2.VideoCapture(index)
        if not self._capture.isOpened():
            self._capture.release()
            raise InputError(f"camera {index}: cannot open the camera")
        self._capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else None
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))

    def read(self) -> Callable[[], np.ndarray]:
        ok, image = self._capture.read()
        if not ok or image is None:
            raise _StreamEnded("the camera returned no frame")
        return lambda: cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()


class LiveSource:
    """A live camera: iterate for the newest frames; `close()` (or the context manager) stops the reader.

    Frames are numbered by their arrival at the reader, so a gap in `Frame.index` shows frames that were
    dropped; `Frame.time` is seconds since the source was opened, taken when the frame arrived.
    """

    is_live = True
    frame_count = None

    def __init__(self, name: str, connect: Callable[[], _Connection], options: LiveOptions | None = None) -> None:
        self.name = name
        self.options = options or LiveOptions()
        self._connect = connect
        self.frames_received = 0
        self.frames_dropped = 0
        self.reconnects = 0
        self._condition = threading.Condition()
        self._latest: tuple[int, float, Callable[[], np.ndarray]] | None = None
        self._error: InputError | None = None
        self._stop = threading.Event()
        self._start = time.monotonic()
        # The first connection is made here, once: a source that cannot be opened fails now, clearly.
        self._connection: _Connection | None = connect()
        self.fps = self._connection.fps
        self.width = self._connection.width
        self.height = self._connection.height
        self._thread = threading.Thread(target=self._run, name=f"gaitid-source {name}", daemon=True)
        self._thread.start()

    # The reader thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._read_forever()
        except Exception as error:  # a reader that dies must not leave its consumer waiting forever
            self._fail(f"{self.name}: reading failed ({type(error).__name__}: {error})")
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _read_forever(self) -> None:
        last_frame = time.monotonic()
        backoff = self.options.backoff_start
        while not self._stop.is_set():
            if self._connection is None:
                if time.monotonic() - last_frame > self.options.give_up_after:
                    self._fail(
                        f"{self.name}: no frame for {self.options.give_up_after:g} s and reconnecting failed; giving up"
                    )
                    return
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, self.options.backoff_max)
                try:
                    self._connection = self._connect()
                    self.reconnects += 1
                except InputError:
                    continue
            try:
                make_image = self._connection.read()
            except _StreamEnded:
                self._connection.close()
                self._connection = None
                continue
            last_frame = time.monotonic()
            backoff = self.options.backoff_start
            with self._condition:
                if self._latest is not None:
                    self.frames_dropped += 1
                self._latest = (self.frames_received, last_frame - self._start, make_image)
                self.frames_received += 1
                self._condition.notify_all()

    def _fail(self, message: str) -> None:
        with self._condition:
            self._error = InputError(message)
            self._condition.notify_all()

    # The consumer --------------------------------------------------------------------------------------

    def read(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not yet read, waiting up to `timeout` seconds (forever if None) for one.

        Returns None on timeout, after close() or on a stop request (gaitid.stopping); raises InputError once
        the source has given up.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while self._latest is None and self._error is None and not self._stop.is_set() and self._thread.is_alive():
                if stopping.requested():  # Ctrl-C or SIGTERM while the camera sends nothing
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                # Wake periodically so a stopped reader thread is noticed.
                self._condition.wait(0.5 if remaining is None else min(remaining, 0.5))
            if self._latest is None:
                if self._error is not None:
                    raise self._error
                return None
            index, when, make_image = self._latest
            self._latest = None
        return Frame(image=make_image(), index=index, time=when)

    def __iter__(self) -> Iterator[Frame]:
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def close(self) -> None:
        self._stop.set()
        with self._condition:
            self._condition.notify_all()
        # Reads are bounded by the open timeout, so the reader notices the stop within about that long.
        self._thread.join(timeout=self.options.open_timeout + 1.0)

    def __enter__(self) -> LiveSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_stream(
    url: str,
    options: LiveOptions | None = None,
    *,
    formats: tuple[str, ...] | None = None,
    follow_redirects: bool = True,
) -> LiveSource:
    """An IP camera or other network stream by URL (rtsp://, http(s):// MJPEG or HLS, ...). `formats` limits
    the FFmpeg demuxers it may be read with; `follow_redirects=False` refuses HTTP redirects."""
    options = options or LiveOptions()
    timeout = options.open_timeout
    return LiveSource(redact_url(url), lambda: _PyAVConnection(url, timeout, formats, follow_redirects), options)


def open_camera(index: int, options: LiveOptions | None = None) -> LiveSource:
    """A local camera by its index (0 for /dev/video0)."""
    options = options or LiveOptions()
    return LiveSource(f"camera {index}", lambda: _CameraConnection(index, options.open_timeout), options)


def is_url(spec: str) -> bool:
    return spec.lower().startswith(URL_SCHEMES)


def redact_url(url: str) -> str:
    """The URL without a password, for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    credentials, host = rest.split("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def _reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.strip().rstrip(".").splitlines()[0] if text else type(error).__name__
