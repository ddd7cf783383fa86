"""Regions of interest: the rotated square crops the landmark model looks at, and their affine maps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Roi:
    """A square region of a frame, in pixels: its centre, side length and rotation (radians, clockwise on
    screen as BlazePose defines it; 0 means the person stands upright)."""

    center_x: float
    center_y: float
    size: float
    rotation: float = 0.0

    def crop_to_frame(self, crop_size: int) -> np.ndarray:
        """(2, 3) affine map from crop pixel coordinates (0..crop_size) to frame pixel coordinates."""
        scale = self.size / crop_size
        cos, sin = math.cos(self.rotation) * scale, math.sin(self.rotation) * scale
        half = crop_size / 2.0
        # frame = centre + R(rotation) * (crop - half) * scale; with y pointing down, R turns clockwise.
        return np.array(
            [
                [cos, -sin, self.center_x - cos * half + sin * half],
                [sin, cos, self.center_y - sin * half - cos * half],
            ],
            np.float64,
        )

    def frame_bounds(self) -> tuple[float, float, float, float]:
        """Axis-aligned bounds (x1, y1, x2, y2) of the rotated square."""
        half = self.size / 2.0
        reach = half * (abs(math.cos(self.rotation)) + abs(math.sin(self.rotation)))
        return (self.center_x - reach, self.center_y - reach, self.center_x + reach, self.center_y + reach)


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (n, 2) points through a (2, 3) affine matrix."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def roi_from_alignment(start: np.ndarray, end: np.ndarray, scale: float = 1.25) -> Roi:
    """BlazePose's ROI from two alignment points: the body centre and a point on the circle around the body.

    The square is centred on `start`, its side is twice the distance between the points times `scale`, and
    it is rotated so that `end` lies straight above `start`.
    """
    dx, dy = float(end[0] - start[0]), float(end[1] - start[1])
    rotation = normalize_radians(math.pi / 2 - math.atan2(-dy, dx))
    size = 2.0 * math.hypot(dx, dy) * scale
    return Roi(float(start[0]), float(start[1]), size, rotation)


def roi_from_box(box: np.ndarray, scale: float = 1.25) -> Roi:
    """An upright square ROI around a person box: centred on the box, side the box's longer side times scale."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return Roi((x1 + x2) / 2.0, (y1 + y2) / 2.0, max(x2 - x1, y2 - y1) * scale, 0.0)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (n, 4) and (m, 4) boxes; returns (n, m)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression; returns the kept indices, best first."""
    order = list(np.argsort(-np.asarray(scores)))
    keep: list[int] = []
    while order:
        best = order.pop(0)
        keep.append(int(best))
        if order:
            overlaps = box_iou(boxes[best], boxes[order])[0]
            order = [i for i, o in zip(order, overlaps) if o < iou_threshold]
    return keep
