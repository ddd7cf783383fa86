"""A cache of pipeline silhouettes (benchmarks/domain_gap.py --cache) with each silhouette replaced by the
majority of itself and its two neighbours in the walk (GAIT_RESULTS.md, "Temporal smoothing"):

    python3 experiments/smooth_silhouettes.py ../runs/casia_rgb_masks.npz ../runs/casia_rgb_masks_smoothed3.npz
    python3 benchmarks/domain_gap.py --cache ../runs/casia_rgb_masks_smoothed3.npz --weights ../runs/val/long2400.onnx
"""

from __future__ import annotations

import sys

import numpy as np


def majority_of_three(walk: np.ndarray) -> np.ndarray:
    """(T, H, W) of 0/1 -> the same, a pixel foreground when it is in at least 2 of frames t-1, t, t+1; the
    first and last frames as they are."""
    out = walk.copy()
    if len(walk) >= 3:
        out[1:-1] = ((walk[:-2] + walk[1:-1] + walk[2:]) >= 2).astype(walk.dtype)
    return out


def main() -> int:
    source, target = sys.argv[1:3]
    with np.load(source) as cache:
        walks = {k: (majority_of_three(v) if v.ndim == 3 and not k.endswith("/keypoints") else v) for k, v in cache.items()}
    np.savez_compressed(target, **walks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
