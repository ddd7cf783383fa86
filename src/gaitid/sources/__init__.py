"""Where frames come from: video files, webcams and IP cameras, behind one entry point, `open_source`.

Every source iterates timestamped `Frame`s and has `fps` (None when unknown), `width`, `height`,
`frame_count` (None for live sources), `is_live`, `close()` and the context-manager protocol.
"""

from __future__ import annotations

from pathlib import Path

from gaitid.errors import InputError
from gaitid.sources.files import (
    CONTAINER_NAMES,
    CONTAINERS,
    UnsupportedContainer,
    VideoFile,
    VideoWriter,
    read_image,
    sniff_container,
    write_image,
)
from gaitid.sources.live import LiveOptions, LiveSource, is_url, open_camera, open_stream, redact_url

__all__ = [
    "CONTAINERS",
    "CONTAINER_NAMES",
    "LiveOptions",
    "LiveSource",
    "Source",
    "UnsupportedContainer",
    "VideoFile",
    "VideoWriter",
    "camera_index",
    "check_source",
    "open_source",
    "open_camera",
    "open_stream",
    "read_image",
    "redact_url",
    "sniff_container",
    "write_image",
]

Source = VideoFile | LiveSource
MAX_CAMERA_DIGITS = 4


def open_source(spec: str | int | Path, options: LiveOptions | None = None) -> Source:
    """Open a video file (a path), a camera (an index such as 0 or "0") or a stream (a URL).

    `options` set the timeouts and reconnection of live sources; files ignore them.
    Raises InputError, with a one-line reason, when the source cannot be opened.
    """
    if isinstance(spec, int):
        return open_camera(spec, options)
    text = str(spec)
    index = camera_index(text)
    if index is not None and not _exists(text):
        return open_camera(index, options)
    if isinstance(spec, str) and is_url(text):
        return open_stream(text, options)
    _refuse_unknown_address(text)
    return VideoFile(text)


def check_source(spec: str | Path) -> None:
    """Fail early on a source that cannot work, before any other work is done: a file that is missing,
    empty, a folder or not a video, or an address of an unsupported kind. Cameras and streams are left
    to open_source (opening them is what tells)."""
    text = str(spec)
    if (camera_index(text) is not None and not _exists(text)) or is_url(text):
        return
    _refuse_unknown_address(text)
    VideoFile(text).close()


def camera_index(text: str) -> int | None:
    """The camera that `text` names ("0", " 2 "), or None. ASCII digits only, and a few: str.isdigit() is also
    true of "²" (which int() refuses) and of other scripts' digits, which name no camera."""
    text = text.strip()
    if 1 <= len(text) <= MAX_CAMERA_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


def _exists(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # a name too long for the filesystem, a NUL in it
        return False


def _refuse_unknown_address(text: str) -> None:
    if "://" in text and not _exists(text):
        raise InputError(f"{text}: unsupported stream address (expected rtsp://, http(s)://, ...)")
