"""Silhouette normalisation: the one function that turns a person's mask into the model's 64 x 44 input.

Training data (CASIA-B in OpenGait's pretreatment) was made the same way, so a mask from HumanPoseNN
(float probability in [0, 1], or uint8 0/255 or 0/1, any size) and a training frame meet the model alike:

1. threshold at one half and crop to the foreground's bounding box (its full height: head to feet);
2. resize to `height` rows keeping the aspect ratio;
3. centre horizontally on the column that splits the silhouette's mass in half (OpenGait's centre),
   padding with background where the window runs past the crop;
4. threshold the resized grey values at one half again: the output is 0/1, as the training frames are.

A walk's direction is made the training data's too (`as_training_direction`): CASIA-B's walkers all cross
the image from right to left, and a model trained on them does not recognise a walker crossing the other
way (benchmarks/GAIT_RESULTS.md), so such a walk's silhouettes are mirrored.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from gaitid.errors import GaitidError
from gaitid.pose.layouts import KEYPOINT

HEIGHT = 64
WIDTH = 44


def _as_unit_float(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise GaitidError(f"a silhouette mask must be 2-D (height, width), got shape {mask.shape}")
    if mask.dtype == np.bool_:
        return mask.astype(np.float32)
    if mask.dtype == np.uint8:
        return mask.astype(np.float32) / (255.0 if mask.max(initial=0) > 1 else 1.0)
    if not np.issubdtype(mask.dtype, np.floating):
        raise GaitidError(f"a silhouette mask must be float in [0, 1], bool or uint8, got {mask.dtype}")
    return np.clip(mask.astype(np.float32), 0.0, 1.0)


def normalize_silhouette(mask: np.ndarray, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray | None:
    """One mask -> (height, width) float32 of 0/1, or None when the mask has no foreground.

    The input is not modified.
    """
    m = _as_unit_float(mask)
    fg = m >= 0.5
    rows = np.flatnonzero(fg.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(fg.any(axis=0))
    crop = m[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    new_w = max(1, int(round(w * height / h)))
    interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    resized = cv2.resize(crop, (new_w, height), interpolation=interp)
    mass = resized.sum(axis=0).cumsum()
    centre = int(np.searchsorted(mass, mass[-1] / 2.0, side="right"))
    out = np.zeros((height, width), np.float32)
    left = centre - width // 2
    src0, src1 = max(left, 0), min(left + width, new_w)
    if src1 > src0:
        out[:, src0 - left : src1 - left] = resized[:, src0:src1]
    return (out >= 0.5).astype(np.float32)


def normalize_sequence(masks: Iterable[np.ndarray], height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """Masks of one walk -> (T, height, width) float32 of 0/1; frames with no foreground are dropped."""
    frames = [f for f in (normalize_silhouette(m, height, width) for m in masks) if f is not None]
    if not frames:
        raise GaitidError("no silhouette in any frame of the sequence")
    return np.stack(frames)


# CASIA-B's cameras stand on one side of the walkers' path, so at every view its walkers drift the same way
# across the image: to the left (-1). The silhouette models were trained on nothing else.
TRAINING_DRIFT = -1
MIN_DRIFT = 0.1  # body heights over a walk: less is no sideways direction (toward or away from the camera)
# body heights the toes lie ahead of the heels: less is no facing direction. Without drift (a treadmill, a
# walker on the spot or turning) the feet say which way a walker faces; on vtest's small walkers filmed
# from above they agree with the drift on 98 % of the windows where both are clear (GAIT_RESULTS.md).
MIN_FACING = 0.04
TORSO = tuple(KEYPOINT[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
FEET = tuple((KEYPOINT[f"{side}_heel"], KEYPOINT[f"{side}_foot_index"]) for side in ("left", "right"))
MIN_CONFIDENCE = 0.3


def _checked(keypoints: np.ndarray) -> np.ndarray:
    k = np.asarray(keypoints, np.float64)
    if k.ndim != 3 or k.shape[1:] != (len(KEYPOINT), 3):
        raise GaitidError(f"keypoints must be (T, {len(KEYPOINT)}, 3), got shape {k.shape}")
    return k


def _body_height(k: np.ndarray, confident: np.ndarray, frames: np.ndarray) -> float:
    """The median over `frames` of the confident keypoints' vertical extent, in pixels."""
    y = np.where(confident[frames], k[frames, :, 1], np.nan)
    return float(np.median(np.nanmax(y, axis=1) - np.nanmin(y, axis=1)))


