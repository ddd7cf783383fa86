"""HumanPoseNN: every person in a frame, with 33 keypoints, joint heatmaps and a silhouette.

Two stages, as in BlazePose: a person detector proposes regions, and BlazePose's landmark model turns each
region into a pose. In video the landmark model's own alignment points give each person's region in the
next frame (BlazePose's tracking mode), so the detector runs only every few frames to pick up newcomers,
sooner while nobody is in view or somebody was lost, and less often (no more often than every
`settled_seconds` of video) while the scene is settled: everyone followed with confidence and the last look
found nobody new.
"""

from __future__ import annotations

import numpy as np

from gaitid.pose.detector import BlazePoseDetector, CenterNetDetector, PersonDetector
from gaitid.pose.geometry import Roi, box_iou
from gaitid.pose.landmarks import BlazePoseLandmarker, Landmarks
from gaitid.types import Frame, FramePeople, Person

# Detection rounds for which a region the landmark model turned down is not looked at again in video.
_REJECTION_ROUNDS = 3

# Presence at or above which a person followed by the landmark model counts as confidently tracked (the
# sample clip's walker scores 0.99-1.0 in nine frames of ten).
_SETTLED_PRESENCE = 0.9

# Keypoints used to decide whether two poses are the same person: the head (nose, eyes, ears), which two
# people never share, and the torso and limbs.
_HEAD = np.array([0, 2, 5, 7, 8])
_BODY = np.array([11, 12, 13, 14, 23, 24, 25, 26, 27, 28])


class HumanPoseNN:
    """Multi-person 2-D pose estimation on images and video frames.

    model: the landmark model, "lite", "full" or "heavy" (slower and more accurate in that order).
    detect_interval: in video, run the detector on every n-th frame, and sooner (two frames after the
        last run) while nobody is in view or somebody tracked was lost.
    settled_seconds: while the scene is settled (everyone tracked has presence >= 0.9 and the detector's
        last run found nobody new), wait also until this much video time (the frames' timestamps) has
        passed since the last run: 0.3 s is every 4th frame at 10 frames/s (the `detect_interval`), every
        8th at 25, every 9th at 30 (0.4 s lost a casia-b-rgb walk; benchmarks/RESULTS-pipeline.md).
        None or 0: every `detect_interval` frames regardless.
    min_presence: the landmark model's presence score below which a region holds nobody.
    close_up: also run BlazePose's own detector, which finds people close to the camera that the
        general detector can box badly. None (the default): for still images only (`estimate_image`);
        in video people are found as they walk in, and the close-up detector there finds faces in the sky
        and doubles people it half-sees. True: for video frames too; False: never.
    threads, workers: threads per model, and how many people's landmarks run at once (see
        BlazePoseLandmarker); the defaults suit the machine's cores.
    """

    def __init__(
        self,
        model: str = "full",
        detector: PersonDetector | None = None,
        detect_interval: int = 4,
        settled_seconds: float | None = 0.3,
        min_presence: float = 0.5,
        close_up: bool | None = None,
        threads: int | None = None,
        workers: int | None = None,
    ) -> None:
        if detect_interval < 1:
            raise ValueError("detect_interval must be at least 1")
        self.landmarker = BlazePoseLandmarker(model, threads, workers)
        self.detector = detector or CenterNetDetector(threads=threads)
        self.close_up_detector = BlazePoseDetector(threads=threads) if close_up is not False else None
        self.close_up_in_video = bool(close_up)
        self.detect_interval = detect_interval
        self.settled_seconds = settled_seconds or 0.0
        self.min_presence = min_presence
        self._tracked: list[Roi] = []  # where to look for each person in the next frame
        self._rejected: list[tuple[np.ndarray, int]] = []  # boxes turned down, with rounds left to skip them
        self._since_detection = 0
        self._detected_at = 0.0  # the time of the frame the detector last ran on
        self._settled = False
        self.reset()

    def reset(self) -> None:
        """Forget the people tracked so far; call between videos."""
        self._tracked = []
        self._since_detection = self.detect_interval  # detect on the first frame
        self._rejected = []
        self._detected_at = 0.0
        self._settled = False

    def estimate_image(self, frame: Frame) -> FramePeople:
        """Everyone in a still image (no state carried from earlier calls)."""
        self.reset()
        people = self._estimate(frame, still=True)
        self.reset()
        return people

    def estimate(self, frame: Frame) -> FramePeople:
        """Everyone in the next frame of a video; uses the poses of the previous frame to look again."""
        return self._estimate(frame, still=False)

    def _estimate(self, frame: Frame, still: bool) -> FramePeople:
        image = frame.image
        found = [
            (_to_person(landmarks, image.shape), landmarks.next_roi)
            for landmarks in self.landmarker.run_many(image, self._tracked)
            if landmarks.presence >= self.min_presence
        ]
        self._since_detection += 1
        looking = not found or len(found) < len(self._tracked)  # nobody in view, or somebody lost
        confident = all(person.score >= _SETTLED_PRESENCE for person, _ in found)
        self._settled = self._settled and confident and not looking
        if still or self._detector_due(frame.time, looking):
            newcomers = self._look_for_newcomers(image, found, still)
            self._settled = confident and not looking and not newcomers
            found += newcomers
            self._since_detection = 0
            self._detected_at = frame.time

        people = _deduplicate(found)
        self._tracked = [roi for _, roi in people]
        return FramePeople(
            frame_index=frame.index,
            time=frame.time,
            people=tuple(person for person, _ in people),
            frame_size=(frame.height, frame.width),
        )

    def _detector_due(self, time: float, looking: bool) -> bool:
        """Whether the detector runs on this video frame. Frames without timestamps (all at time 0) count
        as frames only."""
        if looking:
            return self._since_detection >= min(2, self.detect_interval)
        if self._since_detection < self.detect_interval:
            return False
        timed = time > self._detected_at
        return not (self._settled and timed) or time - self._detected_at >= self.settled_seconds - 1e-3

    def _look_for_newcomers(
        self, image: np.ndarray, found: list[tuple[Person, Roi]], still: bool
    ) -> list[tuple[Person, Roi]]:
        """Run the detectors and the landmark model on every detection that is not somebody already found."""
        detections = list(self.detector.detect(image))
        if self.close_up_detector is not None and (still or self.close_up_in_video):
            detections += self.close_up_detector.detect(image)
        known = [person.box for person, _ in found]
        self._rejected = [(box, age - 1) for box, age in self._rejected if age > 1]
        rejected = [box for box, _ in self._rejected]
        candidates = [
            d
            for d in detections
            if d.roi.size >= 8
            and not _overlaps(d.box, known, 0.5)
            # in video, a detection the landmark model turned down moments ago is a static look-alike
            and (still or not _overlaps(d.box, rejected, 0.8))
        ]
        first = self.landmarker.run_many(image, [d.roi for d in candidates])
        results = self._refine(image, first, still)
        newcomers = []
        for detection, landmarks in zip(candidates, results):
            if landmarks.presence >= self.min_presence:
                newcomers.append((_to_person(landmarks, image.shape), landmarks.next_roi))
            else:
                self._rejected.append((detection.box, _REJECTION_ROUNDS))
        return newcomers

    def _refine(self, image: np.ndarray, first: list[Landmarks], still: bool) -> list[Landmarks]:
        """A detector's box centres the crop on the box, not on the hips as the landmark model expects; a
        second look through the model's own alignment points frames the person as it was trained to see.
        Still images always get the second look; in video only those the first look missed (the next frame
        refines the rest anyway)."""
        again = [i for i, lm in enumerate(first) if still or lm.presence < self.min_presence]
        second = self.landmarker.run_many(image, [first[i].next_roi for i in again])
        results = list(first)
        for i, landmarks in zip(again, second):
            if landmarks.presence > first[i].presence:
                results[i] = landmarks
        return results


