"""Person detectors: where in a frame are people, and where should the landmark model look.

Two detectors ship:
- `CenterNetDetector` (the default): a CenterNet object detector with a MobileNetV3 backbone trained on
  COCO, of which only the person class is used. It finds every person, small and distant pedestrians
  included (see benchmarks/RESULTS.md for its recall on hand-labelled frames of vtest.avi).
- `BlazePoseDetector`: BlazePose's own detector. It keys on the face and upper body and is tuned for one
  person close to the camera, so it misses most pedestrians of a surveillance view; it is kept for
  comparison and for close-up, single-person footage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import cv2
import numpy as np

from gaitid.pose.geometry import Roi, nms, roi_from_alignment, roi_from_box
from gaitid.pose.runtime import load_onnx, load_tflite


@dataclass(frozen=True)
class Detection:
    """A person found by a detector: box (4,) x1, y1, x2, y2 in frame pixels, score in [0, 1], and the region
    the landmark model should look at."""

    box: np.ndarray
    score: float
    roi: Roi


class PersonDetector(Protocol):
    def detect(self, image: np.ndarray) -> list[Detection]:
        """Find the people in an (H, W, 3) uint8 RGB image."""
        ...


class CenterNetDetector:
    """COCO CenterNet (MobileNetV3) on the frame letterboxed to 512 x 512; keeps the person class.

    score_threshold: the lowest detection score kept. The landmark model's presence score filters again,
    so this can sit low enough for small, partly hidden pedestrians.
    """

    model_file = "person_centernet.onnx"
    input_size = 512
    person_class = 0

    def __init__(self, score_threshold: float = 0.25, nms_iou: float = 0.6, threads: int | None = None) -> None:
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.threads = threads

    @cached_property
    def _session(self):  # type: ignore[no-untyped-def]
        return load_onnx(self.model_file, self.threads)

    def detect(self, image: np.ndarray) -> list[Detection]:
        canvas, scale, (pad_x, pad_y) = _letterbox(image, self.input_size)
        heat, sides = self._session.run(None, {"tower_0/images:0": canvas.astype(np.float32)[None]})
        boxes, scores = centernet_peaks(heat[0, :, :, self.person_class], sides[0], self.score_threshold)
        height, width = image.shape[:2]
        boxes = (boxes - np.array([pad_x, pad_y, pad_x, pad_y], np.float32)) / scale
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        valid = (boxes[:, 2] - boxes[:, 0] > 2) & (boxes[:, 3] - boxes[:, 1] > 4)
        boxes, scores = boxes[valid], scores[valid]
        return [
            Detection(box=boxes[i], score=float(scores[i]), roi=roi_from_box(boxes[i]))
            for i in nms(boxes, scores, self.nms_iou)
        ]


def centernet_peaks(
    heat: np.ndarray, sides: np.ndarray, threshold: float, top: int = 100, stride: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """CenterNet's boxes of one class: heat (rows, columns), the class's heat map after the sigmoid; sides
    (rows, columns, 4), each cell's distances to the box's left, top, right and bottom in input pixels.
    A box is a cell whose heat is the largest of its 3 x 3 neighbourhood, among the `top` highest, at
    least `threshold`; centred on the cell's corner (x * stride, y * stride). Returns boxes (n, 4) x1, y1,
    x2, y2 in input pixels and their scores, best first. (The converted graph decoded the same way inside
    itself, over all 80 classes at once, which cost a tenth of the detector's time.)"""
    rows, columns = heat.shape
    padded = np.pad(heat, 1, constant_values=-np.inf)
    pooled = np.max([padded[dy : dy + rows, dx : dx + columns] for dy in range(3) for dx in range(3)], axis=0)
    peaks = np.where(heat == pooled, heat, 0.0).ravel()
    best = np.argsort(-peaks, kind="stable")[:top]
    best = best[peaks[best] >= threshold]
    y, x = np.divmod(best, columns)
    d = sides.reshape(-1, 4)[best]
    boxes = np.stack([stride * x - d[:, 0], stride * y - d[:, 1], stride * x + d[:, 2], stride * y + d[:, 3]], axis=1)
    return boxes.astype(np.float32), peaks[best].astype(np.float32)


def _letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Resize keeping the aspect ratio and centre on a black square; returns the canvas, the scale and the
    padding (x, y), so that input = frame * scale + padding."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    canvas = np.zeros((size, size, 3), np.uint8)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return canvas, scale, (pad_x, pad_y)


def _blazepose_anchors() -> np.ndarray:
    """(2254, 2) anchor centres of BlazePose's detector, in [0, 1]: SSD anchors on 28, 14 and 7 cell grids
    with 2, 2 and 6 anchors per cell (all of size 1, so only the centres matter)."""
    centres = []
    for cells, per_cell in ((28, 2), (14, 2), (7, 6)):
        grid = (np.arange(cells) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        points = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(points, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


class BlazePoseDetector:
    """BlazePose's person detector (224 x 224, letterboxed). Each detection carries two alignment points,
    the body centre and a point on the circle around the body, from which the ROI follows."""

    model_file = "pose_detection.tflite"
    input_size = 224

    def __init__(self, score_threshold: float = 0.5, nms_iou: float = 0.3, threads: int | None = None) -> None:
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.threads = threads
        self._anchors = _blazepose_anchors()

    @cached_property
    def _interpreter(self):  # type: ignore[no-untyped-def]
        return load_tflite(self.model_file, self.threads)

    def detect(self, image: np.ndarray) -> list[Detection]:
        canvas, scale, (pad_x, pad_y) = _letterbox(image, self.input_size)

        interpreter = self._interpreter
        inp = interpreter.get_input_details()[0]
        interpreter.set_tensor(inp["index"], (canvas.astype(np.float32) / 127.5 - 1.0)[None])
        interpreter.invoke()
        outputs = {o["name"]: interpreter.get_tensor(o["index"])[0] for o in interpreter.get_output_details()}
        raw_boxes, raw_scores = outputs["Identity"], outputs["Identity_1"][:, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -60, 60)))
        chosen = np.where(scores >= self.score_threshold)[0]
        if chosen.size == 0:
            return []

        def to_frame(values: np.ndarray) -> np.ndarray:
            # values: (n, 2) in letterboxed input pixels -> frame pixels
            return (values - np.array([pad_x, pad_y])) / scale

        anchors = self._anchors[chosen] * self.input_size
        raw = raw_boxes[chosen]
        centres = to_frame(raw[:, 0:2] + anchors)
        sizes = raw[:, 2:4] / scale
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
        keypoints = [to_frame(raw[:, 4 + 2 * k : 6 + 2 * k] + anchors) for k in range(4)]
        detections = []
        for i in nms(boxes, scores[chosen], self.nms_iou):
            roi = roi_from_alignment(keypoints[0][i], keypoints[1][i])
            if roi.size < 4 or not math.isfinite(roi.size):
                continue
            detections.append(Detection(box=boxes[i].astype(np.float32), score=float(scores[chosen][i]), roi=roi))
        return detections

