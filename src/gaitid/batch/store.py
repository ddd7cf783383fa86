"""The index folder: what `gaitid index` remembers of an archive, and how it is written and read.

    INDEX/
      index.json              the settings every video was indexed with (gait model, windows, pose model)
      videos/<id>.parquet     one file per video (id: a hash of its path): a row per track, or no rows and
                              the error when the video failed; the file's metadata says which
      vectors/                the search index, built from videos/ (gaitid.batch.vectors)

A video's file is written whole under a temporary name and renamed, so it is either there, complete, or not
there at all: a task that dies leaves nothing, and a retried task replaces its own file instead of adding
rows. A track's row holds where and when it was seen, a JPEG thumbnail of the walker, the vector of every
gait window and their mean (the track's vector; None for a track too short to make one window).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gaitid.errors import GaitidError, InputError
from gaitid.outputs import atomic_path

FORMAT = 1
META_KEY = b"gaitid.video"

TRACK_SCHEMA = pa.schema([
    ("video_id", pa.string()),
    ("video", pa.string()),
    ("camera", pa.string()),
    ("start_time", pa.string()),
    ("track", pa.int32()),
    ("first_frame", pa.int32()),
    ("last_frame", pa.int32()),
    ("first_time", pa.float64()),
    ("last_time", pa.float64()),
    ("frames", pa.int32()),
    ("usable_frames", pa.int32()),
    ("windows", pa.int32()),
    ("model", pa.string()),
    ("vector", pa.list_(pa.float32())),
    ("window_vectors", pa.list_(pa.list_(pa.float32()))),
    ("thumbnail", pa.binary()),
    ("thumbnail_frame", pa.int32()),
    ("thumbnail_time", pa.float64()),
    ("thumbnail_box", pa.list_(pa.float32())),
])


def video_id(path: str) -> str:
    """The name of a video's results in the index: a hash of its absolute path."""
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:20]


@dataclass(frozen=True)
class TrackRow:
    """One track of a video, as stored (see TRACK_SCHEMA)."""

    track: int
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    frames: int
    usable_frames: int
    window_vectors: np.ndarray  # (windows, d) float32
    thumbnail: bytes | None = None
    thumbnail_frame: int | None = None
    thumbnail_time: float | None = None
    thumbnail_box: tuple[float, float, float, float] | None = None

    @property
    def vector(self) -> np.ndarray | None:
        """The track's vector: the mean of its windows' vectors, unit length (None without windows)."""
        if not len(self.window_vectors):
            return None
        mean = np.asarray(self.window_vectors, np.float32).mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)


@dataclass(frozen=True)
class VideoRecord:
    """What the index says of one video: status "done" (its tracks are in the file) or "failed" (error says
    why). size and mtime: of the file when it was indexed (a changed file is indexed again)."""

    video_id: str
    video: str
    camera: str
    start_time: str | None
    status: str
    error: str | None = None
    tracks: int = 0
    frames: int = 0
    seconds: float = 0.0
    size: int = 0
    mtime: float = 0.0
    model: str = ""


@dataclass(frozen=True)
class IndexSettings:
    """What every video of an index was processed with; a run with other settings is refused (vectors of
    different models, or of other windows, are never mixed)."""

    model: str
    modality: str
    window: int
    stride: int
    pose_model: str
    detect_interval: int
    format: int = FORMAT
    extra: dict[str, Any] = field(default_factory=dict)
    # Silhouettes of walkers crossing left to right are mirrored before the model (since 2026-12-03,
    # gaitid.gait.normalize.as_training_direction); an index made before holds them as filmed.
    walkers_turned: bool = True

    @property
    def stale_direction(self) -> bool:
        """Whether this index's silhouette vectors were made before walkers were turned to the model's
        direction: those of walkers crossing left to right then differ from new ones."""
        return not self.walkers_turned and self.modality != "skeleton"


STALE_DIRECTION = (
    "was indexed before walkers crossing the image left to right were turned to the gait model's direction, "
    "so its vectors of such walkers do not match new ones"
)


def stale_direction_note(path: str | os.PathLike, settings: IndexSettings) -> str | None:
    """What a search of an index made before walkers were turned must tell its user (None for any other)."""
    if not settings.stale_direction:
        return None
    return (f"{path} {STALE_DIRECTION}: a walker sought may be missed where they walk that way; index the "
            "archive into a new folder to search it fully")


