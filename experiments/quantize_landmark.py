"""Issue 19: quantised versions of BlazePose's landmark model, made once with Google's ai-edge-quantizer.

    pip install ai-edge-quantizer      # a build-time tool only; gaitid does not need it to run
    PYTHONPATH=src python experiments/quantize_landmark.py --out /tmp/quant [--model full]
        [--recipe dynamic_wi8_afp32 weight_only_wi8_afp32 static_wi8_ai8]

Static recipes are calibrated on the real crops that experiments/landmark_speed.py collects (it caches them
in /tmp/landmark_crops.npy; run it first). Then compare speed and agreement with:

    PYTHONPATH=src python experiments/landmark_speed.py --candidate /tmp/quant/*.tflite
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from gaitid.pose.runtime import model_path


def float32_weights(data: bytes) -> bytes:
    """The same model with its float16 weights stored as float32 and their DEQUANTIZE ops removed.

    MediaPipe ships its models with float16 weights, each behind a DEQUANTIZE op; the quantizer only
    quantises float32 constants feeding an op, so it would leave every convolution as it is."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(data, 0)
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    for graph in model.subgraphs:
        kept = []
        for op in graph.operators:
            source = graph.tensors[op.inputs[0]]
            buffer = model.buffers[source.buffer]
            if codes[op.opcodeIndex] == schema.BuiltinOperator.DEQUANTIZE and source.type == schema.TensorType.FLOAT16 and buffer.data is not None:
                target = graph.tensors[op.outputs[0]]
                values = np.frombuffer(bytes(bytearray(buffer.data)), np.float16).astype(np.float32)
                fresh = schema.BufferT()
                fresh.data = np.frombuffer(values.tobytes(), np.uint8)
                model.buffers.append(fresh)
                target.buffer = len(model.buffers) - 1
                continue
            kept.append(op)
        graph.operators = kept
        # drop the float16 tensors nothing reads any more, renumbering the rest
        used = sorted({i for op in kept for i in (*op.inputs, *op.outputs) if i >= 0} | {*graph.inputs, *graph.outputs})
        renumber = {old: new for new, old in enumerate(used)}
        graph.tensors = [graph.tensors[i] for i in used]
        for op in kept:
            op.inputs = [renumber[i] if i >= 0 else i for i in op.inputs]
            op.outputs = [renumber[i] for i in op.outputs]
        graph.inputs = [renumber[i] for i in graph.inputs]
        graph.outputs = [renumber[i] for i in graph.outputs]
    referenced = {t.buffer for g in model.subgraphs for t in g.tensors}
    for index, buffer in enumerate(model.buffers):
        if index not in referenced:
            buffer.data = None
    if not model.signatureDefs:  # the calibrator runs the model through a signature
        graph = model.subgraphs[0]

        def tensor_map(index: int):  # type: ignore[no-untyped-def]
            item = schema.TensorMapT()
            item.name, item.tensorIndex = graph.tensors[index].name, index
            return item

        signature = schema.SignatureDefT()
        signature.signatureKey, signature.subgraphIndex = "serving_default", 0
        signature.inputs = [tensor_map(i) for i in graph.inputs]
        signature.outputs = [tensor_map(i) for i in graph.outputs]
        model.signatureDefs = [signature]
    builder = flatbuffers.Builder(1 << 22)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="full")
    parser.add_argument("--out", required=True)
    parser.add_argument("--recipe", nargs="*", default=["dynamic_wi8_afp32", "weight_only_wi8_afp32", "static_wi8_ai8"])
    parser.add_argument("--crops", default="/tmp/landmark_crops.npy")
    parser.add_argument("--calibration", type=int, default=64, help="crops used to calibrate static recipes")
    args = parser.parse_args()

    from ai_edge_quantizer import quantizer, recipe

    source = model_path(f"pose_landmark_{args.model}.tflite")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    unfolded = float32_weights(source.read_bytes())
    (out / f"pose_landmark_{args.model}_float32.tflite").write_bytes(unfolded)
    for name in args.recipe:
        q = quantizer.Quantizer(unfolded, getattr(recipe, name)())
        calibration = None
        if q.need_calibration:
            crops = np.load(args.crops)
            every = max(1, len(crops) // args.calibration)
            signature = "serving_default"
            samples = [{"input_1": (c.astype(np.float32) / 255.0)[None]} for c in crops[::every]]
            calibration = q.calibrate({signature: samples})
        result = q.quantize(calibration)
        target = out / f"pose_landmark_{args.model}_{name}.tflite"
        result.export_model(str(target), overwrite=True)
        print(f"{target}: {target.stat().st_size / 1e6:.1f} MB (float: {source.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
