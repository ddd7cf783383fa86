"""CPU seconds of a gallery's first decision with the shipped cohort, with its stored calibration-probe
statistics ("with") or with them dropped so that they are computed ("without").

    PYTHONPATH=src python experiments/first_decision_cost.py with|without

Two people enrolled with random vectors of the shipped model's size; one window decided; the process's CPU
time of that `Gallery.decide` (opening the cohort, its index and statistics) is printed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import gaitid.gallery.cohort as cohort_module
from gaitid.gallery import Gallery
from gaitid.gallery.evidence import TrackEvidence
from gaitid.types import Embedding

MODEL = "gaitset_strips_s/4"


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "with"
    if mode == "without":
        load = cohort_module.Cohort.load

        def without_stats(path: Path) -> cohort_module.Cohort:
            c = load(path)
            return cohort_module.Cohort(c.vectors, c.labels, c.model, c.weights_sha256)

        cohort_module.Cohort.load = staticmethod(without_stats)  # type: ignore[method-assign]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp, Gallery.open(Path(tmp) / "g.db", audit_identifications=False) as g:
        for name in ("ada", "bo"):
            vectors = rng.normal(size=(3, 1024)).astype(np.float32)
            g.enroll(name, [Embedding(v / np.linalg.norm(v), MODEL, 30) for v in vectors])
        evidence = TrackEvidence(MODEL)
        evidence.add(rng.normal(size=1024).astype(np.float32))
        start = time.process_time()
        g.decide(evidence)
        print(f"{mode}: first decision {time.process_time() - start:.3f} CPU s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
