"""The search index of an archive: every track's vector, searched exactly while that is fast enough, and
through an approximate index (FAISS HNSW) beyond.

Measured on this project's 2-core machine with 1024-d model-like vectors (benchmarks/RESULTS-archive.md):
exact search costs about 0.37 ms per 1,000 tracks (37 ms p50 at 100 k), so it is used up to EXACT_LIMIT
tracks (about 7 ms); beyond, FAISS's HNSW graph answers in about a millisecond with recall@10 of 0.9996
at 100 k and 0.9977 at 1 M against exact search (p50 0.97 ms at 1 M, where exact search takes 225 ms). Its
build is the cost: 26 s at 100 k, 27 minutes at 1 M on the loaded machine. So `update_vectors` (what
`gaitid index` calls at the end of each run) extends the current generation with the tracks of the videos
that are new since it was built: the previous graph is read and only the new vectors are added to it. It
builds from every track only when it must: no generation yet, one written before the per-video list was
kept, a video whose tracks are in the index changed or went away (HNSW cannot remove a vector), or the
index outgrows EXACT_LIMIT (the graph is built once, then extended). usearch was measured beside FAISS: as
fast to search, slower to build, and its int8 vectors lose most of the recall on these closely packed
vectors.

Files, in INDEX/vectors/ (a generation number in each name; info.json, written last, names the current
one, so a search never reads a half-built index, and a crash in the middle of an update leaves the
previous generation whole and current):

    info.json            generation, count, dim, model, backend, the state of videos/ it was built from,
                         and how (rebuilt, or extended by `added` rows)
    means-G.npy          (count, dim) float32 unit track vectors
    keys-G.npy           (count,) video id and track of each row
    videos-G.json        the per-video files it holds: video id -> [file stamp, rows]
    hnsw-G.faiss         the approximate index (beyond EXACT_LIMIT rows)
    .lock                held while a generation is written: one writer at a time

Generations are written only by `update_vectors`; readers (`load_vectors`, the server) never write.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from gaitid.errors import GaitidError
from gaitid.outputs import atomic_path

EXACT_LIMIT = 20_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
COPY_ROWS = 65_536  # rows copied at a time from one generation's vectors to the next


@dataclass(frozen=True)
class VectorIndexInfo:
    generation: int
    count: int
    dim: int
    model: str
    backend: str  # "exact" or "faiss-hnsw"
    source: str  # digest of the state of videos/ it was built from
    build_seconds: float
    rebuilt: bool = True  # built from every track; False: the previous generation extended
    added: int = 0  # rows this generation added to the previous one (all of them when rebuilt)


def _stamps(folder) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """video id -> the size and modification time of its file in videos/ (what says it changed)."""
    out = {}
    if folder.videos_dir.is_dir():
        for path in sorted(folder.videos_dir.glob("*.parquet")):
            try:
                stat = path.stat()
            except FileNotFoundError:  # replaced at this moment: seen at the next update
                continue
            out[path.stem] = f"{stat.st_size}\0{stat.st_mtime_ns}"
    return out


def _digest(stamps: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for vid in sorted(stamps):
        digest.update(f"{vid}.parquet\0{stamps[vid]}\n".encode())
    return digest.hexdigest()


def _source_digest(folder) -> str:  # type: ignore[no-untyped-def]
    """What the vectors were built from: the names, sizes and times of the per-video files."""
    return _digest(_stamps(folder))


def _read_info(folder) -> VectorIndexInfo | None:  # type: ignore[no-untyped-def]
    try:
        return VectorIndexInfo(**json.loads((folder.vectors_dir / "info.json").read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def _read_videos(folder, generation: int) -> dict[str, list] | None:  # type: ignore[no-untyped-def]
    try:
        return json.loads((folder.vectors_dir / f"videos-{generation}.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


@contextmanager
def _writer_lock(out: Path) -> Iterator[None]:
    """One writer of generations at a time (two gaitid index runs ending together wait for each other)."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _rows_of(folder, vids: list[str]) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:  # type: ignore[no-untyped-def]
    """The track vectors (n, d), their keys "video id:track" and the rows per video, of the named videos'
    tracks that have a vector."""
    tables = [folder.tracks(vid, ["video_id", "track", "vector"]) for vid in vids]
    per_video = {vid: 0 for vid in vids}
    if not tables:
        return np.zeros((0, 0), np.float32), np.zeros(0, str), per_video
    table = pa.concat_tables(tables)
    table = table.filter(pa.compute.is_valid(table["vector"]))
    ids = table["video_id"].to_pylist()
    for vid in ids:
        per_video[vid] += 1
    if not table.num_rows:
        return np.zeros((0, 0), np.float32), np.zeros(0, str), per_video
    means = np.stack(table["vector"].to_numpy(zero_copy_only=False)).astype(np.float32)
    keys = np.array([f"{v}:{t}" for v, t in zip(ids, table["track"].to_pylist())], dtype=str)
    return means, keys, per_video


