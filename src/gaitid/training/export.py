"""Export trained checkpoints to ONNX for inference without torch: the one exporter of both modalities.

`export_silhouette_onnx` writes a silhouette model for `GaitEncoder`, `export_skeleton_onnx` one skeleton
model (or an ensemble of several) for `SkeletonEncoder`; `export_checkpoints` picks between them. Several
silhouette models (checkpoints, or models already exported: a shipped model's checkpoint need not be kept)
make one ensemble, composed at the ONNX level (`compose_silhouette_ensemble`). Every file carries gaitid's
metadata (model name, version, input spec, dimension, config, training step, notes), which the encoders read
back. Needs torch and onnx (the `train` extra).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from gaitid.errors import GaitidError
from gaitid.gait.encoder import recorded_train_subjects
from gaitid.training.skeleton_nets import SkeletonModelConfig, inference_embedding
from gaitid.training.trainer import casia_train_subjects, load_checkpoint

ENSEMBLE_NAME = "skelnn_ensemble"


class _SilhouetteEmbedding(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(self.model.forward_features(x), pre_logits=True).flatten(1)


class _SkeletonEmbedding(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return inference_embedding(self.model, x)


class _Ensemble(torch.nn.Module):
    """Every member's inference vector, unit-normalised, concatenated and scaled by 1/sqrt(members): a unit
    vector whose squared distance between two walks is the mean of the members' squared distances."""

    def __init__(self, models: list[torch.nn.Module]) -> None:
        super().__init__()
        self.members = torch.nn.ModuleList(models)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        vectors = [torch.nn.functional.normalize(inference_embedding(m, x), dim=1) for m in self.members]
        return torch.cat(vectors, dim=1) / math.sqrt(len(vectors))


def export_checkpoints(
    checkpoints: Sequence[Path | str],
    out: Path | str,
    version: str = "1",
    notes: str = "",
    weights: Sequence[float] | None = None,
) -> Path:
    """One silhouette checkpoint, or one or more skeleton checkpoints (an ensemble), to `out`; or several
    silhouette models, checkpoints (.pt) or exported (.onnx), as one ensemble (`compose_silhouette_ensemble`,
    weighted by `weights` when given: silhouette ensembles only)."""
    if not checkpoints:
        raise GaitidError("give at least one checkpoint to export")
    if len(checkpoints) > 1 and any(str(c).endswith(".onnx") for c in checkpoints):
        return _silhouette_ensemble(checkpoints, Path(out), version, notes, weights)
    loaded = [load_checkpoint(c) for c in checkpoints]
    skeleton = [isinstance(cfg, SkeletonModelConfig) for _, cfg, _ in loaded]
    if weights is not None and (len(checkpoints) < 2 or any(skeleton)):
        raise GaitidError("member weights are for an ensemble of silhouette models")
    if all(skeleton):
        return _export_skeleton(loaded, Path(out), version, notes)
    if len(checkpoints) > 1:
        if any(skeleton):
            raise GaitidError("an ensemble's members must all be silhouette models or all skeleton models")
        return _silhouette_ensemble(checkpoints, Path(out), version, notes, weights)
    return _export_silhouette(loaded[0], Path(out), version, notes)


def _silhouette_ensemble(
    members: Sequence[Path | str], out: Path, version: str, notes: str, weights: Sequence[float] | None
) -> Path:
    """Export the checkpoints among `members` (beside `out`, removed after), then compose them all."""
    import tempfile

    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.is_dir() else None) as tmp:
        onnx_paths = []
        for i, member in enumerate(members):
            if str(member).endswith(".onnx"):
                onnx_paths.append(Path(member))
            else:
                onnx_paths.append(export_silhouette_onnx(member, Path(tmp) / f"member{i}.onnx", version="0"))
        return compose_silhouette_ensemble(onnx_paths, out, version, notes, weights)


