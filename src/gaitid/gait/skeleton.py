"""Skeleton gait inputs: HumanPoseNN keypoints -> normalised keypoints or skeleton heatmaps, per frame.

This is the one function pair that both training (keypoints projected from Kinect walks) and inference
(`Person.keypoints` from HumanPoseNN) go through, so the two cannot disagree. No torch here.

The gait skeleton is 15 of BlazePose's 33 keypoints (`GAIT_KEYPOINTS`): the nose and, on each side, the
shoulder, elbow, wrist, hip, knee, ankle and foot tip. These are the keypoints that the Kinect skeletons
of the training data also provide (see `gaitid.datasets.kinect.KINECT_TO_BLAZEPOSE`); the other 18
BlazePose keypoints (eyes, ears, mouth, fingers, heels) are not used.

Normalisation (`normalize_keypoints`), per frame t of a walk:
  - a keypoint is *valid* when its confidence is at least `min_confidence` (default 0.3); invalid
    keypoints become (0, 0, 0) and the networks see their confidence 0;
  - position: the origin is the midpoint of the two hips (one hip when only one is valid; the previous
    or next frame's origin when neither is);
  - scale: one unit is the torso length |mid-shoulder - mid-hip|, the median over a window of
    `scale_window` frames around t, so that a walker approaching the camera keeps a steady size but the
    per-frame noise of the torso length does not jitter the whole skeleton.
The result is (T, 15, 3): x and y in torso units (x to the right, y down, as in the image) and the
confidence.

Heatmaps (`render_heatmaps`, SkeletonGait-style two-channel maps): channel 0 holds a Gaussian of
`sigma_joint` pixels at every valid keypoint, channel 1 a Gaussian of `sigma_limb` pixels around every
limb (`GAIT_LIMBS`) whose two ends are valid; each scaled by the confidence and combined by max, values
in [0, 1]. The map is `height` x `width` pixels (default 32 x 24); the hip midpoint lands at column
width / 2 and at row `origin_row` (default 0.44 * height), and one torso unit is `pixels_per_unit`
(default height / 4.6) pixels, which leaves room for the head (about 1.4-1.8 units above the hips) and the
feet (about 2-2.3 units below).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from gaitid.pose.layouts import KEYPOINT

#: BlazePose names of the gait skeleton's keypoints, in the order of the feature arrays.
GAIT_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_foot_index",
    "right_foot_index",
)
#: Their rows in a (33, 3) BlazePose keypoint array.
GAIT_KEYPOINTS: tuple[int, ...] = tuple(KEYPOINT[n] for n in GAIT_KEYPOINT_NAMES)
_G = {n: i for i, n in enumerate(GAIT_KEYPOINT_NAMES)}
#: Limbs of the gait skeleton as pairs of rows of the (15, 3) feature array.
GAIT_LIMBS: tuple[tuple[int, int], ...] = tuple(
    (_G[a], _G[b])
    for a, b in (
        ("nose", "left_shoulder"),
        ("nose", "right_shoulder"),
        ("left_shoulder", "right_shoulder"),
        ("left_shoulder", "left_elbow"),
        ("left_elbow", "left_wrist"),
        ("right_shoulder", "right_elbow"),
        ("right_elbow", "right_wrist"),
        ("left_shoulder", "left_hip"),
        ("right_shoulder", "right_hip"),
        ("left_hip", "right_hip"),
        ("left_hip", "left_knee"),
        ("left_knee", "left_ankle"),
        ("left_ankle", "left_foot_index"),
        ("right_hip", "right_knee"),
        ("right_knee", "right_ankle"),
        ("right_ankle", "right_foot_index"),
    )
)
NUM_GAIT_KEYPOINTS = len(GAIT_KEYPOINTS)
# Left/right partner of every row (for mirror augmentation and estimator left-right swaps).
GAIT_FLIP: tuple[int, ...] = tuple(
    _G[n.replace("left_", "#").replace("right_", "left_").replace("#", "right_")] for n in GAIT_KEYPOINT_NAMES
)

_LS, _RS, _LH, _RH = _G["left_shoulder"], _G["right_shoulder"], _G["left_hip"], _G["right_hip"]


@dataclass(frozen=True)
class SkeletonSpec:
    """What a skeleton gait model takes as input; it defines the preprocessing, for training and inference.

    features: "keypoints" (per frame the (15, 3) normalised keypoints, flattened to 45 numbers) or
        "heatmaps" (per frame 2 x height x width joint and limb maps).
    fps: the frame rate the model was trained at; tracks are resampled to it by their timestamps.
    min_confidence, scale_window: see `normalize_keypoints`.
    height, width, origin_row, pixels_per_unit, sigma_joint, sigma_limb: the heatmaps (`render_heatmaps`);
        origin_row and pixels_per_unit default (0) to 0.44 * height and height / 4.6.
    window: 0 embeds a walk in one pass; n > 0 embeds windows of n frames (half overlapping) and averages
        their vectors, which keeps inference on long walks like training on clips of n frames.
    """

    features: str = "keypoints"
    fps: float = 15.0
    min_confidence: float = 0.3
    scale_window: int = 15
    height: int = 32
    width: int = 24
    origin_row: float = 0.0
    pixels_per_unit: float = 0.0
    sigma_joint: float = 1.0
    sigma_limb: float = 0.8
    window: int = 0

    def __post_init__(self) -> None:
        if self.features not in ("keypoints", "heatmaps"):
            raise ValueError(f"features must be 'keypoints' or 'heatmaps', got {self.features!r}")
        if self.fps <= 0 or self.height < 4 or self.width < 4 or self.scale_window < 1:
            raise ValueError(f"invalid skeleton spec {self}")

    @property
    def row0(self) -> float:
        return self.origin_row or 0.44 * self.height

    @property
    def unit(self) -> float:
        return self.pixels_per_unit or self.height / 4.6

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """Shape of one frame's input to the network."""
        if self.features == "keypoints":
            return (NUM_GAIT_KEYPOINTS * 3,)
        return (2, self.height, self.width)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SkeletonSpec:
        return cls(**json.loads(text))


