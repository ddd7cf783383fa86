"""Does the silhouette model find a walker walking the other way? (issue 15)

    PYTHONPATH=src python experiments/mirrored_walks.py --cache ../runs/casia_rgb_masks.npz [--weights M.onnx]
    PYTHONPATH=src python experiments/mirrored_walks.py --treadmill --cache ../runs/casia_rgb_kp.npz

Each casia-b-rgb walk (CASIA-B walkers crossing the image from right to left at 090) is matched, as
`benchmarks/domain_gap.py` matches it, against the 74 training subjects' dataset walks nm-01..04 at 090:
from the pipeline's cached silhouettes and from the dataset's, each as filmed and mirrored left-right (the
same walker walking back; `mirror_silhouettes`, as normalising the mirrored masks would give them). The silhouettes are given to the model bare, without keypoints, so no
direction is corrected: this measures the model itself. Prints walks found (rank 1) and the right
subject's mean rank per set.

`--treadmill` (a cache with keypoints, `domain_gap.py`'s since the turn) asks instead what the encoder's
turn does for walkers who do not cross the image: the pipeline's silhouettes with their keypoints' sideways
drift taken out (as on a treadmill), as filmed and mirrored, embedded window by window as the pipeline
embeds them (30 / 15 frames, each window turned or not on its own keypoints).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import domain_gap  # noqa: E402  (a benchmark script, not a package)

from gaitid.gait.encoder import GaitEncoder  # noqa: E402
from gaitid.gait.normalize import TORSO, mirror_silhouettes  # noqa: E402
from gaitid.pipeline.walkers import WindowSpec  # noqa: E402


def on_treadmill(keypoints: np.ndarray) -> np.ndarray:
    """The keypoints with the walker's sideways drift taken out: every x minus the torso centre's
    least-squares line over the frames (the body keeps its shape and its stride)."""
    k = keypoints.copy()
    centre = k[:, TORSO, 0].mean(axis=1)
    t = np.arange(len(k), dtype=np.float64)
    slope, _ = np.polyfit(t, centre, 1)
    k[:, :, 0] -= (slope * (t - t.mean()))[:, None]
    return k


def treadmill(cache: Path, weights: str | None) -> None:
    rank = domain_gap.training_gallery(GaitEncoder(weights))
    window = WindowSpec(30, 15, rate=None)  # the windows of the recorded figures: 30 / 15 of every frame
    ranks: dict[str, list[int]] = {"as filmed": [], "treadmill": [], "mirrored": [], "treadmill mirrored": []}
    with np.load(cache) as z:
        for key in [k for k in z.files if "/" not in k and k != "max_fps"]:
            frames, keypoints = z[key], z[f"{key}/keypoints"]
            theirs = len(domain_gap.dataset_walk(*key.split("-", 1)))
            if len(frames) < 10 or theirs < 10:  # as domain_gap.py and the default mode count walks
                print(f"{key}: skipped ({theirs} dataset, {len(frames)} pipeline frames)")
                continue
            flipped = keypoints.copy()
            flipped[:, :, 0] *= -1  # the mirror image's x, up to a shift that no direction measure sees
            subject = int(key.split("-", 1)[0])
            record(ranks, key, [rank(s, subject, window, k) for s, k in (
                (frames, keypoints), (frames, on_treadmill(keypoints)),
                (mirror_silhouettes(frames), flipped), (mirror_silhouettes(frames), on_treadmill(flipped)))])
    summarise(ranks, "found by windows")


def record(ranks: dict[str, list[int]], key: str, row: list[int]) -> None:
    for name, r in zip(ranks, row):
        ranks[name].append(r)
    print(f"{key}: ranks {row}", flush=True)


def summarise(ranks: dict[str, list[int]], found: str) -> None:
    for name, values in ranks.items():
        v = np.array(values)
        print(f"{name}: {found} {(v == 1).sum()} of {len(v)}, mean rank {v.mean():.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True, help="domain_gap.py's cache of the pipeline's silhouettes")
    parser.add_argument("--weights", help="the gait model (default: shipped)")
    parser.add_argument("--treadmill", action="store_true", help="walks without sideways drift, turned by the encoder")
    args = parser.parse_args()
    if args.treadmill:
        treadmill(Path(args.cache), args.weights)
        return
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
            record(ranks, key, [rank(s, int(subject)) for s in (ours, mirror_silhouettes(ours), theirs,
                                                               mirror_silhouettes(theirs))])
    summarise(ranks, "found")


if __name__ == "__main__":
    main()
