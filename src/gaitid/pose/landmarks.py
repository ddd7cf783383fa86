"""BlazePose's landmark model: from a region of the frame to 33 keypoints, joint heatmaps and a silhouette.

The model sees a 256 x 256 crop of the ROI (rotated so the person stands upright) and returns, in crop
coordinates: 39 landmarks (the 33 keypoints and two alignment points that give the next frame's ROI) with
visibility and presence logits, a pose-presence score, 64 x 64 heatmaps and a 256 x 256 segmentation.
Everything is mapped back to frame pixels here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from gaitid.pose.geometry import Roi, apply_affine, roi_from_alignment
from gaitid.pose.runtime import default_threads, load_tflite
from gaitid.types import NUM_KEYPOINTS

LANDMARK_MODELS = ("lite", "full", "heavy")
CROP_SIZE = 256
HEATMAP_STRIDE = 4  # 256-pixel crop / 64-pixel heatmap


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


@dataclass(frozen=True)
class Landmarks:
    """The landmark model's answer for one ROI, in frame pixels.

    keypoints: (33, 3) x, y, visibility. presence: how sure the model is that a person fills the ROI.
    heatmaps: (33, 64, 64) with heatmap_to_frame (2, 3). mask: (h, w) probability over mask_box.
    next_roi: where the same person should be looked for in the next frame.
    """

    keypoints: np.ndarray
    presence: float
    heatmaps: np.ndarray
    heatmap_to_frame: np.ndarray
    mask: np.ndarray
    mask_box: np.ndarray
    next_roi: Roi


class BlazePoseLandmarker:
    """Runs one of BlazePose's landmark models (lite, full or heavy) on ROIs of a frame.

    workers: how many ROIs run at once (`run_many`), each on its own interpreter. With several people, they
    are spread over the cores, one thread each; a lone person gets an interpreter with `workers` threads
    (on an idle 2-core machine the full model's call takes 5.7 ms on two threads against 10.6 on one).
    threads: threads inside each interpreter, for one person as for several (default: as just said).
    """

    def __init__(self, model: str = "full", threads: int | None = None, workers: int | None = None) -> None:
        if model not in LANDMARK_MODELS:
            raise ValueError(f"unknown landmark model {model!r}; choose one of {', '.join(LANDMARK_MODELS)}")
        self.model = model
        self.workers = workers if workers is not None else default_threads()
        self.threads = threads if threads is not None else (1 if self.workers > 1 else None)
        self.solo_threads = threads if threads is not None else self.workers
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None

    def _interpreter(self, threads: int | None) -> tuple[Any, int, dict[str, int]]:
        """This thread's interpreter with `threads` threads (TFLite interpreters must not be shared between
        threads)."""
        states = getattr(self._local, "states", None)
        if states is None:
            states = self._local.states = {}
        state = states.get(threads)
        if state is None:
            interpreter = load_tflite(f"pose_landmark_{self.model}.tflite", threads)
            outputs = {o["name"]: o["index"] for o in interpreter.get_output_details()}
            state = states[threads] = (interpreter, interpreter.get_input_details()[0]["index"], outputs)
        return state

    def run_many(self, image: np.ndarray, rois: Sequence[Roi]) -> list[Landmarks]:
        """`run` on each ROI, spread over the workers; results in the order of the ROIs."""
        if len(rois) == 1:
            return [self._run(image, rois[0], self.solo_threads)]
        if self.workers <= 1 or not rois:
            return [self.run(image, roi) for roi in rois]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="landmarks")
        return list(self._pool.map(lambda roi: self.run(image, roi), rois))

    def crop(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, np.ndarray]:
        """The (256, 256, 3) uint8 crop the model sees, and its crop-to-frame affine map."""
        to_frame = roi.crop_to_frame(CROP_SIZE)
        crop = cv2.warpAffine(
            image,
            to_frame,
            (CROP_SIZE, CROP_SIZE),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
        return crop, to_frame

    def run(self, image: np.ndarray, roi: Roi) -> Landmarks:
        """The pose of the person in `roi`, on this thread's interpreter of `threads` threads."""
        return self._run(image, roi, self.threads)

    def _run(self, image: np.ndarray, roi: Roi, threads: int | None) -> Landmarks:
        crop, to_frame = self.crop(image, roi)
        interpreter, input_index, outputs = self._interpreter(threads)
        interpreter.set_tensor(input_index, (crop.astype(np.float32) / 255.0)[None])
        interpreter.invoke()
        out = {name: interpreter.get_tensor(index)[0] for name, index in outputs.items()}

        raw = out["Identity"].reshape(-1, 5)  # 39 rows: x, y, z, visibility logit, presence logit
        points = apply_affine(to_frame, raw[:, :2].astype(np.float64))
        keypoints = np.empty((NUM_KEYPOINTS, 3), np.float32)
        keypoints[:, :2] = points[:NUM_KEYPOINTS]
        keypoints[:, 2] = _sigmoid(raw[:NUM_KEYPOINTS, 3])
        presence = float(np.asarray(out["Identity_1"]).ravel()[0])
        next_roi = roi_from_alignment(points[NUM_KEYPOINTS], points[NUM_KEYPOINTS + 1])

        heatmaps = np.ascontiguousarray(out["Identity_3"][:, :, :NUM_KEYPOINTS].transpose(2, 0, 1))
        stride = np.array([[HEATMAP_STRIDE, 0, HEATMAP_STRIDE / 2], [0, HEATMAP_STRIDE, HEATMAP_STRIDE / 2], [0, 0, 1]])
        heatmap_to_frame = (to_frame @ stride).astype(np.float32)

        mask, mask_box = self._mask_in_frame(_sigmoid(out["Identity_2"][:, :, 0]), roi, to_frame, image.shape)
        return Landmarks(keypoints, presence, heatmaps, heatmap_to_frame, mask, mask_box, next_roi)

    @staticmethod
    def _mask_in_frame(
        crop_mask: np.ndarray, roi: Roi, to_frame: np.ndarray, shape: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Warp the crop's segmentation into the axis-aligned part of the frame the ROI covers."""
        height, width = shape[:2]
        bx1, by1, bx2, by2 = roi.frame_bounds()
        x1, y1 = max(0, int(np.floor(bx1))), max(0, int(np.floor(by1)))
        x2, y2 = min(width, int(np.ceil(bx2))), min(height, int(np.ceil(by2)))
        if x2 <= x1 or y2 <= y1:
            return np.zeros((0, 0), np.float32), np.array([0, 0, 0, 0], np.int32)
        to_local = to_frame.copy()
        to_local[:, 2] -= (x1, y1)
        mask = cv2.warpAffine(
            crop_mask.astype(np.float32),
            to_local,
            (x2 - x1, y2 - y1),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )
        return mask, np.array([x1, y1, x2, y2], np.int32)
