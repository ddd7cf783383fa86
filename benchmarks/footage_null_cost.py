"""What the footage null costs a decision: `Gallery.decide` on one walk, alone and with the run's other walkers
as its footage (benchmarks/RESULTS-openset.md, "The footage's walkers as a null, against the candidate only").

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/footage_null_cost.py [--people 10 1000] [--footage 2000]

Random unit vectors of the shipped model's dimension, named as its vectors so that its cohort normalises
them; each person enrolled with 2 windows; the footage is 20 walks whose windows have been decided once
(as the pipeline has done by the time they are someone's footage), `--footage` windows in all (2,000 is the
most a decision takes). Prints the median time of 30 decisions of a growing walk.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gaitid.gait.encoder import GaitEncoder
from gaitid.gallery import Gallery
from gaitid.gallery.evidence import TrackEvidence
from gaitid.gallery.store import NewVector

TRACKS = 20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[10, 1000])
    parser.add_argument("--footage", type=int, default=2000, help="footage windows in all (default 2000)")
    args = parser.parse_args()
    encoder = GaitEncoder()
    model, rng = encoder.model, np.random.default_rng(0)

    def unit(n: int) -> np.ndarray:
        v = rng.normal(size=(n, encoder.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    for people in args.people:
        with tempfile.TemporaryDirectory() as tmp, Gallery.open(Path(tmp) / "g.db", audit_identifications=False) as g:
            g.store.enroll_many([(f"p{p}", [NewVector(v, model) for v in unit(2)], None) for p in range(people)])
            footage = []
            for _ in range(TRACKS):
                walk = TrackEvidence(model, max_windows=args.footage)
                for v in unit(args.footage // TRACKS):
                    walk.add(v)
                g.decide(walk)
                footage.append(walk)
            for label, others in (("alone", []), (f"with {args.footage} footage windows", footage)):
                walk, times = TrackEvidence(model), []
                for v in unit(30):
                    walk.add(v)
                    start = time.perf_counter()
                    g.decide(walk, footage=others)
                    times.append(time.perf_counter() - start)
                print(f"{people} people enrolled, {label}: median {1000 * np.median(times):.2f} ms a decision")
    return 0


if __name__ == "__main__":
    sys.exit(main())
