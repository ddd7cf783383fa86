"""Do a walker's feet say which way the walker goes? (issue 15: turning walkers who do not cross the image)

    PYTHONPATH=src python experiments/facing_agreement.py VIDEO [VIDEO ...] [--cache ../runs/casia_rgb_kp.npz]

Runs the pipeline over each video (every window it embeds, 30 / 15 frames) and, with `--cache`, reads the
cached casia-b-rgb walks of `benchmarks/domain_gap.py` (windows cut the same way). For every window: its
sideways drift and the way its feet point (`gaitid.gait.normalize.sideways_drift`, `facing`, both in body
heights). Where the drift is clear (over `MIN_DRIFT`), its sign is the truth the feet are held against:
prints, per source, how many such windows the feet decide (over `MIN_FACING`) and how many of those agree,
and how many windows without clear drift the feet decide. No identity is involved.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from domain_gap import window_bounds  # noqa: E402  (a benchmark script, not a package)

from gaitid.gait.encoder import GaitEncoder  # noqa: E402
from gaitid.gait.normalize import MIN_DRIFT, MIN_FACING, facing, sideways_drift  # noqa: E402
from gaitid.pipeline import PipelineOptions, analyse  # noqa: E402
from gaitid.pipeline.walkers import Walkers, WindowSpec  # noqa: E402


def video_windows(video: str) -> list[np.ndarray]:
    """The keypoints (T, 33, 3) of every window the pipeline embeds in `video`."""
    seen: list[np.ndarray] = []

    class Recording(GaitEncoder):
        def embed(self, walk):  # type: ignore[no-untyped-def]
            if getattr(walk, "keypoints", None) is not None:
                seen.append(np.asarray(walk.keypoints))
            return super().embed(walk)

    analyse(video, Walkers(Recording()), PipelineOptions(progress=False, max_fps=None))
    return seen


def cached_windows(cache: Path) -> list[np.ndarray]:
    window = WindowSpec(30, 15, rate=None)  # the windows of the recorded figures: 30 / 15 of every frame
    with np.load(cache) as z:
        walks = [z[k] for k in z.files if k.endswith("/keypoints")]
    return [k[a:b] for k in walks for a, b in window_bounds(len(k), window)]


def agreement(name: str, windows: list[np.ndarray]) -> None:
    drift = np.array([sideways_drift(k) for k in windows])
    feet = np.array([facing(k) for k in windows])
    clear, decided = np.abs(drift) > MIN_DRIFT, np.abs(feet) > MIN_FACING
    agree = clear & decided & (np.sign(feet) == np.sign(drift))
    print(f"{name}: {len(windows)} windows; clear drift {clear.sum()}, of which the feet decide {(clear & decided).sum()}"
          f" and agree on {agree.sum()}; without clear drift {(~clear).sum()}, of which the feet decide"
          f" {(~clear & decided).sum()} ({(~clear & (feet > MIN_FACING)).sum()} facing right)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*")
    parser.add_argument("--cache", type=Path, help="domain_gap.py's cache of casia-b-rgb walks with keypoints")
    args = parser.parse_args()
    if args.cache:
        agreement(f"casia-b-rgb ({args.cache.name})", cached_windows(args.cache))
    for video in args.videos:
        agreement(Path(video).name, video_windows(video))


if __name__ == "__main__":
    main()
