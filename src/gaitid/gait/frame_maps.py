"""A set model run frame by frame: each frame's feature maps computed once, every window pooled from them.

The silhouette set models (`GaitSetStrips` without a motion path) see a window's frames only through a max
over time of their per-frame feature maps. The pipeline's windows overlap (20 frames every 10), so
embedding each window whole runs the per-frame network twice on every frame. `split_at_set_pooling` cuts
an exported model's graph where its members pool over time: a frame part (silhouettes -> each member's
per-frame maps) and a window part (each member's pooled map -> the vector). `FrameMaps` runs the frame
part only on frames it has not seen recently, takes the max over the window itself and runs the window
part: the vector of the whole graph, bit for bit (a max is a max), for 0.6 of the gait stage's cost on vtest
(benchmarks/RESULTS-pipeline.md, "Each frame through the gait network once").

A model that reads its frames any other way (a motion path, a recurrent network) has no such cut, and is
run whole.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from gaitid.errors import GaitidError

#: Feature maps of recent frames kept, in bytes: about 790 frames of version 8 (three members' 128 x 8 x 6
#: floats and the frame itself, 85 kB a frame), the last windows of some 40 walkers in view at once.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class SetModelParts:
    """An exported set model cut at its set pooling. frames: serialised ONNX, (1, T, C, H, W) silhouettes ->
    one (T, c, h, w) map per member; window: serialised ONNX, the members' pooled maps (1, c, h, w), fed
    under the names `pooled` in the frame part's output order -> the model's vector."""

    frames: bytes
    window: bytes
    pooled: tuple[str, ...]


def split_at_set_pooling(model: bytes | Any) -> SetModelParts | None:
    """Cut a gait model (serialised, or its parsed ModelProto) where each member max-pools its per-frame maps
    over time; None when the graph has no such cut (a member that reads its frames otherwise, or not a set
    model at all)."""
    proto = onnx_protos()
    if isinstance(model, bytes):
        model = proto.ModelProto.FromString(model)
    graph = model.graph
    producer = {name: node for node in graph.node for name in node.output}
    maps, pooled = [], []
    for node in graph.node:
        attributes = {a.name: a for a in node.attribute}
        source = producer.get(node.input[0]) if node.input else None
        if (
            node.op_type == "ReduceMax"
            and "axes" in attributes
            and list(attributes["axes"].ints) == [1]
            and "keepdims" in attributes
            and attributes["keepdims"].i == 0
            and source is not None
            and source.op_type == "Reshape"  # (N * T, c, h, w) -> (N, T, c, h, w), then the max over T
        ):
            maps.append(source.input[0])
            pooled.append(node.output[0])
    if not maps or len(graph.input) != 1 or len(graph.output) != 1:
        return None
    try:
        frames = _subgraph(proto, model, [graph.input[0].name], maps)
        window = _subgraph(proto, model, pooled, [graph.output[0].name])
    except _NoCut:
        return None
    return SetModelParts(frames.SerializeToString(), window.SerializeToString(), tuple(pooled))


def onnx_protos() -> ModuleType:
    """ONNX's protobuf messages (ModelProto, ...), without importing the onnx package: its import pulls in
    ml_dtypes and took 0.47 s of an encoder's 0.7 s load; its generated messages alone take 0.03 s."""
    loaded = sys.modules.get("onnx.onnx_ml_pb2")
    if loaded is not None:
        return loaded
    name = "gaitid_onnx_ml_pb2"
    if name not in sys.modules:
        package = importlib.util.find_spec("onnx")  # finds the installed package without running it
        if package is None or not package.submodule_search_locations:
            raise GaitidError("the onnx package is missing: reinstall gaitid (python3 -m pip install gaitid)")
        source = Path(next(iter(package.submodule_search_locations))) / "onnx_ml_pb2.py"
        spec = importlib.util.spec_from_file_location(name, source)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


class _NoCut(Exception):
    """The outputs asked for need a tensor that is neither computed from the given inputs nor a weight."""


