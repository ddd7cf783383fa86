"""Kinect Gait Biometry data (Andersson & Araujo, AAAI 2015): real 3-D walks -> 2-D keypoints seen by
virtual cameras, in HumanPoseNN's BlazePose layout, with the protocol split enforced in code.

The data: 164 people, 822 walks of 20 Kinect v1 joints in millimetres, camera coordinates (x to the
sensor's left, y up, z away from the sensor), about 30 frames per second. The sensor turned on a dish to
follow the walker round a semicircle, so the walking direction is best read from the body itself.

Walker coordinates (`walker_frame`): metres, X = the walking direction, Y = the walker's left, Z = up, the
floor at Z = 0 and the hip centre at X = Y = 0 in every frame (the walker walks on the spot; its height
above the floor, the bobbing, is kept). Up is the Kinect's y axis (a walk's median trunk axis is 3.2
degrees from it at the median walk, 7.7 at the 95th percentile). The walking direction is the horizontal
perpendicular to the left-right axis (Hip-Left - Hip-Right plus Shoulder-Left - Shoulder-Right) smoothed
over about one second, which keeps the pelvis and shoulder rotation within a stride; its sign is checked
against the feet (Foot - Ankle points forward in a median 98 % of the frames of a walk, and in over 65 %
in every walk).

Joint mapping (`KINECT_TO_BLAZEPOSE`): Kinect joint -> BlazePose keypoint of the same body point
  Head -> nose (approximate: Kinect's Head is the centre of the head, roughly 8-10 cm behind and above
          the nose), Shoulder-L/R -> left/right_shoulder (Kinect's sit well below its Shoulder-Center,
          14 cm in Person001), Elbow, Wrist, Hip (Kinect's hips are narrow, 6.8 cm apart in
          Person001), Knee, Ankle -> the same names, Foot-L/R -> left/right_foot_index.
  Left out, no BlazePose counterpart: Shoulder-Center, Spine, Hip-centro, Hand-L/R (the palm centre;
  BlazePose marks the pinky, index and thumb knuckles).
  BlazePose keypoints with no Kinect counterpart get confidence 0: eyes, ears, mouth corners, pinky,
  index, thumb, heels. The gait features use exactly the 15 mapped keypoints (`gaitid.gait.skeleton`).

Virtual cameras (`VirtualCamera`, `project`): a pinhole camera in walker coordinates at horizontal
distance `distance` from the walker and height `height` above the floor, at `view` degrees from the
walking direction (0 = in front of the walker, who walks towards it; 90 = on the walker's left; 180 =
behind; 270 = on the right), aimed at a point `aim_height` above the floor at the walker; focal length
`focal` pixels, principal point at the centre of a `image_width` x `image_height` image.

Protocol (`KINECT_TRAIN_PEOPLE`, `KINECT_TEST_PEOPLE`, `KINECT_GALLERY_WALKS`, `KINECT_VIEWS` here and
`gaitid.evaluation.kinect.PROTOCOL_CAMERA`): train Person001-Person100, test Person101-Person164; walks
1-2 of each test person are the gallery, the others probes; views 0, 45 and 90 degrees, camera 4 m away
at 1.2 m, aimed at 0.9 m, focal 1000 px, 1280 x 720 (a walker about 420 px tall); no added noise (the
Kinect's own tracking noise stays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaitid.datasets.paths import data_root
from gaitid.errors import GaitidError
from gaitid.gait.skeleton import GAIT_FLIP, GAIT_KEYPOINTS
from gaitid.pose.layouts import KEYPOINT

KINECT_JOINTS: tuple[str, ...] = (
    "Head",
    "Shoulder-Center",
    "Shoulder-Right",
    "Shoulder-Left",
    "Elbow-Right",
    "Elbow-Left",
    "Wrist-Right",
    "Wrist-Left",
    "Hand-Right",
    "Hand-Left",
    "Spine",
    "Hip-centro",
    "Hip-Right",
    "Hip-Left",
    "Knee-Right",
    "Knee-Left",
    "Ankle-Right",
    "Ankle-Left",
    "Foot-Right",
    "Foot-Left",
)
_K = {n: i for i, n in enumerate(KINECT_JOINTS)}

#: Kinect joint name -> BlazePose keypoint name (see the module doc for what is left out and why).
KINECT_TO_BLAZEPOSE: dict[str, str] = {
    "Head": "nose",
    "Shoulder-Left": "left_shoulder",
    "Shoulder-Right": "right_shoulder",
    "Elbow-Left": "left_elbow",
    "Elbow-Right": "right_elbow",
    "Wrist-Left": "left_wrist",
    "Wrist-Right": "right_wrist",
    "Hip-Left": "left_hip",
    "Hip-Right": "right_hip",
    "Knee-Left": "left_knee",
    "Knee-Right": "right_knee",
    "Ankle-Left": "left_ankle",
    "Ankle-Right": "right_ankle",
    "Foot-Left": "left_foot_index",
    "Foot-Right": "right_foot_index",
}
#: The same as (Kinect rows, BlazePose rows).
_KIN_ROWS = np.array([_K[k] for k in KINECT_TO_BLAZEPOSE])
_BP_ROWS = np.array([KEYPOINT[b] for b in KINECT_TO_BLAZEPOSE.values()])

#: Bones of the Kinect skeleton (19), as pairs of joint rows, for the bone-length baseline.
KINECT_BONES: tuple[tuple[int, int], ...] = tuple(
    (_K[a], _K[b])
    for a, b in (
        ("Head", "Shoulder-Center"),
        ("Shoulder-Center", "Shoulder-Right"),
        ("Shoulder-Center", "Shoulder-Left"),
        ("Shoulder-Right", "Elbow-Right"),
        ("Shoulder-Left", "Elbow-Left"),
        ("Elbow-Right", "Wrist-Right"),
        ("Elbow-Left", "Wrist-Left"),
        ("Wrist-Right", "Hand-Right"),
        ("Wrist-Left", "Hand-Left"),
        ("Shoulder-Center", "Spine"),
        ("Spine", "Hip-centro"),
        ("Hip-centro", "Hip-Right"),
        ("Hip-centro", "Hip-Left"),
        ("Hip-Right", "Knee-Right"),
        ("Hip-Left", "Knee-Left"),
        ("Knee-Right", "Ankle-Right"),
        ("Knee-Left", "Ankle-Left"),
        ("Ankle-Right", "Foot-Right"),
        ("Ankle-Left", "Foot-Left"),
    )
)

KINECT_FPS = 30.0
#: People of the protocol. Never train or tune on the test people.
KINECT_TRAIN_PEOPLE: tuple[int, ...] = tuple(range(1, 101))
KINECT_TEST_PEOPLE: tuple[int, ...] = tuple(range(101, 165))
KINECT_GALLERY_WALKS: tuple[int, ...] = (1, 2)
KINECT_VIEWS: tuple[int, ...] = (0, 45, 90)


def kinect_path(root: Path | str | None = None) -> Path:
    """The dataset file: `root`/kinect-gait.npz, default $GAITID_DATA/kinect-gait/kinect-gait.npz."""
    if root is None:
        root = data_root() / "kinect-gait"
    root = Path(root)
    return root if root.suffix == ".npz" else root / "kinect-gait.npz"


@dataclass(frozen=True)
class KinectWalk:
    """One walk: person (1-164), walk number (1-6) and joints (T, 20, 3) float32 in Kinect camera
    coordinates, metres."""

    person: int
    walk: int
    joints: np.ndarray = field(repr=False)


def check_people(people: tuple[int, ...] | list[int], purpose: str) -> list[int]:
    """The people sorted; purpose "train" refuses any test person, "test" any training person."""
    people = sorted(set(int(p) for p in people))
    if purpose == "train":
        bad = [p for p in people if p in KINECT_TEST_PEOPLE]
    elif purpose == "test":
        bad = [p for p in people if p in KINECT_TRAIN_PEOPLE]
    else:
        raise ValueError(f"purpose must be 'train' or 'test', got {purpose!r}")
    if bad:
        which = "test" if purpose == "train" else "training"
        raise GaitidError(
            f"Kinect people {bad[0]:03d}..{bad[-1]:03d} belong to the {which} set of the protocol "
            f"(train 001-100, test 101-164) and cannot be used for {purpose}"
        )
    return people


def load_kinect(
    people: tuple[int, ...] | list[int], purpose: str, root: Path | str | None = None
) -> list[KinectWalk]:
    """Read the walks of `people` (split enforced by `purpose`, see `check_people`), in key order."""
    wanted = set(check_people(people, purpose))
    path = kinect_path(root)
    if not path.is_file():
        raise GaitidError(f"Kinect gait data not found: {path} (set GAITID_DATA)")
    walks = []
    with np.load(path, allow_pickle=False) as data:
        names = [str(n) for n in data["joint_names"]]
        if tuple(names) != KINECT_JOINTS:
            raise GaitidError(f"{path}: unexpected joint names {names}")
        for key in sorted(k for k in data.files if k.startswith("Person")):
            person, walk = int(key[6:9]), int(key.split("_")[1])
            if person not in wanted:
                continue
            arr = data[key]
            if arr.ndim != 3 or arr.shape[1:] != (20, 3) or arr.shape[0] < 2:
                raise GaitidError(f"{path} {key}: unexpected array {arr.shape}")
            walks.append(KinectWalk(person, walk, arr.astype(np.float32) / 1000.0))
    return walks


# ----------------------------------------------------------------------------------------------- geometry


def _smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Moving average along axis 0 with edge padding."""
    if window <= 1 or len(x) < 2:
        return x
    pad = window // 2
    padded = np.concatenate([np.repeat(x[:1], pad, 0), x, np.repeat(x[-1:], pad, 0)])
    c = np.cumsum(np.concatenate([np.zeros_like(x[:1]), padded]), axis=0)
    return (c[window:] - c[:-window])[: len(x)] / window