def _overlaps(box: np.ndarray, others: list[np.ndarray], threshold: float) -> bool:
    return bool(others) and float(box_iou(box, np.stack(others)).max()) >= threshold


def _to_person(landmarks: Landmarks, shape: tuple[int, ...]) -> Person:
    box = _box_from_mask(landmarks.mask, landmarks.mask_box)
    return Person(
        box=box if box is not None else _box_from_keypoints(landmarks.keypoints, shape),
        score=landmarks.presence,
        keypoints=landmarks.keypoints,
        heatmaps=landmarks.heatmaps,
        heatmap_to_frame=landmarks.heatmap_to_frame,
        mask=landmarks.mask,
        mask_box=landmarks.mask_box,
    )


def _box_from_mask(mask: np.ndarray, mask_box: np.ndarray, threshold: float = 0.5) -> np.ndarray | None:
    """The box around the silhouette, when the silhouette is big enough to trust."""
    inside = mask >= threshold
    if inside.sum() < 50:
        return None
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    x1, y1 = float(mask_box[0] + cols[0]), float(mask_box[1] + rows[0])
    return np.array([x1, y1, mask_box[0] + cols[-1] + 1.0, mask_box[1] + rows[-1] + 1.0], np.float32)


def _box_from_keypoints(keypoints: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The box around the visible keypoints, widened to the head top and the body's width, clipped to the
    frame. Keypoints mark joints, not the body's outline: the margins cover the head and the flesh."""
    height, width = shape[:2]
    visible = keypoints[:, 2] >= 0.5
    points = keypoints[visible, :2] if visible.sum() >= 4 else keypoints[:, :2]
    x1, y1 = points.min(axis=0)
    x2, y2 = points.max(axis=0)
    tall = max(y2 - y1, 1.0)
    x1, x2 = x1 - 0.08 * tall, x2 + 0.08 * tall
    y1, y2 = y1 - 0.12 * tall, y2 + 0.04 * tall
    return np.array(
        [np.clip(x1, 0, width), np.clip(y1, 0, height), np.clip(x2, 0, width), np.clip(y2, 0, height)], np.float32
    )


def _deduplicate(people: list[tuple[Person, Roi]]) -> list[tuple[Person, Roi]]:
    """Two regions that landed on the same person give the same pose: keep the more confident one."""
    kept: list[tuple[Person, Roi]] = []
    for person, roi in sorted(people, key=lambda item: -item[0].score):
        if not any(_same_pose(person, other) for other, _ in kept):
            kept.append((person, roi))
    return kept


def _same_pose(a: Person, b: Person) -> bool:
    scale = max(a.box[3] - a.box[1], b.box[3] - b.box[1], 1.0)

    def median_distance(rows: np.ndarray) -> float:
        return float(np.median(np.linalg.norm(a.keypoints[rows, :2] - b.keypoints[rows, :2], axis=1)))

    return median_distance(_BODY) < 0.1 * scale or median_distance(_HEAD) < 0.04 * scale
