"""Does a file's own other walkers, as the site cohort of each walk's decision, keep vtest's strangers out
with one or two people enrolled? (RESULTS-openset.md, "The footage's other walkers as its null".)

The draws, walkers and halves are benchmarks/identify_vtest.py's (same seed, same dealing); the probes are
its probes (the enrolled walkers' second halves and the strangers'). The footage is every walker's second
half: the file being identified. Three decisions on the same probes, each through `Gallery.decide` as the
pipeline calls it:
- "cohort", "cohort + site": as identify_vtest.py;
- "cohort + footage": each probe walk decided with the second halves of every other walker of the footage
  as the site's cohort (its own track left out), through the site-cohort machinery as it is (alone from
  SITE_COHORT_ALONE walkers, a second null below).

    python3 experiments/footage_null_vtest.py --cache ../runs/vtest_20_10.npz \
        [--json experiments/results/footage_null_vtest.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from identify_vtest import SIZES, deal, new_counts, summary, tally, track_vectors, walk_answers, walker_halves  # noqa: E402

from gaitid.gallery import Gallery  # noqa: E402
from gaitid.types import Embedding  # noqa: E402

DECISIONS = ("cohort", "cohort + site", "cohort + footage")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="identify_vtest.py's cache of vtest's windows")
    parser.add_argument("--json", dest="json_path", type=Path)
    parser.add_argument("--draws", type=int, default=30)
    args = parser.parse_args()
    tracks, model, (size, stride) = track_vectors(args.cache)
    walkers = walker_halves(tracks, size, stride)
    ids = sorted(walkers)

    def embeddings(windows: list[np.ndarray]) -> list[Embedding]:
        return [Embedding(v, model, size) for v in windows]

    rng = np.random.default_rng(0)  # the same dealing as identify_vtest.py
    results: dict = {"model": model, "walkers": ids, "window": [size, stride], "draws": args.draws, "galleries": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for k in SIZES:
            counts = new_counts(DECISIONS)
            for draw in range(args.draws):
                enrolled, site, strangers = deal(rng, ids, k)
                for number, decision in enumerate(DECISIONS):
                    with Gallery.open(Path(tmp) / f"g{k}_{draw}_{number}.db", audit_identifications=False) as gallery:
                        for t in enrolled:
                            gallery.enroll(f"w{t}", embeddings(walkers[t][0]))
                        if decision == "cohort + site":
                            for t in site:
                                gallery.add_cohort(f"site{t}", embeddings(walkers[t][0]))
                        for t in enrolled + strangers:
                            if decision == "cohort + footage":
                                gallery.clear_cohort()
                                for u in ids:
                                    if u != t:
                                        gallery.add_cohort(f"footage{u}", embeddings(walkers[u][1]))
                            tally(counts[decision], t, t in enrolled, walk_answers(gallery, model, walkers[t][1]))
            results["galleries"][k] = summary(k, counts)
    if args.json_path:
        args.json_path.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
