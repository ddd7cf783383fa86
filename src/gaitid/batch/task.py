"""One video, indexed: the task that the local pool and Ray both run.

`index_video(video, index_dir, options)` is a pure function of its inputs: it runs the pipeline
(gaitid.pipeline.analyse, without a gallery: vectors only) over the video, picks a thumbnail per track,
writes the video's results into the index folder atomically and returns a small summary. Run twice, it
writes the same file twice; it never adds rows. A video that cannot be read is recorded as failed, with
its error, and the summary says so; the task itself does not raise for it.

The models are loaded once per process (the pose estimator is reset before every video).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import cv2
import numpy as np

from gaitid.batch.store import IndexFolder, TrackRow, VideoRecord, video_id
from gaitid.errors import GaitidError
from gaitid.pipeline import PipelineOptions, analyse, default_estimator, encoder_for, walkers_for
from gaitid.sources.archive import ArchiveVideo
from gaitid.types import Frame, FramePeople

THUMBNAIL_HEIGHT = 128  # pixels: enough to recognise clothes and build in a grid, small in the index
MAX_WINDOWS = 100_000  # an archive keeps every window of a track (the live view keeps its last two minutes)

_MODELS: dict[tuple, tuple] = {}  # per process: (estimator, encoder) per settings


@dataclass(frozen=True)
class VideoSummary:
    """What a task reports back to the driver (small: the data stays in the index folder)."""

    video_id: str
    video: str
    status: str  # "done" or "failed"
    tracks: int = 0
    frames: int = 0
    seconds: float = 0.0
    error: str | None = None
    worker: int = 0  # the process that ran it


class Thumbnails:
    """The best view of each track: its frame where the walker is tallest and wholly in view (a usable frame,
    as the walkers define it), cropped with a margin and kept as JPEG."""

    def __init__(self, walkers) -> None:  # type: ignore[no-untyped-def]
        self.walkers = walkers
        self.best: dict[int, tuple[float, int, float, tuple, np.ndarray]] = {}

    def __call__(self, frame: Frame, people: FramePeople) -> None:
        height, width = frame.height, frame.width
        for person in people.people:
            if person.track_id is None:
                continue
            x1, y1, x2, y2 = (float(v) for v in person.box)
            usable = self.walkers.is_usable(person, height, width)
            rank = (y2 - y1) + (1e6 if usable else 0.0)  # a whole walker beats any cut one
            kept = self.best.get(person.track_id)
            if kept is not None and kept[0] >= rank:
                continue
            margin = 0.1 * (y2 - y1)
            left, top = max(0, int(x1 - margin)), max(0, int(y1 - margin))
            right, bottom = min(width, int(np.ceil(x2 + margin))), min(height, int(np.ceil(y2 + margin)))
            if right <= left or bottom <= top:
                continue
            crop = frame.image[top:bottom, left:right].copy()
            self.best[person.track_id] = (rank, frame.index, frame.time, (x1, y1, x2, y2), crop)

    def jpeg(self, track: int) -> tuple[bytes | None, int | None, float | None, tuple | None]:
        kept = self.best.get(track)
        if kept is None:
            return None, None, None, None
        _, index, when, box, crop = kept
        scale = THUMBNAIL_HEIGHT / crop.shape[0]
        size = (max(1, round(crop.shape[1] * scale)), THUMBNAIL_HEIGHT)
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
        return (bytes(data) if ok else None), index, when, box


def _models(options: PipelineOptions):  # type: ignore[no-untyped-def]
    key = (options.pose_model, options.detect_interval, options.threads, options.weights, options.modality)
    if key not in _MODELS:
        estimator = default_estimator(options.pose_model, options.detect_interval, options.threads)
        _MODELS[key] = (estimator, encoder_for(options))
    return _MODELS[key]


def index_video(video: ArchiveVideo, index_dir: str, options: PipelineOptions) -> VideoSummary:
    """Index one video into `index_dir` (see the module doc); returns its summary."""
    vid = video_id(video.path)
    folder = IndexFolder(index_dir)
    started = time.perf_counter()
    try:
        stat = os.stat(video.path)
        estimator, encoder = _models(options)
        walkers = walkers_for(options, encoder, None, max_windows=MAX_WINDOWS)
        thumbnails = Thumbnails(walkers)
        run = analyse(video.path, walkers, options, estimator=estimator, on_frame=thumbnails)
        if run.run.interrupted:
            raise KeyboardInterrupt
        if run.run.error is not None:
            raise run.run.error
    except GaitidError as error:
        return _failed(folder, video, vid, str(error), started)
    except OSError as error:
        return _failed(folder, video, vid, f"{video.path}: {error.strerror or error}", started)
    except Exception as error:  # noqa: BLE001 - a decoder or model failure of this one video: recorded, the rest go on
        return _failed(folder, video, vid, f"{type(error).__name__}: {error}", started)
    rows = []
    for state in sorted(walkers.states.values(), key=lambda s: s.track_id):
        jpeg, frame_index, when, box = thumbnails.jpeg(state.track_id)
        # (0, d) for a track too short for a window
        vectors = np.asarray(state.vectors, np.float32).reshape(len(state.vectors), encoder.dim)
        rows.append(TrackRow(
            track=state.track_id, first_frame=state.first_frame, last_frame=state.last_frame,
            first_time=state.first_time, last_time=state.last_time, frames=state.frames,
            usable_frames=state.usable, window_vectors=vectors, thumbnail=jpeg, thumbnail_frame=frame_index,
            thumbnail_time=when, thumbnail_box=box,
        ))
    seconds = time.perf_counter() - started
    record = VideoRecord(
        vid, video.path, video.camera, video.start_time, "done", None, len(rows), run.run.frames,
        round(seconds, 3), stat.st_size, stat.st_mtime, encoder.model,
    )
    folder.write_video(record, rows)
    return VideoSummary(vid, video.path, "done", len(rows), run.run.frames, seconds, None, os.getpid())


def _failed(folder: IndexFolder, video: ArchiveVideo, vid: str, error: str, started: float) -> VideoSummary:
    try:
        stat = os.stat(video.path)
        size, mtime = stat.st_size, stat.st_mtime
    except OSError:
        size, mtime = 0, 0.0
    seconds = time.perf_counter() - started
    error = " ".join(error.split())  # one line
    record = VideoRecord(vid, video.path, video.camera, video.start_time, "failed", error, 0, 0, round(seconds, 3), size, mtime)
    folder.write_video(record, [])
    return VideoSummary(vid, video.path, "failed", 0, 0, seconds, error, os.getpid())
