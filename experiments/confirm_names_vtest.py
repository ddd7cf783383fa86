"""Should a first name wait until it has held for two windows? The default decision on vtest, replayed in
time order, with today's rule (a first name at once) and with names confirmed (RESULTS-openset.md, "A name
only once it has held for two windows").

The draws, walkers, halves and the file replayed are benchmarks/identify_vtest.py's ("cohort + footage": the
shipped cohort, the enrolled null, the other walkers as the footage). Each arm is decided by a gallery at
each target, and the walker's *name* (the gallery's answer after the no-flip rule) is counted: enrolled
walkers named right and wrong at the end, strangers named at the end and at any window ("ever named": what
the video shows and what `gaitid live` announces), and for the enrolled named right at the end, the windows
until that name first came.

    python3 experiments/confirm_names_vtest.py --cache ../runs/footage/vtest_20_10_frames.npz \
        [--json experiments/results/confirm_names_vtest.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from identify_vtest import (  # noqa: E402
    SIZES, TARGETS, deal, probe_file, replay, track_vectors, walker_halves, window_frames,
)

from gaitid.gallery import Gallery  # noqa: E402
from gaitid.types import Embedding  # noqa: E402

ARMS = {"first name at once (today)": 1, "names confirmed": 2}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="identify_vtest.py's cache, with the windows' frames")
    parser.add_argument("--json", dest="json_path", type=Path)
    parser.add_argument("--draws", type=int, default=30)
    args = parser.parse_args()
    tracks, model, (size, stride) = track_vectors(args.cache)
    frames = window_frames(args.cache)
    walkers = walker_halves(tracks, size, stride)
    ids = sorted(walkers)
    windows = probe_file(tracks, frames, walkers, size, stride)
    counts = {arm: {k: {t: _zero() for t in TARGETS} for k in SIZES} for arm in ARMS}
    rng = np.random.default_rng(0)  # identify_vtest.py's draws
    with tempfile.TemporaryDirectory() as tmp:
        for k in SIZES:
            for draw in range(args.draws):
                enrolled, _, strangers = deal(rng, ids, k)
                for target in TARGETS:
                    for arm, confirm_first in ARMS.items():
                        path = Path(tmp) / f"g{k}_{draw}_{target}_{confirm_first}.db"
                        with Gallery.open(path, target_fpir=target, audit_identifications=False) as gallery:
                            for t in enrolled:
                                gallery.enroll(f"w{t}", [Embedding(v, model, size) for v in walkers[t][0]])
                            answers = replay(gallery, model, windows, confirm_first=confirm_first)
                        for t in enrolled + strangers:
                            _count(counts[arm][k][target], f"w{t}" if t in enrolled else None, answers[t])
    results = {"model": model, "window": [size, stride], "draws": args.draws, "arms": ARMS,
               "counts": {arm: {k: {f"{t:g}": c for t, c in by_k.items()} for k, by_k in by_arm.items()}
                          for arm, by_arm in counts.items()}}
    for arm, by_arm in counts.items():
        for k, by_k in by_arm.items():
            for target, c in by_k.items():
                delay = np.mean(c["windows_to_name"]) if c["windows_to_name"] else float("nan")
                print(f"{arm:>27} k={k:>2} target {target:g}: TPIR {c['correct']}/{c['enrolled']}  misnamed "
                      f"{c['wrong']}  FPIR {c['named']}/{c['strangers']}  ever named {c['ever_named']}  "
                      f"windows to the right name {delay:.2f}", file=sys.stderr)
    if args.json_path:
        args.json_path.write_text(json.dumps(results, indent=1) + "\n")
    return 0


def _zero() -> dict:
    return {"enrolled": 0, "correct": 0, "wrong": 0, "strangers": 0, "named": 0, "ever_named": 0,
            "windows_to_name": []}


def _count(c: dict, name: str | None, history: list) -> None:
    """One walker's answers (one per window): `name` is theirs when enrolled, None for a stranger."""
    final = history[-1].name
    if name is None:
        c["strangers"] += 1
        c["named"] += final is not None
        c["ever_named"] += any(a.name is not None for a in history)
        return
    c["enrolled"] += 1
    c["correct"] += final == name
    c["wrong"] += final is not None and final != name
    if final == name:
        c["windows_to_name"].append(next(i for i, a in enumerate(history) if a.name == name) + 1)


if __name__ == "__main__":
    sys.exit(main())
