"""Issue 19: cost of one landmark-model call, and how far other settings and model files agree with it.

    PYTHONPATH=src python experiments/landmark_speed.py [--model full] [--candidate FILE.tflite ...]
        [--batch N] [--threads N] [--repeat 3]

Crops come from real frames: HumanPoseNN (full, as `gaitid track` runs it) over the sample clip and over
vtest.avi frames 400-460; every region it ran the landmark model on is kept as the 256 x 256 crop the model
saw. Each setting then runs the model over all crops; reported: process CPU ms per crop (the steady number on
a shared machine), wall ms per crop, and for a candidate model file its keypoint disagreement with the
shipped model (median and 95th percentile distance in crop pixels over keypoints the reference holds
visible, presence and mask differences).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from gaitid.pose import landmarks as lm
from gaitid.pose.estimator import HumanPoseNN
from gaitid.pose.runtime import model_path
from gaitid.sources.files import VideoFile

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GAITID_DATA", str(ROOT.parent / "shared" / "data")))


def collect_crops(model: str) -> np.ndarray:
    crops: list[np.ndarray] = []
    original = lm.BlazePoseLandmarker.crop

    def keep(self, image, roi):  # type: ignore[no-untyped-def]
        crop, to_frame = original(self, image, roi)
        crops.append(crop)
        return crop, to_frame

    lm.BlazePoseLandmarker.crop = keep  # type: ignore[method-assign]
    try:
        for path, first, end in (
            (ROOT / "src" / "gaitid" / "samples" / "walk.mp4", 0, 60),
            (DATA / "media" / "vtest.avi", 400, 430),
        ):
            estimator = HumanPoseNN(model=model, close_up=False, workers=1)
            with VideoFile(path) as video:
                for frame in video:
                    if frame.index >= end:
                        break
                    if frame.index >= first:
                        estimator.estimate(frame)
    finally:
        lm.BlazePoseLandmarker.crop = original  # type: ignore[method-assign]
    return np.stack(crops)


def make_interpreter(path: Path, threads: int, batch: int, latest: bool = False):  # type: ignore[no-untyped-def]
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(
        model_path=str(path), num_threads=threads, experimental_default_delegate_latest_features=latest
    )
    if batch > 1:
        index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(index, [batch, 256, 256, 3])
    interpreter.allocate_tensors()
    return interpreter


def run_all(interpreter, crops: np.ndarray, batch: int) -> tuple[dict[str, np.ndarray], float, float]:  # type: ignore[no-untyped-def]
    """Run over every crop; outputs stacked per name, process-CPU ms and wall ms per crop."""
    detail = interpreter.get_input_details()[0]
    inp, (in_scale, in_zero) = detail["index"], detail["quantization"]
    quantised = detail["dtype"] != np.float32
    outs = {o["name"]: o["index"] for o in interpreter.get_output_details()}
    scales = {o["name"]: o["quantization"] for o in interpreter.get_output_details()}
    results: dict[str, list[np.ndarray]] = {name: [] for name in outs}
    usable = len(crops) - len(crops) % batch
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for start in range(0, usable, batch):
        values = crops[start : start + batch].astype(np.float32) / 255.0
        if quantised:
            values = np.clip(np.round(values / in_scale + in_zero), -128, 127).astype(detail["dtype"])
        interpreter.set_tensor(inp, values)
        interpreter.invoke()
        for name, index in outs.items():
            value = interpreter.get_tensor(index)
            if value.dtype != np.float32:
                scale, zero = scales[name]
                value = (value.astype(np.float32) - zero) * scale
            results[name].append(value.copy())
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {k: np.concatenate(v) for k, v in results.items()}, 1000 * cpu / usable, 1000 * wall / usable


def run_compiled(path: Path, crops: np.ndarray, xnnpack_flags: int) -> tuple[dict[str, np.ndarray], float, float]:
    """Through LiteRT's CompiledModel API, which takes XNNPACK flags: 0x3 its defaults (QS8 | QU8), 0x7 with
    FORCE_FP16 (half-precision arithmetic). Same outputs and measures as run_all."""
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator
    from ai_edge_litert.options import CpuOptions, Options

    options = Options(hardware_accelerators=HardwareAccelerator.CPU, cpu_options=CpuOptions(num_threads=1, xnnpack_flags=xnnpack_flags))
    model = CompiledModel.from_buffer(path.read_bytes(), options=options)
    details = model.get_output_tensor_details(next(iter(model.get_signature_list())))
    shapes = {name: tuple(d["shape"]) for name, d in details.items()}
    inputs, outputs = model.create_input_buffers(0), model.create_output_buffers(0)
    results: dict[str, list[np.ndarray]] = {name: [] for name in shapes}

    def go(batch: np.ndarray) -> None:
        for crop in batch:
            inputs[0].write((crop.astype(np.float32) / 255.0)[None])
            model.run_by_index(0, inputs, outputs)
            for (name, shape), buffer in zip(shapes.items(), outputs):
                results[name].append(buffer.read(int(np.prod(shape)), np.float32).reshape(shape))

    go(crops[:2])
    results = {name: [] for name in shapes}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    go(crops)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {k: np.concatenate(v) for k, v in results.items()}, 1000 * cpu / len(crops), 1000 * wall / len(crops)


def compare(ref: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> str:
    n = min(len(ref["Identity"]), len(other["Identity"]))
    a = ref["Identity"][:n].reshape(n, -1, 5)[:, :33]
    b = other["Identity"][:n].reshape(n, -1, 5)[:, :33]
    visible = 1 / (1 + np.exp(-a[..., 3])) >= 0.5
    present = ref["Identity_1"][:n].ravel() >= 0.5
    use = visible & present[:, None]
    dist = np.linalg.norm(a[..., :2] - b[..., :2], axis=-1)[use]
    presence = np.abs(ref["Identity_1"][:n].ravel() - other["Identity_1"][:n].ravel())
    flips = int(np.sum((ref["Identity_1"][:n].ravel() >= 0.5) != (other["Identity_1"][:n].ravel() >= 0.5)))
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    mask_a, mask_b = sig(ref["Identity_2"][:n]) >= 0.5, sig(other["Identity_2"][:n]) >= 0.5
    iou = np.sum(mask_a & mask_b, axis=(1, 2, 3)) / np.maximum(1, np.sum(mask_a | mask_b, axis=(1, 2, 3)))
    return (
        f"keypoint distance (crop px, visible, present): median {np.median(dist):.2f} p95 {np.percentile(dist, 95):.2f}"
        f" max {dist.max():.1f}; presence |diff| max {presence.max():.3f}, threshold flips {flips}/{n};"
        f" mask IoU median {np.median(iou[present]):.3f} min {iou[present].min():.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="full")
    parser.add_argument("--candidate", nargs="*", default=[], help="other .tflite files to compare")
    parser.add_argument("--threads", type=int, nargs="*", default=[1])
    parser.add_argument("--batch", type=int, nargs="*", default=[1])
    parser.add_argument("--latest", action="store_true", help="also XNNPACK's latest features")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fp16", action="store_true", help="also XNNPACK's FORCE_FP16 through CompiledModel")
    parser.add_argument("--cache", default="/tmp/landmark_crops.npy")
    args = parser.parse_args()

    cache = Path(args.cache)
    crops = np.load(cache) if cache.exists() else collect_crops(args.model)
    if not cache.exists():
        np.save(cache, crops)
    print(f"{len(crops)} real crops; load average {os.getloadavg()}")
    shipped = model_path(f"pose_landmark_{args.model}.tflite")
    reference, _, _ = run_all(make_interpreter(shipped, 1, 1), crops, 1)

    settings = [(shipped, t, b, False) for t in args.threads for b in args.batch]
    if args.latest:
        settings.append((shipped, 1, 1, True))
    settings += [(Path(c), t, 1, False) for c in args.candidate for t in args.threads]
    for path, threads, batch, latest in settings:
        interpreter = make_interpreter(path, threads, batch, latest)
        run_all(interpreter, crops[: 2 * batch], batch)  # warm up
        cpus, walls = [], []
        for _ in range(args.repeat):
            out, cpu, wall = run_all(interpreter, crops, batch)
            cpus.append(cpu)
            walls.append(wall)
        print(
            f"{path.name} threads={threads} batch={batch} latest={latest}: process-CPU ms/crop "
            f"{' '.join(f'{c:.2f}' for c in cpus)}; wall ms/crop {' '.join(f'{w:.2f}' for w in walls)}"
        )
        print("   ", compare(reference, out))
    if args.fp16:
        for flags, name in ((0x3, "CompiledModel, XNNPACK defaults"), (0x7, "CompiledModel, XNNPACK FORCE_FP16")):
            for _ in range(args.repeat):
                out, cpu, wall = run_compiled(shipped, crops, flags)
                print(f"{shipped.name} {name}: process-CPU ms/crop {cpu:.2f}; wall ms/crop {wall:.2f}")
            print("   ", compare(reference, out))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