def gait_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """(..., 33, 3) BlazePose keypoints -> (..., 15, 3) the gait skeleton's rows."""
    keypoints = np.asarray(keypoints)
    if keypoints.shape[-2:] != (33, 3):
        raise ValueError(f"expected BlazePose keypoints of shape (..., 33, 3), got {keypoints.shape}")
    return keypoints[..., list(GAIT_KEYPOINTS), :]


def _fill_gaps(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Replace rows of (T, D) values where ok is False by the nearest ok row (previous one first)."""
    if ok.all() or not ok.any():
        return values
    idx = np.where(ok, np.arange(len(ok)), -1)
    prev = np.maximum.accumulate(idx)
    nxt_idx = np.where(ok, np.arange(len(ok)), len(ok))
    nxt = np.minimum.accumulate(nxt_idx[::-1])[::-1]
    src = np.where(prev >= 0, prev, nxt)
    return values[src]


def _pair_mid(points: np.ndarray, valid: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Midpoint of rows a and b per frame (or the one valid row); and whether any was valid."""
    wa, wb = valid[:, a].astype(np.float64), valid[:, b].astype(np.float64)
    total = wa + wb
    mid = (points[:, a] * wa[:, None] + points[:, b] * wb[:, None]) / np.maximum(total, 1)[:, None]
    return mid, total > 0


def normalize_keypoints(
    keypoints: np.ndarray, min_confidence: float = 0.3, scale_window: int = 15
) -> np.ndarray:
    """One walk's keypoints in frame pixels -> (T, 15, 3) normalised gait keypoints (see the module doc).

    keypoints: (T, 33, 3) BlazePose x, y, confidence (as `Person.keypoints`), or (T, 15, 3) already
    reduced to the gait skeleton. Frames with no valid keypoint at all come out as zeros.
    """
    kp = np.asarray(keypoints, np.float64)
    if kp.ndim != 3 or kp.shape[2] != 3 or kp.shape[1] not in (33, NUM_GAIT_KEYPOINTS):
        raise ValueError(f"expected keypoints of shape (T, 33, 3) or (T, 15, 3), got {kp.shape}")
    if kp.shape[1] == 33:
        kp = gait_keypoints(kp)
    t = kp.shape[0]
    out = np.zeros((t, NUM_GAIT_KEYPOINTS, 3), np.float32)
    if t == 0:
        return out
    valid = (kp[..., 2] >= min_confidence) & np.isfinite(kp[..., :2]).all(-1)
    xy = np.where(valid[..., None], kp[..., :2], 0.0)
    hip, hip_ok = _pair_mid(xy, valid, _LH, _RH)
    shoulder, sh_ok = _pair_mid(xy, valid, _LS, _RS)
    any_ok = valid.any(1)
    if not hip_ok.any():  # no hip anywhere: the mean of the valid keypoints
        hip = (xy * valid[..., None]).sum(1) / np.maximum(valid.sum(1), 1)[:, None]
        hip_ok = any_ok
    hip = _fill_gaps(hip, hip_ok)
    torso = np.linalg.norm(shoulder - hip, axis=1)
    torso_ok = sh_ok & hip_ok & (torso > 1e-6)
    if torso_ok.any():
        fallback = float(np.median(torso[torso_ok]))
    else:  # no torso anywhere: a third of the keypoints' vertical extent
        ys = np.where(valid, xy[..., 1], np.inf)
        extent = np.where(any_ok, np.where(valid, xy[..., 1], -np.inf).max(1) - ys.min(1), np.nan)
        good = np.isfinite(extent) & (extent > 1e-6)
        fallback = float(np.median(extent[good]) / 3) if good.any() else 1.0
    half = scale_window // 2
    padded = np.concatenate([np.full(half, np.nan), np.where(torso_ok, torso, np.nan), np.full(half, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)  # (T, 2 * half + 1)
    some = np.isfinite(windows).any(1)
    scale = np.full(t, fallback)
    if some.any():
        scale[some] = np.nanmedian(windows[some], axis=1)
    rel = (xy - hip[:, None, :]) / scale[:, None, None]
    out[..., :2] = np.where(valid[..., None], rel, 0.0)
    out[..., 2] = np.where(valid, np.clip(kp[..., 2], 0, 1), 0.0)
    out[~any_ok] = 0
    return out


def render_heatmaps(
    normalized: np.ndarray, spec: SkeletonSpec = SkeletonSpec(features="heatmaps")
) -> np.ndarray:
    """(T, 15, 3) normalised keypoints -> (T, 2, height, width) float32 joint and limb maps in [0, 1]."""
    kp = np.asarray(normalized, np.float32)
    if kp.ndim != 3 or kp.shape[1:] != (NUM_GAIT_KEYPOINTS, 3):
        raise ValueError(f"expected normalised keypoints of shape (T, 15, 3), got {kp.shape}")
    h, w = spec.height, spec.width
    col = kp[..., 0] * spec.unit + w / 2.0 - 0.5  # pixel centres at integer coordinates
    row = kp[..., 1] * spec.unit + spec.row0 - 0.5
    conf = kp[..., 2]
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    # joints: a separable Gaussian per keypoint, (T, J, h, w), max over the keypoints
    gy = np.exp(-((ys[None, None] - row[..., None, None]) ** 2) / (2 * spec.sigma_joint**2))
    gx = np.exp(-((xs[None, None] - col[..., None, None]) ** 2) / (2 * spec.sigma_joint**2))
    joint_map = (gy * (gx * conf[..., None, None])).max(axis=1)
    # limbs: Gaussian of the distance to each segment, (T, L, h, w), max over the limbs
    a = np.array([i for i, _ in GAIT_LIMBS])
    b = np.array([j for _, j in GAIT_LIMBS])
    ax, ay = col[:, a, None, None], row[:, a, None, None]  # (T, L, 1, 1)
    vx, vy = col[:, b, None, None] - ax, row[:, b, None, None] - ay
    length2 = np.maximum(vx * vx + vy * vy, 1e-6)
    px = xs[None, None] - ax  # (T, L, 1, w)
    py = ys[None, None] - ay  # (T, L, h, 1)
    u = px * vx + py * vy
    u /= length2
    np.clip(u, 0, 1, out=u)
    ex = px - u * vx
    ey = py - u * vy
    ex *= ex
    ey *= ey
    ex += ey
    ex *= -1.0 / (2 * spec.sigma_limb**2)
    np.exp(ex, out=ex)
    ex *= np.minimum(conf[:, a], conf[:, b])[..., None, None]
    limb_map = ex.max(axis=1)
    return np.stack([joint_map, limb_map], axis=1).astype(np.float32)


def resample_times(times: Sequence[float], fps: float) -> np.ndarray:
    """Indices into a track with timestamps `times` (seconds, increasing) that resample it to `fps`: the
    nearest frame to every 1/fps tick from the first to the last timestamp."""
    times = np.asarray(times, np.float64)
    if len(times) == 0:
        return np.zeros(0, np.int64)
    ticks = np.arange(times[0], times[-1] + 0.5 / fps, 1.0 / fps)
    idx = np.clip(np.searchsorted(times, ticks), 1, max(len(times) - 1, 1))
    left = np.clip(idx - 1, 0, len(times) - 1)
    right = np.clip(idx, 0, len(times) - 1)
    choose_left = np.abs(times[left] - ticks) <= np.abs(times[right] - ticks)
    return np.where(choose_left, left, right).astype(np.int64)


def window_starts(num_frames: int, window: int) -> list[int]:
    """Start frames of the half-overlapping windows of `window` frames covering a walk (one window, the
    whole walk, when window is 0 or the walk is not longer than it)."""
    if window <= 0 or num_frames <= window:
        return [0]
    step = max(window // 2, 1)
    starts = list(range(0, num_frames - window + 1, step))
    if starts[-1] != num_frames - window:
        starts.append(num_frames - window)
    return starts


def embed_in_windows(
    embed: Callable[[np.ndarray], np.ndarray], features: np.ndarray, window: int
) -> np.ndarray:
    """Mean of `embed` over the windows of `features` (see `window_starts`); `embed` maps (n, ...) -> (d,)."""
    n = window if window > 0 else len(features)
    return np.mean([embed(features[s : s + n]) for s in window_starts(len(features), window)], axis=0)


def skeleton_features(keypoints: np.ndarray, spec: SkeletonSpec) -> np.ndarray:
    """One walk's keypoints (T, 33, 3) or (T, 15, 3) in pixels, already at spec.fps -> the network input
    (T, *spec.frame_shape) float32: the same function for training and inference."""
    norm = normalize_keypoints(keypoints, spec.min_confidence, spec.scale_window)
    if spec.features == "keypoints":
        return norm.reshape(len(norm), -1)
    return render_heatmaps(norm, spec)
