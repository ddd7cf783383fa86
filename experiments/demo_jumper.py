"""Why the demo loses the man on the utility box in frames 102-143 of the sample clip.

    PYTHONPATH=src python experiments/demo_jumper.py

He somersaults off the box against the low sun: upside down and backlit. For each frame of 94-150 this
prints whether the person detector (CenterNet, run on every frame here) boxes him, and whether HumanPoseNN
keeps him with a presence threshold of 0.5 (the default), 0.3 or 0.1 when run from frame 0 (as `gaitid
track` runs the clip), and at 0.5 when run from frame 80 (as the demo's identification phase runs it).
Recorded in benchmarks/RESULTS-pipeline.md.
"""

from __future__ import annotations

import numpy as np

from gaitid.pose.estimator import HumanPoseNN
from gaitid.samples import WALK_VIDEO
from gaitid.sources import VideoFile

FIRST, END = 94, 151
RIGHT_OF_WOMAN = 340.0  # the woman is left of this column from frame 94 on; the man right of it


def _his(boxes: list[np.ndarray]) -> bool:
    return any(0.5 * (box[0] + box[2]) > RIGHT_OF_WOMAN for box in boxes)


def main() -> None:
    followers = {threshold: HumanPoseNN(model="full", min_presence=threshold) for threshold in (0.5, 0.3, 0.1)}
    from_80 = HumanPoseNN(model="full")
    probe = HumanPoseNN(model="full", min_presence=0.0)
    rows = []
    with VideoFile(WALK_VIDEO) as video:
        for frame in video:
            if frame.index >= END:
                break
            kept = {t: _his([p.box for p in f.estimate(frame).people]) for t, f in followers.items()}
            if frame.index >= 80:
                kept["80"] = _his([p.box for p in from_80.estimate(frame).people])
            if frame.index < FIRST:
                continue
            detected = _his([d.box for d in probe.detector.detect(frame.image)])
            rows.append((frame.index, detected, kept))
    print("frame  detector  kept from frame 0 at presence 0.5 / 0.3 / 0.1, from frame 80 at 0.5")
    for index, detected, kept in rows:
        marks = " / ".join("yes" if kept[t] else " - " for t in (0.5, 0.3, 0.1, "80"))
        print(f"{index:5d}  {'yes' if detected else ' - ':>8}  {marks}")
    span = len(rows)
    print(f"detector boxes him in {sum(r[1] for r in rows)} of {span} frames {FIRST}-{END - 1}")
    for t in (0.5, 0.3, 0.1):
        print(f"from frame 0, presence {t}: kept in {sum(r[2][t] for r in rows)} of {span} frames")
    print(f"from frame 80, presence 0.5: kept in {sum(r[2]['80'] for r in rows)} of {span} frames")


if __name__ == "__main__":
    main()