def walker_frame(joints: np.ndarray, smooth_frames: int = 31) -> np.ndarray:
    """(T, 20, 3) Kinect camera coordinates (metres) -> (T, 20, 3) walker coordinates (see module doc)."""
    j = np.asarray(joints, np.float64)
    # Kinect (x left of sensor, y up, z away) -> a right-handed frame with z up: (z, x, y).
    p = np.stack([j[..., 2], j[..., 0], j[..., 1]], axis=-1)
    lateral = (p[:, _K["Hip-Left"]] - p[:, _K["Hip-Right"]]) + (
        p[:, _K["Shoulder-Left"]] - p[:, _K["Shoulder-Right"]]
    )
    lateral[:, 2] = 0
    lateral = _smooth(lateral, smooth_frames)
    lateral /= np.maximum(np.linalg.norm(lateral, axis=1, keepdims=True), 1e-9)
    up = np.array([0.0, 0.0, 1.0])
    forward = np.cross(lateral, up)  # (left x up) = forward in a right-handed (forward, left, up) frame
    rot = np.stack([forward, lateral, np.broadcast_to(up, forward.shape)], axis=1)  # rows: new axes
    hip = p[:, _K["Hip-centro"]].copy()
    feet = p[:, [_K["Foot-Left"], _K["Foot-Right"], _K["Ankle-Left"], _K["Ankle-Right"]], 2]
    floor = np.percentile(feet.min(1), 5)
    hip[:, 2] = floor
    out = np.einsum("tij,tkj->tki", rot, p - hip[:, None, :])
    return out.astype(np.float32)


