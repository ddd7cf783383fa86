"""Inference speed and size of the shipped gait models (onnxruntime, CPU, one thread by default).

    PYTHONPATH=src python benchmarks/gait_speed.py [--threads 1] [--frames 30,80]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import onnx
from onnx import numpy_helper

from gaitid.gait.encoder import WEIGHTS_DIR, GaitEncoder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--frames", default="30,80")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for path in sorted(WEIGHTS_DIR.glob("*.onnx")):
        params = sum(numpy_helper.to_array(t).size for t in onnx.load(str(path)).graph.initializer)
        encoder = GaitEncoder(path, threads=args.threads)
        row = {"model": encoder.model, "params": int(params), "file_kib": round(path.stat().st_size / 1024, 1),
               "dim": encoder.dim, "threads": args.threads}
        for t in (int(x) for x in args.frames.split(",")):
            sil = (rng.random((t, 64, 44)) > 0.5).astype(np.float32)
            encoder.embed(sil)
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                encoder.embed(sil)
                times.append(time.perf_counter() - t0)
            row[f"ms_{t}_frames"] = round(1000 * float(np.median(times)), 2)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
