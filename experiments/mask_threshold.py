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
from gaitid.datasets.paths import data_root
from gaitid.gait.encoder import GaitEncoder

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def main() -> int:
    root = data_root() / "casia-b-rgb"
    walks = json.loads((root / "walks.json").read_text())
    raw = gap.usable_masks(root / walks["file"])
    nearest = gap.training_gallery(GaitEncoder(None, threads=1))
    results = {}
    for threshold in THRESHOLDS:
        ious, found, n = [], 0, 0
        tracks = gap.normalised(raw, threshold)
        for walk in walks["walks"]:
            theirs = gap.dataset_walk(walk["subject"], walk["walk"])
            mine, _ = gap.walker_in(tracks, *walk["frames"])
            if len(theirs) < 10 or len(mine) < 10:
                continue
            ious.append(gap.compare(mine, theirs)["iou"])
            found += int(nearest(mine) == int(walk["subject"]))
            n += 1
        results[str(threshold)] = {"walks": n, "found": found, "iou": round(float(np.mean(ious)), 4)}
        print(threshold, results[str(threshold)], file=sys.stderr)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