class IndexFolder:
    """An index folder (see the module doc). Creating one writes nothing until `start` or a video's results."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path}: not a folder; give the index folder")

    @property
    def videos_dir(self) -> Path:
        return self.path / "videos"

    @property
    def vectors_dir(self) -> Path:
        return self.path / "vectors"

    def exists(self) -> bool:
        return (self.path / "index.json").is_file()

    def settings(self) -> IndexSettings:
        try:
            data = json.loads((self.path / "index.json").read_text())
            # Written before the field existed: silhouettes as filmed (skeletons never changed).
            data.setdefault("walkers_turned", data.get("modality") == "skeleton")
            return IndexSettings(**data)
        except FileNotFoundError:
            raise InputError(f"{self.path}: not a gaitid index (no index.json); make one with gaitid index") from None
        except (ValueError, TypeError) as error:
            raise InputError(f"{self.path}/index.json: not readable ({error})") from None

    def start(self, settings: IndexSettings) -> None:
        """Record the settings of a new index, or check that they are those of the index already here."""
        if self.exists():
            found = self.settings()
            if found.stale_direction and not settings.stale_direction:
                raise InputError(f"{self.path} {STALE_DIRECTION}: index into a new folder")
            if asdict(found) != asdict(settings):
                differ = [k for k in asdict(settings) if asdict(found)[k] != asdict(settings)[k]]
                raise InputError(
                    f"{self.path} was indexed with other settings ({', '.join(f'{k}={asdict(found)[k]!r}' for k in differ)}); "
                    "index into a new folder, or use the same settings"
                )
            return
        self.videos_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path / "index.json") as tmp:
            tmp.write_text(json.dumps(asdict(settings), indent=1) + "\n")

    def video_path(self, vid: str) -> Path:
        return self.videos_dir / f"{vid}.parquet"

    # -- writing ------------------------------------------------------------------------------------------

    def write_video(self, record: VideoRecord, tracks: list[TrackRow]) -> None:
        """The results of one video, written whole (temporary file, then renamed over any earlier one)."""
        columns: dict[str, list] = {name: [] for name in TRACK_SCHEMA.names}
        for row in tracks:
            vector = row.vector
            values = {
                "video_id": record.video_id, "video": record.video, "camera": record.camera,
                "start_time": record.start_time, "track": row.track, "first_frame": row.first_frame,
                "last_frame": row.last_frame, "first_time": row.first_time, "last_time": row.last_time,
                "frames": row.frames, "usable_frames": row.usable_frames, "windows": len(row.window_vectors),
                "model": record.model, "vector": None if vector is None else vector.tolist(),
                "window_vectors": np.asarray(row.window_vectors, np.float32).tolist(),
                "thumbnail": row.thumbnail, "thumbnail_frame": row.thumbnail_frame,
                "thumbnail_time": row.thumbnail_time,
                "thumbnail_box": None if row.thumbnail_box is None else list(row.thumbnail_box),
            }
            for name in columns:
                columns[name].append(values[name])
        table = pa.table(columns, schema=TRACK_SCHEMA)
        table = table.replace_schema_metadata({META_KEY: json.dumps(asdict(record)).encode()})
        self.videos_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.video_path(record.video_id)) as tmp:
            pq.write_table(table, tmp)

    # -- reading ------------------------------------------------------------------------------------------

    def records(self) -> dict[str, VideoRecord]:
        """video id -> what the index holds of that video (only complete files exist)."""
        out = {}
        if not self.videos_dir.is_dir():
            return out
        for path in sorted(self.videos_dir.glob("*.parquet")):
            try:
                record = self._record(pq.read_schema(path))
            except (OSError, pa.ArrowException, ValueError, TypeError) as error:
                raise GaitidError(f"{path}: a damaged index file ({error}); delete it to index that video again") from None
            out[record.video_id] = record
        return out

    @staticmethod
    def _record(schema: pa.Schema) -> VideoRecord:
        metadata = schema.metadata or {}
        if META_KEY not in metadata:
            raise ValueError("not written by gaitid index")
        return VideoRecord(**json.loads(metadata[META_KEY]))

    def tracks(self, vid: str, columns: list[str] | None = None) -> pa.Table:
        """The track rows of one video (all columns, or those named)."""
        path = self.video_path(vid)
        if not path.is_file():
            raise InputError(f"{self.path}: no results for video {vid}")
        return pq.read_table(path, columns=columns)

    def all_tracks(self, columns: list[str]) -> pa.Table:
        """The named columns of every track of every video indexed."""
        paths = sorted(self.videos_dir.glob("*.parquet")) if self.videos_dir.is_dir() else []
        tables = [pq.read_table(p, columns=columns) for p in paths]
        if not tables:
            return pa.schema([TRACK_SCHEMA.field(c) for c in columns]).empty_table()
        return pa.concat_tables(tables)


def is_current(record: VideoRecord, path: str) -> bool:
    """Whether the index's record of a video still describes the file (same size and modification time)."""
    try:
        stat = os.stat(path)
    except OSError:
        return False
    return stat.st_size == record.size and abs(stat.st_mtime - record.mtime) < 1e-3
