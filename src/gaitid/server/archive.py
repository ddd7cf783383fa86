"""The archive index a server was started with (`gaitid serve --index PATH --archive DIR`): search it, and
play its videos.

The search is gaitid.batch's (`search_index`: the gallery's one decision over every candidate track); this
module only turns a request into a query and the result into the API's JSON. A request never names a file:
it names an indexed video by its id, and the server plays a video only from the path the index recorded
for it, and only when that path, links resolved, is a file inside one of the archive folders the operator
gave. Results name videos by their path inside those folders (never the server's absolute paths).

The page's <video> element cannot send the token in a header, so each playable result carries a link signed
for that one video (HMAC with a secret of this server process, valid for LINK_SECONDS): the video route
accepts the token or such a signature.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from gaitid.batch import (
    IndexFolder,
    Query,
    SearchResult,
    VectorIndex,
    ending_text,
    indexed_track_query,
    load_vectors,
    person_query,
    result_json,
    search_index,
)
from gaitid.batch.store import stale_direction_note
from gaitid.batch.vectors import vector_info, vectors_current
from gaitid.errors import GaitidError, InputError
from gaitid.gallery import Gallery

LINK_SECONDS = 6 * 3600  # how long a result's video link plays

log = logging.getLogger("gaitid.server")


class NoArchive(GaitidError):
    """This server was started without an index (HTTP 404)."""


class ArchiveConflict(GaitidError):
    """The index cannot answer yet (HTTP 409)."""


class VideoNotFound(GaitidError):
    """No playable video of that id (HTTP 404)."""


class Archive:
    """An index folder and the folders its videos may be played from."""

    def __init__(self, index: Path, roots: tuple[Path, ...]) -> None:
        self.folder = IndexFolder(index)
        settings = self.folder.settings()  # not an index: an error when the server starts
        self.model = settings.model
        note = stale_direction_note(index, settings)
        if note is not None:
            log.warning("%s", note)
        self.roots = []
        for root in roots:
            if not Path(root).is_dir():
                raise InputError(f"--archive {root}: not a folder")
            self.roots.append(Path(root).resolve())
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._vectors: VectorIndex | None = None
        self._searching = threading.Lock()  # one search at a time: each takes the CPU for its candidates

    # -- the index ------------------------------------------------------------------------------------------

    def vectors(self) -> VectorIndex:
        """The current generation of the vector index, opened again when `gaitid index` committed another."""
        with self._lock:
            held, committed = self._vectors, vector_info(self.folder)
            if held is None or committed is None or committed.generation != held.info.generation:
                held = load_vectors(self.folder)
            current = held
            if current is None:
                raise ArchiveConflict("the index has no vector index yet: let gaitid index finish a run")
            self._vectors = current
            return current

    def summary(self) -> dict[str, Any]:
        records = self.folder.records()
        info = vector_info(self.folder)  # what is committed, without opening it
        return {
            "model": self.model,
            "videos": sum(1 for r in records.values() if r.status == "done"),
            "failed_videos": sum(1 for r in records.values() if r.status != "done"),
            "tracks": 0 if info is None else info.count,
            "backend": None if info is None else info.backend,
            "up_to_date": info is not None and vectors_current(self.folder, info),
            "playback": bool(self.roots),
        }

    # -- search ---------------------------------------------------------------------------------------------

    def search(
        self,
        gallery: Gallery,
        *,
        person: str | None = None,
        video_id: str | None = None,
        track: int | None = None,
        vectors: list[list[float]] | None = None,
        top: int,
        target_fpir: float,
    ) -> dict[str, Any]:
        index = self.vectors()
        if person is not None:
            query = person_query(gallery, person, self.model)
        elif video_id is not None:
            record = self.folder.records().get(video_id)
            if record is None:
                raise VideoNotFound(f"no indexed video {video_id!r}")
            if record.status != "done":
                raise ArchiveConflict(f"video {video_id} could not be indexed: it has no tracks to search for")
            query = indexed_track_query(self.folder, video_id, track, self.display_name(record.video))
        else:
            if any(len(window) != index.info.dim for window in vectors or [[]]):
                raise InputError(f"vectors: expected windows of {index.info.dim} numbers each (the index's)")
            with np.errstate(over="ignore"):  # a number beyond float32 becomes inf, refused below
                array = np.asarray(vectors, np.float32)
            if array.ndim != 2 or array.shape[1] != index.info.dim:
                raise InputError(
                    f"vectors: expected windows of {index.info.dim} numbers each (the index's), got an array of shape {array.shape}"
                )
            if not np.all(np.isfinite(array)) or np.any(np.linalg.norm(array, axis=1) == 0):
                raise InputError("vectors: every vector must be finite and not all zeros")
            array /= np.linalg.norm(array, axis=1, keepdims=True)
            query = Query(array, self.model, "the vectors sent")
        return self.search_for(gallery, query, top=top, target_fpir=target_fpir, index=index)

    def search_for(
        self, gallery: Gallery, query: Query, *, top: int, target_fpir: float, index: VectorIndex | None = None
    ) -> dict[str, Any]:
        """The appearances of the walker of `query` (of the index's model), as the API's JSON."""
        index = index if index is not None else self.vectors()
        with self._searching:
            result = search_index(
                self.folder, query, top=top, target_fpir=target_fpir, cohort=gallery.cohort_for(self.model), vectors=index
            )
        return self.result_json(result)

    def result_json(self, result: SearchResult) -> dict[str, Any]:
        document = result_json(result)
        document["ending"] = ending_text(result)
        expires = int(time.time()) + LINK_SECONDS
        for appearance, out in zip(result.appearances, document["appearances"]):
            out["video"] = self.display_name(appearance.video)
            out["video_id"] = appearance.video_id
            out["thumbnail_time"] = appearance.thumbnail_time
            playable = self._inside(appearance.video) is not None
            out["video_url"] = self.signed_link(appearance.video_id, expires) if playable else None
        return document

    # -- videos ---------------------------------------------------------------------------------------------

    def _inside(self, path: str) -> tuple[Path, Path] | None:
        """(the file, links resolved; the archive folder holding it), or None when it is in none of them or
        is not a regular file."""
        try:
            real = Path(path).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        for root in self.roots:
            if real.is_relative_to(root) and real.is_file():
                return real, root
        return None

    def display_name(self, path: str) -> str:
        """A video as the API shows it: its path inside the archive folder, else its file name alone."""
        for root in self.roots:
            if Path(path).is_relative_to(root):
                return str(Path(path).relative_to(root))
        found = self._inside(path)
        return str(found[0].relative_to(found[1])) if found is not None else Path(path).name

    def video_file(self, video_id: str) -> Path:
        """The file of an indexed video, for playing (VideoNotFound unless it may be played)."""
        record = self.folder.records().get(video_id)
        found = self._inside(record.video) if record is not None and self.roots else None
        if found is None:
            raise VideoNotFound(f"no playable video {video_id!r} (videos play only from the archive folders the server was given)")
        return found[0]

    def signed_link(self, video_id: str, expires: int) -> str:
        return f"/api/archive/videos/{video_id}?expires={expires}&signature={self._sign(video_id, expires)}"

    def _sign(self, video_id: str, expires: int) -> str:
        message = f"{video_id}\0{expires}".encode("utf-8", "replace")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def signature_valid(self, video_id: str, expires: str | None, signature: str | None) -> bool:
        if not expires or not signature or not expires.isascii() or not expires.isdigit() or len(expires) > 12:
            return False
        if int(expires) < time.time():
            return False
        return hmac.compare_digest(self._sign(video_id, int(expires)).encode(), signature.encode("utf-8", "replace"))