def compose_silhouette_ensemble(
    members: Sequence[Path | str],
    out: Path | str,
    version: str = "1",
    notes: str = "",
    weights: Sequence[float] | None = None,
) -> Path:
    """One ONNX silhouette model from several exported ones (same input spec): every member's vector
    unit-normalised, scaled by the root of its weight and concatenated, so that the squared distance between two
    vectors is the members' squared distances weighted. Weights are relative (normalised to sum 1); none means
    equal, 1/sqrt(members) each, as `_Ensemble` does for skeleton models. The name is the members' when they
    share one (else "silhouette_ensemble"); the members' names, versions, weights and configs are kept in the
    metadata."""
    import numpy as np
    import onnx
    from onnx import compose, helper, numpy_helper

    out = Path(out)
    shares = member_shares(weights, len(members))
    models = [_load_onnx(m) for m in members]
    metas = _member_metadata(members, models)
    shared = models[0].graph.input[0]
    nodes, initializers, units = [], [], []
    for i, model in enumerate(models):
        graph = compose.add_prefix(model, f"member{i}/").graph
        for node in graph.node:
            node.input[:] = [shared.name if name == graph.input[0].name else name for name in node.input]
        nodes.extend(graph.node)
        initializers.extend(graph.initializer)
        nodes.append(helper.make_node("LpNormalization", [graph.output[0].name], [f"member{i}/unit"], axis=1, p=2))
        initializers.append(numpy_helper.from_array(np.array(math.sqrt(shares[i]), np.float32), f"member{i}/scale"))
        units.append(f"member{i}/scaled")
        nodes.append(helper.make_node("Mul", [f"member{i}/unit", f"member{i}/scale"], [units[-1]]))
    nodes.append(helper.make_node("Concat", units, ["embedding"], axis=1))
    dim = sum(int(m["gaitid_dim"]) for m in metas)
    output = helper.make_tensor_value_info("embedding", onnx.TensorProto.FLOAT, ["batch", dim])
    graph = helper.make_graph(nodes, "gaitid_silhouette_ensemble", [shared], [output], initializers)
    ensemble = helper.make_model(graph, opset_imports=models[0].opset_import)
    ensemble.ir_version = models[0].ir_version
    names = {m["gaitid_model"] for m in metas}
    info = {
        "gaitid_model": names.pop() if len(names) == 1 else "silhouette_ensemble",
        "gaitid_version": version,
        "gaitid_input": metas[0]["gaitid_input"],
        "gaitid_config": json.dumps({"members": [json.loads(m.get("gaitid_config", "{}")) for m in metas],
                                     "member_weights": shares}),
        "gaitid_members": ", ".join(f"{m['gaitid_model']}/{m.get('gaitid_version', '0')}" for m in metas),
        "gaitid_member_weights": ",".join(f"{share:.6g}" for share in shares),
        "gaitid_train_step": ",".join(m.get("gaitid_train_step", "") for m in metas),
        "gaitid_notes": notes,
        "gaitid_dim": str(dim),
    }
    subjects = [recorded_train_subjects(Path(member), meta) for member, meta in zip(members, metas)]
    if all(subjects):
        info["gaitid_train_subjects"] = ",".join(dict.fromkeys(subjects))  # each set once, in members' order
    for key, value in info.items():
        entry = ensemble.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(ensemble)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(ensemble, str(out))
    return out


def member_shares(weights: Sequence[float] | None, count: int) -> list[float]:
    """Relative member weights as shares of one; equal shares when none are given."""
    if weights is None:
        return [1.0 / count] * count
    if len(weights) != count:
        raise GaitidError(f"{len(weights)} member weights for {count} members: give one weight per member")
    if not all(math.isfinite(w) and w > 0 for w in weights):
        raise GaitidError(f"member weights must be positive numbers, got {list(weights)}")
    total = float(sum(weights))
    return [float(w) / total for w in weights]


def _load_onnx(path: Path | str):  # type: ignore[no-untyped-def]
    import onnx

    try:
        return onnx.load(str(path))
    except Exception as error:  # protobuf's DecodeError, and whatever else a damaged file raises
        raise GaitidError(f"{path}: not an ONNX model ({type(error).__name__}: {error})") from None


def _member_metadata(members: Sequence[Path | str], models: list) -> list[dict[str, str]]:
    """Each member's gaitid metadata, once it is checked that all are silhouette models of one input."""
    metas = [{e.key: e.value for e in m.metadata_props} for m in models]
    for member, meta, model in zip(members, metas, models):
        if "gaitid_input" not in meta or meta.get("gaitid_modality", "silhouette") != "silhouette":
            raise GaitidError(f"{member}: not a gaitid silhouette model (exported by gaitid export)")
        if len(model.graph.input) != 1 or len(model.graph.output) != 1:
            raise GaitidError(f"{member}: a silhouette model has one input and one output")
    if len({m["gaitid_input"] for m in metas}) != 1:
        raise GaitidError("the members of an ensemble must take the same input (their input specs differ)")
    return metas


