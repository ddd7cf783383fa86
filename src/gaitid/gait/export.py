"""Export a trained checkpoint to ONNX for `GaitEncoder` (needs torch and onnx: the `train` extra)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from gaitid.errors import GaitidError


class _EmbeddingOnly(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(self.model.forward_features(x), pre_logits=True).flatten(1)


def export_onnx(checkpoint: Path | str, out: Path | str, version: str = "1", notes: str = "") -> Path:
    """Write the embedding part of `checkpoint`'s model to `out` with gaitid metadata; returns `out`."""
    import onnx

    from gaitid.training.trainer import load_model

    model, cfg, meta = load_model(checkpoint)
    wrapper = _EmbeddingOnly(model).eval()
    spec = cfg.input
    example = torch.zeros(1, 20, spec.channels, spec.height, spec.width)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        dim = int(wrapper(example).shape[1])
        torch.onnx.export(
            wrapper,
            (example,),
            str(out),
            input_names=["silhouettes"],
            output_names=["embedding"],
            dynamic_axes={"silhouettes": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    proto = onnx.load(str(out))
    info = {
        "gaitid_model": cfg.name,
        "gaitid_version": version,
        "gaitid_input": json.dumps(dataclasses.asdict(spec)),
        "gaitid_dim": str(dim),
        "gaitid_config": json.dumps(dataclasses.asdict(cfg)),
        "gaitid_train_step": str(meta.get("step", "")),
        "gaitid_notes": notes,
    }
    for key, value in info.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out))
    if not out.is_file():
        raise GaitidError(f"export failed: {out}")
    return out
