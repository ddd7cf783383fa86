"""How much noisier HumanPoseNN's keypoints get when a walker is small in the frame, in the units of the
skeleton model's training noise (fractions of the walker's image height, `AugmentConfig`).

The sample clip's walker (about 200 px tall) is estimated at full resolution, then on the same frames
shrunk to smaller scales; each smaller estimate, scaled back, is compared with the full-resolution one on
the 15 gait keypoints. That difference is a lower bound on the small walker's error (the full-resolution
keypoints have errors of their own). Reported per scale: the median and 90th percentile of the error,
the rate of gross errors (over 10 % of the height: swapped or misplaced limbs), the per-axis sigma of the
rest (comparable with `AugmentConfig.jitter`), and the rate of keypoints confident at full resolution but
not when small (comparable with `AugmentConfig.missing`).

    PYTHONPATH=src python experiments/keypoint_noise_scale.py [--frames 150] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from gaitid.gait.skeleton import GAIT_KEYPOINTS
from gaitid.pose.estimator import HumanPoseNN
from gaitid.types import Frame

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "gaitid" / "samples" / "walk.mp4"
SCALES = (1.0, 0.6, 0.4, 0.25)
MIN_CONFIDENCE = 0.3  # the skeleton features' threshold
GROSS = 0.1  # an error above this fraction of the walker's height is a gross one (a swap, a lost limb)


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < count:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def estimate(frames: list[np.ndarray], scale: float) -> list[tuple[np.ndarray, float] | None]:
    """Per frame, the tallest person's keypoints (33, 3) and box height, in full-size pixels; None when
    nobody was found."""
    pose = HumanPoseNN("full", threads=2)
    out: list[tuple[np.ndarray, float] | None] = []
    for i, image in enumerate(frames):
        if scale != 1.0:
            size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        people = pose.estimate(Frame(image, i, i / 30.0)).people
        if not people:
            out.append(None)
            continue
        person = max(people, key=lambda p: float(p.box[3] - p.box[1]))
        keypoints = person.keypoints[:, :3].copy()
        keypoints[:, :2] /= scale
        out.append((keypoints, float(person.box[3] - person.box[1]) / scale))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    frames = read_frames(SAMPLE, args.frames)
    reference = estimate(frames, 1.0)
    rows = []
    rows_idx = list(GAIT_KEYPOINTS)
    for scale in SCALES[1:]:
        small = estimate(frames, scale)
        errors, missing, heights, found = [], [], [], 0
        for ref, est in zip(reference, small):
            if ref is None:
                continue
            ref_keypoints, height = ref
            heights.append(height * scale)
            if est is None:
                continue
            found += 1
            r, e = ref_keypoints[rows_idx], est[0][rows_idx]
            good = (r[:, 2] >= MIN_CONFIDENCE) & (e[:, 2] >= MIN_CONFIDENCE)
            errors.extend(np.linalg.norm(r[good, :2] - e[good, :2], axis=1) / height)
            missing.append(float(((r[:, 2] >= MIN_CONFIDENCE) & (e[:, 2] < MIN_CONFIDENCE)).mean()))
        err = np.array(errors)
        rows.append(
            {
                "scale": scale,
                "walker_height_px": round(float(np.median(heights)), 1),
                "frames_found": f"{found}/{sum(r is not None for r in reference)}",
                "error_median": round(float(np.median(err)), 4),
                "error_p90": round(float(np.percentile(err, 90)), 4),
                "gross_rate": round(float((err > GROSS).mean()), 4),
                "per_axis_sigma_without_gross": round(float(np.sqrt(np.mean(err[err <= GROSS] ** 2) / 2)), 4),
                "missing_rate": round(float(np.mean(missing)), 4),
            }
        )
        print(rows[-1], flush=True)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"frames": len(frames), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