def export_silhouette_onnx(checkpoint: Path | str, out: Path | str, version: str = "1", notes: str = "") -> Path:
    """Write the embedding part of a silhouette checkpoint's model to `out`; returns `out`."""
    return _export_silhouette(load_checkpoint(checkpoint), Path(out), version, notes)


def export_silhouette_model(model: torch.nn.Module, out: Path | str, version: str = "1", notes: str = "") -> Path:
    """Write the embedding part of a silhouette model in memory (one of the registry's, with its `cfg`), as
    its checkpoint would be written, at step 0: an untrained network's cost or accuracy, for instance."""
    return _export_silhouette((model.eval(), model.cfg, {"step": 0}), Path(out), version, notes)


Loaded = tuple[torch.nn.Module, Any, dict[str, Any]]


def _export_silhouette(loaded: Loaded, out: Path, version: str, notes: str) -> Path:
    model, cfg, meta = loaded
    if isinstance(cfg, SkeletonModelConfig):
        raise GaitidError(f"{cfg.name} is a skeleton model, not a silhouette one")
    spec = cfg.input
    example = torch.zeros(1, 20, spec.channels, spec.height, spec.width)
    info = {
        "gaitid_model": cfg.name,
        "gaitid_version": version,
        "gaitid_input": json.dumps(dataclasses.asdict(spec)),
        "gaitid_config": json.dumps(dataclasses.asdict(cfg)),
        "gaitid_train_step": str(meta.get("step", "")),
        "gaitid_notes": notes,
    }
    subjects = casia_train_subjects(meta)
    if subjects:
        info["gaitid_train_subjects"] = subjects
    return _write_onnx(_SilhouetteEmbedding(model).eval(), example, "silhouettes", out, info)


def export_skeleton_onnx(
    checkpoint: Path | str | Sequence[Path | str], out: Path | str, version: str = "1", notes: str = ""
) -> Path:
    """Write the embedding part of a skeleton checkpoint to `out`; returns `out`. Several checkpoints (of
    models with the same input spec) make one ensemble model (`_Ensemble`)."""
    paths = [checkpoint] if isinstance(checkpoint, (str, Path)) else list(checkpoint)
    return _export_skeleton([load_checkpoint(p) for p in paths], Path(out), version, notes)


def _export_skeleton(loaded: list[Loaded], out: Path, version: str, notes: str) -> Path:
    if not all(isinstance(cfg, SkeletonModelConfig) for _, cfg, _ in loaded):
        raise GaitidError("a skeleton model (or ensemble) is exported from skeleton checkpoints only")
    specs = {cfg.spec for _, cfg, _ in loaded}
    if len(specs) != 1:
        raise GaitidError("the members of an ensemble must take the same input (their SkeletonSpec differs)")
    (spec,) = specs
    if len(loaded) == 1:
        model, cfg, meta = loaded[0]
        wrapper: torch.nn.Module = _SkeletonEmbedding(model).eval()
        name, config, step = cfg.name, json.dumps(dataclasses.asdict(cfg)), str(meta["step"])
    else:
        wrapper = _Ensemble([m for m, _, _ in loaded]).eval()
        name = ENSEMBLE_NAME
        config = json.dumps({"members": [dataclasses.asdict(cfg) for _, cfg, _ in loaded]})
        step = ",".join(str(meta["step"]) for _, _, meta in loaded)
    info = {
        "gaitid_model": name,
        "gaitid_version": version,
        "gaitid_modality": "skeleton",
        "gaitid_skeleton_spec": spec.to_json(),
        "gaitid_config": config,
        "gaitid_train_step": step,
        "gaitid_notes": notes,
    }
    return _write_onnx(wrapper, torch.zeros(1, 30, *spec.frame_shape), "features", out, info)


def _write_onnx(wrapper: torch.nn.Module, example: torch.Tensor, input_name: str, out: Path, info: dict) -> Path:
    """Trace `wrapper` on `example` (batch x frames x ...; both axes dynamic) into `out`, with `info` and
    the embedding's dimension as metadata, checked by onnx."""
    import onnx

    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        dim = int(wrapper(example).shape[1])
        torch.onnx.export(
            wrapper,
            (example,),
            str(out),
            input_names=[input_name],
            output_names=["embedding"],
            dynamic_axes={input_name: {0: "batch", 1: "frames"}, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    proto = onnx.load(str(out))
    for key, value in {**info, "gaitid_dim": str(dim)}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out))
    if not out.is_file():
        raise GaitidError(f"export failed: {out}")
    return out
