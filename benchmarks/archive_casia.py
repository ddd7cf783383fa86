"""Search on casia-b-rgb: subject 001 enrolled from nm-01 (gaitid enroll), searched (gaitid search --person)
in an index of the other clips: 001's other walks (nm-02..06, bg-01/02 with a bag, cl-01/02 in a coat),
subjects 002/003/004/006 nm-01, and the joined file of nm-05/06 of subjects 001-009 (its tracks are told
apart by walks.json). Also times indexing with 1 and 2 local workers and checks that both give the same rows.

    python3 benchmarks/archive_casia.py --json benchmarks/results/archive_casia.json

Subjects 001-009 are in the model's training range (001-074): the scores are optimistic.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gaitid.batch import IndexFolder, search_index
from gaitid.batch.search import person_query
from gaitid.cli import main as gaitid
from gaitid.gallery import Gallery

DATA = Path(os.environ.get("GAITID_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def truth(video: str, first: int, last: int, walks: list[dict]) -> str:
    """Who walks in a track: the file's subject, or, in the joined file, the walk its frames fall in."""
    name = Path(video).name
    if not name.startswith("nm-05-06"):
        return name[:3] + "-" + name[4:9]
    middle = (first + last) / 2
    for w in walks:
        if w["frames"][0] <= middle < w["frames"][1]:
            return f"{w['subject']}-{w['walk']}*"
    return "?"


def rows_of(index: Path) -> list[dict]:
    table = IndexFolder(index).all_tracks(["video", "track", "first_frame", "last_frame", "windows", "vector"]).to_pylist()
    return sorted(table, key=lambda r: (Path(r["video"]).name, r["track"]))


def same_rows(a: list[dict], b: list[dict]) -> bool:
    """The same tracks (video, track, frames, windows) with the same vectors (to 1e-4: thread counts differ)."""
    keys = ("track", "first_frame", "last_frame", "windows")
    if [(Path(r["video"]).name, *(r[k] for k in keys)) for r in a] != [(Path(r["video"]).name, *(r[k] for k in keys)) for r in b]:
        return False
    return all((x["vector"] is None) == (y["vector"] is None) and (x["vector"] is None or np.allclose(x["vector"], y["vector"], atol=1e-4))
               for x, y in zip(a, b))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--workers", default="1,2,ray", help="worker counts to time, and ray (each indexes the archive afresh)")
    args = parser.parse_args()
    source = DATA / "casia-b-rgb"
    if not (source / "001-nm-01-090.avi").is_file():
        sys.exit(f"casia-b-rgb not found in {source}")
    walks = json.loads((source / "walks.json").read_text())["walks"]
    work = Path(tempfile.mkdtemp(prefix="gaitid-casia-"))
    archive = work / "archive" / "casia"
    archive.mkdir(parents=True)
    for clip in sorted(source.glob("*.avi")):
        if clip.name not in ("001-nm-01-090.avi", "001-bkgrd-090.avi"):
            shutil.copy(clip, archive / clip.name)
    timings, indexes = {}, {}
    for workers in args.workers.split(","):
        index = work / f"index-{workers}"
        how = ["--workers", workers]
        if workers == "ray":  # a local Ray cluster of 2 CPUs on this machine, started before the clock
            import ray

            ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
            how = ["--ray", "auto"]
        start = time.perf_counter()
        assert gaitid(["index", str(archive), "--index", str(index), *how, "--no-progress"]) == 0
        seconds = time.perf_counter() - start
        if workers == "ray":
            ray.shutdown()
        records = IndexFolder(index).records().values()
        frames_total = sum(r.frames for r in records)
        timings[workers] = {
            "seconds": round(seconds, 1), "videos": len(records), "frames": frames_total,
            "videos_per_minute": round(60 * len(records) / seconds, 2), "frames_per_second": round(frames_total / seconds, 1),
        }
        indexes[workers] = index
        print(json.dumps({"workers": workers, **timings[workers]}), flush=True)
    counts = list(indexes)
    same = all(same_rows(rows_of(indexes[counts[0]]), rows_of(indexes[w])) for w in counts[1:]) if len(counts) > 1 else None
    gallery_path = work / "gallery.db"
    assert gaitid(["enroll", "001", str(source / "001-nm-01-090.avi"), "--gallery", str(gallery_path), "--no-progress"]) == 0
    folder = IndexFolder(indexes[counts[-1]])
    table = {(r["video_id"], r["track"]): r for r in folder.all_tracks(["video_id", "video", "track", "first_frame", "last_frame", "windows"]).to_pylist()}
    results = {}
    with Gallery.open(gallery_path, create=False) as gallery:
        model = folder.settings().model
        query = person_query(gallery, "001", model)
        cohort = gallery.cohort_for(model)
        for fpir in (1.0, 0.01):  # 1.0: every track with a vector ranked, with its score
            result = search_index(folder, query, top=1000, target_fpir=fpir, cohort=cohort)
            ranked = []
            for a in result.appearances:
                row = table[(a.video_id, a.track)]
                ranked.append({
                    "rank": a.rank, "who": truth(a.video, row["first_frame"], row["last_frame"], walks),
                    "video": Path(a.video).name, "track": a.track, "score": round(a.score, 4),
                    "similarity": round(a.similarity, 4), "windows": a.windows,
                })
            results[str(fpir)] = {"appearances": ranked, "tracks": result.tracks, "checked": result.checked, "complete": result.complete}
    everyone = results["1.0"]["appearances"]
    mine = [r for r in everyone if r["who"].startswith("001")]
    others = [r for r in everyone if not r["who"].startswith("001")]
    summary = {
        "tracks_with_vectors": len(everyone),
        "subject_001_tracks": len(mine),
        "subject_001_ranks": [r["rank"] for r in mine],
        "best_other_rank": min((r["rank"] for r in others), default=None),
        "all_001_above_everyone_else": bool(mine) and max(r["rank"] for r in mine) < min((r["rank"] for r in others), default=10**9),
        "appearances_at_fpir_0.01": len(results["0.01"]["appearances"]),
        "of_them_001": sum(r["who"].startswith("001") for r in results["0.01"]["appearances"]),
        "same_rows_in_every_run": same,
    }
    print(json.dumps(summary, indent=1))
    for r in everyone:
        print(f"{r['rank']:>3} {r['score']:.4f} {r['similarity']:.4f} {r['who']:<14} {r['video']:<36} track {r['track']}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(
            {"command": " ".join(sys.argv), "timings": timings, "summary": summary, "results": results}, indent=1) + "\n")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
