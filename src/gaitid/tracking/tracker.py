"""A multi-person tracker in the manner of ByteTrack: Kalman-predicted boxes matched to the people found in
each frame by IoU with the Hungarian algorithm, in two rounds (confident detections first, then the
low-score ones, which are often people half hidden), with lost tracks kept for a while so that a person
who is briefly occluded, or crosses someone, keeps their identity.

Written for gaitid (no tracking library is used): the permissively licensed Python trackers are either
heavy (deep appearance models) or AGPL (boxmot), and the algorithm is short.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

import numpy as np
from scipy.optimize import linear_sum_assignment

from gaitid.tracking.kalman import BoxKalman
from gaitid.types import FramePeople


@dataclass(frozen=True)
class TrackerConfig:
    """Thresholds of the tracker.

    high_score: people at or above this score are matched first and may start tracks.
    low_score: people below this are ignored; between low and high they can only continue a track.
    new_track_score: the score a person needs to start a new track.
    match_iou: the least IoU between a predicted and a detected box for the first round.
    low_match_iou: the least IoU in the second round (low-score people).
    tentative_match_iou: the least IoU for a newly started, not yet confirmed track.
    confirm_hits: frames in a row a new track must be seen in before it gets an identity (the first frame
        of a video confirms at once); 3 keeps flickering false detections (a sign post seen as a distant
        person every other frame) from becoming tracks.
    max_lost_seconds: how long a track that is not seen is kept before it ends.
    recover_distance: a track left unmatched may still take a confident person whose box centre lies within
        this many box heights of its prediction and whose height is similar (for when IoU is 0).
    """

    high_score: float = 0.5
    low_score: float = 0.1
    new_track_score: float = 0.6
    match_iou: float = 0.2
    low_match_iou: float = 0.4
    tentative_match_iou: float = 0.3
    confirm_hits: int = 3
    max_lost_seconds: float = 2.0
    recover_distance: float = 0.6

    def __post_init__(self) -> None:
        if not 0 <= self.low_score <= self.high_score <= 1:
            raise ValueError("TrackerConfig: expected 0 <= low_score <= high_score <= 1")
        if self.confirm_hits < 1 or self.max_lost_seconds < 0:
            raise ValueError("TrackerConfig: confirm_hits must be >= 1 and max_lost_seconds >= 0")


class _State(Enum):
    TENTATIVE = "tentative"
    TRACKED = "tracked"
    LOST = "lost"


class _Track:
    def __init__(self, box: np.ndarray, frame_index: int, time: float) -> None:
        self.kalman = BoxKalman(box)
        self.state = _State.TENTATIVE
        self.track_id: int | None = None
        self.hits = 1
        self.last_index = frame_index
        self.last_time = time

    def seen(self, box: np.ndarray, frame_index: int, time: float) -> None:
        self.kalman.update(box)
        self.hits += 1
        self.last_index = frame_index
        self.last_time = time


class Tracker:
    """Links the people of successive frames into tracks.

    `update(people)` takes everyone found in the next frame and returns the same people, as new Person
    objects with `track_id` set (None for a person not, or not yet, part of a confirmed track), in the
    same order. Identities count from 1 and are never reused until `reset()`, which starts a new video.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.reset()

    def reset(self) -> None:
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._last_index: int | None = None

    @property
    def active_ids(self) -> list[int]:
        """The identities of the tracks seen in the last frame."""
        return sorted(t.track_id for t in self._tracks if t.state is _State.TRACKED and t.track_id is not None)

    def update(self, people: FramePeople) -> FramePeople:
        cfg = self.config
        index, time = people.frame_index, people.time
        first_frame = self._last_index is None
        steps = 1.0 if first_frame else float(max(index - self._last_index, 1))
        self._last_index = index
        for track in self._tracks:
            track.kalman.predict(steps)

        boxes = np.array([p.box for p in people.people], np.float64).reshape(-1, 4)
        scores = np.array([p.score for p in people.people], np.float64)
        high = [i for i, s in enumerate(scores) if s >= cfg.high_score]
        low = [i for i, s in enumerate(scores) if cfg.low_score <= s < cfg.high_score]
        assigned: dict[int, _Track] = {}

        # Round 1: confident people against every confirmed track, tracked or lost.
        confirmed = [t for t in self._tracks if t.state is not _State.TENTATIVE]
        pairs, free_tracks, free_high = _match(confirmed, high, boxes, cfg.match_iou)
        # Round 1b: tracks whose person is close to the prediction but without overlap (after an occlusion,
        # dropped frames, or a first step faster than the motion model knew).
        pairs += _recover(free_tracks, free_high, boxes, cfg.recover_distance)
        taken = {d for _, d in pairs}
        free_high = [d for d in free_high if d not in taken]
        matched_tracks = {id(t) for t, _ in pairs}
        free_tracks = [t for t in free_tracks if id(t) not in matched_tracks]
        # Round 2: the low-score people continue tracks that were seen in the last frame.
        recent = [t for t in free_tracks if t.state is _State.TRACKED]
        pairs_low, _, _ = _match(recent, low, boxes, cfg.low_match_iou)
        pairs += pairs_low
        # Round 3: tentative tracks against the confident people left.
        tentative = [t for t in self._tracks if t.state is _State.TENTATIVE]
        pairs_new, unmatched_tentative, free_high = _match(tentative, free_high, boxes, cfg.tentative_match_iou)
        pairs += pairs_new

        for track, d in pairs:
            track.seen(boxes[d], index, time)
            if track.state is _State.TENTATIVE and track.hits >= cfg.confirm_hits:
                self._confirm(track)
            elif track.state is _State.LOST:
                track.state = _State.TRACKED
            assigned[d] = track
        matched = {id(t) for t, _ in pairs}
        for track in self._tracks:
            if id(track) not in matched and track.state is _State.TRACKED:
                track.state = _State.LOST
        dropped = {id(t) for t in unmatched_tentative}
        height, width = people.frame_size
        self._tracks = [
            t
            for t in self._tracks
            if id(t) not in dropped
            and not (t.state is _State.LOST and time - t.last_time > cfg.max_lost_seconds)
            and not (t.state is _State.LOST and _left_frame(t.kalman.box, width, height))
        ]
        for d in free_high:
            if scores[d] >= cfg.new_track_score:
                track = _Track(boxes[d], index, time)
                if first_frame or cfg.confirm_hits <= 1:
                    self._confirm(track)
                    assigned[d] = track
                self._tracks.append(track)

        out = tuple(
            replace(p, track_id=assigned[i].track_id if i in assigned else None) for i, p in enumerate(people.people)
        )
        return replace(people, people=out)

    def _confirm(self, track: _Track) -> None:
        track.state = _State.TRACKED
        track.track_id = self._next_id
        self._next_id += 1


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) intersection over union of (n, 4) and (m, 4) x1, y1, x2, y2 boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def _match(
    tracks: list[_Track], detections: list[int], boxes: np.ndarray, min_iou: float
) -> tuple[list[tuple[_Track, int]], list[_Track], list[int]]:
    """Hungarian matching on IoU; pairs under min_iou are not matched. Returns pairs and the leftovers."""
    if not tracks or not detections:
        return [], list(tracks), list(detections)
    predicted = np.stack([t.kalman.box for t in tracks])
    iou = iou_matrix(predicted, boxes[detections])
    return _assign(tracks, detections, np.where(iou >= min_iou, 1.0 - iou, np.inf))


