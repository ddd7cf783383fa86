"""Silhouettes degraded the way the pipeline degrades them, for training (issue 15, item 2).

CASIA-B's silhouettes come from background subtraction of walkers about 100-200 px tall, filmed level. The
pipeline's come from HumanPoseNN's masks of walkers that may be 60 px tall, filmed from above, with
feet or a head cut off by the mask or the frame. One random degradation per clip (a camera and a walker
keep their look over a walk), applied to every frame of it:

- `height`: the walker re-rendered at this many rows and scaled back (small, distant walkers: blocky,
  rounded edges, thin limbs lost);
- `blur` and `threshold`: the edge blurred (Gaussian sigma in pixels of the 64-row frame) and cut at this
  level (under one half the silhouette grows, over it it shrinks: a mask's edge placed differently);
- `cut_top` / `cut_bottom`: with probability `cut` each, this fraction of the height lost at the head /
  feet (the renormalisation then scales the rest up, as it does for a real cut);
- `stretch`: the width scaled by this factor (camera elevation, lens and aspect).

Every frame then goes through `gaitid.gait.normalize.normalize_silhouette`, the function inference uses, so
a degraded frame is cropped, scaled and centred exactly like a pipeline frame.

Independently of those, `erase` is the share of clips in which one horizontal band (`erase_height`, a
fraction of the frame's rows, at a random height) is set to background in every normalised frame: a
regulariser (random erasing) rather than a copy of the pipeline, which teaches the strips not to lean on
one part of the body that a coat or a bag may change. The frame is not normalised again after it.

`probability` and `erase` 0 (the defaults) leave training as it was, drawing no random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import cv2
import numpy as np

from gaitid.errors import GaitidError
from gaitid.gait.normalize import normalize_silhouette

Range = tuple[float, float]


@dataclass(frozen=True)
class SilhouetteAugment:
    """Ranges (uniform) of the per-clip degradations; see the module docstring."""

    probability: float = 0.0  # share of clips degraded; 0: off
    height: Range = (24.0, 64.0)
    blur: Range = (0.0, 1.2)
    threshold: Range = (0.35, 0.65)
    cut: float = 0.25
    cut_top: Range = (0.0, 0.06)
    cut_bottom: Range = (0.0, 0.12)
    stretch: Range = (0.85, 1.15)
    erase: float = 0.0  # share of clips with a band erased; 0: off
    erase_height: Range = (0.1, 0.25)

    def __post_init__(self) -> None:
        if not all(0.0 <= value <= 1.0 for value in (self.probability, self.cut, self.erase)):
            raise GaitidError("silhouette augment: probability, cut and erase must be between 0 and 1")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple) and (len(value) != 2 or value[0] > value[1]):
                raise GaitidError(f"silhouette augment: {f.name} must be a range [low, high], got {list(value)}")
        if self.height[0] < 4 or self.threshold[0] <= 0 or self.threshold[1] >= 1 or self.stretch[0] <= 0:
            raise GaitidError("silhouette augment: height >= 4, threshold inside (0, 1), stretch > 0")
        if self.cut_top[1] + self.cut_bottom[1] >= 0.5:
            raise GaitidError("silhouette augment: cut_top and cut_bottom together must stay under half the height")
        if self.erase_height[0] <= 0 or self.erase_height[1] >= 0.5:
            raise GaitidError("silhouette augment: erase_height must lie inside (0, 0.5) of the height")

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any]) -> SilhouetteAugment:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise GaitidError(f"config [data] augment: unknown silhouette setting(s) {unknown}")
        ranges = {f.name for f in fields(cls) if isinstance(f.default, tuple)}
        values: dict[str, Any] = {}
        for key, value in overrides.items():
            is_range = isinstance(value, (list, tuple))
            if is_range != (key in ranges) or (is_range and len(value) != 2):
                kind = "a range [low, high]" if key in ranges else "a number"
                raise GaitidError(f"config [data] augment: {key} must be {kind}, got {value!r}")
            try:
                values[key] = tuple(float(x) for x in value) if is_range else float(value)
            except (TypeError, ValueError):
                raise GaitidError(f"config [data] augment: {key} must hold numbers, got {value!r}") from None
        return cls(**values)


@dataclass(frozen=True)
class Degradation:
    """One clip's draw from a SilhouetteAugment."""

    height: float
    blur: float
    threshold: float
    cut_top: float
    cut_bottom: float
    stretch: float


def draw(augment: SilhouetteAugment, rng: np.random.Generator) -> Degradation | None:
    """One clip's degradation, or None (the clip is left as it is)."""
    if augment.probability <= 0.0 or rng.random() >= augment.probability:
        return None
    top = rng.uniform(*augment.cut_top) if rng.random() < augment.cut else 0.0
    bottom = rng.uniform(*augment.cut_bottom) if rng.random() < augment.cut else 0.0
    return Degradation(
        height=float(rng.uniform(*augment.height)),
        blur=float(rng.uniform(*augment.blur)),
        threshold=float(rng.uniform(*augment.threshold)),
        cut_top=float(top),
        cut_bottom=float(bottom),
        stretch=float(rng.uniform(*augment.stretch)),
    )


def degrade_frame(frame: np.ndarray, d: Degradation) -> np.ndarray:
    """One (H, W) silhouette of 0/1 -> the degraded one, normalised as inference does; the frame itself
    when nothing of it is left."""
    h, w = frame.shape
    soft = frame.astype(np.float32)
    rows = np.flatnonzero(soft.any(axis=1))
    if rows.size:
        span = rows[-1] - rows[0] + 1
        soft[: rows[0] + int(round(d.cut_top * span))] = 0.0
        soft[rows[-1] + 1 - int(round(d.cut_bottom * span)) :] = 0.0
    small_h = max(4, int(round(d.height)))
    if small_h < h:
        small = cv2.resize(soft, (max(2, int(round(w * small_h / h))), small_h), interpolation=cv2.INTER_AREA)
        soft = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if d.blur > 0.05:
        soft = cv2.GaussianBlur(soft, (0, 0), d.blur)
    cut = (soft >= d.threshold).astype(np.float32)
    new_w = max(1, int(round(w * d.stretch)))
    if new_w != w:
        cut = cv2.resize(cut, (new_w, h), interpolation=cv2.INTER_LINEAR)
    out = normalize_silhouette(cut, h, w)
    return frame if out is None else out.astype(frame.dtype)


def degrade_clip(frames: np.ndarray, augment: SilhouetteAugment, rng: np.random.Generator) -> np.ndarray:
    """(n, H, W) frames of one clip -> the same degraded alike (or untouched, as `draw` says), then a band
    erased in all of them (or not, as `erase` says)."""
    d = draw(augment, rng)
    if d is not None:
        frames = np.stack([degrade_frame(f, d) for f in frames])
    return erase_band(frames, augment, rng)


def erase_band(frames: np.ndarray, augment: SilhouetteAugment, rng: np.random.Generator) -> np.ndarray:
    """With probability `augment.erase`, a copy of (n, H, W) `frames` with the same horizontal band of
    rows set to 0 in every frame; otherwise `frames` itself."""
    if augment.erase <= 0.0 or rng.random() >= augment.erase:
        return frames
    height = frames.shape[1]
    rows = max(1, int(round(rng.uniform(*augment.erase_height) * height)))
    top = int(rng.integers(0, height - rows + 1))
    out = frames.copy()
    out[:, top : top + rows] = 0
    return out