def _extension(folder, previous: VectorIndexInfo | None, stamps: dict[str, str]) -> list[str] | None:  # type: ignore[no-untyped-def]
    """The videos to add to the previous generation, or None when it cannot be extended (see the module doc)."""
    if previous is None:
        return None
    held = _read_videos(folder, previous.generation)
    if held is None or not all(
        (folder.vectors_dir / f"{name}-{previous.generation}.npy").is_file() for name in ("means", "keys")
    ):
        return None
    new = []
    for vid, (stamp, rows) in held.items():
        if rows and stamps.get(vid) != stamp:  # changed or gone: its rows would have to leave the graph
            return None
    for vid, stamp in stamps.items():
        if vid not in held or held[vid][0] != stamp:  # new, or a video without rows indexed again
            new.append(vid)
    return new


def build_vectors(folder, exact_limit: int = EXACT_LIMIT) -> VectorIndexInfo:  # type: ignore[no-untyped-def]
    """Build the search index from every track of the index (those with a vector): a new generation."""
    return update_vectors(folder, exact_limit, rebuild=True)


def update_vectors(folder, exact_limit: int = EXACT_LIMIT, rebuild: bool = False) -> VectorIndexInfo:  # type: ignore[no-untyped-def]
    """Bring the search index up to date with videos/: the current generation when nothing changed, else a
    new one, extended from the current one with the new videos' tracks when it can be (see the module doc),
    built from every track otherwise or when `rebuild`."""
    out = folder.vectors_dir
    with _writer_lock(out):
        started = time.perf_counter()
        stamps = _stamps(folder)
        source = _digest(stamps)
        previous = _read_info(folder)
        if not rebuild and previous is not None and previous.source == source and _readable(folder, previous):
            return previous
        model = folder.settings().model
        new = None if rebuild else _extension(folder, previous, stamps)
        generation = (previous.generation + 1) if previous is not None else 1
        if new is None:
            means, keys, per_video = _rows_of(folder, list(stamps))
            info = _write_generation(folder, generation, means, keys, None, exact_limit)
        else:
            means, keys, per_video = _rows_of(folder, new)
            info = _write_generation(folder, generation, means, keys, previous, exact_limit)
        held = {} if new is None else _read_videos(folder, previous.generation)
        held.update({vid: [stamps[vid], per_video.get(vid, 0)] for vid in (stamps if new is None else new)})
        with atomic_path(out / f"videos-{generation}.json") as tmp:
            tmp.write_text(json.dumps(held) + "\n")
        info = VectorIndexInfo(
            generation, info.count, info.dim, model, info.backend, source, round(time.perf_counter() - started, 3),
            info.rebuilt, info.added,
        )
        with atomic_path(out / "info.json") as tmp:  # the commit: readers see the new generation from here
            tmp.write_text(json.dumps(asdict(info)) + "\n")
        _remove_other_generations(out, generation)
        return info


def _readable(folder, info: VectorIndexInfo) -> bool:  # type: ignore[no-untyped-def]
    names = ["means", "keys"] + (["hnsw"] if info.backend == "faiss-hnsw" else [])
    suffix = {"hnsw": "faiss"}
    return all((folder.vectors_dir / f"{n}-{info.generation}.{suffix.get(n, 'npy')}").is_file() for n in names)


def _write_generation(  # type: ignore[no-untyped-def]
    folder, generation: int, means: np.ndarray, keys: np.ndarray, previous: VectorIndexInfo | None, exact_limit: int
) -> VectorIndexInfo:
    """Write means-, keys- and (beyond exact_limit) hnsw-`generation`: the given rows alone (previous None),
    or appended to the previous generation's. Returns the count, dim, backend, rebuilt and added (the rest
    is filled in by the caller)."""
    out = folder.vectors_dir
    old_count = previous.count if previous is not None else 0
    dim = previous.dim if previous is not None and old_count else (int(means.shape[1]) if len(means) else 0)
    if len(means) and means.shape[1] != dim:
        raise GaitidError(f"tracks of dimension {means.shape[1]} for a vector index of dimension {dim}")
    count = old_count + len(means)
    old_means = np.load(out / f"means-{previous.generation}.npy", mmap_mode="r") if old_count else None
    with atomic_path(out / f"means-{generation}.npy") as tmp:
        merged = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(count, dim) if count else (0, 0))
        for start in range(0, old_count, COPY_ROWS):  # a piece at a time: never the whole archive in memory
            end = min(start + COPY_ROWS, old_count)
            merged[start:end] = old_means[start:end]
        if len(means):
            merged[old_count:] = means
        merged.flush()
        del merged
    old_keys = np.load(out / f"keys-{previous.generation}.npy") if old_count else np.zeros(0, str)
    with atomic_path(out / f"keys-{generation}.npy") as tmp, open(tmp, "wb") as handle:
        np.save(handle, np.concatenate([old_keys, keys]) if len(keys) else old_keys)
    backend, added = "exact", len(means)
    if count > exact_limit:
        import faiss

        if previous is not None and previous.backend == "faiss-hnsw" and old_count:
            index = faiss.read_index(str(out / f"hnsw-{previous.generation}.faiss"))
            _hnsw_add(index, means)
        else:  # the first time past exact_limit: the graph of every row, read back from the new means file
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            every = np.load(out / f"means-{generation}.npy", mmap_mode="r")
            for start in range(0, count, COPY_ROWS):
                _hnsw_add(index, np.ascontiguousarray(every[start : start + COPY_ROWS]))
            added = count
        with atomic_path(out / f"hnsw-{generation}.faiss") as tmp:
            faiss.write_index(index, str(tmp))
        backend = "faiss-hnsw"
    rebuilt = previous is None or added == count
    return VectorIndexInfo(generation, count, dim, "", backend, "", 0.0, rebuilt, added)


