"""The search index of an archive: every track's vector, searched exactly while that is fast enough, and
through an approximate index (FAISS HNSW) beyond.

Measured on this project's 2-core machine with 1024-d model-like vectors (benchmarks/RESULTS-archive.md):
exact search costs about 0.37 ms per 1,000 tracks (37 ms p50 at 100 k), so it is used up to EXACT_LIMIT
tracks (about 7 ms); beyond, FAISS's HNSW graph answers in about a millisecond with recall@10 of 0.9996
at 100 k and 0.9977 at 1 M against exact search (p50 0.97 ms at 1 M, where exact search takes 225 ms). Its
build is the cost: 26 s at 100 k, 27 minutes at 1 M on the loaded machine, and it is rebuilt from every track
at the end of each `gaitid index` run. usearch was measured beside it: as fast to search, slower to build, and
its int8 vectors lose most of the recall on these closely packed vectors.

Files, in INDEX/vectors/ (a generation number in each name; info.json, written last, names the current
one, so a search never reads a half-built index):

    info.json            generation, count, dim, model, backend, and the state of videos/ it was built from
    means-G.npy          (count, dim) float32 unit track vectors
    keys-G.npy           (count,) video id and track of each row
    hnsw-G.faiss         the approximate index (beyond EXACT_LIMIT rows)
"""

from __future__ import annotations

import hashlib
import json
import time
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


@dataclass(frozen=True)
class VectorIndexInfo:
    generation: int
    count: int
    dim: int
    model: str
    backend: str  # "exact" or "faiss-hnsw"
    source: str  # digest of the state of videos/ it was built from
    build_seconds: float


def _source_digest(folder) -> str:  # type: ignore[no-untyped-def]
    """What the vectors were built from: the names, sizes and times of the per-video files."""
    digest = hashlib.sha256()
    if folder.videos_dir.is_dir():
        for path in sorted(folder.videos_dir.glob("*.parquet")):
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _read_info(folder) -> VectorIndexInfo | None:  # type: ignore[no-untyped-def]
    try:
        return VectorIndexInfo(**json.loads((folder.vectors_dir / "info.json").read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def build_vectors(folder, exact_limit: int = EXACT_LIMIT) -> VectorIndexInfo:  # type: ignore[no-untyped-def]
    """Build the search index from the index's tracks (those with a vector), replacing the current one."""
    started = time.perf_counter()
    source = _source_digest(folder)
    table = folder.all_tracks(["video_id", "track", "vector"])
    table = table.filter(pa.compute.is_valid(table["vector"]))
    count = table.num_rows
    model = folder.settings().model
    if count:
        means = np.stack(table["vector"].to_numpy(zero_copy_only=False)).astype(np.float32)
    else:
        means = np.zeros((0, 0), np.float32)
    keys = np.array(
        [f"{v}:{t}" for v, t in zip(table["video_id"].to_pylist(), table["track"].to_pylist())], dtype=str
    )
    previous = _read_info(folder)
    generation = (previous.generation + 1) if previous is not None else 1
    out = folder.vectors_dir
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / f"means-{generation}.npy") as tmp, open(tmp, "wb") as handle:
        np.save(handle, means)
    with atomic_path(out / f"keys-{generation}.npy") as tmp, open(tmp, "wb") as handle:
        np.save(handle, keys)
    backend = "exact"
    if count > exact_limit:
        import faiss

        index = faiss.IndexHNSWFlat(means.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.add(means)
        with atomic_path(out / f"hnsw-{generation}.faiss") as tmp:
            faiss.write_index(index, str(tmp))
        backend = "faiss-hnsw"
    info = VectorIndexInfo(generation, count, int(means.shape[1]) if count else 0, model, backend, source,
                           round(time.perf_counter() - started, 3))
    with atomic_path(out / "info.json") as tmp:
        tmp.write_text(json.dumps(asdict(info)) + "\n")
    for old in out.iterdir():  # earlier generations: no reader needs them once info.json names this one
        stem = old.name.split(".")[0]
        if "-" in stem and stem.rsplit("-", 1)[1].isdigit() and int(stem.rsplit("-", 1)[1]) != generation:
            old.unlink(missing_ok=True)
    return info


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
    """The index's vectors, rebuilt first when the per-video files changed since they were built."""
    info = _read_info(folder)
    if info is None or info.source != _source_digest(folder):
        info = build_vectors(folder)
    return VectorIndex(folder, info)
