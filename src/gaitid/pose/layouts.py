"""Keypoint layouts: BlazePose's 33 keypoints (what HumanPoseNN produces) and COCO-17 (what most of the
literature and other estimators speak), with the mapping between them and the skeleton edges for drawing.

Every COCO-17 keypoint has a BlazePose keypoint of the same name and meaning, so the mapping is a
selection of 17 of the 33 rows. BlazePose's extra points (inner and outer eye corners, mouth corners,
pinky, index and thumb knuckles, heels and foot tips) have no COCO counterpart.
"""

from __future__ import annotations

import numpy as np

BLAZEPOSE_33: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)

COCO_17: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
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
)

# Row i of a COCO-17 array is row BLAZEPOSE_TO_COCO17[i] of the BlazePose array.
BLAZEPOSE_TO_COCO17: tuple[int, ...] = tuple(BLAZEPOSE_33.index(name) for name in COCO_17)

KEYPOINT = {name: i for i, name in enumerate(BLAZEPOSE_33)}

# Limbs of the BlazePose skeleton as pairs of keypoint indices, for drawing and for skeleton maps.
BLAZEPOSE_EDGES: tuple[tuple[int, int], ...] = tuple(
    (KEYPOINT[a], KEYPOINT[b])
    for a, b in (
        ("nose", "left_eye"),
        ("nose", "right_eye"),
        ("left_eye", "left_ear"),
        ("right_eye", "right_ear"),
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
        ("left_ankle", "left_heel"),
        ("left_heel", "left_foot_index"),
        ("left_ankle", "left_foot_index"),
        ("right_hip", "right_knee"),
        ("right_knee", "right_ankle"),
        ("right_ankle", "right_heel"),
        ("right_heel", "right_foot_index"),
        ("right_ankle", "right_foot_index"),
    )
)


def to_coco17(keypoints: np.ndarray) -> np.ndarray:
    """Select the COCO-17 rows of (..., 33, C) BlazePose keypoints; returns (..., 17, C)."""
    if keypoints.shape[-2] != len(BLAZEPOSE_33):
        raise ValueError(f"expected {len(BLAZEPOSE_33)} BlazePose keypoints, got shape {keypoints.shape}")
    return keypoints[..., list(BLAZEPOSE_TO_COCO17), :]
