"""GaitEncoder: a walk's silhouettes -> one identification vector, with onnxruntime (no torch needed).

The weights are an ONNX file exported by `gaitid.training.export`; its metadata names the model, its version
and its input spec, so the preprocessing here cannot disagree with training. The default weights ship in
`gaitid/gait/weights/` (see WEIGHTS.md there).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from gaitid.errors import GaitidError
from gaitid.gait.frame_maps import FrameMaps, onnx_protos, split_at_set_pooling
from gaitid.gait.normalize import as_training_direction, normalize_sequence
from gaitid.gait.spec import InputSpec
from gaitid.types import Embedding, Walk

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_MODEL = "gaitset_strips_s"
#: The training subjects of the shipped files exported before exports recorded them (WEIGHTS.md says the
#: same); a file that records its own wins.
SHIPPED_TRAIN_SUBJECTS = {"gaitnn_lstm": "001-074"}  # gaitset_strips_s records its own since version 7


def shipped_weights(name: str = DEFAULT_MODEL, folder: Path = WEIGHTS_DIR, kind: str = "gait") -> Path:
    """Path of the shipped ONNX weights of model `name` in `folder`."""
    path = folder / f"{name}.onnx"
    if not path.is_file():
        available = sorted(p.stem for p in folder.glob("*.onnx"))
        raise GaitidError(f"no shipped {kind} weights named {name!r}; available: {available}")
    return path


def recorded_train_subjects(path: Path, meta: dict[str, str]) -> str:
    """The CASIA-B training subjects of the model at `path` with ONNX metadata `meta` ("001-074"): as the file
    records them, or, for a shipped file exported before exports recorded them, as WEIGHTS.md does; "" when
    unknown."""
    shipped = SHIPPED_TRAIN_SUBJECTS.get(meta.get("gaitid_model", ""), "")
    return meta.get("gaitid_train_subjects") or (shipped if path.resolve().parent == WEIGHTS_DIR else "")


def open_session(path: Path, threads: int, model: bytes | None = None):  # type: ignore[no-untyped-def]
    """An onnxruntime session on the CPU for an exported gait model (the file at `path`, or `model`, a part
    of it, when given); a clear error if it is not one."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle threads sleep, as HumanPoseNN's do (gaitid.pose.runtime.load_onnx); with the pipeline's one
    # thread there is no idle thread to spin, with more they would take cores the pose models need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(model or str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types
        raise GaitidError(f"{path}: not a usable ONNX model ({error})".splitlines()[0]) from None


def _parse(path: Path, model: bytes):  # type: ignore[no-untyped-def]
    """A serialised ONNX model's ModelProto (no session needed to read its metadata or cut it)."""
    try:
        return onnx_protos().ModelProto.FromString(model)
    except Exception as error:  # protobuf's DecodeError, and whatever else a damaged file raises
        raise GaitidError(f"{path}: not a usable ONNX model ({type(error).__name__}: {error})".splitlines()[0]) from None


class GaitEncoder:
    """Embeds walks with an exported gait model.

    weights: an .onnx file from `gaitid export`, or a shipped model's name; default: the shipped default.
    threads: onnxruntime intra-op threads.
    """

    def __init__(self, weights: str | Path | None = None, threads: int = 1) -> None:
        path = Path(weights) if weights is not None and str(weights).endswith(".onnx") else shipped_weights(
            str(weights) if weights is not None else DEFAULT_MODEL
        )
        if not path.is_file():
            raise GaitidError(f"gait weights not found: {path}")
        model = path.read_bytes()  # once, for the metadata and the cut below
        proto = _parse(path, model)
        meta = {entry.key: entry.value for entry in proto.metadata_props}
        if "gaitid_model" not in meta:
            raise GaitidError(f"{path}: not a gaitid gait model (no gaitid metadata)")
        if "gaitid_input" not in meta:
            kind = meta.get("gaitid_modality", "another kind of")
            raise GaitidError(f"{path}: a {kind} model; this needs a silhouette model (gaitid export of one)")
        self.path = path
        self.name = meta["gaitid_model"]
        self.version = meta.get("gaitid_version", "0")
        spec = json.loads(meta["gaitid_input"])
        self.spec = InputSpec(tuple(spec["channels_names"]), int(spec["height"]), int(spec["width"]))
        self.dim = int(meta["gaitid_dim"])
        #: the CASIA-B training subjects ("001-074"; `recorded_train_subjects`), "" when unknown
        self.train_subjects = recorded_train_subjects(path, meta)
        self._threads, self._input = threads, proto.graph.input[0].name
        parts = split_at_set_pooling(proto)
        #: each frame through the network once, when the model is a set model (`gaitid.gait.frame_maps`);
        #: the whole graph's session is then never opened
        self._frame_maps = None if parts is None else FrameMaps(parts, lambda part: open_session(path, threads, part))
        if self._frame_maps is None:
            _ = self._session  # opened now, so a file onnxruntime cannot run is refused here, not at the first walk

    @functools.cached_property
    def _session(self):  # type: ignore[no-untyped-def]
        """The whole graph's session: what runs a model without a cut (and the tests' reference for one with);
        read from the file again rather than keeping its bytes for a session a cut model never opens."""
        return open_session(self.path, self._threads)

    @property
    def model(self) -> str:
        """Name and version, as recorded in every Embedding this encoder makes."""
        return f"{self.name}/{self.version}"

    @property
    def silhouette_size(self) -> tuple[int, int]:
        return self.spec.height, self.spec.width

    def embed(self, walk: Walk | np.ndarray) -> Embedding:
        """A walk's silhouettes -> its Embedding. A bare array is taken as the walk's silhouettes.

        silhouettes: (T, H, W) 0/1 values (float or uint8) already normalised to the spec's H x W (see
        `gaitid.gait.normalize`), or (T, C, H, W) with the spec's C input channels. When the walk has
        keypoints, a walker crossing the image against the training data's direction is mirrored first
        (`as_training_direction`); bare silhouettes are taken as they are.
        """
        silhouettes = walk.silhouettes if isinstance(walk, Walk) else walk
        keypoints = walk.keypoints if isinstance(walk, Walk) else None
        if silhouettes is None:
            raise GaitidError("this walk has no silhouettes: the silhouette model needs them")
        x = np.asarray(silhouettes)
        s = self.spec
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1:] != (s.channels, s.height, s.width) or x.shape[0] == 0:
            raise GaitidError(
                f"expected silhouettes of shape (T, {s.height}, {s.width}) or (T, {s.channels}, {s.height}, "
                f"{s.width}) with T >= 1, got {np.asarray(silhouettes).shape}"
            )
        x = as_training_direction(x.astype(np.float32), keypoints)
        if x.max(initial=0) > 1:
            x = x / 255.0
        if self._frame_maps is not None:
            vector = self._frame_maps(np.ascontiguousarray(x))
        else:
            (vector,) = self._session.run(None, {self._input: x[None]})
        return Embedding(vector=vector[0].astype(np.float32), model=self.model, num_frames=int(x.shape[0]))

    def embed_masks(self, masks: Iterable[np.ndarray], keypoints: np.ndarray | None = None) -> Embedding:
        """Raw person masks of one walk (any size; float [0, 1] or uint8) -> Embedding, normalising each
        with the same function the training data went through. keypoints: (T, 33, 3) of the walk's frames
        in the frame's pixels, to turn the walk to the training data's direction (see `embed`)."""
        silhouettes = normalize_sequence(masks, self.spec.height, self.spec.width)
        return self.embed(silhouettes if keypoints is None else as_training_direction(silhouettes, keypoints))
