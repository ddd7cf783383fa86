"""How the shipped skeleton model holds up when the Kinect protocol's walks are seen as surveillance
footage sees people: a lower source frame rate (resampled to the model's rate by timestamps, as
`SkeletonEncoder.embed_keypoints` does with real video), a high camera looking down, and noisier 2-D
keypoints (the training's estimator noise, `add_estimator_noise`, at the top of its ranges and at twice
that; seed 0).

    GAITID_DATA=../shared/data PYTHONPATH=src python benchmarks/kinect_conditions.py \\
        [--json benchmarks/results/kinect_conditions.json] [--weights W]

Each condition changes one thing of the protocol (test people 101-164, views 0/45/90, walks 1-2 the
gallery) for gallery and probes alike; the table is the same-view and cross-view means.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from gaitid.evaluation.kinect import PROTOCOL_CAMERA, embed_protocol, score_protocol
from gaitid.gait.skeleton_encoder import SkeletonEncoder
from gaitid.datasets.kinect import AugmentConfig, VirtualCamera

TRAINING_NOISE = AugmentConfig()
#: 2-D estimator noise at the top of the training ranges, every walk (jitter, drift, missing joints).
HIGH_NOISE = replace(TRAINING_NOISE, jitter=(0.015, 0.015), drift=(0.02, 0.02), missing=(0.08, 0.08))
#: Twice that, beyond anything seen in training.
DOUBLE_NOISE = replace(TRAINING_NOISE, jitter=(0.03, 0.03), drift=(0.04, 0.04), missing=(0.16, 0.16))

#: name -> (source frame rate, camera, estimator noise or None)
CONDITIONS = {
    "protocol (15 fps, camera 1.2 m high, 4 m away)": (15.0, PROTOCOL_CAMERA, None),
    "10 fps source": (10.0, PROTOCOL_CAMERA, None),
    "7.5 fps source": (7.5, PROTOCOL_CAMERA, None),
    "camera 4 m high, 4 m away (37 degrees down)": (15.0, replace(PROTOCOL_CAMERA, height=4.0), None),
    "camera 6 m high, 8 m away (36 degrees down)": (
        15.0,
        replace(PROTOCOL_CAMERA, height=6.0, distance=8.0),
        None,
    ),
    "estimator noise at the top of the training ranges": (15.0, PROTOCOL_CAMERA, HIGH_NOISE),
    "estimator noise twice that": (15.0, PROTOCOL_CAMERA, DOUBLE_NOISE),
}


def run(
    encoder: SkeletonEncoder, source_fps: float, camera: VirtualCamera, noise: AugmentConfig | None
) -> dict:
    vectors = embed_protocol(
        encoder.embed_features,
        encoder.spec,
        camera=camera,
        source_fps=source_fps,
        noise_seed=None if noise is None else 0,
        noise=noise,
    )
    return {
        "source_fps": source_fps,
        "camera_height_m": camera.height,
        "camera_distance_m": camera.distance,
        "noise": None
        if noise is None
        else {"jitter": noise.jitter[1], "drift": noise.drift[1], "missing": noise.missing[1]},
        **score_protocol(vectors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    encoder = SkeletonEncoder(args.weights)
    results = {}
    for name, (fps, camera, noise) in CONDITIONS.items():
        results[name] = run(encoder, fps, camera, noise)
        r = results[name]
        print(
            f"{name:50s} same-view {r['same_view_mean']:6.2f}  cross-view {r['cross_view_mean']:6.2f}",
            flush=True,
        )
    if args.json_path:
        Path(args.json_path).write_text(
            json.dumps({"model": encoder.model, "conditions": results}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
