"""Drawing tracked people on a frame: a box and the track identity, one stable colour per identity."""

from __future__ import annotations

import cv2
import numpy as np

from gaitid.types import FramePeople


def track_colour(track_id: int) -> tuple[int, int, int]:
    """A bright RGB colour that stays the same for an identity (golden-ratio hues)."""
    hue = int((track_id * 0.61803398875 % 1.0) * 180)
    hsv = np.array([[[hue, 220, 255]]], np.uint8)
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def draw_tracks(image: np.ndarray, people: FramePeople, untracked: bool = True) -> np.ndarray:
    """A copy of the (H, W, 3) RGB image with each person's box and track identity drawn on it; people
    without an identity are drawn thin and grey when `untracked` is True."""
    out = image.copy()
    for person in people.people:
        x1, y1, x2, y2 = (int(round(float(v))) for v in person.box)
        if person.track_id is None:
            if untracked:
                cv2.rectangle(out, (x1, y1), (x2, y2), (160, 160, 160), 1, cv2.LINE_AA)
            continue
        colour = track_colour(person.track_id)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2, cv2.LINE_AA)
        label = str(person.track_id)
        (w, h), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        top = max(y1 - h - base - 2, 0)
        cv2.rectangle(out, (x1, top), (x1 + w + 4, top + h + base + 2), colour, -1)
        cv2.putText(out, label, (x1 + 2, top + h + 1), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return out
