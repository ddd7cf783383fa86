"""An archive of recorded video: the files to index, each with its camera and, when known, its start time.

`list_archive(inputs, manifest)` turns what the user named (video files and folders, searched recursively
for video files) into `ArchiveVideo`s, in a stable order. The camera of a video is, by default, the folder
it lies in (cameras usually write to a folder each); a manifest CSV with the columns `video`, `camera` and
optionally `start_time` (ISO 8601, e.g. 2024-05-01T08:00:00+02:00) says it exactly. Manifest paths are
read relative to the manifest's own folder.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from gaitid.errors import InputError

VIDEO_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".m2ts", ".mts", ".mpg", ".mpeg", ".ogv", ".wmv", ".asf",
})


@dataclass(frozen=True)
class ArchiveVideo:
    """path: the video file (absolute). camera: the camera it came from. start_time: when its first frame was
    recorded (ISO 8601 text as given, or None when unknown)."""

    path: str
    camera: str
    start_time: str | None = None


def list_archive(inputs: list[str], manifest: str | None = None) -> list[ArchiveVideo]:
    """The videos of `inputs` (files, and folders searched recursively for files with a video suffix), each
    once, sorted by path; cameras and start times from `manifest` when given (a video it does not list
    keeps its folder's name as its camera). Raises InputError for an input that does not exist, and when
    no video is found."""
    known = read_manifest(manifest) if manifest is not None else {}
    found: dict[str, ArchiveVideo] = {}
    for spec in inputs:
        path = Path(spec)
        if not path.exists():
            raise InputError(f"{spec}: no such file or folder")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
        else:
            files = [path]
        for file in files:
            absolute = str(file.resolve())
            if absolute not in found:
                found[absolute] = known.get(absolute) or ArchiveVideo(absolute, file.resolve().parent.name)
    if not found:
        raise InputError(f"no video files (by suffix: {', '.join(sorted(VIDEO_SUFFIXES))}) in {', '.join(inputs)}")
    return [found[key] for key in sorted(found)]


def read_manifest(manifest: str) -> dict[str, ArchiveVideo]:
    """Absolute video path -> ArchiveVideo, from a CSV with a header naming `video`, `camera` and optionally
    `start_time`. Raises InputError, naming the line, for anything it cannot read."""
    path = Path(manifest)
    if not path.is_file():
        raise InputError(f"{manifest}: no such manifest file")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            if not {"video", "camera"} <= columns:
                raise InputError(f"{manifest}: the manifest needs a header with the columns video and camera "
                                 f"(and optionally start_time), found {', '.join(sorted(columns)) or 'none'}")
            out: dict[str, ArchiveVideo] = {}
            for line, row in enumerate(reader, start=2):
                video, camera = (row.get("video") or "").strip(), (row.get("camera") or "").strip()
                if not video or not camera:
                    raise InputError(f"{manifest}, line {line}: video and camera must not be empty")
                start = (row.get("start_time") or "").strip() or None
                if start is not None:
                    try:
                        dt.datetime.fromisoformat(start)
                    except ValueError:
                        raise InputError(
                            f"{manifest}, line {line}: start_time {start!r} is not an ISO 8601 time "
                            "(e.g. 2024-05-01T08:00:00)"
                        ) from None
                absolute = str((path.parent / video).resolve())
                out[absolute] = ArchiveVideo(absolute, camera, start)
    except UnicodeDecodeError:
        raise InputError(f"{manifest}: not a UTF-8 CSV file") from None
    except csv.Error as error:
        raise InputError(f"{manifest}: not a readable CSV file ({error})") from None
    return out


def moment(start_time: str | None, seconds: float) -> str | None:
    """The ISO 8601 time `seconds` after `start_time`, or None when the start is unknown."""
    if start_time is None:
        return None
    return (dt.datetime.fromisoformat(start_time) + dt.timedelta(seconds=seconds)).isoformat(timespec="milliseconds")
