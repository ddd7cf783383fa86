"""Does fusing the skeleton vector with the silhouette vector identify the walkers of real surveillance
video better than either alone? vtest.avi through HumanPoseNN and the tracker, as `gaitid identify` runs
it; each walker's usable frames split in two halves (first half the gallery, second half the probe);
closed-set rank-1 for silhouettes alone, skeletons alone and fusions of both at several weights.

    GAITID_MEDIA=../shared/data/media PYTHONPATH=src python benchmarks/fusion_vtest.py \\
        [--json benchmarks/results/fusion_vtest.json] [--skeleton-weights W.onnx]

Walkers are the tracks `benchmarks/identify_vtest.py` uses (at least 4 silhouette windows). A frame is
usable as there (a mask, at least 40 px tall, not touching the border); both modalities use the same
frames: the silhouette model embeds the half's masks, the skeleton model its keypoints resampled by their
timestamps. Distances: `gaitid.gait.fusion.signature_distance` (each modality's unit vectors, squared
distances weighted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

from gaitid.errors import GaitidError
from gaitid.gait.encoder import GaitEncoder
from gaitid.gait.fusion import GaitSignature, signature_distance, track_signature
from gaitid.gait.skeleton_encoder import SkeletonEncoder
from gaitid.pipeline import PipelineOptions, analyse
from gaitid.pipeline.walkers import Walkers
from gaitid.types import FramePeople, Track

SILHOUETTE_WEIGHTS = (1.0, 0.75, 0.5, 0.25, 0.0)


class RecordingWalkers(Walkers):
    """Walkers that also keep every usable frame of every track (index, time, person)."""

    def __init__(self, encoder: GaitEncoder, options: PipelineOptions) -> None:
        super().__init__(encoder, None, options.window)
        self.frames: dict[int, list] = defaultdict(list)

    def update(self, people: FramePeople):  # type: ignore[no-untyped-def]
        height, width = people.frame_size
        for person in people.people:
            if person.track_id is not None and self.is_usable(person, height, width):
                self.frames[person.track_id].append((people.frame_index, people.time, person))
        return super().update(people)


def half_tracks(track_id: int, frames: list) -> tuple[Track, Track]:
    cut = len(frames) // 2

    def track(part: list) -> Track:
        return Track(
            track_id, tuple(f[0] for f in part), tuple(f[1] for f in part), tuple(f[2] for f in part)
        )

    return track(frames[:cut]), track(frames[cut:])


def rank1(gallery: dict[int, GaitSignature], probes: dict[int, GaitSignature], w_sil: float) -> dict:
    weights = (w_sil, 1.0 - w_sil)
    right = scored = 0
    for walker, probe in probes.items():
        distances = {}
        for name, entry in gallery.items():
            try:
                distances[name] = signature_distance(probe, entry, weights)
            except GaitidError:  # the two halves share no modality at this weight
                continue
        if not distances:
            continue
        scored += 1
        right += min(distances, key=distances.get) == walker
    return {
        "silhouette_weight": w_sil,
        "right": right,
        "probes": scored,
        "rank1": round(100 * right / max(scored, 1), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--skeleton-weights", help="skeleton model (.onnx or shipped name); default: shipped")
    args = parser.parse_args()
    default_media = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "media"
    video = Path(os.environ.get("GAITID_MEDIA", default_media)) / "vtest.avi"
    if not video.is_file():
        print(f"vtest.avi not found at {video} (set GAITID_MEDIA)", file=sys.stderr)
        return 2
    silhouette, skeleton = GaitEncoder(), SkeletonEncoder(args.skeleton_weights)
    options = PipelineOptions(progress=False)
    seen = RecordingWalkers(silhouette, options)
    analyse(str(video), seen, options)
    walkers = sorted(t for t, s in seen.states.items() if len(s.vectors) >= 4)
    gallery, probes, modalities = {}, {}, {}
    for track_id in walkers:
        first, second = half_tracks(track_id, seen.frames[track_id])
        gallery[track_id] = track_signature(first, silhouette, skeleton)
        probes[track_id] = track_signature(second, silhouette, skeleton)
        modalities[track_id] = [gallery[track_id].modalities, probes[track_id].modalities]
    rows = [rank1(gallery, probes, w) for w in SILHOUETTE_WEIGHTS]
    result = {
        "video": "vtest.avi",
        "walkers": walkers,
        "frames_per_walker": {t: len(seen.frames[t]) for t in walkers},
        "modalities": modalities,
        "silhouette_model": silhouette.model,
        "skeleton_model": skeleton.model,
        "closed_set": rows,
    }
    for row in rows:
        print(
            f"silhouette weight {row['silhouette_weight']:.2f}: rank-1 {row['rank1']:5.1f} % "
            f"({row['right']}/{row['probes']})"
        )
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
