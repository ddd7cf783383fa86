"""Issue 15, item 1: HumanPoseNN's own mask (BlazePose's segmentation output) against a dedicated
person-segmentation model, on the casia-b-rgb walks whose CASIA-B silhouettes GaitNN was trained on.

The dedicated model is MediaPipe's selfie segmentation (Apache-2.0; `selfie_segmentation.tflite` of the npm
package `@mediapipe/selfie_segmentation`, 256 x 256 RGB in [0, 1], a person probability out), run on the
same region BlazePose's landmark model sees: a square around the tracked person's box, 1.25 times its longer
side. Every frame the pipeline would use for gait gets both masks; the selfie mask is pasted back into the
frame and normalised exactly as identification normalises BlazePose's. The result is a cache in the format
of `benchmarks/domain_gap.py`, which then gives the mask-quality figures and the walks found:

    PYTHONPATH=src python3 experiments/segmentation_masks.py --model selfie_segmentation.tflite \
        --cache ../runs/casia_rgb_selfie.npz
    python3 benchmarks/domain_gap.py --cache ../runs/casia_rgb_selfie.npz --json experiments/results/domain_gap_selfie.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from domain_gap import usable, walker_in  # noqa: E402

from gaitid.datasets.paths import data_root  # noqa: E402
from gaitid.gait.normalize import normalize_silhouette  # noqa: E402
from gaitid.pipeline.run import run_source  # noqa: E402
from gaitid.pipeline.stream import default_estimator  # noqa: E402

SIDE = 256
ROI_SCALE = 1.25


class SelfieSegmenter:
    def __init__(self, path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(str(path), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.seconds, self.calls = 0.0, 0

    def person_mask(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        """Probability of a person at every pixel of `image` (RGB), from the square region around `box`;
        zero outside it."""
        height, width = image.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in box)
        side = ROI_SCALE * max(x2 - x1, y2 - y1)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        scale = SIDE / side
        to_crop = np.array([[scale, 0, SIDE / 2 - scale * cx], [0, scale, SIDE / 2 - scale * cy]], np.float32)
        crop = cv2.warpAffine(image, to_crop, (SIDE, SIDE), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
        t0 = time.perf_counter()
        self.interpreter.set_tensor(self.input, (crop.astype(np.float32) / 255.0)[None])
        self.interpreter.invoke()
        probability = self.interpreter.get_tensor(self.output)[0, :, :, 0]
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        back = cv2.invertAffineTransform(to_crop)
        return cv2.warpAffine(probability, back, (width, height), flags=cv2.INTER_LINEAR, borderValue=0.0)


def selfie_tracks(video: Path, segmenter: SelfieSegmenter) -> dict[int, list[tuple[int, np.ndarray, np.ndarray]]]:
    """As domain_gap.usable_masks, with the selfie model's mask in place of BlazePose's."""
    tracks: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}

    def on_frame(frame, people) -> None:  # type: ignore[no-untyped-def]
        for person in people.people:
            if not usable(person, people.frame_size):
                continue
            mask = segmenter.person_mask(frame.image, person.box)
            silhouette = normalize_silhouette(mask)
            if silhouette is not None:
                tracks.setdefault(int(person.track_id), []).append(
                    (people.frame_index, silhouette, person.keypoints.copy())
                )

    run, _ = run_source(str(video), lambda: default_estimator("full", 4, None), on_frame, progress=False)
    if run.error is not None:
        raise SystemExit(f"{video}: {run.error}")
    return tracks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="selfie_segmentation.tflite")
    parser.add_argument("--cache", required=True, help="the .npz to write, in domain_gap.py's cache format")
    args = parser.parse_args()
    root = data_root() / "casia-b-rgb"
    walks = json.loads((root / "walks.json").read_text())
    segmenter = SelfieSegmenter(Path(args.model))
    tracks = selfie_tracks(root / walks["file"], segmenter)
    out: dict[str, np.ndarray] = {}
    for w in walks["walks"]:
        key = f"{w['subject']}-{w['walk']}"
        out[key], out[f"{key}/keypoints"] = walker_in(tracks, *w["frames"])
    np.savez_compressed(args.cache, **out)
    print(f"{segmenter.calls} selfie calls, {1000 * segmenter.seconds / max(segmenter.calls, 1):.2f} ms each (1 thread)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
