"""Smoke check of the skeleton path on real video: HumanPoseNN + tracker on the first frames of vtest.avi,
then the shipped skeleton model and the silhouette model on every track long enough, and their fusion.
No identities are known for vtest, so this checks that real keypoints and masks go through, and prints
which modalities each track had and the distances between tracks' skeleton vectors.

    PYTHONPATH=src python benchmarks/skeleton_on_video.py [--frames 120]
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np

from gaitid.errors import GaitidError
from gaitid.gait.encoder import GaitEncoder
from gaitid.gait.fusion import fuse, track_signature
from gaitid.gait.skeleton_encoder import SkeletonEncoder
from gaitid.pipeline import default_estimator, track_frames
from gaitid.sources.files import VideoFile
from gaitid.tracking import TrackCollector, Tracker
from gaitid.datasets.paths import data_root


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=120)
    args = parser.parse_args()
    estimator = default_estimator("full", threads=1)
    collector = TrackCollector()
    with VideoFile(data_root() / "media" / "vtest.avi") as video:
        frames = itertools.islice(video, args.frames)
        for _, people in track_frames(frames, estimator, Tracker()):
            collector.add(people)
    silhouette, skeleton = GaitEncoder(), SkeletonEncoder()
    vectors = {}
    for track in collector.tracks():
        try:
            signature = track_signature(track, silhouette, skeleton)
        except GaitidError as error:
            print(json.dumps({"track": track.track_id, "frames": len(track), "unusable": str(error)}))
            continue
        fused = fuse(signature)
        if signature.skeleton is not None:
            vectors[track.track_id] = signature.skeleton.vector
        print(json.dumps({"track": track.track_id, "frames": len(track), "modalities": signature.modalities,
                          "vector": fused.model, "dim": int(fused.vector.shape[0])}))
    ids = sorted(vectors)
    if len(ids) > 1:
        v = np.stack([vectors[i] / np.linalg.norm(vectors[i]) for i in ids])
        d = np.sqrt(np.maximum(2 - 2 * v @ v.T, 0))
        print("skeleton distances between tracks", ids)
        print(np.array2string(d, precision=2, suppress_small=True))


if __name__ == "__main__":
    main()
