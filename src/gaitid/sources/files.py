"""Still images and video files as timestamped frames, and the annotated-video writer.

Video is decoded with PyAV (FFmpeg), so whatever FFmpeg reads is readable, and written as H.264 MP4
(yuv420p, faststart) so that browsers play it. A file in one of the usual containers (recognised by its
first bytes, `sniff_container`) is opened with that demuxer and may open no other file or address: FFmpeg's
own guess could take it for a playlist (HLS, concat) that reads whatever files and URLs it names.
"""

from __future__ import annotations

import math
import re
import struct
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


MAX_PIXELS = 100_000_000  # 100 megapixels (300 MB decoded): past any camera's frame, short of a memory bomb


def read_image(path: str | Path) -> Frame:
    """Read a still image as a single RGB frame; greyscale and alpha are converted. An image that declares
    more than MAX_PIXELS pixels is refused before it is decoded (a few bytes can declare gigabytes)."""
    path = Path(path)
    data = _image_bytes(path)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:  # OpenCV's own limits (its pixel cap, formats it half knows)
        image = None
    if image is None:
        raise InputError(f"{path}: not a readable image")
    _check_pixels(path, image.shape[1], image.shape[0])
    return Frame(image=cv2.cvtColor(image, cv2.COLOR_BGR2RGB), index=0, time=0.0)


def check_image(path: str | Path) -> None:
    """What read_image refuses without decoding: a missing, empty or oversized image."""
    _image_bytes(Path(path))


def _image_bytes(path: Path) -> bytes:
    _check_file(path)
    data = path.read_bytes()
    size = image_size(data)
    if size is not None:
        _check_pixels(path, *size)
    return data


def _check_pixels(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise InputError(
            f"{path}: {width} x {height} pixels is too large (at most {MAX_PIXELS // 1_000_000} megapixels)"
        )


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) as an image's header declares them (PNG, JPEG, GIF, BMP, WebP, TIFF, PNM), read
    without decoding; None when the header is none of these or is cut short."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return struct.unpack(">II", data[16:24])
        if data.startswith((b"GIF87a", b"GIF89a")):
            return struct.unpack("<HH", data[6:10])
        if data.startswith(b"BM"):
            core = struct.unpack("<I", data[14:18])[0] == 12  # the old OS/2 header has 16-bit sizes
            width, height = struct.unpack("<HH" if core else "<ii", data[18:22] if core else data[18:26])
            return abs(width), abs(height)
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data[:4] in (b"II*\0", b"MM\0*"):
            return _tiff_size(data)
        if re.match(rb"P[1-7]\s", data):
            numbers = re.match(rb"P\d(?:\s|#[^\n]*\n)+(\d{1,9})(?:\s|#[^\n]*\n)+(\d{1,9})\D", data)
            return (int(numbers[1]), int(numbers[2])) if numbers else None
    except struct.error:
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD8:  # fill byte, markers without length
            at += 1 if marker == 0xFF else 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L":
        bits = struct.unpack("<I", data[21:25])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", data[4:8])[0]
    count = struct.unpack(order + "H", data[offset : offset + 2])[0]
    found: dict[int, int] = {}
    for entry in range(min(count, 1000)):
        at = offset + 2 + 12 * entry
        tag, kind = struct.unpack(order + "HH", data[at : at + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength: a SHORT or a LONG
            fmt, end = ("H", at + 10) if kind == 3 else ("I", at + 12)
            found[tag] = struct.unpack(order + fmt, data[at + 8 : end])[0]
    return (found[256], found[257]) if len(found) == 2 else None


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
        stored_width = int(self._stream.codec_context.width)
        self.height = int(self._stream.codec_context.height)
        # Shown as players show it: pixels made square (anamorphic DV, DVD, some CCTV), then turned upright.
        self._square_width = square_pixel_width(stored_width, self._stream)
        self.width = self._square_width or stored_width
        if self.width <= 0 or self.height <= 0:
            self.close()
            raise InputError(f"{self.path}: not a readable video (no frame size)")
        if max(self.width, stored_width) * self.height > MAX_PIXELS:
            self.close()
            _check_pixels(self.path, max(self.width, stored_width), self.height)
        self._turns = _display_turns(self.path, container, options)
        if self._turns % 2:
            self.width, self.height = self.height, self.width

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
                yield Frame(image=as_displayed(decoded, self._square_width, self._turns), index=index, time=time)
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


def as_displayed(decoded: av.VideoFrame, square_width: int | None = None, turns: int = 0) -> np.ndarray:
    """A decoded frame as RGB, as players show it: deinterlaced when coded as interlaced, stretched to
    `square_width` (square pixels; `square_pixel_width`), turned `turns` quarter turns anticlockwise."""
    image = decoded.to_ndarray(format="rgb24")
    if decoded.interlaced_frame:
        image = _one_field(image)
    if square_width:
        shrink = square_width < image.shape[1]
        image = cv2.resize(image, (square_width, image.shape[0]), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    if turns:
        image = np.ascontiguousarray(np.rot90(image, turns))
    return image


def _one_field(image: np.ndarray) -> np.ndarray:
    """An interlaced frame from its top field alone, its lines interpolated back to the frame's height: the
    two fields are 1/50 or 1/60 s apart, so a walker's legs in the woven frame are combed into two."""
    height, width = image.shape[:2]
    if height < 4:
        return image
    return cv2.resize(image[::2], (width, height), interpolation=cv2.INTER_LINEAR)


def square_pixel_width(width: int, stream) -> int | None:  # type: ignore[no-untyped-def]
    """The frame width that makes the stream's pixels square (its sample aspect ratio, as players apply
    it), or None when they already are, or the ratio is missing or implausible (outside 1:4 to 4:1)."""
    ratio = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    if not ratio or ratio == 1 or not 0.25 <= ratio <= 4:
        return None
    return max(2, round(width * ratio / 2) * 2)


def _display_turns(path: Path, container: str | None, options: dict[str, str]) -> int:
    """Quarter turns anticlockwise (0-3) that show the video's frames upright: phones store portrait video
    as landscape frames with a display rotation, which players apply. Read from the first frame's display
    matrix (FFmpeg attaches the stream's to every frame), on a reader of its own so the real one starts at
    the first frame; 0 when there is none or the first frame cannot be decoded (the real reader says why)."""
    try:
        with av.open(str(path), mode="r", format=container, options=options, timeout=10.0) as probe:
            first = next(probe.decode(probe.streams.video[0]), None)
    except (av.error.FFmpegError, UnicodeDecodeError, IndexError):
        return 0
    rotation = getattr(first, "rotation", 0) or 0
    return round(rotation / 90) % 4


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
