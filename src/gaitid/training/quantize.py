"""A silhouette model's convolutions in int8: the same network, about twice as fast on a CPU.

Nearly all of a silhouette model's time is convolution, and fp32 convolutions already run near a core's peak,
so integer arithmetic is the one large saving left (benchmarks/GAIT_RESULTS.md, "Convolutions in int8").
`quantize_convolutions` rewrites an exported model with onnxruntime's static quantisation: each Conv's weights
int8 per output channel and its input uint8 (QDQ format, MinMax ranges), everything else left in float, so the
encoder's frame-by-frame cut (`gaitid.gait.frame_maps`) still finds the set pooling. The activation ranges are
calibrated on silhouettes of the model's own recorded training subjects, never on people it is scored on.
Needs onnx and onnxruntime (whose quantisation tools this uses) and the CASIA-B data; no torch.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gaitid.errors import GaitidError

#: Calibration: this many of the training subjects' sequences (drawn with CALIBRATION_SEED), each contributing
#: CALIBRATION_FRAMES evenly spaced frames as one window.
CALIBRATION_SEQUENCES = 64
CALIBRATION_FRAMES = 20
CALIBRATION_SEED = 0


def calibration_windows(
    subjects: str,
    root: Path | str | None = None,
    sequences: int = CALIBRATION_SEQUENCES,
    frames: int = CALIBRATION_FRAMES,
    seed: int = CALIBRATION_SEED,
) -> list[np.ndarray]:
    """Windows of CASIA-B training silhouettes, (1, frames, 1, 64, 44) float32 each, from `subjects` ("025-074";
    the test subjects are refused by the reader)."""
    from gaitid.datasets.casia_b import load_casia_b
    from gaitid.training.config import parse_subjects

    data = load_casia_b(parse_subjects(subjects), "train", root)
    if len(data) == 0:
        raise GaitidError(f"no CASIA-B sequences of subjects {subjects} to calibrate on")
    chosen = np.random.default_rng(seed).choice(len(data), size=min(sequences, len(data)), replace=False)
    windows = []
    for i in sorted(chosen):
        n = data.num_frames(int(i))
        picks = np.unique(np.linspace(0, n - 1, min(frames, n)).round().astype(int))
        windows.append(data.frames(int(i), picks).astype(np.float32)[None, :, None])
    return windows


def quantize_model(model: Path | str, out: Path | str, version: str | None = None, root: Path | str | None = None) -> Path:
    """`model` with its convolutions in int8, calibrated on its own recorded training subjects' silhouettes
    (refused when it records none). Its version is `version`, or the file's with "-int8" appended: its vectors
    differ from the float model's, and vectors of different versions are never compared."""
    import onnx

    from gaitid.gait.encoder import recorded_train_subjects

    try:
        meta = {p.key: p.value for p in onnx.load(str(model), load_external_data=False).metadata_props}
    except Exception as error:  # protobuf's DecodeError, and whatever else a damaged file raises
        raise GaitidError(f"{model}: not an ONNX model ({type(error).__name__}: {error})") from None
    if "gaitid_input" not in meta:
        raise GaitidError(f"{model}: not a gaitid silhouette model; only those are quantised")
    subjects = recorded_train_subjects(Path(model), meta)  # an ensemble's: each member's set, joined by commas
    if not subjects:
        raise GaitidError(f"{model} records no training subjects to calibrate on: int8 ranges are calibrated on "
                          "the model's own training people")
    version = version if version is not None else f"{meta.get('gaitid_version', '0')}-int8"
    return quantize_convolutions(model, out, calibration_windows(subjects, root), version=version)


def quantize_convolutions(
    model: Path | str, out: Path | str, windows: list[np.ndarray], notes: str = "", version: str | None = None
) -> Path:
    """`model` (an exported silhouette model, an ensemble included) with its convolutions in int8, calibrated
    on `windows` (each (1, T, 1, H, W) float32: `calibration_windows`), written to `out` with the model's
    metadata, its notes extended."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not windows:
        raise GaitidError("no calibration windows: int8 ranges need silhouettes to be calibrated on")
    source = onnx.load(str(model))
    name = source.graph.input[0].name

    class Windows(CalibrationDataReader):
        def __init__(self) -> None:
            self._items: Iterator[dict[str, np.ndarray]] = iter({name: w} for w in windows)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._items, None)

    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="gaitid-int8-") as tmp:
        prepared, quantized = Path(tmp) / "prepared.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared), str(quantized), Windows(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
        )
        result = onnx.load(str(quantized))
    meta = {p.key: p.value for p in source.metadata_props}
    frames = sum(int(w.shape[1]) for w in windows)
    done = f"convolutions int8 (calibrated on {frames} frames of {len(windows)} training sequences)"
    meta["gaitid_notes"] = "; ".join(part for part in (meta.get("gaitid_notes", ""), notes, done) if part)
    meta["gaitid_int8"] = "conv"
    if version is not None:
        meta["gaitid_version"] = version
    del result.metadata_props[:]
    for key, value in meta.items():
        result.metadata_props.add(key=key, value=value)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(result, str(out))
    return out
