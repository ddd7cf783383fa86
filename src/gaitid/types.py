"""The core data types every stage speaks: frames, people, tracks, embeddings and identities.

They are small frozen dataclasses holding numpy arrays. Shapes are validated once, on construction, and
nothing in the package mutates an instance it was given: stages return new objects.
Coordinates are pixels of the frame the object came from, x to the right and y down.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NUM_KEYPOINTS = 33  # the BlazePose layout; see gaitid.pose.layouts


def _check_shape(name: str, array: np.ndarray, expected: tuple[int | None, ...]) -> None:
    ok = array.ndim == len(expected) and all(e is None or e == a for e, a in zip(expected, array.shape))
    if not ok:
        shown = ", ".join("*" if e is None else str(e) for e in expected)
        raise ValueError(f"{name}: expected shape ({shown}), got {tuple(array.shape)}")


@dataclass(frozen=True)
class Frame:
    """One decoded video frame or still image.

    image: (H, W, 3) uint8, RGB.
    index: position in its source, from 0.
    time: seconds since the start of the source (presentation time for files, capture time for live).
    """

    image: np.ndarray
    index: int = 0
    time: float = 0.0

    def __post_init__(self) -> None:
        _check_shape("Frame.image", self.image, (None, None, 3))
        if self.image.dtype != np.uint8:
            raise ValueError(f"Frame.image: expected dtype uint8, got {self.image.dtype}")

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True)
class Person:
    """One person found in one frame by HumanPoseNN.

    box: (4,) float32, x1, y1, x2, y2 around the visible body.
    score: confidence in [0, 1] that this is a person.
    keypoints: (33, 3) float32, x, y and confidence in [0, 1] per BlazePose keypoint
        (gaitid.pose.layouts.BLAZEPOSE_33 names them; `gaitid.pose.layouts.to_coco17` gives the COCO layout).
    heatmaps: (33, h, w) float32 joint heatmaps on the landmark crop, or None; `heatmap_to_frame` (2, 3)
        is the affine map from heatmap pixel (column, row) to frame pixel (x, y).
    mask: (h, w) float32 silhouette probability in [0, 1] covering `mask_box` (x1, y1, x2, y2, int32, end
        exclusive) of the frame, or None.
    track_id: the track this person belongs to, once a tracker has linked it, else None.
    """

    box: np.ndarray
    score: float
    keypoints: np.ndarray
    heatmaps: np.ndarray | None = None
    heatmap_to_frame: np.ndarray | None = None
    mask: np.ndarray | None = None
    mask_box: np.ndarray | None = None
    track_id: int | None = None

    def __post_init__(self) -> None:
        _check_shape("Person.box", self.box, (4,))
        _check_shape("Person.keypoints", self.keypoints, (NUM_KEYPOINTS, 3))
        if self.heatmaps is not None:
            _check_shape("Person.heatmaps", self.heatmaps, (NUM_KEYPOINTS, None, None))
            if self.heatmap_to_frame is None:
                raise ValueError("Person.heatmaps given without heatmap_to_frame")
            _check_shape("Person.heatmap_to_frame", self.heatmap_to_frame, (2, 3))
        if self.mask is not None:
            _check_shape("Person.mask", self.mask, (None, None))
            if self.mask_box is None:
                raise ValueError("Person.mask given without mask_box")
            _check_shape("Person.mask_box", self.mask_box, (4,))
            x1, y1, x2, y2 = (int(v) for v in self.mask_box)
            if (y2 - y1, x2 - x1) != self.mask.shape:
                raise ValueError(f"Person.mask: shape {self.mask.shape} does not match mask_box {self.mask_box}")

    def full_mask(self, height: int, width: int) -> np.ndarray:
        """The silhouette as a (height, width) float32 array over the whole frame (zeros where no mask)."""
        out = np.zeros((height, width), np.float32)
        if self.mask is None or self.mask_box is None:
            return out
        x1, y1, x2, y2 = (int(v) for v in self.mask_box)
        cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
        if cx2 > cx1 and cy2 > cy1:
            out[cy1:cy2, cx1:cx2] = self.mask[cy1 - y1 : cy2 - y1, cx1 - x1 : cx2 - x1]
        return out


@dataclass(frozen=True)
class FramePeople:
    """Everyone found in one frame."""

    frame_index: int
    time: float
    people: tuple[Person, ...] = ()
    frame_size: tuple[int, int] = (0, 0)  # (height, width) of the frame the people were found in

    def __len__(self) -> int:
        return len(self.people)


@dataclass(frozen=True)
class Track:
    """One pedestrian followed over time: the frames they were seen in and what was seen there.

    frame_indices and times are increasing and parallel to people.
    """

    track_id: int
    frame_indices: tuple[int, ...] = ()
    times: tuple[float, ...] = ()
    people: tuple[Person, ...] = ()

    def __post_init__(self) -> None:
        if not len(self.frame_indices) == len(self.times) == len(self.people):
            raise ValueError("Track: frame_indices, times and people must have the same length")

    def __len__(self) -> int:
        return len(self.frame_indices)

    @property
    def boxes(self) -> np.ndarray:
        """(n, 4) float32 boxes, one per frame of the track."""
        if not self.people:
            return np.zeros((0, 4), np.float32)
        return np.stack([p.box for p in self.people]).astype(np.float32)


@dataclass(frozen=True)
class Walk:
    """A stretch of one walker's usable frames: what every gait encoder reads (each the part it needs).

    silhouettes: (T, H, W) float32 of 0/1, normalised to the model's input (gaitid.gait.normalize), or None.
    keypoints: (T, 33, 3) float32 x, y, confidence in frame pixels (BlazePose layout), or None.
    times: (T,) seconds of each frame, or None.
    """

    silhouettes: np.ndarray | None = None
    keypoints: np.ndarray | None = None
    times: np.ndarray | None = None

    def __post_init__(self) -> None:
        lengths = {len(x) for x in (self.silhouettes, self.keypoints, self.times) if x is not None}
        if len(lengths) > 1:
            raise ValueError(f"Walk: silhouettes, keypoints and times must have one length each, got {sorted(lengths)}")
        if self.keypoints is not None:
            _check_shape("Walk.keypoints", self.keypoints, (None, NUM_KEYPOINTS, 3))

    def __len__(self) -> int:
        for x in (self.silhouettes, self.keypoints, self.times):
            if x is not None:
                return len(x)
        return 0


@dataclass(frozen=True)
class Embedding:
    """A gait identification vector for one sequence.

    vector: (d,) float32. model: the name and version of the model that made it; vectors of different
    models are never compared.
    """

    vector: np.ndarray
    model: str
    num_frames: int = 0

    def __post_init__(self) -> None:
        _check_shape("Embedding.vector", self.vector, (None,))


@dataclass(frozen=True)
class Identity:
    """The answer for one probe or one walker: an enrolled name, or None for unknown.

    score: 1 - fpir for the best candidate, in [0, 1]. fpir: the estimated false-positive identification
    rate at the best candidate's evidence: how often a stranger walking past this gallery would score as
    high. candidates: the best few (name, score), best first. margin: how far the best candidate's
    evidence is ahead of the second's (normalised score units; inf with one person enrolled). windows: how
    many windows of the walk the answer rests on.
    """

    name: str | None
    score: float
    candidates: tuple[tuple[str, float], ...] = field(default=())
    fpir: float | None = None
    margin: float | None = None
    windows: int = 1

    @property
    def is_unknown(self) -> bool:
        return self.name is None