def _hnsw_add(index, vectors: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Add rows to the HNSW graph (the one place vectors enter it)."""
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, np.float32))


def _remove_other_generations(out: Path, generation: int) -> None:
    """Files of earlier generations (no reader needs them once info.json names this one), and temporaries
    that a writer killed midway left (none is being written: the caller holds the writer's lock)."""
    for old in out.iterdir():
        if old.name.startswith(".") and old.name != ".lock":
            old.unlink(missing_ok=True)
            continue
        stem = old.name.split(".")[0]
        if "-" in stem and stem.rsplit("-", 1)[1].isdigit() and int(stem.rsplit("-", 1)[1]) != generation:
            old.unlink(missing_ok=True)


class VectorIndex:
    """The track vectors of an index, searchable: `search(vector, k)` -> (rows, cosine similarities), most
    similar first; `key(row)` -> (video id, track)."""

    def __init__(self, folder, info: VectorIndexInfo) -> None:  # type: ignore[no-untyped-def]
        out = folder.vectors_dir
        g = info.generation
        self.info = info
        self.means = np.load(out / f"means-{g}.npy", mmap_mode="r")
        self.keys = np.load(out / f"keys-{g}.npy")
        self._ann = None
        if info.backend == "faiss-hnsw":
            import faiss

            self._ann = faiss.read_index(str(out / f"hnsw-{g}.faiss"))

    @property
    def count(self) -> int:
        return self.info.count

    @property
    def backend(self) -> str:
        return self.info.backend

    def key(self, row: int) -> tuple[str, int]:
        vid, track = str(self.keys[row]).rsplit(":", 1)
        return vid, int(track)

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k rows most similar to `vector` (unit length) and their cosine similarities, best first."""
        k = min(k, self.count)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        vector = np.asarray(vector, np.float32)
        if vector.shape != (self.info.dim,):
            raise GaitidError(f"a query vector of dimension {vector.shape} for an index of dimension {self.info.dim}")
        if self._ann is not None and k <= self.count // 4:
            self._ann.hnsw.efSearch = max(HNSW_EF_SEARCH, k)
            _, found = self._ann.search(vector[None, :], k)
            rows = found[0][found[0] >= 0]
            scores = np.asarray(self.means[np.sort(rows)] @ vector)
            order = np.argsort(-scores, kind="stable")
            return np.sort(rows)[order], scores[order]
        scores = np.asarray(self.means @ vector)
        top = np.argpartition(-scores, k - 1)[:k] if k < self.count else np.arange(self.count)
        order = top[np.argsort(-scores[top], kind="stable")]
        return order, scores[order]


def open_vectors(folder) -> VectorIndex:  # type: ignore[no-untyped-def]
    """The index's vectors, brought up to date first (`update_vectors`) when the per-video files changed
    since they were built."""
    info = _read_info(folder)
    if info is None or info.source != _source_digest(folder) or not _readable(folder, info):
        info = update_vectors(folder)
    return VectorIndex(folder, info)


def load_vectors(folder, attempts: int = 3) -> VectorIndex | None:  # type: ignore[no-untyped-def]
    """The index's current generation as it is, without writing anything (None when there is none yet).
    A generation committed while it is being opened (its predecessor's files removed) is opened instead."""
    for _ in range(attempts):
        info = _read_info(folder)
        if info is None:
            return None
        try:
            return VectorIndex(folder, info)
        except FileNotFoundError:
            continue
    raise GaitidError("the vector index is being replaced again and again; try again in a moment")


def vector_info(folder) -> VectorIndexInfo | None:  # type: ignore[no-untyped-def]
    """What info.json says of the current generation (None before the first), without opening it."""
    return _read_info(folder)


def vectors_current(folder, info: VectorIndexInfo) -> bool:  # type: ignore[no-untyped-def]
    """Whether the generation that `info` describes holds every per-video file of the index folder as it is."""
    return info.source == _source_digest(folder)
