"""Issue 19: cost of one CenterNet person-detector call under onnxruntime settings, and int8 versions of it.

    PYTHONPATH=src python experiments/detector_speed.py [--quantise /tmp/quant] [--repeat 3] [--whole WHOLE.onnx]

Inputs are real frames: every 20th frame of vtest.avi and every 20th of the sample clip, letterboxed as
`CenterNetDetector` does. For each setting: process CPU ms per call (the steady number on a shared machine),
wall ms per call, and agreement with the shipped model at the default settings: people found by both (IoU
>= 0.5, score >= 0.25), found by one only, and the largest score difference on matched people.
With --quantise DIR it first writes int8 versions (onnxruntime.quantization: dynamic, and static QDQ
calibrated on the same frames) there and measures them too.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from gaitid.pose.detector import CenterNetDetector, _letterbox
from gaitid.pose.geometry import box_iou
from gaitid.pose.runtime import model_path
from gaitid.sources.files import VideoFile

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GAITID_DATA", str(ROOT.parent / "shared" / "data")))
INPUT = "tower_0/images:0"


def frames() -> np.ndarray:
    canvases = []
    for path in (DATA / "media" / "vtest.avi", ROOT / "src" / "gaitid" / "samples" / "walk.mp4"):
        with VideoFile(path) as video:
            for frame in video:
                if frame.index % 20 == 0:
                    canvases.append(_letterbox(frame.image, CenterNetDetector.input_size)[0])
    return np.stack(canvases).astype(np.float32)


def session(path: Path, threads: int, spinning: bool, level: str = "all"):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.graph_optimization_level = {
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[level]
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def people(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = (raw[:, 5] == 0) & (raw[:, 4] >= 0.25)
    return raw[keep, :4], raw[keep, 4]


def run(sess, inputs: np.ndarray) -> tuple[list[np.ndarray], float, float]:  # type: ignore[no-untyped-def]
    outs = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for x in inputs:
        outs.append(sess.run(None, {INPUT: x[None]})[2][0])
    return outs, 1000 * (time.process_time() - cpu0) / len(inputs), 1000 * (time.perf_counter() - wall0) / len(inputs)


def agreement(ref: list[tuple[np.ndarray, np.ndarray]], other: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """How two detectors' people (boxes, scores per image) match: in both at IoU >= 0.5, in one only."""
    both = only_ref = only_other = 0
    worst = 0.0
    for (ba, sa), (bb, sb) in zip(ref, other):
        used: set[int] = set()
        for box, score in zip(ba, sa):
            if len(bb):
                iou = np.asarray(box_iou(box, bb), np.float64).ravel()
                iou[list(used)] = 0
                j = int(np.argmax(iou))
                if iou[j] >= 0.5:
                    used.add(j)
                    both += 1
                    worst = max(worst, abs(float(score) - float(sb[j])))
                    continue
            only_ref += 1
        only_other += len(bb) - len(used)
    return f"people in both {both}, shipped only {only_ref}, candidate only {only_other}; max score diff {worst:.3f}"


def quantise(out: Path, inputs: np.ndarray, whole: Path) -> list[Path]:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out.mkdir(parents=True, exist_ok=True)
    source = whole
    prepared = out / "centernet_prepared.onnx"
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{INPUT: x[None]} for x in inputs[::2]])

        def get_next(self):  # type: ignore[no-untyped-def]
            return next(self.items, None)

    made = []
    target = out / "centernet_dynamic_int8.onnx"
    quantize_dynamic(str(prepared), str(target), weight_type=QuantType.QInt8)
    made.append(target)
    target = out / "centernet_static_qdq_int8.onnx"  # every operator it can: the box decoding too
    quantize_static(
        str(prepared), str(target), Reader(), quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
    )
    made.append(target)
    # only the convolutions, then only those of the backbone (the head's stay float)
    import onnx

    head = [n.name for n in onnx.load(str(prepared)).graph.node if "CenternetHead" in n.name]
    for name, exclude in (("centernet_static_conv_int8.onnx", []), ("centernet_static_backbone_int8.onnx", head)):
        target = out / name
        quantize_static(
            str(prepared), str(target), Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
            nodes_to_exclude=exclude, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
        )
        made.append(target)
    # every operator of the network, none of the box decoding after its two output convolutions
    graph = onnx.load(str(prepared)).graph
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    heads = [n for n in graph.node if n.name.endswith(("centernet_cls_output/BiasAdd_BiasAdd__107", "centernet_wh_output/BiasAdd_BiasAdd__108"))]
    decoding: set[str] = set()
    stack = [t for n in heads for t in n.output]
    while stack:
        for node in consumers.get(stack.pop(), []):
            if node.name not in decoding:
                decoding.add(node.name)
                stack.extend(node.output)
    target = out / "centernet_static_network_int8.onnx"
    quantize_static(
        str(prepared), str(target), Reader(), quant_format=QuantFormat.QDQ, nodes_to_exclude=sorted(decoding),
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
    )
    made.append(target)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quantise", help="write int8 models to this folder and measure them")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", help="measure only the settings whose name holds this")
    parser.add_argument("--whole", type=Path, default=model_path(CenterNetDetector.model_file),
                        help="the whole converted graph, with its box decoding (the shipped file is cut at its heads "
                        "since 2026-12-03: git show 4621b41:src/gaitid/pose/models/person_centernet.onnx > whole.onnx)")
    args = parser.parse_args()

    inputs = frames()
    print(f"{len(inputs)} real frames; load average {os.getloadavg()}")
    shipped = args.whole
    if len(session(shipped, 1, False).get_outputs()) < 3:
        raise SystemExit(f"{shipped} is cut at its heads: give the whole graph with --whole (see --help)")
    reference, _, _ = run(session(shipped, 2, True), inputs[:])
    settings = [
        ("shipped, 2 threads, spinning (today's)", shipped, 2, True, "all"),
        ("shipped, 2 threads, no spinning", shipped, 2, False, "all"),
        ("shipped, 1 thread", shipped, 1, True, "all"),
        ("shipped, 2 threads, spinning, basic graph optimisation", shipped, 2, True, "basic"),
    ]
    if args.quantise:
        for path in quantise(Path(args.quantise), inputs, shipped):
            settings += [(f"{path.name}, 2 threads, spinning", path, 2, True, "all"), (f"{path.name}, 1 thread", path, 1, True, "all")]
    for name, path, threads, spinning, level in settings:
        if args.only and args.only not in name:
            continue
        sess = session(path, threads, spinning, level)
        run(sess, inputs[:2])
        cpus, walls = [], []
        for _ in range(args.repeat):
            outs, cpu, wall = run(sess, inputs)
            cpus.append(cpu)
            walls.append(wall)
        print(f"{name}: process-CPU ms/call {' '.join(f'{c:.1f}' for c in cpus)}; wall ms/call {' '.join(f'{w:.1f}' for w in walls)}")
        print("   ", agreement([people(r) for r in reference], [people(o) for o in outs]))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
