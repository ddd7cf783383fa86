"""SkeletonEncoder: a walk's HumanPoseNN keypoints -> one identification vector, with onnxruntime (no torch).

The weights are an ONNX file written by `gaitid.training.export.export_skeleton_onnx`; its metadata holds
the model's `SkeletonSpec`, so the preprocessing here is the training one (`skeleton_features`). The
default weights ship in `gaitid/gait/weights/skeleton/` (see README.md there).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gaitid.errors import GaitidError
from gaitid.gait.encoder import open_session, shipped_weights
from gaitid.gait.skeleton import SkeletonSpec, embed_in_windows, resample_times, skeleton_features
from gaitid.types import Embedding, Track, Walk

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights" / "skeleton"
DEFAULT_SKELETON_MODEL = "skelnn_ensemble"
#: Fewer frames (at the model's frame rate) than this with a valid skeleton: not usable for gait.
MIN_FRAMES = 8


def shipped_skeleton_weights(name: str = DEFAULT_SKELETON_MODEL) -> Path:
    return shipped_weights(name, WEIGHTS_DIR, "skeleton")


class SkeletonEncoder:
    """Embeds walks from their 2-D keypoints with an exported skeleton gait model.

    weights: an .onnx file, or a shipped model's name; default: the shipped default. threads: onnxruntime
    intra-op threads.
    """

    def __init__(self, weights: str | Path | None = None, threads: int = 1) -> None:
        if weights is not None and str(weights).endswith(".onnx"):
            path = Path(weights)
        else:
            path = shipped_skeleton_weights(str(weights) if weights is not None else DEFAULT_SKELETON_MODEL)
        if not path.is_file():
            raise GaitidError(f"skeleton weights not found: {path}")
        self._session = open_session(path, threads)
        meta = self._session.get_modelmeta().custom_metadata_map
        if meta.get("gaitid_modality") != "skeleton" or "gaitid_skeleton_spec" not in meta:
            raise GaitidError(f"{path}: not a gaitid skeleton gait model")
        self.path = path
        self.name = meta["gaitid_model"]
        self.version = meta.get("gaitid_version", "0")
        self.spec = SkeletonSpec.from_json(meta["gaitid_skeleton_spec"])
        self.dim = int(meta["gaitid_dim"])
        self._input = self._session.get_inputs()[0].name

    @property
    def model(self) -> str:
        return f"{self.name}/{self.version}"

    silhouette_size = None  # it reads keypoints only

    def embed(self, walk: Walk) -> Embedding:
        """A walk's keypoints (and times, when it has them) -> its Embedding (see `embed_keypoints`)."""
        if walk.keypoints is None:
            raise GaitidError("this walk has no keypoints: the skeleton model needs them")
        return self.embed_keypoints(walk.keypoints, walk.times)

    def embed_features(self, features: np.ndarray) -> np.ndarray:
        """Network input (T, *spec.frame_shape) -> (dim,) vector (the mean over windows of spec.window
        frames when the spec sets a window)."""
        x = np.asarray(features, np.float32)
        if x.ndim < 2 or x.shape[1:] != self.spec.frame_shape or len(x) == 0:
            raise GaitidError(f"expected features of shape (T, {self.spec.frame_shape}), got {x.shape}")
        return embed_in_windows(self._run, x, self.spec.window).astype(np.float32)

    def _run(self, x: np.ndarray) -> np.ndarray:
        (vector,) = self._session.run(None, {self._input: np.ascontiguousarray(x)[None]})
        return vector[0]

    def embed_keypoints(self, keypoints: np.ndarray, times: Sequence[float] | None = None) -> Embedding:
        """One walk's keypoints (T, 33, 3) x, y, confidence in frame pixels -> Embedding.

        times: the frames' timestamps in seconds; the walk is resampled to the model's frame rate. Without
        times the keypoints must already be at that rate. Frames with fewer than 6 keypoints of the
        spec's minimum confidence are left out; GaitidError when fewer than MIN_FRAMES frames remain.
        """
        kp = np.asarray(keypoints, np.float32)
        if kp.ndim != 3 or kp.shape[1:] != (33, 3):
            raise GaitidError(f"expected keypoints of shape (T, 33, 3), got {kp.shape}")
        if times is not None:
            if len(times) != len(kp):
                raise GaitidError(f"{len(times)} timestamps for {len(kp)} frames")
            kp = kp[resample_times(times, self.spec.fps)]
        usable = (kp[..., 2] >= self.spec.min_confidence).sum(1) >= 6
        if int(usable.sum()) < MIN_FRAMES:
            raise GaitidError(f"too few frames with a usable skeleton ({int(usable.sum())} < {MIN_FRAMES})")
        vector = self.embed_features(skeleton_features(kp[usable], self.spec))
        return Embedding(vector=vector, model=self.model, num_frames=int(usable.sum()))

    def embed_track(self, track: Track) -> Embedding:
        """A tracked pedestrian (HumanPoseNN people over time) -> Embedding."""
        if len(track) == 0:
            raise GaitidError("empty track")
        keypoints = np.stack([p.keypoints for p in track.people])
        return self.embed_keypoints(keypoints, track.times)
