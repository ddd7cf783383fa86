"""Inference speed and size of the shipped skeleton gait models (onnxruntime, CPU, one thread by default):
the time to embed one walk from its HumanPoseNN keypoints, preprocessing (normalisation, heatmaps)
included.

    PYTHONPATH=src python benchmarks/skeleton_speed.py [--threads 1] [--frames 30,150] [--weights W.onnx]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from gaitid.gait.skeleton import skeleton_features
from gaitid.gait.skeleton_encoder import WEIGHTS_DIR, SkeletonEncoder
from gaitid.datasets.kinect import VirtualCamera, load_kinect, project_walk, walker_frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--frames", default="30,150")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--weights", nargs="*", help="ONNX files (default: every shipped skeleton model)")
    args = parser.parse_args()
    # a real walk (test person 101) seen from the side, at the model's frame rate
    walker = walker_frame(load_kinect([101], "test")[0].joints)
    paths = [Path(w) for w in args.weights] if args.weights else sorted(WEIGHTS_DIR.glob("*.onnx"))
    for path in paths:
        params = sum(numpy_helper.to_array(t).size for t in onnx.load(str(path)).graph.initializer)
        encoder = SkeletonEncoder(path, threads=args.threads)
        keypoints = project_walk(walker[:: int(round(30 / encoder.spec.fps))], VirtualCamera(view=90))
        row = {
            "model": encoder.model,
            "features": encoder.spec.features,
            "params": int(params),
            "file_kib": round(path.stat().st_size / 1024, 1),
            "dim": encoder.dim,
            "threads": args.threads,
        }
        for t in (int(x) for x in args.frames.split(",")):
            kp = keypoints[:t]
            encoder.embed_keypoints(kp)
            total, prep = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                skeleton_features(kp, encoder.spec)
                t1 = time.perf_counter()
                encoder.embed_keypoints(kp)
                total.append(time.perf_counter() - t1)
                prep.append(t1 - t0)
            row[f"ms_{t}_frames"] = round(1000 * float(np.median(total)), 2)
            row[f"ms_{t}_frames_preprocessing"] = round(1000 * float(np.median(prep)), 2)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