def sideways_drift(keypoints: np.ndarray) -> float:
    """How far a walker moves across the image over a walk, in body heights: positive to the right.

    keypoints: (T, 33, 3) x, y, confidence in frame pixels (BlazePose layout). The drift is the least-squares
    slope of the torso's mean x over the frames times their span, divided by the median body height (the
    confident keypoints' vertical extent); 0.0 when fewer than two frames show the torso.
    """
    k = _checked(keypoints)
    confident = k[:, :, 2] >= MIN_CONFIDENCE
    torso = confident[:, TORSO]
    frames = np.flatnonzero(torso.any(axis=1))
    if len(frames) < 2:
        return 0.0
    centre = (k[frames][:, TORSO, 0] * torso[frames]).sum(axis=1) / torso[frames].sum(axis=1)
    height = _body_height(k, confident, frames)
    if not height > 0:
        return 0.0
    t = frames - frames.mean()
    slope = float((t * (centre - centre.mean())).sum() / (t * t).sum())
    return slope * float(frames[-1] - frames[0]) / height


def facing(keypoints: np.ndarray) -> float:
    """Which way a walker's feet point, in body heights: the median over a walk's frames of the toe's x minus
    the heel's x (both feet, wherever both points are confident); positive to the right, 0.0 when no foot
    is seen. keypoints as for `sideways_drift`."""
    k = _checked(keypoints)
    confident = k[:, :, 2] >= MIN_CONFIDENCE
    seen = [confident[:, heel] & confident[:, toe] for heel, toe in FEET]
    lengths = np.concatenate([k[s, toe, 0] - k[s, heel, 0] for s, (heel, toe) in zip(seen, FEET)])
    if not len(lengths):
        return 0.0
    height = _body_height(k, confident, np.flatnonzero(confident.any(axis=1)))
    return float(np.median(lengths)) / height if height > 0 else 0.0


def walking_direction(keypoints: np.ndarray) -> int:
    """Which way a walker goes across the image: +1 to the right, -1 to the left, 0 unknown. By the sideways
    drift where it is clear (over `MIN_DRIFT`); otherwise by the way the feet point, where that is clear
    (over `MIN_FACING`)."""
    drift = sideways_drift(keypoints)
    if abs(drift) > MIN_DRIFT:
        return 1 if drift > 0 else -1
    pointing = facing(keypoints)
    if abs(pointing) > MIN_FACING:
        return 1 if pointing > 0 else -1
    return 0


def as_training_direction(silhouettes: np.ndarray, keypoints: np.ndarray | None) -> np.ndarray:
    """A walk's normalised silhouettes (..., H, W), mirrored left-right when its keypoints show the walker
    going against the training data's direction (`TRAINING_DRIFT`; `walking_direction`: across the image,
    or facing that way where it does not cross); as they are otherwise, or without keypoints."""
    if keypoints is None or len(keypoints) == 0:
        return silhouettes
    if walking_direction(keypoints) == -TRAINING_DRIFT:
        return mirror_silhouettes(silhouettes)
    return silhouettes


def mirror_silhouettes(silhouettes: np.ndarray) -> np.ndarray:
    """Normalised silhouettes (..., H, W) as `normalize_silhouette` makes them from the mirrored masks: flipped
    left-right, and for an even W moved one column right, so that the column splitting the mass in half
    stays at W // 2 (a plain flip moves it to W // 2 - 1 when W is even)."""
    flipped = silhouettes[..., ::-1]
    if silhouettes.shape[-1] % 2:
        return np.ascontiguousarray(flipped)
    out = np.zeros_like(silhouettes)
    out[..., 1:] = flipped[..., :-1]
    return out
