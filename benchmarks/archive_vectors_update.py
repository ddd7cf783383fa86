"""The vector index after a rerun that adds videos: extended (gaitid.batch.vectors.update_vectors) against
built again from every track (build_vectors, what every `gaitid index` run did before).

An index folder of `--n` model-like track vectors (those of archive_vectors.py: real cohort windows mixed
and noised), `--per-video` tracks per video file, is written straight to Parquet (no video is processed),
and its vector index built. Then `--add` more tracks arrive in new video files, and the vector index is
brought up to date twice over the same folder: extended (the new tracks added to the previous generation's
graph), then rebuilt from every track. Reports the time of each, how many rows entered the graph, and, for
both results, search p50/p99 and recall@10 against exact search over all the vectors, on queries near the
new tracks and near the old ones.

    python3 benchmarks/archive_vectors_update.py --n 100000 --add 1000 --json benchmarks/results/archive_vectors_update_100k.json
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from archive_vectors import model_like  # noqa: E402

from gaitid.batch import IndexFolder, IndexSettings, VideoRecord, build_vectors, load_vectors, update_vectors  # noqa: E402
from gaitid.batch.store import META_KEY, TRACK_SCHEMA  # noqa: E402
from gaitid.gait.encoder import GaitEncoder  # noqa: E402

MODEL = GaitEncoder().model


def write_videos(folder: IndexFolder, vectors: np.ndarray, per_video: int, first_video: int) -> None:
    """Video files of `per_video` tracks each, one window per track (its vector), written as gaitid index
    writes them (the same schema and metadata), but from arrays: fast enough for 100 k tracks."""
    d = vectors.shape[1]
    for n, start in enumerate(range(0, len(vectors), per_video)):
        chunk = vectors[start : start + per_video]
        m = len(chunk)
        vid = f"{first_video + n:020d}"
        video = f"/archive/cam{n % 4}/video{first_video + n}.mp4"
        flat = pa.array(chunk.reshape(-1), pa.float32())
        vector = pa.ListArray.from_arrays(pa.array(np.arange(m + 1, dtype=np.int32) * d), flat)
        windows = pa.ListArray.from_arrays(pa.array(np.arange(m + 1, dtype=np.int32)), vector)
        column = {
            "video_id": pa.array([vid] * m), "video": pa.array([video] * m), "camera": pa.array([f"cam{n % 4}"] * m),
            "start_time": pa.nulls(m, pa.string()), "track": pa.array(np.arange(1, m + 1, dtype=np.int32)),
            "first_frame": pa.array(np.zeros(m, np.int32)), "last_frame": pa.array(np.full(m, 99, np.int32)),
            "first_time": pa.array(np.zeros(m)), "last_time": pa.array(np.full(m, 3.3)),
            "frames": pa.array(np.full(m, 100, np.int32)), "usable_frames": pa.array(np.full(m, 100, np.int32)),
            "windows": pa.array(np.ones(m, np.int32)), "model": pa.array([MODEL] * m), "vector": vector,
            "window_vectors": windows, "thumbnail": pa.nulls(m, pa.binary()),
            "thumbnail_frame": pa.nulls(m, pa.int32()), "thumbnail_time": pa.nulls(m, pa.float64()),
            "thumbnail_box": pa.nulls(m, pa.list_(pa.float32())),
        }
        table = pa.table([column[f.name] for f in TRACK_SCHEMA], schema=TRACK_SCHEMA)
        record = VideoRecord(vid, video, f"cam{n % 4}", None, "done", None, m, 100, 1.0, 1, 1.0, MODEL)
        table = table.replace_schema_metadata({META_KEY: json.dumps(asdict(record)).encode()})
        pq.write_table(table, folder.video_path(vid))


def quality(folder: IndexFolder, every: np.ndarray, keys: list[str], queries: np.ndarray) -> dict:
    """Search latency and recall@10 of the folder's current vector index against exact search over `every`
    (whose rows have the index keys `keys`)."""
    import faiss

    index = load_vectors(folder)
    position = {str(k): i for i, k in enumerate(index.keys)}
    order = np.array([position[k] for k in keys])  # rows of `every` -> rows of the index
    exact = faiss.IndexFlatIP(every.shape[1])
    exact.add(every)
    truth = exact.search(queries, 10)[1]
    index.search(queries[0], 10)
    times, hits = [], 0
    for q, true in zip(queries, truth):
        t = time.perf_counter()
        rows, _ = index.search(q, 10)
        times.append(time.perf_counter() - t)
        hits += len(set(rows.tolist()) & set(order[true].tolist()))
    return {
        "p50_ms": round(1000 * float(np.percentile(times, 50)), 2),
        "p99_ms": round(1000 * float(np.percentile(times, 99)), 2),
        "recall_at_10": round(hits / (10 * len(queries)), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="tracks already indexed")
    parser.add_argument("--add", type=int, default=1_000, help="tracks of the new videos")
    parser.add_argument("--per-video", type=int, default=100)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    old, new = model_like(args.n, rng), model_like(args.add, rng)
    every = np.concatenate([old, new])
    keys = [
        f"{video:020d}:{track}"
        for first, part in ((0, old), (len(old) // args.per_video + 1, new))
        for video, track in ((first + i // args.per_video, i % args.per_video + 1) for i in range(len(part)))
    ]
    near_new = model_like(args.queries, np.random.default_rng(1))
    noise = np.random.default_rng(2)
    picked = new[noise.choice(len(new), args.queries)] + noise.normal(0, 0.2 / 32, (args.queries, new.shape[1]))
    picked = (picked / np.linalg.norm(picked, axis=1, keepdims=True)).astype(np.float32)
    rows: dict = {"command": " ".join(sys.argv), "n": args.n, "add": args.add, "per_video": args.per_video}
    with tempfile.TemporaryDirectory(prefix="gaitid-bench-") as tmp:
        folder = IndexFolder(Path(tmp) / "idx")
        folder.start(IndexSettings(MODEL, "silhouette", 30, 15, "full", 4))
        write_videos(folder, old, args.per_video, 0)
        t = time.perf_counter()
        first = update_vectors(folder)
        rows["first_build_s"] = round(time.perf_counter() - t, 1)
        print(f"first build of {first.count}: {rows['first_build_s']} s ({first.backend})", file=sys.stderr, flush=True)
        write_videos(folder, new, args.per_video, len(old) // args.per_video + 1)
        t = time.perf_counter()
        extended = update_vectors(folder)
        rows["extend_s"] = round(time.perf_counter() - t, 1)
        assert not extended.rebuilt and extended.count == args.n + args.add
        rows["extended"] = {"added": extended.added, **quality(folder, every, keys, picked), "random_queries": quality(folder, every, keys, near_new)}
        print(f"extended by {extended.added}: {rows['extend_s']} s {rows['extended']}", file=sys.stderr, flush=True)
        t = time.perf_counter()
        rebuilt = build_vectors(folder)
        rows["rebuild_s"] = round(time.perf_counter() - t, 1)
        rows["rebuilt"] = {"added": rebuilt.added, **quality(folder, every, keys, picked), "random_queries": quality(folder, every, keys, near_new)}
        print(f"rebuilt from {rebuilt.added}: {rows['rebuild_s']} s {rows['rebuilt']}", file=sys.stderr, flush=True)
    rows["max_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    print(json.dumps(rows))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
