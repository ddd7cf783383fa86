"""Issue 19: the person detector without its letterbox padding and without its in-graph box decoding.

    git show 4621b41:src/gaitid/pose/models/person_centernet.onnx > /tmp/whole.onnx
    PYTHONPATH=src python experiments/detector_unpadded.py --whole /tmp/whole.onnx [--repeat 3]

The shipped CenterNet graph takes a 512 x 512 letterboxed frame and decodes its boxes inside the graph (a
3 x 3 max-pool and a top-100 over all 80 classes' heat maps). Here the graph is cut at its two heads
(`tower_0/keypoints`, the classes' heat maps after the sigmoid, and `tower_0/wh`, each cell's distances
to the box sides), its input's height and width made free, and the boxes decoded in numpy from the person
channel only, as the graph decodes them (`gaitid.pose.detector.centernet_peaks`, which came out of this
study): a peak where the heat map equals its 3 x 3 max-pool, the top 100, and for a peak at cell (x, y)
the box (4x - wh0, 4y - wh1, 4x + wh2, 4y + wh3) in input pixels.

Measured on real frames (every 20th of vtest.avi and of the sample clip): process CPU ms per call and
agreement with the shipped detector (people found by both at IoU >= 0.5, score >= 0.25, by one only,
largest score difference), for (a) the cut graph on the same 512 x 512 canvas (checks the decoding) and
(b) the cut graph on the frame scaled to 512 on its long side, padded only to a multiple of 32. The
comparison needs the whole graph, which the package no longer holds (the shipped file is the cut graph,
made with `--write`): `--whole` takes it from the repository's history.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np

from detector_speed import agreement  # this folder is on the path when a script here runs

from gaitid.pose.detector import CenterNetDetector, _letterbox, centernet_peaks
from gaitid.pose.runtime import model_path
from gaitid.sources.files import VideoFile

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GAITID_DATA", str(ROOT.parent / "shared" / "data")))
INPUT = "tower_0/images:0"
SCORE = 0.25


def images() -> list[np.ndarray]:
    found = []
    for path in (DATA / "media" / "vtest.avi", ROOT / "src" / "gaitid" / "samples" / "walk.mp4"):
        with VideoFile(path) as video:
            found += [frame.image for frame in video if frame.index % 20 == 0]
    return found


def session(model: bytes | str, threads: int = 2):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def cut_at_heads(source: Path, target: Path) -> None:
    """The converted graph cut at its two heads (how the shipped person_centernet.onnx was made from the
    whole graph on 2026-12-03: `--write`); a graph already cut is copied as it is."""
    import onnx
    from onnx import utils

    outputs = [o.name for o in onnx.load(str(source)).graph.output]
    if outputs == ["tower_0/keypoints", "tower_0/wh"]:
        target.write_bytes(source.read_bytes())
        return
    utils.extract_model(str(source), str(target), [INPUT], ["tower_0/keypoints", "tower_0/wh"])


def heads_model(whole: Path) -> bytes:
    """The graph cut at its two heads, with a free input height and width."""
    import tempfile

    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        cut = Path(tmp) / "heads.onnx"
        cut_at_heads(whole, cut)
        model = onnx.load(str(cut))
    del model.graph.value_info[:]  # the intermediate shapes recorded for 512 x 512
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[1].dim_param, dims[2].dim_param = "height", "width"
    for output in model.graph.output:
        dims = output.type.tensor_type.shape.dim
        dims[1].dim_param, dims[2].dim_param = "rows", "columns"
    return model.SerializeToString()


def unpadded(image: np.ndarray, size: int = 512) -> tuple[np.ndarray, float]:
    """The image scaled to `size` on its long side, padded at the right and bottom to a multiple of 32."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    canvas = np.zeros((-(-new_h // 32) * 32, -(-new_w // 32) * 32, 3), np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return canvas, scale


def timed(fn, inputs: list, repeat: int) -> tuple[list, list[float]]:  # type: ignore[no-untyped-def]
    costs = []
    for _ in range(repeat):
        start = time.process_time()
        outs = [fn(x) for x in inputs]
        costs.append(1000 * (time.process_time() - start) / len(inputs))
    return outs, costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", type=Path, help="only write the graph cut at its heads to this file")
    parser.add_argument("--whole", type=Path, default=model_path(CenterNetDetector.model_file),
                        help="the whole converted graph (since the cut: git show 4621b41:src/gaitid/pose/models/"
                        "person_centernet.onnx > whole.onnx)")
    args = parser.parse_args()
    if args.write:
        cut_at_heads(args.whole, args.write)
        return
    frames = images()
    print(f"{len(frames)} real frames; load average {os.getloadavg()}")
    shipped, heads = session(str(args.whole)), session(heads_model(args.whole))
    if len(shipped.get_outputs()) < 3:
        raise SystemExit(f"{args.whole} is already cut at its heads: give the whole graph with --whole (see --help)")

    def in_frame(boxes: np.ndarray, scale: float, pad: tuple[int, int]) -> np.ndarray:
        return (boxes - np.array([pad[0], pad[1], pad[0], pad[1]], np.float32)) / scale

    def run_shipped(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        canvas, scale, pad = _letterbox(image, 512)
        raw = shipped.run(None, {INPUT: canvas.astype(np.float32)[None]})[2][0]
        raw = raw[(raw[:, 5] == 0) & (raw[:, 4] >= SCORE)]
        return in_frame(raw[:, :4], scale, pad), raw[:, 4]

    def run_heads_letterboxed(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        canvas, scale, pad = _letterbox(image, 512)
        heat, wh = heads.run(None, {INPUT: canvas.astype(np.float32)[None]})
        boxes, scores = centernet_peaks(heat[0, :, :, 0], wh[0], SCORE)
        return in_frame(boxes, scale, pad), scores

    def run_heads_unpadded(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        canvas, scale = unpadded(image)
        heat, wh = heads.run(None, {INPUT: canvas.astype(np.float32)[None]})
        boxes, scores = centernet_peaks(heat[0, :, :, 0], wh[0], SCORE)
        return in_frame(boxes, scale, (0, 0)), scores

    reference, costs = timed(run_shipped, frames, args.repeat)
    print(f"shipped graph, 512 x 512 letterbox: CPU ms/call {' '.join(f'{c:.1f}' for c in costs)}")
    for name, fn in (("heads + numpy decoding, 512 x 512 letterbox", run_heads_letterboxed),
                     ("heads + numpy decoding, unpadded", run_heads_unpadded)):
        outs, costs = timed(fn, frames, args.repeat)
        print(f"{name}: CPU ms/call {' '.join(f'{c:.1f}' for c in costs)}")
        print("   ", agreement(reference, outs))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
