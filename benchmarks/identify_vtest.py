"""How well the whole pipeline re-identifies the walkers of vtest.avi: enrol the first half of each walker's
track, identify the second half, through the real pipeline and gallery.

    python benchmarks/identify_vtest.py [--json benchmarks/results/identify_vtest.json]

The video is run once through `gaitid identify`'s stages (HumanPoseNN, tracker, silhouette windows of 30
usable frames every 15, the shipped GaitNN). Every track with at least 4 windows is a walker; its windows
are split in two halves that share no frame (the window across the middle is dropped). Then, for gallery
sizes k, k walkers drawn at random (30 draws, seed 0) are enrolled from their first halves, and the second
half of every walker is identified as `gaitid identify` does (mean raw score over the windows, calibrated,
threshold at the gallery's target FPIR of 1 %). Reported: enrolled walkers named correctly (TPIR), named
wrongly, and strangers given a name (the measured FPIR); and closed-set rank-1 with everyone enrolled.
vtest.avi comes from ../shared/data/media (or $GAITID_MEDIA).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from gaitid.gait.encoder import GaitEncoder
from gaitid.gallery import Gallery
from gaitid.identify.app import PipelineOptions, analyse
from gaitid.identify.walkers import Walkers, WalkerState


def halves(state: WalkerState, size: int, stride: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Windows of the first and second half of a track that share no frame."""
    n = len(state.vectors)
    overlap = -(-size // stride) - 1  # windows that overlap a given one on each side
    cut = n // 2
    return state.vectors[: cut - overlap // 2 or 1], state.vectors[cut + (overlap - overlap // 2) :]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--draws", type=int, default=30)
    args = parser.parse_args()
    media = Path(os.environ.get("GAITID_MEDIA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "media"))
    encoder = GaitEncoder()
    options = PipelineOptions(progress=False)
    seen = Walkers(encoder, None, options.window)
    analyse(str(media / "vtest.avi"), seen, options)
    size, stride = options.window.size, options.window.stride
    walkers = {}
    for state in seen.states.values():
        first, second = halves(state, size, stride)
        if len(state.vectors) >= 4 and first and second:
            walkers[state.track_id] = (first, second)
    ids = sorted(walkers)
    print(f"{len(seen.states)} tracks, {len(ids)} walkers with 4 windows or more: {ids}", file=sys.stderr)
    rng = np.random.default_rng(0)
    results = {"walkers": ids, "window": [size, stride], "galleries": {}}
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [k for k in (2, 5, 10) if k < len(ids)] + [len(ids)]
        for k in sizes:
            counts = {"enrolled": 0, "correct": 0, "wrong": 0, "strangers": 0, "strangers_named": 0}
            draws = 1 if k == len(ids) else args.draws
            for d in range(draws):
                enrolled = sorted(rng.choice(ids, k, replace=False).tolist())
                path = Path(tmp) / f"g{k}_{d}.db"
                with Gallery.open(path, audit_identifications=False) as gallery:
                    for t in enrolled:
                        gallery.enroll(f"w{t}", [encoder_embedding(v, encoder.model) for v in walkers[t][0]])
                    probe = Walkers(encoder, gallery, options.window)
                    for t in ids:
                        state = WalkerState(t, 0, 0.0, 0, 0.0, vectors=list(walkers[t][1]))
                        name = probe._identify(state).name
                        if t in enrolled:
                            counts["enrolled"] += 1
                            counts["correct"] += name == f"w{t}"
                            counts["wrong"] += name is not None and name != f"w{t}"
                        else:
                            counts["strangers"] += 1
                            counts["strangers_named"] += name is not None
                    if k == len(ids):
                        rank1 = 0
                        for t in ids:
                            state = WalkerState(t, 0, 0.0, 0, 0.0, vectors=list(walkers[t][1]))
                            rank1 += probe._identify(state).candidates[0][0] == f"w{t}"
                        counts["closed_set_rank1"] = rank1 / len(ids)
            row = {
                "draws": draws,
                "tpir": counts["correct"] / counts["enrolled"],
                "misnamed": counts["wrong"] / counts["enrolled"],
                "fpir": counts["strangers_named"] / counts["strangers"] if counts["strangers"] else None,
                **counts,
            }
            results["galleries"][k] = row
            fpir = "n/a" if row["fpir"] is None else f"{row['fpir']:.3f}"
            extra = f", closed-set rank-1 {row['closed_set_rank1']:.3f}" if "closed_set_rank1" in row else ""
            print(f"k={k:>2}: TPIR {row['tpir']:.3f}  misnamed {row['misnamed']:.3f}  strangers named (FPIR) {fpir}{extra}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=1) + "\n")
    return 0


def encoder_embedding(vector: np.ndarray, model: str):  # type: ignore[no-untyped-def]
    from gaitid.types import Embedding

    return Embedding(vector=vector, model=model, num_frames=30)


if __name__ == "__main__":
    sys.exit(main())
