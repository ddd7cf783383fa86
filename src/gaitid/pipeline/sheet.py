"""A contact sheet: who a gallery's people are, as crops of them from the footage they were enrolled from.

`CropSampler` keeps a spread of crops per track while a video runs (bounded memory, whatever the length);
`contact_sheet` lays them out, one row per person with the name on the left, and a legend underneath.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from gaitid.types import Frame, FramePeople

CROP_HEIGHT = 160
_FONT = cv2.FONT_HERSHEY_SIMPLEX


class CropSampler:
    """Crops of each tracked person, every `every`-th frame they are seen, at most `keep` per track (when
    full, every other crop is dropped and the sampling interval doubles, so the crops still span the track)."""

    def __init__(self, every: int = 4, keep: int = 32) -> None:
        if every < 1 or keep < 2:
            raise ValueError(f"every must be at least 1 and keep at least 2, got {every} and {keep}")
        self.every, self.keep = every, keep
        self._crops: dict[int, list[np.ndarray]] = {}
        self._seen: dict[int, int] = {}
        self._interval: dict[int, int] = {}

    def add(self, frame: Frame, people: FramePeople) -> None:
        for person in people.people:
            if person.track_id is None:
                continue
            track = person.track_id
            seen = self._seen.get(track, 0)
            self._seen[track] = seen + 1
            interval = self._interval.setdefault(track, self.every)
            if seen % interval:
                continue
            crops = self._crops.setdefault(track, [])
            crops.append(_crop(frame.image, person.box))
            if len(crops) >= self.keep:
                del crops[1::2]
                self._interval[track] = interval * 2

    def crops(self, track: int, count: int = 6) -> list[np.ndarray]:
        """Up to `count` crops of `track`, evenly spread over the time it was seen."""
        crops = self._crops.get(track, [])
        if len(crops) <= count:
            return list(crops)
        picks = np.linspace(0, len(crops) - 1, count).round().astype(int)
        return [crops[i] for i in picks]


def _crop(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The person's box with a margin of a tenth of its height, scaled to CROP_HEIGHT rows."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    pad = 0.1 * max(y2 - y1, 1.0)
    left, top = int(max(0, x1 - pad)), int(max(0, y1 - pad))
    right, bottom = int(min(width, x2 + pad)), int(min(height, y2 + pad))
    patch = image[top:max(bottom, top + 1), left:max(right, left + 1)]
    scale = CROP_HEIGHT / patch.shape[0]
    return cv2.resize(patch, (max(1, round(patch.shape[1] * scale)), CROP_HEIGHT), interpolation=cv2.INTER_AREA)


def contact_sheet(rows: Sequence[tuple[str, Sequence[np.ndarray]]], legend: Sequence[str] = ()) -> np.ndarray:
    """One row per person (its name, then its crops), and the legend's lines below.
    rows: (name, crops) with crops RGB of CROP_HEIGHT rows. Returns an RGB image."""
    if not rows:
        raise ValueError("a contact sheet needs at least one person")
    gap, name_width = 8, 220
    width = max(name_width + sum(c.shape[1] + gap for c in crops) for _, crops in rows) + gap
    line = 26
    height = gap + len(rows) * (CROP_HEIGHT + gap) + len(legend) * line + (gap if legend else 0)
    width = max(width, max((_text_width(text, 0.55) + 2 * gap for text in legend), default=0))
    sheet = np.full((height, width, 3), 255, np.uint8)
    y = gap
    for name, crops in rows:
        cv2.putText(sheet, name, (gap, y + CROP_HEIGHT // 2), _FONT, 0.8, (0, 0, 0), 2, cv2.LINE_AA)
        x = name_width
        for crop in crops:
            sheet[y : y + CROP_HEIGHT, x : x + crop.shape[1]] = crop
            x += crop.shape[1] + gap
        y += CROP_HEIGHT + gap
    for text in legend:
        y += line
        cv2.putText(sheet, text, (gap, y - 8), _FONT, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return sheet


def _text_width(text: str, scale: float) -> int:
    (w, _), _ = cv2.getTextSize(text, _FONT, scale, 1)
    return int(w)
