"""Inference speed and size of the shipped gait models (onnxruntime, CPU, one thread by default).

    PYTHONPATH=src python benchmarks/gait_speed.py [--threads 1] [--frames 30,80] [--widths 40,80,160 ...]
        [--set-widths 256 ...] [--pyramid 1,2,4 ...] [--temporal 3 ...]

--widths also times gaitset_strips_s with other channel widths, --set-widths with residual blocks on the
set-pooled map, --pyramid with coarser strips added and --temporal with a micro-motion path, randomly
initialised and exported (the cost of a candidate before it is trained: it does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from gaitid.gait.encoder import WEIGHTS_DIR, GaitEncoder


def candidate(setting: str, widths: tuple[int, ...], folder: Path) -> Path:
    """gaitset_strips_s with `setting` ("widths", "set_widths", "pyramid" or "temporal", which takes one
    number) set to `widths`, randomly initialised, as an ONNX file in `folder`."""
    from gaitid.training.export import export_silhouette_model
    from gaitid.training.registry import create_model

    name = f"{setting}_{'x'.join(map(str, widths))}.onnx"
    value = widths[0] if setting == "temporal" else widths
    return export_silhouette_model(create_model("gaitset_strips_s", **{setting: value}), folder / name, "0")


def time_model(path: Path, threads: int, frames: list[int], repeats: int, rng: np.random.Generator) -> dict:
    params = sum(numpy_helper.to_array(t).size for t in onnx.load(str(path)).graph.initializer)
    encoder = GaitEncoder(path, threads=threads)
    row = {"model": encoder.model, "file": path.name, "params": int(params),
           "file_kib": round(path.stat().st_size / 1024, 1), "dim": encoder.dim, "threads": threads}
    for t in frames:
        # new frames every time: the encoder remembers the frames it has seen (gaitid.gait.frame_maps), and
        # this times a window none of whose frames it has seen
        walks = (rng.random((repeats + 1, t, 64, 44)) > 0.5).astype(np.float32)
        encoder.embed(walks[-1])
        times = []
        for sil in walks[:-1]:
            t0 = time.perf_counter()
            encoder.embed(sil)
            times.append(time.perf_counter() - t0)
        row[f"ms_{t}_frames"] = round(1000 * float(np.median(times)), 2)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--frames", default="30,80")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--widths", action="append", default=[], help="also time gaitset_strips_s with these widths")
    parser.add_argument("--set-widths", action="append", default=[],
                        help="also time gaitset_strips_s with residual blocks of these widths after set pooling")
    parser.add_argument("--pyramid", action="append", default=[],
                        help="also time gaitset_strips_s with these coarser strip counts added")
    parser.add_argument("--temporal", action="append", default=[],
                        help="also time gaitset_strips_s with a micro-motion path over this many frames")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frames = [int(x) for x in args.frames.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        paths = sorted(WEIGHTS_DIR.glob("*.onnx"))
        settings = (("widths", args.widths), ("set_widths", args.set_widths), ("pyramid", args.pyramid),
                    ("temporal", args.temporal))
        for setting, options in settings:
            paths += [candidate(setting, tuple(int(w) for w in widths.split(",")), Path(folder)) for widths in options]
        for path in paths:
            print(json.dumps(time_model(path, args.threads, frames, args.repeats, rng)), flush=True)


if __name__ == "__main__":
    main()
