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
from gaitid.sources.live import LiveOptions, LiveSource, is_url, open_camera, open_stream

__all__ = [
    "CONTAINERS",
    "CONTAINER_NAMES",
    "LiveOptions",
    "LiveSource",
    "Source",
    "UnsupportedContainer",
    "VideoFile",
    "VideoWriter",
    "open_source",
    "read_image",
    "sniff_container",
    "write_image",
]

Source = VideoFile | LiveSource


def open_source(spec: str | int | Path, options: LiveOptions | None = None) -> Source:
    """Open a video file (a path), a camera (an index such as 0 or "0") or a stream (a URL).

    `options` set the timeouts and reconnection of live sources; files ignore them.
    Raises InputError, with a one-line reason, when the source cannot be opened.
    """
    if isinstance(spec, int):
        return open_camera(spec, options)
    text = str(spec)
    if text.strip().isdigit() and not Path(text).exists():
        return open_camera(int(text), options)
    if isinstance(spec, str) and is_url(text):
        return open_stream(text, options)
    if "://" in text and not Path(text).exists():
        raise InputError(f"{text}: unsupported stream address (expected rtsp://, http(s)://, ...)")
    return VideoFile(text)