def _subgraph(proto: ModuleType, model: Any, inputs: list[str], outputs: list[str]) -> Any:
    """The nodes of `model` that compute `outputs` from `inputs` alone, as a model of its own."""
    graph = model.graph
    producer = {name: node for node in graph.node for name in node.output}
    weights = {w.name for w in graph.initializer}
    needed: set[int] = set()
    pending, visited = list(outputs), set(inputs)
    while pending:
        name = pending.pop()
        if name in visited or name in weights or not name:
            continue
        visited.add(name)
        node = producer.get(name)
        if node is None:  # a graph input other than `inputs`
            raise _NoCut(name)
        if id(node) not in needed:
            needed.add(id(node))
            pending.extend(node.input)
    part = proto.ModelProto()
    part.CopyFrom(model)  # the opsets, IR version and metadata
    del part.graph.node[:], part.graph.initializer[:], part.graph.input[:], part.graph.output[:]
    del part.graph.value_info[:]
    nodes = [node for node in graph.node if id(node) in needed]
    part.graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    part.graph.initializer.extend(w for w in graph.initializer if w.name in used)
    for names, field in ((inputs, part.graph.input), (outputs, part.graph.output)):
        for name in names:
            tensor = field.add()
            tensor.name = name
            tensor.type.tensor_type.elem_type = proto.TensorProto.FLOAT
    return part


class FrameMaps:
    """Runs a set model cut by `split_at_set_pooling`, remembering the per-frame maps of the frames it has
    seen last (up to `max_bytes`), keyed by the frame's exact values, so that a frame shared by overlapping
    windows goes through the frame network once. Safe to share between threads.

    open_session: serialised ONNX -> an onnxruntime session (the encoder's, with its threads and options).
    """

    def __init__(
        self, parts: SetModelParts, open_session: Callable[[bytes], Any], max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._frames = open_session(parts.frames)
        self._window = open_session(parts.window)
        self._frames_input = self._frames.get_inputs()[0].name
        self._pooled = parts.pooled
        self.max_bytes = max_bytes
        self._maps: OrderedDict[bytes, tuple[np.ndarray, ...]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        #: frames run through the frame network so far (what the memory saved is measured by)
        self.frames_run = 0

    def __call__(self, silhouettes: np.ndarray) -> np.ndarray:
        """(T, C, H, W) float32 model input of one window -> its (1, dim) vector, as the whole graph gives."""
        keys = [frame.tobytes() for frame in silhouettes]
        with self._lock:
            known = {key: self._maps[key] for key in keys if key in self._maps}
            for key in known:
                self._maps.move_to_end(key)
        missing: dict[bytes, int] = {}  # each unseen frame once: its first index in the window
        for i, key in enumerate(keys):
            if key not in known:
                missing.setdefault(key, i)
        if missing:
            batch = np.ascontiguousarray(silhouettes[list(missing.values())])[None]
            outputs = self._frames.run(None, {self._frames_input: batch})
            computed = {key: tuple(out[i] for out in outputs) for i, key in enumerate(missing)}
            known.update(computed)
            self._remember(computed)
        per_frame = [known[key] for key in keys]
        feed = {
            name: np.max(np.stack([maps[m] for maps in per_frame]), axis=0)[None]
            for m, name in enumerate(self._pooled)
        }
        (vector,) = self._window.run(None, feed)
        return vector

    def _remember(self, computed: dict[bytes, tuple[np.ndarray, ...]]) -> None:
        with self._lock:
            self.frames_run += len(computed)
            for key, maps in computed.items():
                if key in self._maps:
                    continue
                # copies: a row of the batch's output would keep the whole batch alive
                self._maps[key] = tuple(np.array(m) for m in maps)
                self._bytes += _size(key, self._maps[key])
            while self._bytes > self.max_bytes and self._maps:
                old_key, old_maps = self._maps.popitem(last=False)
                self._bytes -= _size(old_key, old_maps)


def _size(key: bytes, maps: tuple[np.ndarray, ...]) -> int:
    return len(key) + sum(m.nbytes for m in maps)
