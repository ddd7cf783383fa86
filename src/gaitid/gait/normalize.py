"""Silhouette normalisation: the one function that turns a person's mask into the model's 64 x 44 input.

Training data (CASIA-B in OpenGait's pretreatment) was made the same way, so a mask from HumanPoseNN
(float probability in [0, 1], or uint8 0/255 or 0/1, any size) and a training frame meet the model alike:

1. threshold at one half and crop to the foreground's bounding box (its full height: head to feet);
2. resize to `height` rows keeping the aspect ratio;
3. centre horizontally on the column that splits the silhouette's mass in half (OpenGait's centre),
   padding with background where the window runs past the crop;
4. threshold the resized grey values at one half again: the output is 0/1, as the training frames are.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from gaitid.errors import GaitidError

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
