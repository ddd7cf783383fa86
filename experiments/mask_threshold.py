"""Does another threshold on HumanPoseNN's mask probabilities bring the pipeline's silhouettes closer to
CASIA-B's? The paired walks of casia-b-rgb (training subjects 001-009: allowed for tuning), thresholds
0.3-0.7 before the normalisation, scored as benchmarks/domain_gap.py scores them (IoU after alignment,
walks found among the 74 training subjects).

    PYTHONPATH=src:benchmarks python3 experiments/mask_threshold.py > experiments/results/mask_threshold.json
"""

from __future__ import annotations

import json
import sys

import numpy as np

import domain_gap as gap
from gaitid.datasets.casia_b import load_casia_b
from gaitid.datasets.paths import data_root
from gaitid.gait.encoder import GaitEncoder
from gaitid.gait.normalize import normalize_silhouette
from gaitid.pipeline.run import run_source
from gaitid.pipeline.stream import default_estimator
from gaitid.pipeline.walkers import EDGE_MARGIN, WindowSpec

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def raw_masks(video) -> dict[int, list[tuple[int, np.ndarray]]]:  # type: ignore[no-untyped-def]
    tracks: dict[int, list[tuple[int, np.ndarray]]] = {}

    def on_frame(frame, people) -> None:  # type: ignore[no-untyped-def]
        height, width = people.frame_size
        for p in people.people:
            if p.mask is None or p.track_id is None:
                continue
            x1, y1, x2, y2 = (float(v) for v in p.box)
            if y2 - y1 < WindowSpec().min_height or min(x1, y1) <= EDGE_MARGIN:
                continue
            if x2 >= width - EDGE_MARGIN or y2 >= height - EDGE_MARGIN:
                continue
            tracks.setdefault(int(p.track_id), []).append((people.frame_index, p.mask.copy()))

    run_source(str(video), lambda: default_estimator("full", 4, None), on_frame, progress=False)
    return tracks


def main() -> int:
    root = data_root() / "casia-b-rgb"
    walks = json.loads((root / "walks.json").read_text())
    tracks = raw_masks(root / walks["file"])
    encoder = GaitEncoder(None, threads=1)
    gallery = load_casia_b(range(1, 75), "train", conditions=["nm-01", "nm-02", "nm-03", "nm-04"], views=["090"])
    vectors = np.stack([encoder.embed(gallery.frames(i, np.arange(gallery.num_frames(i)))).vector
                        for i in range(len(gallery))])
    subjects = np.array([int(gallery.subjects[label]) for label in gallery.labels])
    results = {}
    for threshold in THRESHOLDS:
        ious, found, n = [], 0, 0
        for walk in walks["walks"]:
            theirs = gap.dataset_walk(walk["subject"], walk["walk"])
            first, end = walk["frames"]
            best: list[np.ndarray] = []
            for frames in tracks.values():
                inside = [normalize_silhouette((m >= threshold).astype(np.float32)) for i, m in frames if first <= i < end]
                inside = [s for s in inside if s is not None]
                if len(inside) > len(best):
                    best = inside
            if len(theirs) < 10 or len(best) < 10:
                continue
            mine = np.stack(best)
            ious.append(gap.compare(mine, theirs)["iou"])
            nearest = subjects[np.argmin(np.linalg.norm(vectors - encoder.embed(mine).vector, axis=1))]
            found += int(nearest == int(walk["subject"]))
            n += 1
        results[str(threshold)] = {"walks": n, "found": found, "iou": round(float(np.mean(ious)), 4)}
        print(threshold, results[str(threshold)], file=sys.stderr)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
