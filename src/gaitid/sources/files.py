"""Still images and video files as timestamped frames, and the annotated-video writer.

Video is decoded with PyAV (FFmpeg), so whatever FFmpeg reads is readable, and written as H.264 MP4
(yuv420p, faststart) so that browsers play it. A file in one of the usual containers (recognised by its
first bytes, `sniff_container`) is opened with that demuxer and may open no other file or address: FFmpeg's
own guess could take it for a playlist (HLS, concat) that reads whatever files and URLs it names.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import cv2
import numpy as np

from gaitid.errors import InputError
from gaitid.types import Frame

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
# FFmpeg's demuxers of the single-file containers that cameras, phones and editors write.
CONTAINERS = ("mov", "matroska", "avi", "mpegts", "mpeg", "ogg", "asf")
CONTAINER_NAMES = "MP4/MOV, MKV/WebM, AVI, MPEG-TS, MPEG-PS, Ogg or ASF/WMV"
_MOV_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_TS_PACKET = 188


class UnsupportedContainer(InputError):
    """The file is not one of the containers accepted (a playlist, a still image, anything else)."""


def is_image_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _check_file(path: Path) -> None:
    try:
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not an image or video")
        if path.stat().st_size == 0:
            raise InputError(f"{path}: file is empty")
    except (OSError, ValueError) as error:  # a name too long, a NUL in it
        raise InputError(f"{str(path)[:100]}: cannot open ({getattr(error, 'strerror', None) or error})") from None


def sniff_container(path: str | Path) -> str | None:
    """The FFmpeg demuxer (one of CONTAINERS) of the video file's container, from its first bytes; None for
    anything else."""
    with open(path, "rb") as handle:
        head = handle.read(3 * _TS_PACKET + 8)
    if head[4:8] in _MOV_BOXES:
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] in (b"AVI ", b"AVIX"):
        return "avi"
    if _is_transport_stream(head):
        return "mpegts"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpeg"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(_ASF_GUID):
        return "asf"
    return None


def _is_transport_stream(head: bytes) -> bool:
    """Sync bytes every 188 bytes (MPEG-TS), or every 192 after a 4-byte timestamp (M2TS, as camcorders write)."""
    for start, size in ((0, _TS_PACKET), (4, _TS_PACKET + 4)):
        offsets = range(start, start + 3 * size, size)
        if all(o < len(head) and head[o] == 0x47 for o in offsets):
            return True
    return False


def read_image(path: str | Path) -> Frame:
    """Read a still image as a single RGB frame; greyscale and alpha are converted."""
    path = Path(path)
    _check_file(path)
    data = np.fromfile(path, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: not a readable image")
    return Frame(image=cv2.cvtColor(image, cv2.COLOR_BGR2RGB), index=0, time=0.0)


class VideoFile:
    """A video file opened for reading; iterate it for frames.

    Raises InputError when the file is missing, is not a video, or breaks off (truncated or corrupt)
    partway: a partial result is never passed off as the whole video. With `containers` (names of
    CONTAINERS), a file in any other container is refused (UnsupportedContainer) before FFmpeg reads it.
    """

    is_live = False

    def __init__(self, path: str | Path, containers: Collection[str] | None = None) -> None:
        self.path = Path(path)
        _check_file(self.path)
        try:
            container = sniff_container(self.path)
        except OSError as error:
            raise InputError(f"{self.path}: cannot read ({error.strerror or error})") from None
        if containers is not None and container not in containers:
            raise UnsupportedContainer(f"{self.path}: not a video file this program accepts ({CONTAINER_NAMES})")
        # A known container is read by its own demuxer, from this file only; anything else as FFmpeg guesses.
        options = {"protocol_whitelist": "file"} if container else {}
        try:
            self._container = av.open(str(self.path), mode="r", format=container, options=options, timeout=10.0)
        except (av.error.FFmpegError, UnicodeDecodeError) as error:
            raise InputError(f"{self.path}: not a readable video ({_reason(error)})") from None
        if not self._container.streams.video:
            self._container.close()
            raise InputError(f"{self.path}: contains no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(25)
        self.fps = float(rate)
        self.width = int(self._stream.codec_context.width)
        self.height = int(self._stream.codec_context.height)
        if self.width <= 0 or self.height <= 0:
            self.close()
            raise InputError(f"{self.path}: not a readable video (no frame size)")

    @property
    def frame_count(self) -> int | None:
        """The number of frames the container declares (an estimate from the duration if it has none)."""
        if self._stream.frames:
            return int(self._stream.frames)
        if self._stream.duration and self._stream.time_base:
            return int(round(float(self._stream.duration * self._stream.time_base) * self.fps))
        if self._container.duration:
            return int(round(self._container.duration / av.time_base * self.fps))
        return None

    def __iter__(self) -> Iterator[Frame]:
        expected = self.frame_count
        index = 0
        try:
            for decoded in self._container.decode(self._stream):
                time = float(decoded.time) if decoded.time is not None else index / self.fps
                yield Frame(image=decoded.to_ndarray(format="rgb24"), index=index, time=time)
                index += 1
        except av.error.FFmpegError as error:
            raise InputError(f"{self.path}: video breaks off after frame {index} ({_reason(error)})") from None
        if index == 0:
            raise InputError(f"{self.path}: not a readable video (no frame could be decoded)")
        if expected and index < 0.9 * expected - 1:
            raise InputError(f"{self.path}: video is truncated: {index} of {expected} frames could be decoded")

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.strip().rstrip(".").splitlines()[0] if text else type(error).__name__


class VideoWriter:
    """Writes RGB frames to an H.264 MP4 file that plays in browsers."""

    def __init__(self, path: str | Path, fps: float, width: int, height: int, crf: int = 23) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise InputError(f"{self.path}: annotated video must be written as .mp4")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # H.264 in yuv420p needs even dimensions; frames are padded by one pixel where odd.
        self.width, self.height = width + width % 2, height + height % 2
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 and math.isfinite(fps) else Fraction(25)
        self._container = av.open(str(self.path), mode="w", options={"movflags": "faststart"})
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(crf), "preset": "veryfast"}
        self.frames_written = 0

    def write(self, image: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB image."""
        if image.shape[0] != self.height or image.shape[1] != self.width:
            padded = np.zeros((self.height, self.width, 3), np.uint8)
            padded[: image.shape[0], : image.shape[1]] = image[: self.height, : self.width]
            image = padded
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Write an RGB image; the format follows the suffix (PNG or JPEG)."""
    path = Path(path)
    if path.suffix.lower() not in {".png", ".jpg", ".jpeg"}:
        raise InputError(f"{path}: annotated image must be written as .png or .jpg")
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(path.suffix.lower(), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise InputError(f"{path}: could not encode the image")
    data.tofile(path)
