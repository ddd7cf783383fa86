"""Drawing people on frames: boxes, skeletons and labels. Returns a new image; the input is left as it was."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from gaitid.pose.layouts import BLAZEPOSE_EDGES
from gaitid.types import Person

_PALETTE = (
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
)


def color_for(key: int) -> tuple[int, int, int]:
    """A stable, distinguishable RGB colour for a person or track number."""
    return _PALETTE[key % len(_PALETTE)]


def draw_people(
    image: np.ndarray,
    people: Iterable[Person],
    labels: Iterable[str | None] | None = None,
    min_confidence: float = 0.5,
) -> np.ndarray:
    """Draw each person's box, skeleton and label (default: its track number or its score) on a copy."""
    out = image.copy()
    people = list(people)
    label_list = list(labels) if labels is not None else [None] * len(people)
    thickness = max(1, round(max(image.shape[:2]) / 500))
    for i, (person, label) in enumerate(zip(people, label_list)):
        color = color_for(person.track_id if person.track_id is not None else i)
        _draw_skeleton(out, person.keypoints, color, thickness, min_confidence)
        x1, y1, x2, y2 = (int(round(v)) for v in person.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thickness)
        text = label if label is not None else _default_label(person)
        _draw_label(out, text, (x1, y1), color, thickness)
    return out


def _default_label(person: Person) -> str:
    if person.track_id is not None:
        return f"#{person.track_id}"
    return f"{person.score:.2f}"


def _draw_skeleton(
    image: np.ndarray, keypoints: np.ndarray, color: tuple[int, int, int], thickness: int, min_confidence: float
) -> None:
    visible = keypoints[:, 2] >= min_confidence
    points = np.round(keypoints[:, :2]).astype(int)
    for a, b in BLAZEPOSE_EDGES:
        if visible[a] and visible[b]:
            cv2.line(image, tuple(points[a]), tuple(points[b]), color, thickness, cv2.LINE_AA)
    for index in np.flatnonzero(visible):
        cv2.circle(image, tuple(points[index]), thickness + 1, (255, 255, 255), -1, cv2.LINE_AA)


def _draw_label(image: np.ndarray, text: str, origin: tuple[int, int], color: tuple[int, int, int], thickness: int) -> None:
    scale = 0.25 * thickness + 0.1
    weight = max(1, thickness - 1)
    (w, h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, weight)
    x, y = origin[0], max(origin[1], h + baseline + 2)
    cv2.rectangle(image, (x, y - h - baseline - 2), (x + w + 2, y), color, -1)
    cv2.putText(image, text, (x + 1, y - baseline), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), weight, cv2.LINE_AA)