def kinect_to_blazepose(points: np.ndarray) -> np.ndarray:
    """(..., 20, D) Kinect joints -> (..., 33, D + 1) in BlazePose rows, the last column the confidence:
    1 for the mapped keypoints, 0 (and zero coordinates) for BlazePose keypoints with no Kinect joint."""
    points = np.asarray(points)
    if points.shape[-2] != 20:
        raise ValueError(f"expected 20 Kinect joints, got shape {points.shape}")
    out = np.zeros(points.shape[:-2] + (33, points.shape[-1] + 1), np.float32)
    out[..., _BP_ROWS, :-1] = points[..., _KIN_ROWS, :]
    out[..., _BP_ROWS, -1] = 1.0
    return out


@dataclass(frozen=True)
class VirtualCamera:
    """A pinhole camera in walker coordinates (see the module doc). Angles in degrees, lengths in metres."""

    view: float = 90.0
    distance: float = 4.0
    height: float = 1.2
    aim_height: float = 0.9
    focal: float = 1000.0
    image_width: int = 1280
    image_height: int = 720

    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Camera centre (3,) and rotation (3, 3) whose rows are the image right, image down and viewing
        axes in walker coordinates."""
        a = np.radians(self.view)
        centre = np.array([self.distance * np.cos(a), self.distance * np.sin(a), self.height])
        target = np.array([0.0, 0.0, self.aim_height])
        ahead = target - centre
        ahead /= np.linalg.norm(ahead)
        right = np.cross(ahead, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(ahead, right)
        return centre, np.stack([right, down, ahead])


def project(points: np.ndarray, camera: VirtualCamera, offset: np.ndarray | None = None) -> np.ndarray:
    """(..., 3) walker coordinates -> (..., 2) image pixels (x right, y down) seen by `camera`.

    offset: (..., 3) added to the points first (the walker's position along its path), broadcastable.
    Points at or behind the camera plane get NaN.
    """
    pts = np.asarray(points, np.float64)
    if offset is not None:
        pts = pts + offset
    centre, rot = camera.pose()
    cam = (pts - centre) @ rot.T
    depth = cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = camera.focal * cam[..., 0] / depth + camera.image_width / 2.0
        v = camera.focal * cam[..., 1] / depth + camera.image_height / 2.0
    uv = np.stack([u, v], axis=-1)
    uv[depth <= 1e-3] = np.nan
    return uv


def project_walk(walker: np.ndarray, camera: VirtualCamera, offset: np.ndarray | None = None) -> np.ndarray:
    """(T, 20, 3) walker coordinates -> (T, 33, 3) BlazePose keypoints (x, y, confidence) in pixels."""
    uv = project(walker, camera, offset)
    kp = kinect_to_blazepose(uv)
    bad = ~np.isfinite(kp[..., :2]).all(-1)
    kp[bad] = 0
    return kp


# ------------------------------------------------------------------------------------------ training views


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random virtual cameras and of the 2-D pose-estimator noise used in training.

    Camera: view uniform in [0, 360) degrees; distance, height, aim height and focal uniform in their
    ranges; the walker moves along its path at a speed uniform in `speed` (m/s) through the point the
    camera aims at. Layout: Kinect's hips are widened by a factor in `hip_widen` and its shoulders raised
    by `shoulder_raise` metres, towards where a 2-D estimator puts them. Noise, as fractions of the
    walker's image height: per-frame Gaussian jitter with sigma in `jitter`, a slowly drifting per-joint
    offset of size in `drift`; each keypoint missing (confidence below threshold) with a probability in
    `missing`, whole limbs missing for runs of frames with probability `occlusion` per frame; left and
    right swapped in a frame with probability `swap`, and the two legs (or the two arms) alone with
    probability `limb_swap` per frame each, as 2-D estimators confuse them in side views; confidences of
    present keypoints uniform in `confidence`.
    """

    distance: tuple[float, float] = (2.5, 10.0)
    height: tuple[float, float] = (0.5, 4.0)
    aim_height: tuple[float, float] = (0.7, 1.2)
    focal: tuple[float, float] = (500.0, 1500.0)
    speed: tuple[float, float] = (0.0, 1.4)
    hip_widen: tuple[float, float] = (1.0, 2.5)
    shoulder_raise: tuple[float, float] = (0.0, 0.12)
    jitter: tuple[float, float] = (0.0, 0.015)
    drift: tuple[float, float] = (0.0, 0.02)
    missing: tuple[float, float] = (0.0, 0.08)
    occlusion: float = 0.02
    swap: float = 0.01
    limb_swap: float = 0.0
    confidence: tuple[float, float] = (0.5, 1.0)


def _u(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(r[0], r[1]))


def adjust_layout(walker: np.ndarray, hip_widen: float, shoulder_raise: float) -> np.ndarray:
    """Move Kinect's hips apart (factor about Hip-centro) and its shoulders up (metres); a new array."""
    w = np.array(walker, np.float32, copy=True)
    hc = w[:, _K["Hip-centro"]]
    for name in ("Hip-Left", "Hip-Right"):
        w[:, _K[name]] = hc + (w[:, _K[name]] - hc) * hip_widen
    for name in ("Shoulder-Left", "Shoulder-Right"):
        w[:, _K[name], 2] += shoulder_raise
    return w


def random_view(
    walker: np.ndarray,
    rng: np.random.Generator,
    cfg: AugmentConfig = AugmentConfig(),
    fps: float = KINECT_FPS,
) -> np.ndarray:
    """A walk clip (T, 20, 3) in walker coordinates -> (T, 33, 3) noisy BlazePose keypoints from a random
    virtual camera, as a 2-D pose estimator would report them."""
    return random_view_with_truth(walker, rng, cfg, fps)[0]


def random_view_with_truth(
    walker: np.ndarray,
    rng: np.random.Generator,
    cfg: AugmentConfig = AugmentConfig(),
    fps: float = KINECT_FPS,
) -> tuple[np.ndarray, np.ndarray]:
    """As `random_view`, and also the 3-D truth behind the keypoints: (T, 15, 3) walker coordinates
    (metres, on the spot) of the gait skeleton's keypoints (`GAIT_KEYPOINTS` order), after the same
    layout adjustment, before the camera and the noise."""
    t = len(walker)
    w = adjust_layout(walker, _u(rng, cfg.hip_widen), _u(rng, cfg.shoulder_raise))
    speed = _u(rng, cfg.speed)
    path = (np.arange(t) - (t - 1) / 2) / fps * speed
    half_path = abs(path[0]) if t else 0.0
    cam = VirtualCamera(
        view=float(rng.uniform(0, 360)),
        distance=max(_u(rng, cfg.distance), half_path + 2.0),
        height=_u(rng, cfg.height),
        aim_height=_u(rng, cfg.aim_height),
        focal=_u(rng, cfg.focal),
    )
    offset = np.zeros((t, 1, 3))
    offset[:, 0, 0] = path
    kp = project_walk(w, cam, offset)
    truth = kinect_to_blazepose(w)[:, list(GAIT_KEYPOINTS), :3]
    return add_estimator_noise(kp, rng, cfg), truth


def add_estimator_noise(
    keypoints: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig()
) -> np.ndarray:
    """Noise of a real 2-D pose estimator on clean (T, 33, 3) keypoints (see AugmentConfig); a new array.
    Only the gait skeleton's 15 keypoints are touched."""
    kp = np.array(keypoints, np.float32, copy=True)
    t = len(kp)
    rows = np.array(GAIT_KEYPOINTS)
    g = kp[:, rows]
    present = g[..., 2] > 0
    rows_ok = present.any(1)
    extent = np.where(present, g[..., 1], -np.inf).max(1) - np.where(present, g[..., 1], np.inf).min(1)
    size = float(np.median(extent[rows_ok])) if rows_ok.any() else 100.0
    if not np.isfinite(size) or size <= 0:
        size = 100.0
    j = len(rows)
    g[..., :2] += rng.normal(0, _u(rng, cfg.jitter) * size, (t, j, 2))
    steps = rng.normal(0, 1, (t, j, 2)).cumsum(0)
    steps -= steps.mean(0)
    norm = np.abs(steps).max() or 1.0
    g[..., :2] += steps / norm * _u(rng, cfg.drift) * size
    swap = rng.random(t) < cfg.swap
    g[swap] = g[swap][:, list(GAIT_FLIP)]
    if cfg.limb_swap > 0:
        for left, right in (([3, 5], [4, 6]), ([9, 11, 13], [10, 12, 14])):  # arms, legs
            frames = np.flatnonzero(rng.random(t) < cfg.limb_swap)
            g[np.ix_(frames, left + right)] = g[np.ix_(frames, right + left)]
    conf = rng.uniform(cfg.confidence[0], cfg.confidence[1], (t, j))
    missing = rng.random((t, j)) < _u(rng, cfg.missing)
    # whole limbs occluded for runs of frames: left or right arm or leg
    limbs = [[3, 5], [4, 6], [9, 11, 13], [10, 12, 14]]
    for start in np.flatnonzero(rng.random(t) < cfg.occlusion):
        length = int(rng.integers(2, 15))
        missing[start : start + length, limbs[int(rng.integers(len(limbs)))]] = True
    conf[missing] = rng.uniform(0.0, 0.25, int(missing.sum()))
    conf[~present] = 0
    g[..., 2] = conf
    kp[:, rows] = g
    return kp


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(T, 20, 3) joints -> (19,) median length of every Kinect bone over the walk (same units)."""
    a = np.array([i for i, _ in KINECT_BONES])
    b = np.array([k for _, k in KINECT_BONES])
    return np.median(np.linalg.norm(joints[:, a] - joints[:, b], axis=-1), axis=0)
