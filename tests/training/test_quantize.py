"""A silhouette model's convolutions in int8 (`gaitid export --int8`)."""

import numpy as np
import onnx
import pytest
import torch

from gaitid.errors import GaitidError
from gaitid.gait.encoder import GaitEncoder
from gaitid.training.export import compose_silhouette_ensemble, export_silhouette_model
from gaitid.training.quantize import calibration_windows, quantize_convolutions, quantize_model
from gaitid.training.registry import create_model


def _model(tmp_path, seed: int, name: str = "m.onnx"):  # type: ignore[no-untyped-def]
    torch.manual_seed(seed)
    return export_silhouette_model(create_model("gaitset_strips_s", widths=(8, 16, 32)), tmp_path / name, "3")


def _windows(count: int = 4, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random((1, 10, 1, 64, 44)) > 0.6).astype(np.float32) for _ in range(count)]


def _metadata(path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_int8_convolutions_keep_the_vector_the_metadata_and_the_frame_cut(tmp_path):
    """Every Conv reads int8 weights and quantised inputs, the rest stays float; the encoder loads the file,
    still runs it frame by frame, and its vectors stay close to the float model's."""
    members = [_model(tmp_path, 1, "a.onnx"), _model(tmp_path, 2, "b.onnx")]
    model = compose_silhouette_ensemble(members, tmp_path / "e.onnx", version="3")
    int8 = quantize_convolutions(model, tmp_path / "q.onnx", _windows(), version="4")
    graph = onnx.load(str(int8)).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count("Conv") == [n.op_type for n in onnx.load(str(model)).graph.node].count("Conv")
    producers = {o: n for n in graph.node for o in n.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert convs and all(producers[n.input[0]].op_type == "DequantizeLinear" for n in convs)
    assert all(producers[n.input[1]].op_type == "DequantizeLinear" for n in convs)
    assert "ReduceMax" in ops and "QuantizeLinear" in ops
    meta = _metadata(int8)
    assert meta["gaitid_int8"] == "conv" and meta["gaitid_version"] == "4" and "convolutions int8" in meta["gaitid_notes"]
    float_encoder, int8_encoder = GaitEncoder(model), GaitEncoder(int8)
    assert int8_encoder._frame_maps is not None and int8_encoder.dim == float_encoder.dim
    walk = (np.random.default_rng(7).random((20, 64, 44)) > 0.6).astype(np.float32)
    a, b = float_encoder.embed(walk).vector, int8_encoder.embed(walk).vector
    assert not np.array_equal(a, b)  # it is quantised
    assert float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) > 0.97


def test_int8_needs_the_models_own_training_subjects(tmp_path):
    with pytest.raises(GaitidError, match="records no training subjects"):
        quantize_model(_model(tmp_path, 1), tmp_path / "q.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(GaitidError, match="junk.onnx: not an ONNX model"):
        quantize_model(tmp_path / "junk.onnx", tmp_path / "q.onnx")
    with pytest.raises(GaitidError, match="no calibration windows"):
        quantize_convolutions(_model(tmp_path, 1), tmp_path / "q.onnx", [])


def test_calibration_windows_come_from_the_training_subjects(casia_root):
    windows = calibration_windows("025-026", casia_root, sequences=5, frames=20)
    assert len(windows) == 5 and all(w.shape[:3] == (1, 20, 1) and w.shape[3:] == (64, 44) for w in windows)
    assert all(set(np.unique(w)) <= {0.0, 1.0} for w in windows)
    again = calibration_windows("025-026", casia_root, sequences=5, frames=20)
    assert all(np.array_equal(x, y) for x, y in zip(windows, again))  # the same draw every time
    with pytest.raises(GaitidError, match="test subjects|075"):
        calibration_windows("074-075", casia_root)


def test_gaitid_export_int8_of_an_exported_model(tmp_path, casia_root, capsys):
    """The command line: one exported model that records its training subjects, quantised on them; its version
    marked as int8 (its vectors are not the float model's) unless --version is given."""
    from gaitid.cli import main

    model = _model(tmp_path, 1)
    proto = onnx.load(str(model))
    proto.metadata_props.add(key="gaitid_train_subjects", value="025-026")
    onnx.save(proto, str(model))
    assert main(["export", str(model), str(tmp_path / "q.onnx"), "--int8"]) == 0
    meta = _metadata(tmp_path / "q.onnx")
    assert meta["gaitid_version"] == "3-int8" and meta["gaitid_int8"] == "conv" and meta["gaitid_train_subjects"] == "025-026"
    assert "calibrated on 1280 frames of 64 training sequences" in meta["gaitid_notes"]
    assert main(["export", str(_model(tmp_path, 2, "n.onnx")), str(tmp_path / "r.onnx"), "--int8"]) == 2
    assert "records no training subjects" in capsys.readouterr().err
    assert not (tmp_path / "r.onnx").exists()
    assert main(["export", str(model), str(tmp_path / "v.onnx"), "--int8", "--version", "9"]) == 0
    assert _metadata(tmp_path / "v.onnx")["gaitid_version"] == "9"
