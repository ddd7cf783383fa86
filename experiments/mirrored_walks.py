"""Does the silhouette model find a walker walking the other way? (issue 15)

    PYTHONPATH=src python experiments/mirrored_walks.py --cache ../runs/casia_rgb_masks.npz [--weights M.onnx]

Each casia-b-rgb walk (CASIA-B walkers crossing the image from right to left at 090) is matched, as
`benchmarks/domain_gap.py` matches it, against the 74 training subjects' dataset walks nm-01..04 at 090:
from the pipeline's cached silhouettes and from the dataset's, each as filmed and mirrored left-right (the
same walker walking back; `mirror_silhouettes`, as normalising the mirrored masks would give them). The silhouettes are given to the model bare, without keypoints, so no
direction is corrected: this measures the model itself. Prints walks found (rank 1) and the right
subject's mean rank per set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import domain_gap  # noqa: E402  (a benchmark script, not a package)

from gaitid.gait.encoder import GaitEncoder  # noqa: E402
from gaitid.gait.normalize import mirror_silhouettes  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True, help="domain_gap.py's cache of the pipeline's silhouettes")
    parser.add_argument("--weights", help="the gait model (default: shipped)")
    args = parser.parse_args()
    rank = domain_gap.training_gallery(GaitEncoder(args.weights))
    ranks: dict[str, list[int]] = {"pipeline": [], "pipeline mirrored": [], "dataset": [], "dataset mirrored": []}
    with np.load(args.cache) as cache:
        walks = [k for k in cache.files if "/" not in k]
        for key in walks:
            subject, condition = key.split("-", 1)
            ours, theirs = cache[key], domain_gap.dataset_walk(subject, condition)
            if len(ours) < 10 or len(theirs) < 10:
                print(f"{key}: skipped ({len(theirs)} dataset, {len(ours)} pipeline frames)")
                continue
            row = [rank(s, int(subject)) for s in (ours, mirror_silhouettes(ours), theirs, mirror_silhouettes(theirs))]
            for name, r in zip(ranks, row):
                ranks[name].append(r)
            print(f"{key}: ranks {row}", flush=True)
    for name, values in ranks.items():
        v = np.array(values)
        print(f"{name}: found {(v == 1).sum()} of {len(v)}, mean rank {v.mean():.2f}")


if __name__ == "__main__":
    main()