def _recover(tracks: list[_Track], detections: list[int], boxes: np.ndarray, max_distance: float) -> list:
    """Match lost tracks to people by centre distance in units of box height, for similar heights."""
    if not tracks or not detections:
        return []
    predicted = np.stack([t.kalman.mean[:4] for t in tracks])  # cx, cy, w, h
    dets = boxes[detections]
    centres = np.stack([(dets[:, 0] + dets[:, 2]) / 2, (dets[:, 1] + dets[:, 3]) / 2], axis=1)
    heights = np.maximum(dets[:, 3] - dets[:, 1], 1.0)
    distance = np.linalg.norm(predicted[:, None, :2] - centres[None], axis=2) / predicted[:, None, 3]
    ratio = heights[None, :] / predicted[:, None, 3]
    ok = (distance <= max_distance) & (ratio > 0.7) & (ratio < 1.4)
    pairs, _, _ = _assign(tracks, detections, np.where(ok, distance, np.inf))
    return pairs


def _assign(tracks: list[_Track], detections: list[int], cost: np.ndarray):
    finite = np.isfinite(cost)
    if not finite.any():
        return [], list(tracks), list(detections)
    rows, cols = linear_sum_assignment(np.where(finite, cost, 1e6))
    pairs = [(tracks[r], detections[c]) for r, c in zip(rows, cols) if finite[r, c]]
    used_t = {id(t) for t, _ in pairs}
    used_d = {d for _, d in pairs}
    return pairs, [t for t in tracks if id(t) not in used_t], [d for d in detections if d not in used_d]


def _left_frame(box: np.ndarray, width: int, height: int) -> bool:
    """Whether a predicted box has moved out of the frame (unknown frame sizes never count)."""
    if width <= 0 or height <= 0:
        return False
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return bool(cx < 0 or cx > width or cy < 0 or cy > height)
