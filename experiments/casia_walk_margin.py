"""How close a casia-b-rgb walk is to being found or missed by `benchmarks/domain_gap.py` (issue 19).

    PYTHONPATH=src python experiments/casia_walk_margin.py [--first 2300] [--walks 009-nm-06 009-nm-05]

Runs the pipeline over the casia-b-rgb video from frame `--first` (as domain_gap runs it from frame 0),
takes each named walk's pipeline silhouettes as domain_gap does, and prints the walk's distance to its own
subject's nearest training walk and to the nearest walk of any other of the 74 training subjects: domain_gap
finds the walk when the first is the smaller.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import domain_gap  # noqa: E402  (a benchmark script, not a package)

from gaitid.datasets.casia_b import load_casia_b  # noqa: E402
from gaitid.datasets.paths import data_root  # noqa: E402
from gaitid.gait.encoder import GaitEncoder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=0, help="the first frame of the video to run")
    parser.add_argument("--walks", nargs="+", default=["009-nm-06"], help="SUBJECT-WALK, e.g. 009-nm-06")
    args = parser.parse_args()
    root = data_root() / "casia-b-rgb"
    spec = json.loads((root / "walks.json").read_text())
    run_source = domain_gap.run_source
    domain_gap.run_source = lambda video, make, on_frame, **kw: run_source(video, make, on_frame, **kw, frames=(args.first, None))
    tracks = domain_gap.pipeline_masks(root / spec["file"])
    encoder = GaitEncoder(None, threads=1)
    gallery = load_casia_b(range(1, 75), "train", conditions=["nm-01", "nm-02", "nm-03", "nm-04"], views=["090"])
    vectors = np.stack([encoder.embed(gallery.frames(i, np.arange(gallery.num_frames(i)))).vector for i in range(len(gallery))])
    subjects = np.array([int(gallery.subjects[label]) for label in gallery.labels])
    for walk in spec["walks"]:
        key = f"{walk['subject']}-{walk['walk']}"
        if key not in args.walks:
            continue
        silhouettes, _ = domain_gap.walker_in(tracks, *walk["frames"])
        distances = np.linalg.norm(vectors - encoder.embed(silhouettes).vector, axis=1)
        own = subjects == int(walk["subject"])
        other = int(subjects[~own][np.argmin(distances[~own])])
        print(f"{key}: {len(silhouettes)} frames, own subject {distances[own].min():.4f}, "
              f"nearest other (subject {other}) {distances[~own].min():.4f}")


if __name__ == "__main__":
    main()
