"""Training cost per frame of the two skeleton inputs: keypoints vs heatmaps (features, then forward +
backward of the registered model), one CPU thread. Real Kinect clips through random virtual cameras.

    PYTHONPATH=src python experiments/skeleton_input_cost.py [--clips 32] [--frames 24]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from gaitid.training.registry import create_model, list_models
from gaitid.datasets.kinect import AugmentConfig, load_kinect, walker_frame
from gaitid.training.batches import make_view_clips


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    walkers = [walker_frame(w.joints) for w in load_kinect(range(1, 9), "train")]
    for name in list_models("skeleton"):
        model = create_model(name)
        spec = model.cfg.spec
        prep, net = [], []
        for r in range(args.repeats):
            rng = np.random.default_rng(r)
            t0 = time.perf_counter()
            x = np.stack(
                [
                    make_view_clips(walkers[i % len(walkers)], spec, args.frames, rng, AugmentConfig())[0][0]
                    for i in range(args.clips)
                ]
            )
            t1 = time.perf_counter()
            out = model(torch.from_numpy(x))
            (out["logits"].sum() + out["embedding"].sum()).backward()
            prep.append(t1 - t0)
            net.append(time.perf_counter() - t1)
        frames = args.clips * args.frames
        params = sum(p.numel() for p in model.parameters())
        print(
            json.dumps(
                {
                    "model": name,
                    "features": spec.features,
                    "params": params,
                    "us_per_frame_features": round(1e6 * float(np.median(prep)) / frames, 1),
                    "us_per_frame_forward_backward": round(1e6 * float(np.median(net)) / frames, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
